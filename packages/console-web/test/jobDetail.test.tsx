import { act, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { Job } from '../src/api/types';
import { JobDetailPage } from '../src/pages/JobDetail';
import { fakeFetch, jobFixture, renderWithI18n, fakeTimersPerTest } from './helpers';

const job: Job = jobFixture({
  id: 'job_1',
  name: 'nightly',
  schedule: { type: 'cron', expr: '0 30 2 * * *', timezone: 'Europe/Berlin' },
  kind: { type: 'handler', name: 'h' },
  createdAt: '2027-01-01T00:00:00.000Z',
  updatedAt: '2027-01-01T00:00:00.000Z',
});

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

  it('shows the start deadline: the default for the schedule, or its own, and what a missed start does', async () => {
    const everyTenSeconds = ['2027-03-27T01:30:00.000Z', '2027-03-27T01:30:10.000Z', '2027-03-27T01:30:20.000Z'];
    const show = async (j: Job, fires: string[]) => {
      fakeFetch((c) =>
        c.url.startsWith(`/api/jobs/${j.id}`) && !c.url.includes('runs')
          ? { body: { job: j, nextFireTimes: fires, fires: fires.map((at) => ({ at })) } }
          : { body: { items: [], nextCursor: null } },
      );
      const view = renderWithI18n(<JobDetailPage id={j.id} />);
      await act(async () => {
        await vi.advanceTimersByTimeAsync(0);
      });
      const texts = [screen.getByTestId('job-start-deadline').textContent, screen.getByTestId('job-on-start-deadline').textContent];
      view.unmount();
      return texts;
    };
    expect(await show(job, everyTenSeconds)).toEqual([
      "default: 10 s for the next fire (the time from it to the rule's fire after it, at least 10 s and at most 60 s)",
      'it ends skipped (not a failure); no incident',
    ]);
    expect((await show(job, ['2027-03-27T01:30:00.000Z', '2027-03-28T01:30:00.000Z']))[0]).toContain('default: 60 s for the next fire');
    expect((await show({ ...job, schedule: { type: 'interval', everyMs: 15_000 } }, []))[0]).toBe(
      'default: 15 s (the interval, at least 10 s and at most 60 s)',
    );
    expect(
      await show({ ...job, startDeadlineMs: 30_000, onStartDeadline: 'failed', incidentOnStartDeadline: true }, everyTenSeconds),
    ).toEqual(['30s', 'it ends failed (a failure of the job, not retried); opens an incident']);
    expect((await show({ ...job, startDeadlineMs: 0 }, everyTenSeconds))[0]).toBe('0 s (a run no agent can take at once does not wait)');
  });
});
