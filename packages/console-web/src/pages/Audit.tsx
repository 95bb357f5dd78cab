import { useState } from 'react';
import { api } from '../api/client';
import type { AuditEntry } from '../api/types';
import { Empty, ErrorBanner, JsonView, LoadMore, Loading, Modal, PageHeader, activate } from '../components/ui';
import { ZonedTime } from '../components/ZonedTime';
import { useT } from '../i18n';
import { useDebounced, usePaged } from '../lib/hooks';

const METHODS = ['POST', 'PUT', 'DELETE'] as const;

/** The audit log (admins): every write through the API, filtered by user, path or target, action and time; a row shows before and after. */
export function AuditPage() {
  const t = useT();
  const [user, setUser] = useState('');
  const [q, setQ] = useState('');
  const [method, setMethod] = useState('');
  const [from, setFrom] = useState('');
  const key = useDebounced(JSON.stringify({ user: user.trim(), q: q.trim(), method, from }), 300);
  const f = JSON.parse(key) as { user: string; q: string; method: string; from: string };
  const entries = usePaged(
    (cursor, limit) =>
      api.audit({ user: f.user, q: f.q, method: f.method, from: f.from ? new Date(f.from).toISOString() : '', cursor, limit }),
    [f.user, f.q, f.method, f.from],
  );
  const [open, setOpen] = useState<AuditEntry | null>(null);
  return (
    <div data-testid="page-audit">
      <PageHeader title={t('audit.title')} />
      <p className="muted">{t('audit.intro')}</p>
      <div className="filters">
        <label>
          {t('audit.user')}
          <input value={user} onChange={(e) => setUser(e.target.value)} className="narrow" data-testid="audit-user" />
        </label>
        <label>
          {t('audit.text')}
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} data-testid="audit-q" />
        </label>
        <label>
          {t('audit.method')}
          <select value={method} onChange={(e) => setMethod(e.target.value)} data-testid="audit-method">
            <option value="">{t('common.all')}</option>
            {METHODS.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('audit.at')}
          <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} data-testid="audit-from" />
        </label>
      </div>
      <ErrorBanner error={entries.error} />
      {!entries.loaded && !entries.error && <Loading />}
      {entries.loaded && entries.items.length === 0 && <Empty testId="audit-empty">{t('audit.empty')}</Empty>}
      {entries.items.length > 0 && (
        <table className="table" data-testid="audit-table">
          <thead>
            <tr>
              <th>{t('audit.at')}</th>
              <th>{t('audit.user')}</th>
              <th>{t('audit.method')}</th>
              <th>{t('audit.path')}</th>
              <th className="num">{t('audit.status')}</th>
            </tr>
          </thead>
          <tbody>
            {entries.items.map((e) => (
              <tr
                key={e.id}
                className="clickable"
                {...activate(() => setOpen(e))}
                data-testid="audit-row"
                data-method={e.method}
                data-user={e.user}
              >
                <td className="nowrap">
                  <ZonedTime iso={e.at} />
                </td>
                <td>{e.user}</td>
                <td className="mono">{e.method}</td>
                <td className="mono small ellipsis" title={e.path}>
                  {e.path}
                </td>
                <td className="num">{e.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore nextCursor={entries.nextCursor} loading={entries.loading} onClick={() => void entries.loadMore()} />
      {open && (
        <Modal
          title={t('audit.detailTitle', { method: open.method, path: open.path })}
          onClose={() => setOpen(null)}
          testId="audit-detail"
          wide
        >
          <div className="two-col">
            <div data-testid="audit-before">
              <h3>{t('audit.before')}</h3>
              <JsonView value={open.before} />
            </div>
            <div data-testid="audit-after">
              <h3>{t('audit.after')}</h3>
              <JsonView value={open.after} />
            </div>
          </div>
        </Modal>
      )}
    </div>
  );
}
