// The cron dialect people bring (issue 13): SUN closing a weekday range, Quartz's L, W, LW, nL,
// n#k and ?, the @ aliases, and rules that can never fire refused with a field error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CronError, fieldErrors, jobInputSchema, nextFireTimes, parseCron } from '../src/index.js';

const fires = (expr: string, after: string, count: number) =>
  nextFireTimes({ type: 'cron', expr, timezone: 'UTC' }, new Date(after), count).map((d) => d.toISOString().slice(0, 19));

test('SUN closing a weekday range is 7: SAT-SUN, MON-SUN, FRI-SUN', () => {
  // 2027-01-01 is a Friday.
  assert.deepEqual(fires('0 30 0 * * SAT-SUN', '2027-01-01T00:00:00Z', 3), [
    '2027-01-02T00:30:00',
    '2027-01-03T00:30:00',
    '2027-01-09T00:30:00',
  ]);
  assert.deepEqual(fires('0 30 0 * * MON-SUN', '2027-01-01T00:00:00Z', 3), [
    '2027-01-01T00:30:00',
    '2027-01-02T00:30:00',
    '2027-01-03T00:30:00',
  ]);
  assert.deepEqual(fires('0 30 0 * * FRI-SUN', '2027-01-02T00:00:00Z', 4), [
    '2027-01-02T00:30:00',
    '2027-01-03T00:30:00',
    '2027-01-08T00:30:00',
    '2027-01-09T00:30:00',
  ]);
  assert.deepEqual(fires('30 0 * * 6-7', '2027-01-01T00:00:00Z', 2), ['2027-01-02T00:30:00', '2027-01-03T00:30:00']);
  assert.deepEqual(
    fires('0 0 * * SUN-SUN', '2027-01-01T00:00:00Z', 2),
    ['2027-01-03T00:00:00', '2027-01-10T00:00:00'],
    'SUN-SUN is Sunday alone',
  );
  assert.throws(() => parseCron('0 0 * * SAT-FRI'), /runs backwards/);
});

test('L: the last day of the month; L-2: two days before it', () => {
  assert.deepEqual(fires('0 0 0 L * ?', '2027-01-01T00:00:00Z', 3), ['2027-01-31T00:00:00', '2027-02-28T00:00:00', '2027-03-31T00:00:00']);
  assert.deepEqual(fires('0 0 L 2 ?', '2028-01-01T00:00:00Z', 1), ['2028-02-29T00:00:00'], 'leap year');
  assert.deepEqual(fires('0 0 0 L-2 * ?', '2027-01-01T00:00:00Z', 2), ['2027-01-29T00:00:00', '2027-02-26T00:00:00']);
});

test('W: the weekday nearest the day, never leaving the month', () => {
  // 2027-05-15 is a Saturday -> Friday 14th; 2027-08-15 a Sunday -> Monday 16th; 2027-01-15 a Friday.
  assert.deepEqual(fires('0 0 0 15W * ?', '2027-01-01T00:00:00Z', 1), ['2027-01-15T00:00:00']);
  assert.deepEqual(fires('0 0 0 15W * ?', '2027-05-01T00:00:00Z', 1), ['2027-05-14T00:00:00']);
  assert.deepEqual(fires('0 0 0 15W * ?', '2027-08-01T00:00:00Z', 1), ['2027-08-16T00:00:00']);
  // 2027-05-01 is a Saturday: 1W is Monday the 3rd, not Friday in April. 2027-10-31 a Sunday: 31W is Friday the 29th.
  assert.deepEqual(fires('0 0 0 1W * ?', '2027-04-30T00:00:00Z', 1), ['2027-05-03T00:00:00']);
  assert.deepEqual(fires('0 0 0 31W 10 ?', '2027-01-01T00:00:00Z', 1), ['2027-10-29T00:00:00']);
});

test('LW: the last weekday of the month', () => {
  // 2027-01-31 is a Sunday, 2027-07-31 a Saturday, 2027-03-31 a Wednesday.
  assert.deepEqual(fires('0 0 0 LW * ?', '2027-01-01T00:00:00Z', 3), ['2027-01-29T00:00:00', '2027-02-26T00:00:00', '2027-03-31T00:00:00']);
  assert.deepEqual(fires('0 0 0 LW 7 ?', '2027-01-01T00:00:00Z', 1), ['2027-07-30T00:00:00']);
});

test('5L: the last Friday; 5#3: the third Friday (cron numbering, 5 = FRI)', () => {
  assert.deepEqual(fires('0 0 0 ? * 5L', '2027-01-01T00:00:00Z', 3), ['2027-01-29T00:00:00', '2027-02-26T00:00:00', '2027-03-26T00:00:00']);
  assert.deepEqual(fires('0 0 0 ? * FRIL', '2027-01-01T00:00:00Z', 1), ['2027-01-29T00:00:00']);
  assert.deepEqual(fires('0 0 0 ? * 5#3', '2027-01-01T00:00:00Z', 3), [
    '2027-01-15T00:00:00',
    '2027-02-19T00:00:00',
    '2027-03-19T00:00:00',
  ]);
  assert.deepEqual(fires('0 0 0 ? * FRI#3', '2027-01-01T00:00:00Z', 1), ['2027-01-15T00:00:00']);
  // A fifth Friday only in months that have one: 2027-01 (29th), then 2027-04 (30th).
  assert.deepEqual(fires('0 0 0 ? * 5#5', '2027-01-01T00:00:00Z', 2), ['2027-01-29T00:00:00', '2027-04-30T00:00:00']);
  assert.throws(() => parseCron('0 0 0 ? * 5#6'), /occurrence 6/);
});

test('?: no restriction on its day field, so the other one decides', () => {
  assert.deepEqual(fires('0 0 12 ? * MON', '2027-01-01T00:00:00Z', 2), ['2027-01-04T12:00:00', '2027-01-11T12:00:00']);
  assert.deepEqual(fires('0 0 12 10 * ?', '2027-01-01T00:00:00Z', 2), ['2027-01-10T12:00:00', '2027-02-10T12:00:00']);
  assert.throws(() => parseCron('0 ? * * * *'), /'\?' is only for the day fields/);
});

test('@yearly @annually @monthly @weekly @daily @midnight @hourly', () => {
  const from = '2027-01-01T10:20:00Z';
  assert.deepEqual(fires('@yearly', from, 2), ['2028-01-01T00:00:00', '2029-01-01T00:00:00']);
  assert.deepEqual(fires('@annually', from, 1), ['2028-01-01T00:00:00']);
  assert.deepEqual(fires('@monthly', from, 2), ['2027-02-01T00:00:00', '2027-03-01T00:00:00']);
  assert.deepEqual(fires('@weekly', from, 2), ['2027-01-03T00:00:00', '2027-01-10T00:00:00']);
  assert.deepEqual(fires('@daily', from, 2), ['2027-01-02T00:00:00', '2027-01-03T00:00:00']);
  assert.deepEqual(fires('@midnight', from, 1), ['2027-01-02T00:00:00']);
  assert.deepEqual(fires('@HOURLY', from, 2), ['2027-01-01T11:00:00', '2027-01-01T12:00:00']);
  assert.throws(() => parseCron('@fortnightly'), /unknown alias "@fortnightly"/);
});

test('L, W and # outside the day fields are errors that say so', () => {
  assert.throws(() => parseCron('0 0 L * * *'), /hour: "L": L, W and # are only for the day fields/);
  assert.throws(() => parseCron('0 0 0 1 3#2 *'), /month: "3#2"/);
  assert.throws(() => parseCron('0 0 0 5X * *'), /day of month/);
  assert.doesNotThrow(() => parseCron('0 0 0 1 JUL *'));
});

test('a rule that can never fire (0 0 0 31 4 *) is refused with a field error that says so', () => {
  assert.throws(
    () => parseCron('0 0 0 31 4 *'),
    (e: Error) => e instanceof CronError && /can never fire/.test(e.message),
  );
  assert.throws(() => parseCron('0 0 30 2 *'), /can never fire/);
  assert.throws(() => parseCron('0 0 0 31W 4,6,9,11 ?'), /can never fire/);
  assert.doesNotThrow(() => parseCron('0 0 0 29 2 *'), 'leap days happen');
  assert.doesNotThrow(() => parseCron('0 0 0 31 4 MON'), 'either day field may match');
  const r = jobInputSchema.safeParse({ name: 'x', schedule: { type: 'cron', expr: '0 0 0 31 4 *' }, kind: { type: 'handler', name: 'h' } });
  assert.equal(r.success, false);
  assert.match(fieldErrors(r.error)['schedule.expr'] ?? '', /^bad cron rule: the rule can never fire/);
});
