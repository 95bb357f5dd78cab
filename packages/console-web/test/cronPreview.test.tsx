import { act, cleanup, fireEvent, screen } from '@testing-library/react';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { CronField, PREVIEW_DEBOUNCE_MS } from '../src/components/SchedulePreview';
import { formatTime } from '../src/lib/format';
import { fakeFetch, renderWithI18n, fakeTimersPerTest } from './helpers';

function Harness({ initial = '0 * * * * *' }: { initial?: string }) {
  const [expr, setExpr] = useState(initial);
  const [tz, setTz] = useState('UTC');
  return <CronField expr={expr} timezone={tz} onExprChange={setExpr} onTimezoneChange={setTz} />;
}

const TIMES = ['2030-01-01T00:05:00.000Z', '2030-01-01T00:10:00.000Z', '2030-01-01T00:15:00.000Z'];

/** Lets timers run and pending promises (the fake fetch) settle inside act(). */
async function advance(ms: number) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

fakeTimersPerTest();

describe('cron field preview', () => {
  it('waits 300 ms after the last keystroke, asks once with the latest rule, and lists the times', async () => {
    const { calls } = fakeFetch(() => ({ body: { nextFireTimes: TIMES } }));
    renderWithI18n(<Harness />);
    await advance(PREVIEW_DEBOUNCE_MS); // the initial rule
    expect(calls).toHaveLength(1);

    const input = screen.getByTestId('job-cron-expr');
    for (const value of ['0', '0 */', '0 */5', '0 */5 * * * *']) {
      fireEvent.change(input, { target: { value } });
      await advance(100); // typing faster than the debounce
    }
    expect(calls).toHaveLength(1);
    await advance(PREVIEW_DEBOUNCE_MS - 100 - 1);
    expect(calls).toHaveLength(1);
    await advance(1);
    expect(calls).toHaveLength(2);
    const call = calls[1]!;
    expect(call.method).toBe('POST');
    expect(call.url).toBe('/api/cron/preview');
    expect(call.body).toEqual({ schedule: { type: 'cron', expr: '0 */5 * * * *', timezone: 'UTC' } });

    const rows = screen.getAllByTestId('cron-preview-time');
    expect(rows.map((r) => r.getAttribute('data-iso'))).toEqual(TIMES);
    expect(rows[0]!.textContent).toContain(formatTime(TIMES[0]));
    expect(screen.queryByTestId('cron-preview-error')).toBeNull();
  });

  it('shows the server message for a bad rule, then recovers', async () => {
    fakeFetch((c) => {
      const expr = (c.body as { schedule: { expr: string } }).schedule.expr;
      if (expr.includes('99'))
        return {
          status: 400,
          body: {
            error: 'validation_failed',
            message: 'invalid schedule',
            fields: { 'schedule.expr': 'bad cron rule: minute: 99 is outside 0-59' },
          },
        };
      return { body: { nextFireTimes: TIMES } };
    });
    renderWithI18n(<Harness initial="0 99 * * * *" />);
    await advance(PREVIEW_DEBOUNCE_MS);
    expect(screen.getByTestId('cron-preview-error').textContent).toBe('bad cron rule: minute: 99 is outside 0-59');
    expect(screen.queryAllByTestId('cron-preview-time')).toHaveLength(0);

    fireEvent.change(screen.getByTestId('job-cron-expr'), { target: { value: '0 9 * * * *' } });
    await advance(PREVIEW_DEBOUNCE_MS);
    expect(screen.queryByTestId('cron-preview-error')).toBeNull();
    expect(screen.getAllByTestId('cron-preview-time')).toHaveLength(3);
  });

  it('falls back to the error message when no field is named, and previews the time zone', async () => {
    const { calls } = fakeFetch((c) => {
      const tz = (c.body as { schedule: { timezone: string } }).schedule.timezone;
      return tz === 'Mars/Base'
        ? { status: 400, body: { error: 'bad_request', message: 'unknown timezone' } }
        : { body: { nextFireTimes: TIMES } };
    });
    renderWithI18n(<Harness />);
    await advance(PREVIEW_DEBOUNCE_MS);
    fireEvent.change(screen.getByTestId('job-timezone'), { target: { value: 'Mars/Base' } });
    await advance(PREVIEW_DEBOUNCE_MS);
    expect(calls.at(-1)!.body).toEqual({ schedule: { type: 'cron', expr: '0 * * * * *', timezone: 'Mars/Base' } });
    expect(screen.getByTestId('cron-preview-error').textContent).toBe('unknown timezone');
  });

  it('a fire that DST moved carries a note saying how, in English and in Chinese', async () => {
    const fires = [
      { at: '2027-03-27T01:30:00.000Z' },
      { at: '2027-03-28T01:00:00.000Z', shifted: 'gap' },
      { at: '2027-10-31T00:30:00.000Z', shifted: 'fold' },
    ];
    fakeFetch(() => ({ body: { nextFireTimes: fires.map((f) => f.at), fires } }));
    renderWithI18n(<Harness initial="0 30 2 * * *" />);
    await advance(PREVIEW_DEBOUNCE_MS);
    const rows = screen.getAllByTestId('cron-preview-time');
    expect(rows.map((r) => r.querySelector('[data-testid="fire-dst-note"]')?.getAttribute('data-shifted') ?? null)).toEqual([
      null,
      'gap',
      'fold',
    ]);
    expect(rows[1]!.textContent).toContain('the clock skips this time that night, so it fires as the clock jumps forward');
    expect(rows[2]!.textContent).toContain('this clock time happens twice that night');
    cleanup();

    renderWithI18n(<Harness initial="0 30 2 * * *" />, 'zh');
    await advance(PREVIEW_DEBOUNCE_MS);
    const zhRows = screen.getAllByTestId('cron-preview-time');
    expect(zhRows[1]!.textContent).toContain('当晚时钟跳过了这个时刻');
    expect(zhRows[2]!.textContent).toContain('当晚这个时刻会出现两次');
    expect(zhRows[0]!.querySelector('[data-testid="fire-dst-note"]')).toBeNull();
  });

  it('an answer that arrives after a newer keystroke is dropped', async () => {
    let release: (() => void) | null = null;
    fakeFetch(async (c) => {
      const expr = (c.body as { schedule: { expr: string } }).schedule.expr;
      if (expr === 'slow * * * * *') {
        await new Promise<void>((r) => (release = r));
        return { status: 400, body: { error: 'validation_failed', message: 'x', fields: { 'schedule.expr': 'stale answer' } } };
      }
      return { body: { nextFireTimes: TIMES } };
    });
    renderWithI18n(<Harness initial="slow * * * * *" />);
    await advance(PREVIEW_DEBOUNCE_MS);
    fireEvent.change(screen.getByTestId('job-cron-expr'), { target: { value: '0 0 * * * *' } });
    await advance(PREVIEW_DEBOUNCE_MS);
    expect(screen.getAllByTestId('cron-preview-time')).toHaveLength(3);
    await act(async () => {
      release?.();
      await vi.advanceTimersByTimeAsync(10);
    });
    expect(screen.queryByTestId('cron-preview-error')).toBeNull();
    expect(screen.getAllByTestId('cron-preview-time')).toHaveLength(3);
  });
});
