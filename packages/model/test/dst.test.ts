// cronie's DST rule (issue 13): a wall time a spring-forward gap skips fires once, as the clock
// lands after the gap; on a fall-back night a fixed-hour rule fires once (first pass) while a
// rule whose hour is `*` or a step keeps its real-time rhythm through both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextFireTimes, previewFireTimes, type Schedule } from '../src/index.js';

const fires = (expr: string, timezone: string, after: string, count: number) =>
  nextFireTimes({ type: 'cron', expr, timezone }, new Date(after), count).map((d) => d.toISOString());

test('America/Santiago daily midnight on the day DST starts at 00:00: fires at 01:00 -03 (2027-09-05T04:00:00Z, and 2026-09-06)', () => {
  assert.deepEqual(fires('0 0 0 * * *', 'America/Santiago', '2027-09-04T00:00:00Z', 3), [
    '2027-09-04T04:00:00.000Z',
    '2027-09-05T04:00:00.000Z',
    '2027-09-06T03:00:00.000Z',
  ]);
  assert.deepEqual(fires('0 0 0 * * *', 'America/Santiago', '2026-09-05T00:00:00Z', 3), [
    '2026-09-05T04:00:00.000Z',
    '2026-09-06T04:00:00.000Z',
    '2026-09-07T03:00:00.000Z',
  ]);
  // Asked one second before the jump (found by the croner oracle): the jump's own instant is the fire.
  assert.deepEqual(fires('0 0,30 0 * * *', 'America/Santiago', '2027-09-05T03:59:59Z', 2), [
    '2027-09-05T04:00:00.000Z',
    '2027-09-06T03:00:00.000Z',
  ]);
});

test('midnight changes elsewhere lose no day either: America/Havana, Asia/Beirut', () => {
  assert.deepEqual(fires('0 0 0 * * *', 'America/Havana', '2027-03-13T00:00:00Z', 3), [
    '2027-03-13T05:00:00.000Z',
    '2027-03-14T05:00:00.000Z',
    '2027-03-15T04:00:00.000Z',
  ]);
  assert.deepEqual(fires('0 0 0 * * *', 'Asia/Beirut', '2027-03-27T00:00:00Z', 2), [
    '2027-03-27T22:00:00.000Z',
    '2027-03-28T21:00:00.000Z',
  ]);
});

test('Australia/Melbourne 0 */30 * * * * from 2027-04-03T14:00:00Z keeps its half-hour rhythm through both passes of 02:00-03:00', () => {
  assert.deepEqual(fires('0 */30 * * * *', 'Australia/Melbourne', '2027-04-03T14:00:00Z', 6), [
    '2027-04-03T14:30:00.000Z',
    '2027-04-03T15:00:00.000Z',
    '2027-04-03T15:30:00.000Z',
    '2027-04-03T16:00:00.000Z',
    '2027-04-03T16:30:00.000Z',
    '2027-04-03T17:00:00.000Z',
  ]);
});

test('Europe/Berlin 0 0 2 * * * fires once on the fall-back night (2027-10-31T00:00:00Z)', () => {
  assert.deepEqual(fires('0 0 2 * * *', 'Europe/Berlin', '2027-10-30T12:00:00Z', 2), [
    '2027-10-31T00:00:00.000Z',
    '2027-11-01T01:00:00.000Z',
  ]);
  // A list or range of hours is fixed too: 02:00 once, then 03:00.
  assert.deepEqual(fires('0 0 1-3 * * *', 'Europe/Berlin', '2027-10-30T22:00:00Z', 3), [
    '2027-10-30T23:00:00.000Z',
    '2027-10-31T00:00:00.000Z',
    '2027-10-31T02:00:00.000Z',
  ]);
});

test('a 30-minute shift (Australia/Lord_Howe): a skipped fixed time fires at 02:30 LHDT, an hourly rule skips it', () => {
  // 2027-10-03 02:00 +10:30 (2027-10-02T15:30Z) jumps to 02:30 +11.
  assert.deepEqual(fires('0 15 2 * * *', 'Australia/Lord_Howe', '2027-10-01T12:00:00Z', 3), [
    '2027-10-01T15:45:00.000Z',
    '2027-10-02T15:30:00.000Z',
    '2027-10-03T15:15:00.000Z',
  ]);
  assert.deepEqual(fires('0 15 * * * *', 'Australia/Lord_Howe', '2027-10-02T13:00:00Z', 3), [
    '2027-10-02T13:45:00.000Z',
    '2027-10-02T14:45:00.000Z',
    '2027-10-02T16:15:00.000Z',
  ]);
});

test('several skipped times of one gap fire once together; a step hour fires in both passes of a fold', () => {
  // A fixed hour with a wild minute keeps its day (croner and cronie would skip it: oracle.test.ts).
  assert.deepEqual(fires('0 */15 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', 2), [
    '2026-03-29T01:00:00.000Z',
    '2026-03-30T00:00:00.000Z',
  ]);
  assert.deepEqual(fires('0 0,30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', 3), [
    '2026-03-29T01:00:00.000Z',
    '2026-03-30T00:00:00.000Z',
    '2026-03-30T00:30:00.000Z',
  ]);
  assert.deepEqual(fires('0 30 * * * *', 'Europe/Berlin', '2026-10-24T23:00:00Z', 4), [
    '2026-10-24T23:30:00.000Z',
    '2026-10-25T00:30:00.000Z',
    '2026-10-25T01:30:00.000Z',
    '2026-10-25T02:30:00.000Z',
  ]);
  assert.deepEqual(fires('0 30 */2 * * *', 'Europe/Berlin', '2026-10-24T23:00:00Z', 3), [
    '2026-10-25T00:30:00.000Z',
    '2026-10-25T01:30:00.000Z',
    '2026-10-25T03:30:00.000Z',
  ]);
});

test('the preview says which fires DST moved: gap, fold, or none', () => {
  const berlin = (expr: string): Schedule => ({ type: 'cron', expr, timezone: 'Europe/Berlin' });
  const spring = previewFireTimes(berlin('0 30 2 * * *'), {}, new Date('2026-03-28T00:00:00Z'), 3);
  assert.deepEqual(
    spring.map((f) => [f.at.toISOString(), f.shifted]),
    [
      ['2026-03-28T01:30:00.000Z', null],
      ['2026-03-29T01:00:00.000Z', 'gap'],
      ['2026-03-30T00:30:00.000Z', null],
    ],
  );
  const fall = previewFireTimes(berlin('0 30 * * * *'), {}, new Date('2026-10-25T00:00:00Z'), 3);
  assert.deepEqual(
    fall.map((f) => [f.at.toISOString(), f.shifted]),
    [
      ['2026-10-25T00:30:00.000Z', 'fold'],
      ['2026-10-25T01:30:00.000Z', 'fold'],
      ['2026-10-25T02:30:00.000Z', null],
    ],
  );
  const once = previewFireTimes(berlin('0 30 2 * * *'), {}, new Date('2026-10-24T12:00:00Z'), 2);
  assert.deepEqual(
    once.map((f) => [f.at.toISOString(), f.shifted]),
    [
      ['2026-10-25T00:30:00.000Z', 'fold'],
      ['2026-10-26T01:30:00.000Z', null],
    ],
  );
  assert.deepEqual(
    previewFireTimes({ type: 'interval', everyMs: 60_000 }, {}, new Date(0), 1).map((f) => f.shifted),
    [null],
  );
});
