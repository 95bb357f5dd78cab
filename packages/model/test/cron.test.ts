import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CronError, nextFireTimeInWindow, nextFireTimes, parseCron } from '../src/index.js';

const iso = (ds: Date[]) => ds.map((d) => d.toISOString());

test('every second, with seconds field', () => {
  const got = nextFireTimes({ type: 'cron', expr: '* * * * * *', timezone: 'UTC' }, new Date('2026-01-01T00:00:00.500Z'), 3);
  assert.deepEqual(iso(got), ['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z', '2026-01-01T00:00:03.000Z']);
});

test('five fields mean second 0; steps, ranges, lists and names', () => {
  const got = nextFireTimes({ type: 'cron', expr: '*/15 9-10 * JAN,FEB MON-FRI', timezone: 'UTC' }, new Date('2026-01-02T10:50:00Z'), 3);
  // 2026-01-02 is a Friday; next weekday is Monday the 5th.
  assert.deepEqual(iso(got), ['2026-01-05T09:00:00.000Z', '2026-01-05T09:15:00.000Z', '2026-01-05T09:30:00.000Z']);
});

test('day-of-month and day-of-week both restricted: either matches', () => {
  const got = nextFireTimes({ type: 'cron', expr: '0 0 13 * FRI', timezone: 'UTC' }, new Date('2026-02-01T00:00:00Z'), 3);
  assert.deepEqual(iso(got), ['2026-02-06T00:00:00.000Z', '2026-02-13T00:00:00.000Z', '2026-02-20T00:00:00.000Z']);
});

test('per-job timezone, across a spring-forward gap and a fall-back repeat', () => {
  // 02:30 does not exist in Berlin on 2026-03-29: it fires as the clock lands at 03:00 CEST (cronie).
  const spring = nextFireTimes({ type: 'cron', expr: '0 30 2 * * *', timezone: 'Europe/Berlin' }, new Date('2026-03-28T00:00:00Z'), 3);
  assert.deepEqual(iso(spring), ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  // 02:30 happens twice on 2026-10-25: it fires once.
  const fall = nextFireTimes({ type: 'cron', expr: '0 30 2 * * *', timezone: 'Europe/Berlin' }, new Date('2026-10-24T12:00:00Z'), 2);
  assert.deepEqual(iso(fall), ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  const ny = nextFireTimes({ type: 'cron', expr: '0 0 9 * * *', timezone: 'America/New_York' }, new Date('2026-07-01T00:00:00Z'), 1);
  assert.deepEqual(iso(ny), ['2026-07-01T13:00:00.000Z']);
});

test('a stored rule that can never fire has no next time (new ones are refused: dialect.test.ts); once and interval schedules', () => {
  assert.deepEqual(nextFireTimes({ type: 'cron', expr: '0 0 0 30 2 *', timezone: 'UTC' }, new Date('2026-01-01T00:00:00Z'), 1), []);
  const at = new Date('2026-05-01T00:00:00Z');
  assert.deepEqual(iso(nextFireTimes({ type: 'once', at }, new Date('2026-04-01T00:00:00Z'), 3)), [at.toISOString()]);
  assert.deepEqual(nextFireTimes({ type: 'once', at }, at, 3), []);
  const every = nextFireTimes(
    { type: 'interval', everyMs: 5000, startAt: new Date('2026-01-01T00:00:00Z') },
    new Date('2026-01-01T00:00:07Z'),
    2,
  );
  assert.deepEqual(iso(every), ['2026-01-01T00:00:10.000Z', '2026-01-01T00:00:15.000Z']);
});

test('bad rules say what is wrong', () => {
  assert.throws(
    () => parseCron('* * *'),
    (e: Error) => e instanceof CronError && /5 fields/.test(e.message),
  );
  assert.throws(() => parseCron('61 * * * *'), /minute: 61 is outside 0-59/);
  assert.throws(() => parseCron('* * * * FOO'), /day of week: "FOO" is not a number or a name/);
  assert.throws(() => parseCron('*/0 * * * *'), /step "0"/);
  assert.throws(() => parseCron('5-1 * * * *'), /runs backwards/);
});

test('fire times inside a start/end window: none before the start, none after the end', () => {
  const every10s = { type: 'cron' as const, expr: '*/10 * * * * *', timezone: 'UTC' };
  const window = { startAt: new Date('2026-01-01T00:00:20Z'), endAt: new Date('2026-01-01T00:00:40Z') };
  const at = (iso: string) => nextFireTimeInWindow(every10s, window, new Date(iso))?.toISOString() ?? null;
  assert.equal(at('2026-01-01T00:00:00Z'), '2026-01-01T00:00:20.000Z', 'the start itself is a slot');
  assert.equal(at('2026-01-01T00:00:20Z'), '2026-01-01T00:00:30.000Z');
  assert.equal(at('2026-01-01T00:00:30Z'), '2026-01-01T00:00:40.000Z', 'the end itself is a slot');
  assert.equal(at('2026-01-01T00:00:40Z'), null);
  assert.equal(nextFireTimeInWindow(every10s, {}, new Date('2026-01-01T00:00:40Z'))?.toISOString(), '2026-01-01T00:00:50.000Z');
});
