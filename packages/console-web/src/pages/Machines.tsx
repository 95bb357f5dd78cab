import { useState } from 'react';
import { api } from '../api/client';
import type { Machine } from '../api/types';
import { useCan } from '../auth';
import { useNotify } from '../components/notify';
import { Badge, Empty, ErrorBanner, Loading, PageHeader, errorText } from '../components/ui';
import { ZonedTime } from '../components/ZonedTime';
import { useT, type MessageKey } from '../i18n';
import { formatDuration } from '../lib/format';
import { useAsync, useNow } from '../lib/hooks';

/** As often as a machine beats (2 s by default) would be noise; 5 s, like the dashboard. */
export const MACHINES_REFRESH_MS = 5000;

const KINDS: Machine['kind'][] = ['servers', 'clients', 'monitors'];
const STATES: Machine['state'][] = ['up', 'leaving', 'dead'];

/**
 * The cluster as machines (GET /api/machines): what each server, agent and monitor says of itself
 * in its heartbeat, and the dead ones still named by an open incident until they return or are
 * dismissed. The raw ZooKeeper tree is its own page (Nodes).
 */
export function MachinesPage() {
  const t = useT();
  const can = useCan();
  const notify = useNotify();
  const now = useNow(5000);
  const machines = useAsync(() => api.machines(), [], MACHINES_REFRESH_MS);
  const [kind, setKind] = useState<'' | Machine['kind']>('');
  const [state, setState] = useState<'' | Machine['state']>('');
  const items = (machines.data?.items ?? []).filter((m) => (!kind || m.kind === kind) && (!state || m.state === state));

  const dismiss = async (m: Machine) => {
    if (!m.incident) return;
    try {
      await api.closeIncident(m.incident.id);
      notify(t('machines.dismissed', { id: m.id }));
      await machines.reload();
    } catch (err) {
      notify(errorText(err, t), 'error');
    }
  };

  return (
    <div data-testid="page-machines">
      <PageHeader title={t('machines.title')}>
        <span className="muted small">{t('dashboard.autoRefresh', { n: MACHINES_REFRESH_MS / 1000 })}</span>
      </PageHeader>
      <div className="filters">
        <label>
          {t('machines.kind')}
          <select value={kind} onChange={(e) => setKind(e.target.value as '' | Machine['kind'])} data-testid="machines-kind">
            <option value="">{t('common.all')}</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`machines.kind.${k}` as MessageKey)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('machines.state')}
          <select value={state} onChange={(e) => setState(e.target.value as '' | Machine['state'])} data-testid="machines-state">
            <option value="">{t('common.all')}</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {t(`machines.state.${s}` as MessageKey)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBanner error={machines.error} />
      {!machines.data && !machines.error && <Loading />}
      {machines.data && items.length === 0 && <Empty testId="machines-empty">{t('machines.empty')}</Empty>}
      {items.length > 0 && (
        <table className="table" data-testid="machines-table">
          <thead>
            <tr>
              <th>{t('machines.kind')}</th>
              <th>{t('machines.id')}</th>
              <th>{t('machines.state')}</th>
              <th>{t('machines.host')}</th>
              <th>{t('machines.version')}</th>
              <th>{t('machines.uptime')}</th>
              <th>{t('nodes.heartbeatAge')}</th>
              <th className="num">{t('machines.running')}</th>
              <th>{t('machines.serves')}</th>
              <th>{t('machines.role')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((m) => (
              <tr key={`${m.kind}/${m.id}`} data-testid="machine-row" data-kind={m.kind} data-id={m.id} data-state={m.state}>
                <td>{t(`machines.kind.${m.kind}` as MessageKey)}</td>
                <td className="mono strong">{m.id}</td>
                <td>
                  <Badge kind={m.state === 'up' ? 'ok' : m.state === 'dead' ? 'bad' : 'warn'}>
                    {t(`machines.state.${m.state}` as MessageKey)}
                  </Badge>
                  {m.incident && (
                    <div className="small" data-testid="machine-incident">
                      {t('machines.deadSince')} <ZonedTime iso={m.incident.openedAt} />
                      <div className="muted ellipsis" title={m.incident.message}>
                        {m.incident.message}
                      </div>
                      {can.operate && (
                        <button type="button" className="small" onClick={() => void dismiss(m)} data-testid="machine-dismiss">
                          {t('machines.dismiss')}
                        </button>
                      )}
                    </div>
                  )}
                </td>
                <td className="mono small">
                  {m.host ?? '—'}
                  {m.pid !== null && <span className="muted"> · pid {m.pid}</span>}
                </td>
                <td className="mono small">{m.version ?? '—'}</td>
                <td className="nowrap">
                  {m.startedAt && m.state !== 'dead' ? formatDuration(now - new Date(m.startedAt).getTime(), t) : '—'}
                </td>
                <td className="nowrap" data-testid="machine-age">
                  {m.ageMs === null ? '—' : formatDuration(m.ageMs, t)}
                </td>
                <td className="num nowrap">
                  {m.running ?? '—'}
                  {m.capacity !== null && ` / ${m.capacity}`}
                </td>
                <td className="small">
                  {m.handlers.length > 0 && (
                    <div className="mono" data-testid="machine-handlers">
                      {m.handlers.join(', ')}
                    </div>
                  )}
                  {(m.groups.length > 0 || m.tags.length > 0) && (
                    <div className="muted">
                      {[...m.groups.map((g) => `${t('target.group')}: ${g}`), ...m.tags.map((x) => `#${x}`)].join(' · ')}
                    </div>
                  )}
                </td>
                <td className="small">{roleText(m, t)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/**
 * Leader or standby for servers and monitors; a sharing server's share instead (partitions of
 * the cluster's, jobs armed); then a server's lateness (ms from slot to the agent's start, last minute).
 */
function roleText(m: Machine, t: ReturnType<typeof useT>): string {
  if (m.leader === null) return '—';
  const role = m.share
    ? t('machines.share', { partitions: m.share.partitions, of: m.share.of, jobs: m.jobs ?? 0 })
    : m.leader
      ? t(m.kind === 'monitors' ? 'machines.active' : 'machines.leader')
      : t('machines.standby');
  const minute = (m.lateness as { lastMinute?: { p99?: unknown; count?: unknown } } | null)?.lastMinute;
  if (m.kind !== 'servers' || !minute || typeof minute.p99 !== 'number') return role;
  return `${role} · ${t('machines.lateness', { p99: Math.round(minute.p99), n: typeof minute.count === 'number' ? minute.count : 0 })}`;
}
