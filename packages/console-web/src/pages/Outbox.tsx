import { useState } from 'react';
import { api } from '../api/client';
import type { OutboxMail } from '../api/types';
import { Empty, ErrorBanner, LoadMore, Loading, Modal, PageHeader, Props, activate } from '../components/ui';
import { useT } from '../i18n';
import { formatTime } from '../lib/format';
import { usePaged } from '../lib/hooks';

export function OutboxPage() {
  const t = useT();
  const mails = usePaged((cursor, limit) => api.outbox({ cursor, limit }), []);
  const [open, setOpen] = useState<OutboxMail | null>(null);
  return (
    <div data-testid="page-outbox">
      <PageHeader title={t('outbox.title')}>
        <button type="button" onClick={() => void mails.refresh()}>
          {t('common.refresh')}
        </button>
      </PageHeader>
      <p className="muted small">{t('outbox.intro')}</p>
      <ErrorBanner error={mails.error} />
      {!mails.loaded && !mails.error && <Loading />}
      {mails.loaded && mails.items.length === 0 && <Empty testId="outbox-empty">{t('outbox.empty')}</Empty>}
      {mails.items.length > 0 && (
        <table className="table" data-testid="outbox-table">
          <thead>
            <tr>
              <th>{t('outbox.createdAt')}</th>
              <th>{t('outbox.to')}</th>
              <th>{t('outbox.subject')}</th>
            </tr>
          </thead>
          <tbody>
            {mails.items.map((m) => (
              <tr key={m.id} className="clickable" {...activate(() => setOpen(m))} data-testid="outbox-row">
                <td className="nowrap mono">{formatTime(m.createdAt)}</td>
                <td>{m.to.join(', ')}</td>
                <td>{m.subject}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore nextCursor={mails.nextCursor} loading={mails.loading} onClick={() => void mails.loadMore()} />
      {open && (
        <Modal title={open.subject} onClose={() => setOpen(null)} testId="outbox-mail" wide>
          <Props
            rows={[
              [t('outbox.createdAt'), formatTime(open.createdAt)],
              [t('outbox.to'), open.to.join(', ')],
              [t('outbox.incidents'), open.incidentIds.length ? open.incidentIds.join(', ') : '—'],
            ]}
          />
          <pre className="output">{open.text}</pre>
        </Modal>
      )}
    </div>
  );
}
