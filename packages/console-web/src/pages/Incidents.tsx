import { Fragment, useState } from 'react';
import { api } from '../api/client';
import { useCan } from '../auth';
import { useNotify } from '../components/notify';
import { Badge, Empty, ErrorBanner, JsonView, LoadMore, Loading, PageHeader, Props, activate, errorText } from '../components/ui';
import { useT, type MessageKey } from '../i18n';
import { formatDuration, formatTime } from '../lib/format';
import { usePaged } from '../lib/hooks';
import { Link } from '../lib/router';

type Filter = 'open' | 'closed' | 'all';

export function IncidentsPage() {
  const t = useT();
  const [filter, setFilter] = useState<Filter>('open');
  const incidents = usePaged(
    (cursor, limit) => api.incidents({ open: filter === 'all' ? '' : filter === 'open', cursor, limit }),
    [filter],
    10_000,
  );
  const [open, setOpen] = useState<string | null>(null);
  const can = useCan();
  const notify = useNotify();
  // By hand: the failure was dealt with, or the machine will not come back. Who did it is in the audit log.
  const act = async (call: () => Promise<unknown>, done: string) => {
    try {
      await call();
      notify(done);
      await incidents.refresh();
    } catch (err) {
      notify(errorText(err, t), 'error');
    }
  };
  return (
    <div data-testid="page-incidents">
      <PageHeader title={t('incidents.title')}>
        <button type="button" onClick={() => void incidents.refresh()}>
          {t('common.refresh')}
        </button>
      </PageHeader>
      <div className="tabs" role="tablist">
        {(['open', 'closed', 'all'] as Filter[]).map((f) => (
          <button
            key={f}
            type="button"
            role="tab"
            aria-selected={filter === f}
            className={filter === f ? 'active' : ''}
            onClick={() => setFilter(f)}
            data-testid={`incidents-${f}`}
          >
            {t(`incidents.filter.${f}` as MessageKey)}
          </button>
        ))}
      </div>
      <ErrorBanner error={incidents.error} />
      {!incidents.loaded && !incidents.error && <Loading />}
      {incidents.loaded && incidents.items.length === 0 && (
        <Empty testId="incidents-empty">{filter === 'open' ? t('incidents.emptyOpen') : t('incidents.empty')}</Empty>
      )}
      {incidents.items.length > 0 && (
        <table className="table" data-testid="incidents-table">
          <thead>
            <tr>
              <th>{t('incidents.openedAt')}</th>
              <th>{t('incidents.kind')}</th>
              <th>{t('incidents.subject')}</th>
              <th>{t('incidents.message')}</th>
              <th>{t('incidents.state')}</th>
              <th>{t('incidents.notified')}</th>
            </tr>
          </thead>
          <tbody>
            {incidents.items.map((i) => (
              <Fragment key={i.id}>
                <tr className="clickable" {...activate(() => setOpen(open === i.id ? null : i.id))} data-testid="incident-row">
                  <td className="nowrap mono">{formatTime(i.openedAt)}</td>
                  <td>{t(`incidents.kind.${i.kind}` as MessageKey)}</td>
                  <td className="mono">{i.subject}</td>
                  <td className="ellipsis" title={i.message}>
                    {i.message}
                  </td>
                  <td>
                    {i.closedAt ? (
                      <Badge kind="ok">
                        {t('incidents.closedAfter', {
                          d: formatDuration(new Date(i.closedAt).getTime() - new Date(i.openedAt).getTime(), t),
                        })}
                      </Badge>
                    ) : (
                      <>
                        <Badge kind="bad">{t('incidents.open')}</Badge>
                        {i.acknowledgedBy ? (
                          <span className="muted small" data-testid="incident-acknowledged">
                            {' '}
                            {t('incidents.acknowledgedBy', { name: i.acknowledgedBy, at: formatTime(i.acknowledgedAt) })}
                          </span>
                        ) : (
                          can.operate && (
                            <button
                              type="button"
                              className="small"
                              onClick={(e) => {
                                e.stopPropagation();
                                void act(() => api.acknowledgeIncident(i.id), t('incidents.acknowledged'));
                              }}
                              data-testid="incident-acknowledge"
                            >
                              {t('incidents.acknowledge')}
                            </button>
                          )
                        )}
                        {can.operate && (
                          <button
                            type="button"
                            className="small"
                            onClick={(e) => {
                              e.stopPropagation();
                              void act(() => api.closeIncident(i.id), t('incidents.closedByHand'));
                            }}
                            data-testid="incident-close"
                          >
                            {t('incidents.close')}
                          </button>
                        )}
                      </>
                    )}
                  </td>
                  <td className="nowrap">{i.notifiedAt ? formatTime(i.notifiedAt) : <span className="muted">—</span>}</td>
                </tr>
                {open === i.id && (
                  <tr className="detail-row">
                    <td colSpan={6}>
                      <Props
                        rows={[
                          [t('incidents.id'), <code key="id">{i.id}</code>],
                          [t('incidents.closedAt'), i.closedBy ? `${formatTime(i.closedAt)} · ${i.closedBy}` : formatTime(i.closedAt)],
                          [t('incidents.nodeKind'), i.nodeKind ?? '—'],
                          [
                            t('incidents.job'),
                            i.jobId ? (
                              <Link key="j" to={`/jobs/${encodeURIComponent(i.jobId)}`}>
                                {i.jobId}
                              </Link>
                            ) : (
                              '—'
                            ),
                          ],
                          [t('incidents.run'), i.runId ?? '—'],
                          [t('incidents.notifiedContacts'), i.notifiedContacts.length ? i.notifiedContacts.join(', ') : '—'],
                          [t('incidents.recoveryNotifiedAt'), formatTime(i.recoveryNotifiedAt)],
                        ]}
                      />
                      {Object.keys(i.details).length > 0 && <JsonView value={i.details} />}
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore nextCursor={incidents.nextCursor} loading={incidents.loading} onClick={() => void incidents.loadMore()} />
    </div>
  );
}
