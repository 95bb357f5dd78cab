import { act, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { Stats } from '../src/api/types';
import { DASHBOARD_REFRESH_MS, DashboardPage } from '../src/pages/Dashboard';
import { clickAndSettle, fakeFetch, renderWithI18n, fakeTimersPerTest } from './helpers';

const hour = (i: number) => new Date(Date.UTC(2030, 0, 1, i)).toISOString();
const emptyStats: Stats = {
  hours: 24,
  runsByStatus: {},
  successRate: null,
  runsOverTime: Array.from({ length: 24 }, (_, i) => ({ hour: hour(i), succeeded: 0, failed: 0, timed_out: 0, lost: 0, other: 0 })),
  nodes: { servers: 1, clients: 2, monitors: 1 },
  jobs: { total: 0, enabled: 0, disabled: 0 },
  recentFailures: [],
  openIncidents: [],
  waiting: { count: 0, oldest: null },
};

async function flush(ms = 0) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

fakeTimersPerTest();

describe('dashboard', () => {
  it('an empty system: friendly empty states, no error', async () => {
    fakeFetch((c) => (c.url.startsWith('/api/stats') ? { body: emptyStats } : { body: { items: [], nextCursor: null } }));
    renderWithI18n(<DashboardPage />);
    await flush();
    expect(screen.getByTestId('empty-runs').textContent).toMatch(/No runs/);
    expect(screen.getByTestId('empty-failures')).toBeTruthy();
    expect(screen.getByTestId('empty-incidents')).toBeTruthy();
    expect(screen.queryByTestId('error-banner')).toBeNull();
    expect(screen.queryByTestId('runs-chart')).toBeNull();
    expect(screen.getByTestId('stat-clients').textContent).toContain('2');
    expect(screen.getByTestId('stat-success-rate').textContent).toContain('—');
    expect(screen.getByTestId('stat-waiting').textContent).toContain('0');
    expect(screen.getByTestId('stat-waiting').textContent).toContain('No run waits');
    expect(screen.getByTestId('stat-waiting').className).not.toContain('stat-warn');
    expect(screen.queryByTestId('waiting-oldest')).toBeNull();
  });

  it('polls /api/stats every 5 s and draws what comes back', async () => {
    let n = 0;
    const { calls } = fakeFetch((c) => {
      if (!c.url.startsWith('/api/stats')) return { body: { items: [], nextCursor: null } };
      n += 1;
      if (n === 1) return { body: emptyStats };
      return {
        body: {
          ...emptyStats,
          runsByStatus: { succeeded: 9, failed: 1 },
          successRate: 0.9,
          runsOverTime: emptyStats.runsOverTime.map((b, i) => (i === 23 ? { ...b, succeeded: 9, failed: 1 } : b)),
        },
      };
    });
    renderWithI18n(<DashboardPage />);
    await flush();
    const statsCalls = () => calls.filter((c) => c.url.startsWith('/api/stats'));
    expect(statsCalls()).toHaveLength(1);
    expect(statsCalls()[0]!.url).toBe('/api/stats?hours=24');
    await flush(DASHBOARD_REFRESH_MS - 10);
    expect(statsCalls()).toHaveLength(1);
    await flush(10);
    expect(statsCalls()).toHaveLength(2);
    expect(screen.getByTestId('stat-success-rate').textContent).toContain('90.0%');
    expect(screen.getByTestId('runs-chart').querySelectorAll('rect[fill]').length).toBeGreaterThanOrEqual(2);
    await flush(DASHBOARD_REFRESH_MS);
    expect(statsCalls()).toHaveLength(3);
  });

  it('a failed refresh keeps the last figures and says why', async () => {
    let fail = false;
    fakeFetch((c) => {
      if (!c.url.startsWith('/api/stats')) return { body: { items: [], nextCursor: null } };
      return fail ? { status: 500, body: { error: 'internal', message: 'internal error' } } : { body: emptyStats };
    });
    renderWithI18n(<DashboardPage />);
    await flush();
    fail = true;
    await flush(DASHBOARD_REFRESH_MS);
    expect(screen.getByTestId('error-banner').textContent).toContain('internal error');
    expect(screen.getByTestId('stat-clients').textContent).toContain('2');
  });

  it('the waiting backlog: how many runs wait for a free slot, the oldest with its job, its wait and its run', async () => {
    const runId = 'job_nightly@2030-01-01T10:00:00.000Z';
    const stats: Stats = {
      ...emptyStats,
      waiting: {
        count: 12,
        oldest: { runId, jobId: 'job_nightly', jobName: 'nightly report', scheduledAt: '2030-01-01T10:00:00.000Z', waitedMs: 200_000 },
      },
    };
    const { calls } = fakeFetch((c) => {
      if (c.url.startsWith('/api/stats')) return { body: stats };
      if (c.url === `/api/runs/${encodeURIComponent(runId)}`)
        return {
          body: {
            id: runId,
            jobId: 'job_nightly',
            scheduledAt: '2030-01-01T10:00:00.000Z',
            dispatchedAt: null,
            startedAt: null,
            finishedAt: null,
            node: null,
            attempt: 1,
            trigger: 'schedule',
            status: 'waiting',
            exitCode: null,
            outputTail: '',
            error: null,
          },
        };
      return { body: { items: [], nextCursor: null } };
    });
    renderWithI18n(<DashboardPage />);
    await flush();
    const card = screen.getByTestId('stat-waiting');
    expect(card.className).toContain('stat-warn');
    expect(card.querySelector('.stat-value')?.textContent).toBe('12');
    expect(screen.getByTestId('waiting-oldest').textContent).toContain('Oldest, waiting 3m 20s');
    const job = screen.getByTestId('waiting-oldest-job');
    expect(job.getAttribute('href')).toBe('/jobs/job_nightly');
    expect(job.textContent).toBe('nightly report');
    expect(within(card).getByText('all waiting').getAttribute('href')).toBe('/runs?status=waiting');

    await clickAndSettle(screen.getByTestId('waiting-oldest-run'));
    await flush();
    expect(calls.some((c) => c.url === `/api/runs/${encodeURIComponent(runId)}`)).toBe(true);
    const badge = within(screen.getByTestId('run-detail')).getByText('waiting');
    expect(badge.getAttribute('data-status')).toBe('waiting');
    expect(badge.className).toContain('badge-warn');
  });

  it('the oldest waiting run of a job deleted since is named by its job id; in Chinese too', async () => {
    fakeFetch((c) =>
      c.url.startsWith('/api/stats')
        ? {
            body: {
              ...emptyStats,
              waiting: { count: 1, oldest: { runId: 'job_x@t', jobId: 'job_x', jobName: null, scheduledAt: hour(1), waitedMs: 1500 } },
            },
          }
        : { body: { items: [], nextCursor: null } },
    );
    renderWithI18n(<DashboardPage />, 'zh');
    await flush();
    expect(screen.getByTestId('waiting-oldest-job').textContent).toBe('job_x');
    expect(screen.getByTestId('stat-waiting').textContent).toContain('等待执行器');
    expect(screen.getByTestId('waiting-oldest').textContent).toContain('最早的已等待');
  });
});
