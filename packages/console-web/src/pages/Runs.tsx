import { useState } from 'react';
import { api } from '../api/client';
import { RUN_STATUSES } from '../api/types';
import { RunDetailModal } from '../components/RunDetail';
import { Empty, ErrorBanner, LoadMore, Loading, PageHeader, StatusBadge, activate } from '../components/ui';
import { useT, type MessageKey } from '../i18n';
import { formatDuration, formatTime, runDuration } from '../lib/format';
import { useDebounced, usePaged } from '../lib/hooks';
import { useJobNames } from '../lib/jobNames';
import { Link, useLocation } from '../lib/router';

export function RunsPage() {
  const t = useT();
  const { search } = useLocation();
  const [status, setStatus] = useState(search.get('status') ?? '');
  const [jobId, setJobId] = useState(search.get('jobId') ?? '');
  const [node, setNode] = useState(search.get('node') ?? '');
  const [auto, setAuto] = useState(true);
  const key = useDebounced(JSON.stringify({ status, jobId: jobId.trim(), node: node.trim() }), 300);
  const q = JSON.parse(key) as { status: string; jobId: string; node: string };
  const runs = usePaged((cursor, limit) => api.runs({ ...q, cursor, limit }), [key], auto ? 5000 : undefined);
  const names = useJobNames();
  const [open, setOpen] = useState<string | null>(null);
  const filtered = Boolean(q.status || q.jobId || q.node);

  return (
    <div data-testid="page-runs">
      <PageHeader title={t('runs.title')}>
        <label className="inline-check">
          <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} data-testid="runs-auto-refresh" />
          {t('common.autoRefresh', { n: 5 })}
        </label>
        <button type="button" onClick={() => void runs.refresh()} data-testid="runs-refresh">
          {t('common.refresh')}
        </button>
      </PageHeader>
      <div className="filters">
        <label>
          {t('runs.status')}
          <select value={status} onChange={(e) => setStatus(e.target.value)} data-testid="runs-status-filter">
            <option value="">{t('common.all')}</option>
            {RUN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`status.${s}` as MessageKey)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('runs.jobId')}
          <input value={jobId} onChange={(e) => setJobId(e.target.value)} className="mono" data-testid="runs-job-filter" />
        </label>
        <label>
          {t('runs.node')}
          <input value={node} onChange={(e) => setNode(e.target.value)} className="mono" data-testid="runs-node-filter" />
        </label>
      </div>
      <ErrorBanner error={runs.error} />
      {!runs.loaded && !runs.error && <Loading />}
      {runs.loaded && runs.items.length === 0 && <Empty testId="runs-empty">{filtered ? t('runs.noMatch') : t('runs.empty')}</Empty>}
      {runs.items.length > 0 && (
        <table className="table" data-testid="runs-table">
          <thead>
            <tr>
              <th>{t('runs.scheduledAt')}</th>
              <th>{t('runs.job')}</th>
              <th>{t('runs.status')}</th>
              <th>{t('runs.trigger')}</th>
              <th>{t('runs.node')}</th>
              <th className="num">{t('runs.attempt')}</th>
              <th className="num">{t('runs.duration')}</th>
              <th className="num">{t('runs.exitCode')}</th>
              <th>{t('runs.error')}</th>
            </tr>
          </thead>
          <tbody>
            {runs.items.map((r) => (
              <tr
                key={r.id}
                className="clickable"
                {...activate(() => setOpen(r.id))}
                data-testid="run-row"
                data-run-id={r.id}
                data-status={r.status}
              >
                <td className="nowrap mono">{formatTime(r.scheduledAt)}</td>
                <td>
                  <Link to={`/jobs/${encodeURIComponent(r.jobId)}`} onClick={(e) => e.stopPropagation()}>
                    {names.get(r.jobId) ?? r.jobId}
                  </Link>
                </td>
                <td>
                  <StatusBadge status={r.status} />
                </td>
                <td>{t(`trigger.${r.trigger}` as MessageKey)}</td>
                <td className="mono">{r.node ?? '—'}</td>
                <td className="num">{r.attempt}</td>
                <td className="num">{formatDuration(runDuration(r), t)}</td>
                <td className="num">{r.exitCode ?? '—'}</td>
                <td className="ellipsis" title={r.error ?? ''}>
                  {r.error ?? ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore nextCursor={runs.nextCursor} loading={runs.loading} onClick={() => void runs.loadMore()} />
      {open && <RunDetailModal id={open} onClose={() => setOpen(null)} />}
    </div>
  );
}
