import { useState, type ReactNode } from 'react';
import { api } from '../api/client';
import type { Incident, Run, RunStatus, Stats } from '../api/types';
import { RunDetailModal } from '../components/RunDetail';
import { RunsChart } from '../components/RunsChart';
import { Empty, ErrorBanner, Loading, PageHeader, StatusBadge, activate } from '../components/ui';
import { useT, type MessageKey } from '../i18n';
import { useAsync, useNow } from '../lib/hooks';
import { formatDuration, formatRelative, formatTime, percent } from '../lib/format';
import { Link } from '../lib/router';
import { useJobNames } from '../lib/jobNames';

export const DASHBOARD_REFRESH_MS = 5000;

const STATUS_ORDER: RunStatus[] = [
  'succeeded',
  'failed',
  'timed_out',
  'lost',
  'running',
  'dispatched',
  'waiting',
  'scheduled',
  'skipped',
  'cancelled',
];

export function DashboardPage() {
  const t = useT();
  const stats = useAsync(() => api.stats(24), [], DASHBOARD_REFRESH_MS);
  const s = stats.data;
  return (
    <div data-testid="page-dashboard">
      <PageHeader title={t('dashboard.title')}>
        <span className="muted small">{t('dashboard.autoRefresh', { n: DASHBOARD_REFRESH_MS / 1000 })}</span>
      </PageHeader>
      {stats.error != null && <ErrorBanner error={stats.error} />}
      {!s && !stats.error && <Loading />}
      {s && <DashboardBody s={s} />}
    </div>
  );
}

function DashboardBody({ s }: { s: Stats }) {
  const t = useT();
  const byStatus = s.runsByStatus;
  const totalRuns = Object.values(byStatus).reduce<number>((a, b) => a + b, 0);
  const buckets = s.runsOverTime;
  const anyRuns = buckets.some((b) => b.succeeded + b.failed + b.timed_out + b.lost + b.other > 0);
  const nodes = s.nodes;
  const jobs = s.jobs;
  return (
    <>
      <div className="cards">
        <Card label={t('dashboard.jobs')} value={jobs.total} testId="stat-jobs">
          {t('dashboard.jobsSplit', { enabled: jobs.enabled, disabled: jobs.disabled })}
        </Card>
        <Card label={t('dashboard.successRate')} value={totalRuns ? percent(s.successRate) : '—'} testId="stat-success-rate">
          {t('dashboard.runsLast24h', { n: totalRuns })}
        </Card>
        <Card label={t('dashboard.servers')} value={nodes.servers} testId="stat-servers" tone={nodes.servers ? undefined : 'warn'} />
        <Card label={t('dashboard.clients')} value={nodes.clients} testId="stat-clients" tone={nodes.clients ? undefined : 'warn'} />
        <Card label={t('dashboard.monitors')} value={nodes.monitors} testId="stat-monitors" />
        <Card
          label={t('dashboard.openIncidents')}
          value={s.openIncidents.length}
          testId="stat-incidents"
          tone={s.openIncidents.length ? 'bad' : undefined}
        />
        <WaitingCard waiting={s.waiting} />
      </div>

      <section className="panel">
        <h2>{t('dashboard.runsByStatus')}</h2>
        {totalRuns === 0 ? (
          <Empty testId="empty-runs">{t('dashboard.noRuns')}</Empty>
        ) : (
          <div className="status-counts" data-testid="runs-by-status">
            {STATUS_ORDER.filter((st) => byStatus[st]).map((st) => (
              <Link key={st} to={`/runs?status=${st}`} className="status-count">
                <StatusBadge status={st} />
                <strong>{byStatus[st]}</strong>
              </Link>
            ))}
          </div>
        )}
      </section>

      <section className="panel">
        <h2>{t('dashboard.runsOverTime')}</h2>
        {anyRuns ? <RunsChart buckets={buckets} /> : <Empty>{t('dashboard.noRunsChart')}</Empty>}
      </section>

      <div className="two-col">
        <section className="panel">
          <h2>{t('dashboard.recentFailures')}</h2>
          <RecentFailures runs={s.recentFailures} />
        </section>
        <section className="panel">
          <h2>{t('dashboard.openIncidents')}</h2>
          <OpenIncidents incidents={s.openIncidents} />
        </section>
      </div>
    </>
  );
}

function Card({
  label,
  value,
  children,
  testId,
  tone,
}: {
  label: string;
  value: number | string;
  children?: ReactNode;
  testId: string;
  tone?: 'warn' | 'bad' | undefined;
}) {
  return (
    <div className={`card stat${tone ? ` stat-${tone}` : ''}`} data-testid={testId}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {children && <div className="stat-sub">{children}</div>}
    </div>
  );
}

/**
 * The runs fired that wait in the leader's queue for an agent with a free slot: how many, and the
 * one waiting longest, with its job and a way to its run.
 */
function WaitingCard({ waiting }: { waiting: Stats['waiting'] }) {
  const t = useT();
  const [open, setOpen] = useState<string | null>(null);
  const oldest = waiting.oldest;
  return (
    <Card label={t('dashboard.waiting')} value={waiting.count} testId="stat-waiting" tone={waiting.count ? 'warn' : undefined}>
      {oldest ? (
        <span data-testid="waiting-oldest">
          {t('dashboard.waitingOldest', { d: formatDuration(oldest.waitedMs, t) })}{' '}
          <Link to={`/jobs/${encodeURIComponent(oldest.jobId)}`} data-testid="waiting-oldest-job">
            {oldest.jobName ?? oldest.jobId}
          </Link>{' '}
          ·{' '}
          <button
            type="button"
            className="link"
            onClick={() => setOpen(oldest.runId)}
            data-testid="waiting-oldest-run"
            title={oldest.runId}
          >
            {t('dashboard.waitingRun')}
          </button>{' '}
          · <Link to="/runs?status=waiting">{t('dashboard.waitingAll')}</Link>
        </span>
      ) : (
        t('dashboard.waitingNone')
      )}
      {open && <RunDetailModal id={open} onClose={() => setOpen(null)} />}
    </Card>
  );
}

function RecentFailures({ runs }: { runs: Run[] }) {
  const t = useT();
  const names = useJobNames();
  const [open, setOpen] = useState<string | null>(null);
  if (!runs.length) return <Empty testId="empty-failures">{t('dashboard.noFailures')}</Empty>;
  return (
    <>
      <table className="table">
        <thead>
          <tr>
            <th>{t('runs.scheduledAt')}</th>
            <th>{t('runs.job')}</th>
            <th>{t('runs.status')}</th>
            <th>{t('runs.error')}</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr
              key={r.id}
              className="clickable"
              {...activate(() => setOpen(r.id))}
              data-testid="failure-row"
              data-scheduled-at={r.scheduledAt}
            >
              <td className="nowrap">{formatTime(r.scheduledAt)}</td>
              <td>
                <Link to={`/jobs/${encodeURIComponent(r.jobId)}`} onClick={(e) => e.stopPropagation()}>
                  {names.get(r.jobId) ?? r.jobId}
                </Link>
              </td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td className="ellipsis" title={r.error ?? ''}>
                {r.error ?? ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && <RunDetailModal id={open} onClose={() => setOpen(null)} />}
    </>
  );
}

function OpenIncidents({ incidents }: { incidents: Incident[] }) {
  const t = useT();
  const now = useNow(5000);
  const names = useJobNames();
  if (!incidents.length) return <Empty testId="empty-incidents">{t('dashboard.noIncidents')}</Empty>;
  return (
    <table className="table">
      <thead>
        <tr>
          <th>{t('incidents.openedAt')}</th>
          <th>{t('incidents.kind')}</th>
          <th>{t('incidents.subject')}</th>
          <th>{t('incidents.message')}</th>
        </tr>
      </thead>
      <tbody>
        {incidents.map((i) => (
          <tr key={i.id} data-testid="incident-row">
            <td className="nowrap" title={formatTime(i.openedAt)}>
              {formatRelative(i.openedAt, now, t)}
            </td>
            <td className="nowrap">{t(`incidents.kind.${i.kind}` as MessageKey)}</td>
            <td className="ellipsis" title={i.subject}>
              {i.jobId ? <Link to={`/jobs/${encodeURIComponent(i.jobId)}`}>{names.get(i.jobId) ?? i.subject}</Link> : i.subject}
            </td>
            <td className="ellipsis" title={i.message}>
              {i.message}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
