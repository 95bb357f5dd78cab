import { act, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { Job } from '../src/api/types';
import { JobDetailPage } from '../src/pages/JobDetail';
import { fakeFetch, renderWithI18n, fakeTimersPerTest } from './helpers';

const job: Job = {
  id: 'job_1',
  name: 'nightly',
  description: '',
  group: 'default',
  schedule: { type: 'cron', expr: '0 30 2 * * *', timezone: 'Europe/Berlin' },
  enabled: true,
  target: { type: 'any' },
  routing: 'round_robin',
  kind: { type: 'handler', name: 'h' },
  payload: {},
  timeoutMs: 60_000,
  retries: { max: 0, backoffMs: 1000, factor: 2, maxBackoffMs: 60_000 },
  concurrency: 'allow',
  misfire: 'fire_once',
  window: {},
  contacts: [],
  deleteWhenDone: true,
  createdAt: '2027-01-01T00:00:00.000Z',
  updatedAt: '2027-01-01T00:00:00.000Z',
  lastRunAt: null,
  lastStatus: null,
  nextRunAt: null,
  runCount: 0,
  failureCount: 0,
  onStartDeadline: 'skipped',
  incidentOnStartDeadline: false,
};

fakeTimersPerTest();

describe('job page', () => {
  it('notes the next fire times that DST moved', async () => {
    const fires = [
      { at: '2027-03-27T01:30:00.000Z' },
      { at: '2027-03-28T01:00:00.000Z', shifted: 'gap' },
      { at: '2027-03-29T00:30:00.000Z' },
    ];
    fakeFetch((c) =>
      c.url.startsWith('/api/jobs/job_1') && !c.url.includes('runs')
        ? { body: { job, nextFireTimes: fires.map((f) => f.at), fires } }
        : { body: { items: [], nextCursor: null } },
    );
    renderWithI18n(<JobDetailPage id="job_1" />);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(0);
    });
    const rows = screen.getAllByTestId('next-fire-time');
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r.querySelector('[data-testid="fire-dst-note"]')?.getAttribute('data-shifted') ?? null)).toEqual([
      null,
      'gap',
      null,
    ]);
    expect(rows[1]!.textContent).toContain('fires as the clock jumps forward');
  });
});
