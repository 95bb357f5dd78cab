import { useState } from 'react';
import { api } from '../api/client';
import { useCan } from '../auth';
import { useNotify } from '../components/notify';
import {
  Badge,
  ConfirmDialog,
  Empty,
  ErrorBanner,
  LoadMore,
  Loading,
  PageHeader,
  StatusBadge,
  activate,
  errorText,
} from '../components/ui';
import { forgetJobNames } from '../lib/jobNames';
import { useT } from '../i18n';
import { useDebounced, useNow, usePaged } from '../lib/hooks';
import { formatRelative, formatTime, kindSummary, scheduleSummary } from '../lib/format';
import { Link, navigate } from '../lib/router';

/** The list is read again on this period, as the dashboard and the runs are: last status and next run move on their own. */
export const JOBS_REFRESH_MS = 5000;

export function JobsPage() {
  const t = useT();
  const can = useCan();
  const now = useNow(5000);
  const [q, setQ] = useState('');
  const [group, setGroup] = useState('');
  const [enabled, setEnabled] = useState<'' | 'true' | 'false'>('');
  const key = useDebounced(JSON.stringify({ q: q.trim(), group: group.trim(), enabled }), 300);
  const query = JSON.parse(key) as { q: string; group: string; enabled: '' | 'true' | 'false' };
  const jobs = usePaged(
    (cursor, limit) =>
      api.jobs({ q: query.q, group: query.group, enabled: query.enabled === '' ? '' : query.enabled === 'true', cursor, limit }),
    [query.q, query.group, query.enabled],
    JOBS_REFRESH_MS,
  );
  const filtered = Boolean(query.q || query.group || query.enabled);
  const notify = useNotify();
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [confirmDelete, setConfirmDelete] = useState(false);
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  // One call per job, one after another: the API has no bulk route, and each change is audited as its own.
  const bulk = async (action: (id: string) => Promise<unknown>) => {
    let done = 0;
    try {
      for (const id of selected) {
        await action(id);
        done++;
      }
      notify(t('jobs.bulkDone', { n: done }));
    } catch (err) {
      notify(`${t('jobs.bulkDone', { n: done })} ${errorText(err, t)}`, 'error');
    }
    setSelected(new Set());
    forgetJobNames();
    await jobs.refresh();
  };

  return (
    <div data-testid="page-jobs">
      <PageHeader title={t('jobs.title')}>
        <button type="button" onClick={() => void jobs.refresh()} data-testid="jobs-refresh">
          {t('common.refresh')}
        </button>
        {can.operate && (
          <button type="button" className="primary" onClick={() => navigate('/jobs/new')} data-testid="job-new">
            {t('jobs.new')}
          </button>
        )}
      </PageHeader>
      <div className="filters">
        <label>
          {t('common.search')}
          <input
            type="search"
            value={q}
            onChange={(e) => setQ(e.target.value)}
            placeholder={t('jobs.searchPlaceholder')}
            data-testid="jobs-search"
          />
        </label>
        <label>
          {t('jobs.group')}
          <input value={group} onChange={(e) => setGroup(e.target.value)} className="narrow" data-testid="jobs-group-filter" />
        </label>
        <label>
          {t('jobs.enabled')}
          <select value={enabled} onChange={(e) => setEnabled(e.target.value as '' | 'true' | 'false')} data-testid="jobs-enabled-filter">
            <option value="">{t('common.all')}</option>
            <option value="true">{t('jobs.enabledOnly')}</option>
            <option value="false">{t('jobs.disabledOnly')}</option>
          </select>
        </label>
      </div>
      {can.operate && selected.size > 0 && (
        <div className="bulk-bar" data-testid="jobs-bulk">
          <span>{t('jobs.selected', { n: selected.size })}</span>
          <button type="button" onClick={() => void bulk((id) => api.enableJob(id))} data-testid="jobs-bulk-enable">
            {t('jobs.bulkEnable')}
          </button>
          <button type="button" onClick={() => void bulk((id) => api.disableJob(id))} data-testid="jobs-bulk-disable">
            {t('jobs.bulkDisable')}
          </button>
          <button type="button" className="danger" onClick={() => setConfirmDelete(true)} data-testid="jobs-bulk-delete">
            {t('jobs.bulkDelete')}
          </button>
        </div>
      )}
      {confirmDelete && (
        <ConfirmDialog
          title={t('jobs.bulkDeleteTitle')}
          message={t('jobs.bulkDeleteMessage', { n: selected.size })}
          onConfirm={() => bulk((id) => api.deleteJob(id))}
          onClose={() => setConfirmDelete(false)}
        />
      )}
      <ErrorBanner error={jobs.error} />
      {!jobs.loaded && !jobs.error && <Loading />}
      {jobs.loaded && jobs.items.length === 0 && (
        <Empty testId="jobs-empty">
          {filtered ? t('jobs.noMatch') : t('jobs.empty')}
          {!filtered && can.operate && (
            <div>
              <button type="button" className="primary" onClick={() => navigate('/jobs/new')}>
                {t('jobs.new')}
              </button>
            </div>
          )}
        </Empty>
      )}
      {jobs.items.length > 0 && (
        <table className="table" data-testid="jobs-table">
          <thead>
            <tr>
              {can.operate && <th aria-label={t('jobs.select')} />}
              <th>{t('jobs.name')}</th>
              <th>{t('jobs.group')}</th>
              <th>{t('jobs.schedule')}</th>
              <th>{t('jobs.kind')}</th>
              <th>{t('jobs.enabled')}</th>
              <th>{t('jobs.lastStatus')}</th>
              <th>{t('jobs.lastRun')}</th>
              <th>{t('jobs.nextRun')}</th>
              <th className="num">{t('jobs.runsFailures')}</th>
            </tr>
          </thead>
          <tbody>
            {jobs.items.map((j) => (
              <tr
                key={j.id}
                className="clickable"
                {...activate(() => navigate(`/jobs/${encodeURIComponent(j.id)}`))}
                data-testid="job-row"
                data-job-id={j.id}
                data-job-name={j.name}
              >
                {can.operate && (
                  <td onClick={(e) => e.stopPropagation()}>
                    <input
                      type="checkbox"
                      checked={selected.has(j.id)}
                      onChange={() => toggle(j.id)}
                      aria-label={t('jobs.select')}
                      data-testid="job-select"
                    />
                  </td>
                )}
                <td>
                  <Link to={`/jobs/${encodeURIComponent(j.id)}`} onClick={(e) => e.stopPropagation()} className="strong">
                    {j.name}
                  </Link>
                  {j.description && <div className="muted small ellipsis">{j.description}</div>}
                </td>
                <td>{j.group}</td>
                <td className="mono small">{scheduleSummary(j.schedule, t)}</td>
                <td className="mono small ellipsis">{kindSummary(j.kind, t)}</td>
                <td>{j.enabled ? <Badge kind="ok">{t('jobs.on')}</Badge> : <Badge kind="idle">{t('jobs.off')}</Badge>}</td>
                <td>
                  <StatusBadge status={j.lastStatus} />
                </td>
                <td className="nowrap" title={formatTime(j.lastRunAt)}>
                  {formatRelative(j.lastRunAt, now, t)}
                </td>
                <td className="nowrap" title={formatTime(j.nextRunAt)}>
                  {j.enabled ? formatRelative(j.nextRunAt, now, t) : '—'}
                </td>
                <td className="num">
                  {j.runCount} / <span className={j.failureCount ? 'text-bad' : ''}>{j.failureCount}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore nextCursor={jobs.nextCursor} loading={jobs.loading} onClick={() => void jobs.loadMore()} />
    </div>
  );
}
