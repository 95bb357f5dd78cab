import { useState } from 'react';
import { api } from '../api/client';
import type { Job } from '../api/types';
import { useCan } from '../auth';
import { useNotify } from '../components/notify';
import { DstNote, firesOf } from '../components/DstNote';
import { ZonedTime } from '../components/ZonedTime';
import {
  Badge,
  ConfirmDialog,
  Empty,
  ErrorBanner,
  JsonView,
  LoadMore,
  Loading,
  PageHeader,
  Props,
  StatusBadge,
  errorText,
  activate,
} from '../components/ui';
import { useT, type MessageKey, type Translate } from '../i18n';
import {
  browserTimeZone,
  defaultStartDeadlineText,
  formatDuration,
  formatRelative,
  formatTime,
  formatTimeIn,
  jobTimeZone,
  kindSummary,
  runDuration,
  scheduleSummary,
  targetSummary,
} from '../lib/format';
import { useAsync, useNow, usePaged } from '../lib/hooks';
import { forgetJobNames } from '../lib/jobNames';
import { Link, navigate } from '../lib/router';

export const JOB_RUNS_REFRESH_MS = 3000;

export function JobDetailPage({ id }: { id: string }) {
  const t = useT();
  const can = useCan();
  const notify = useNotify();
  const now = useNow(5000);
  const detail = useAsync(() => api.job(id), [id], 10_000);
  const runs = usePaged((cursor, limit) => api.runs({ jobId: id, cursor, limit }), [id], JOB_RUNS_REFRESH_MS);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [busy, setBusy] = useState(false);

  const act = async (what: () => Promise<unknown>, done: string) => {
    setBusy(true);
    try {
      await what();
      notify(done);
      await detail.reload();
      await runs.refresh();
    } catch (err) {
      notify(errorText(err, t), 'error');
    } finally {
      setBusy(false);
    }
  };

  if (detail.error && !detail.data) {
    return (
      <div data-testid="page-job">
        <PageHeader title={t('job.detailTitle')} />
        <ErrorBanner error={detail.error} />
        <Link to="/jobs">{t('job.backToList')}</Link>
      </div>
    );
  }
  if (!detail.data) return <Loading />;
  const { job } = detail.data;
  const nextFireTimes = firesOf(detail.data);
  const zone = jobTimeZone(job.schedule);
  const viewerZone = browserTimeZone();

  return (
    <div data-testid="page-job" data-job-id={job.id}>
      <PageHeader title={job.name} testId="job-title">
        {job.enabled ? <Badge kind="ok">{t('jobs.on')}</Badge> : <Badge kind="idle">{t('jobs.off')}</Badge>}
        {can.operate && (
          <>
            <button
              type="button"
              className="primary"
              disabled={busy}
              onClick={() => void act(() => api.triggerJob(job.id), t('job.triggered'))}
              data-testid="job-trigger"
            >
              {t('job.trigger')}
            </button>
            {job.enabled ? (
              <button
                type="button"
                disabled={busy}
                onClick={() => void act(() => api.disableJob(job.id), t('job.disabledNote'))}
                data-testid="job-disable"
              >
                {t('job.disable')}
              </button>
            ) : (
              <button
                type="button"
                disabled={busy}
                onClick={() => void act(() => api.enableJob(job.id), t('job.enabledNote'))}
                data-testid="job-enable"
              >
                {t('job.enable')}
              </button>
            )}
            <button type="button" onClick={() => navigate(`/jobs/${encodeURIComponent(job.id)}/edit`)} data-testid="job-edit">
              {t('common.edit')}
            </button>
            <button type="button" onClick={() => navigate(`/jobs/new?copy=${encodeURIComponent(job.id)}`)} data-testid="job-copy">
              {t('job.copy')}
            </button>
            <button type="button" className="danger" onClick={() => setConfirmDelete(true)} data-testid="job-delete">
              {t('common.delete')}
            </button>
          </>
        )}
      </PageHeader>
      {detail.error != null && <ErrorBanner error={detail.error} />}
      <div className="two-col">
        <section className="panel">
          <h2>{t('job.definition')}</h2>
          <JobProps job={job} nextFireTimes={nextFireTimes.map((f) => f.at)} />
        </section>
        <section className="panel">
          <h2>{t('job.nextFireTimes')}</h2>
          {nextFireTimes.length === 0 ? (
            <Empty>{job.enabled ? t('job.noNextFire') : t('job.disabledNoFire')}</Empty>
          ) : (
            <table className="table compact" data-testid="job-next-fire-times">
              <thead>
                <tr>
                  <th />
                  <th data-testid="next-fire-viewer-zone">{t('time.viewerZoneColumn', { zone: viewerZone })}</th>
                  {zone && zone !== viewerZone && <th data-testid="next-fire-job-zone">{t('time.jobZoneColumn', { zone })}</th>}
                  <th />
                  <th />
                </tr>
              </thead>
              <tbody>
                {nextFireTimes.map((fire, i) => (
                  <tr key={fire.at} data-testid="next-fire-time">
                    <td className="muted">{i + 1}</td>
                    <td className="mono">{formatTime(fire.at)}</td>
                    {zone && zone !== viewerZone && <td className="mono">{formatTimeIn(fire.at, zone)}</td>}
                    <td className="muted">{formatRelative(fire.at, now, t)}</td>
                    <td>
                      <DstNote fire={fire} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {job.payload !== undefined && job.kind.type === 'handler' && (
            <>
              <h3>{t('job.payload')}</h3>
              <JsonView value={job.payload} />
            </>
          )}
        </section>
      </div>

      <section className="panel">
        <div className="panel-head">
          <h2>{t('job.runHistory')}</h2>
          <Link to={`/runs?jobId=${encodeURIComponent(job.id)}`} className="small">
            {t('job.allRuns')}
          </Link>
        </div>
        <ErrorBanner error={runs.error} />
        {runs.loaded && runs.items.length === 0 && <Empty testId="job-runs-empty">{t('job.noRuns')}</Empty>}
        {runs.items.length > 0 && (
          <table className="table" data-testid="job-runs">
            <thead>
              <tr>
                <th>
                  {t('runs.scheduledAt')} <span className="zone-label">{viewerZone}</span>
                </th>
                <th>{t('runs.status')}</th>
                <th>{t('runs.trigger')}</th>
                <th>{t('runs.node')}</th>
                <th className="num">{t('runs.attempt')}</th>
                <th className="num">{t('runs.duration')}</th>
                <th>{t('runs.error')}</th>
              </tr>
            </thead>
            <tbody>
              {runs.items.map((r) => (
                <tr
                  key={r.id}
                  className="clickable"
                  {...activate(() => navigate(`/runs/${encodeURIComponent(r.id)}`))}
                  data-testid="run-row"
                  data-run-id={r.id}
                  data-status={r.status}
                >
                  <td className="nowrap mono">{formatTime(r.scheduledAt)}</td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td>{t(`trigger.${r.trigger}` as MessageKey)}</td>
                  <td className="mono">{r.node ?? '—'}</td>
                  <td className="num">{r.attempt}</td>
                  <td className="num">{formatDuration(runDuration(r), t)}</td>
                  <td className="ellipsis" title={r.error ?? ''}>
                    {r.error ?? ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <LoadMore nextCursor={runs.nextCursor} loading={runs.loading} onClick={() => void runs.loadMore()} />
      </section>

      {confirmDelete && (
        <ConfirmDialog
          title={t('job.deleteTitle')}
          message={t('job.deleteMessage', { name: job.name })}
          onConfirm={async () => {
            await api.deleteJob(job.id);
            forgetJobNames();
            notify(t('job.deleted'));
            navigate('/jobs');
          }}
          onClose={() => setConfirmDelete(false)}
        />
      )}
    </div>
  );
}

/** The job's start deadline: its own, or the default for its schedule (measured on `nextFireTimes` for a cron rule). */
function startDeadlineText(job: Job, nextFireTimes: readonly string[], t: Translate): string {
  if (job.startDeadlineMs === undefined)
    return t('job.startDeadlineDefault', { rule: defaultStartDeadlineText(job.schedule, t, nextFireTimes) });
  return job.startDeadlineMs === 0 ? t('job.startDeadlineNoWait') : formatDuration(job.startDeadlineMs, t);
}

function JobProps({ job, nextFireTimes }: { job: Job; nextFireTimes: readonly string[] }) {
  const t = useT();
  const r = job.retries;
  const contacts = useAsync(() => api.contacts().then((c) => new Map(c.items.map((x) => [x.id, x.name] as const))), []);
  return (
    <Props
      rows={[
        [t('job.id'), <code key="id">{job.id}</code>],
        [t('job.description'), job.description || <span className="muted">—</span>],
        [t('job.group'), job.group],
        [
          t('job.schedule'),
          <span key="s" className="mono">
            {scheduleSummary(job.schedule, t)}
          </span>,
        ],
        [t('job.target'), targetSummary(job.target, t)],
        [t('job.routing'), t(`routing.${job.routing}` as MessageKey)],
        [
          t('job.kind'),
          <span key="k" className="mono">
            {kindSummary(job.kind, t)}
          </span>,
        ],
        [t('job.timeout'), formatDuration(job.timeoutMs, t)],
        [
          t('job.retries'),
          r.max ? t('job.retriesSummary', { max: r.max, backoff: formatDuration(r.backoffMs, t), factor: r.factor }) : t('job.noRetries'),
        ],
        [t('job.concurrency'), t(`concurrency.${job.concurrency}` as MessageKey)],
        [t('job.misfire'), t(`misfire.${job.misfire}` as MessageKey)],
        [
          t('job.startDeadline'),
          <span key="sd" data-testid="job-start-deadline">
            {startDeadlineText(job, nextFireTimes, t)}
          </span>,
        ],
        [
          t('job.onStartDeadline'),
          <span key="osd" data-testid="job-on-start-deadline">
            {t(`startDeadlineOutcome.${job.onStartDeadline}` as MessageKey)};{' '}
            {job.incidentOnStartDeadline ? t('job.startDeadlineIncident') : t('job.startDeadlineNoIncident')}
          </span>,
        ],
        [
          t('job.contacts'),
          job.contacts.length ? job.contacts.map((c) => contacts.data?.get(c) ?? c).join(', ') : <span className="muted">—</span>,
        ],
        [t('jobs.lastStatus'), <StatusBadge key="ls" status={job.lastStatus} />],
        [t('jobs.lastRun'), <ZonedTime key="lr" iso={job.lastRunAt} jobZone={jobTimeZone(job.schedule)} />],
        [t('jobs.nextRun'), job.enabled ? <ZonedTime key="nr" iso={job.nextRunAt} jobZone={jobTimeZone(job.schedule)} /> : '—'],
        [t('jobs.runsFailures'), `${job.runCount} / ${job.failureCount}`],
        [t('job.createdAt'), <ZonedTime key="ca" iso={job.createdAt} />],
        [t('job.updatedAt'), <ZonedTime key="ua" iso={job.updatedAt} />],
      ]}
    />
  );
}
