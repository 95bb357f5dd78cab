import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_OUTPUT_BYTES,
  ValidationError,
  fieldErrors,
  jobInputSchema,
  parseOrThrow,
  runSchema,
  truncateOutput,
  contactInputSchema,
  startDeadlineOf,
  jobKindSchema,
  parseExpectStatus,
  statusExpected,
} from '../src/index.js';

const valid = { name: 'report', schedule: { type: 'cron', expr: '0 * * * * *' }, kind: { type: 'handler', name: 'report.daily' } };

test('a minimal job gets its defaults', () => {
  const job = parseOrThrow(jobInputSchema, valid);
  assert.equal(job.schedule.type === 'cron' && job.schedule.timezone, 'UTC');
  assert.deepEqual(job.target, { type: 'any' });
  assert.equal(job.routing, 'round_robin');
  assert.equal(job.concurrency, 'allow');
  assert.equal(job.retries.max, 0);
});

test('each kind of bad input names its field', () => {
  const cases: Array<[unknown, string, RegExp]> = [
    [{ ...valid, schedule: { type: 'cron', expr: '* * 99 * *' } }, 'schedule.expr', /bad cron rule: day of month: 99 is outside 1-31/],
    [{ ...valid, schedule: { type: 'cron', expr: '* * * * *', timezone: 'Mars/Olympus' } }, 'schedule.timezone', /unknown timezone/],
    [{ ...valid, target: { type: 'group', group: '  ' } }, 'target.group', /must not be empty/],
    [{ ...valid, payload: { blob: 'x'.repeat(70_000) } }, 'payload', /larger than 65536/],
    [{ ...valid, name: '' }, 'name', /must not be empty/],
    [{ ...valid, schedule: { type: 'interval', everyMs: 10 } }, 'schedule.everyMs', /at least 1000/],
  ];
  for (const [input, field, message] of cases) {
    const r = jobInputSchema.safeParse(input);
    assert.equal(r.success, false, field);
    const fields = fieldErrors(r.error);
    assert.match(fields[field] ?? `(no ${field} in ${JSON.stringify(fields)})`, message);
  }
  assert.throws(
    () => parseOrThrow(contactInputSchema, { name: 'x', email: 'nope' }),
    (e: ValidationError) => /email/.test(e.fields.email ?? ''),
  );
});

test("a contact's email keeps RFC 5321's lengths, which zod's pattern does not (found by Schemathesis, issue 16)", () => {
  const ok = (email: string) => contactInputSchema.safeParse({ name: 'x', email }).success;
  assert.equal(ok(`${'a'.repeat(64)}@example.com`), true);
  assert.equal(ok(`${'a'.repeat(65)}@example.com`), false, 'a local part over 64 characters');
  assert.equal(ok(`a@${'b'.repeat(63)}.com`), true);
  assert.equal(ok(`a@${'b'.repeat(64)}.com`), false, 'a domain label over 63 characters');
  assert.equal(ok(`a@${`${'b'.repeat(60)}.`.repeat(5)}com`), false, 'an address over 254 characters');
});

test('run output is bounded; truncation keeps the end', () => {
  const long = 'a'.repeat(MAX_OUTPUT_BYTES) + 'THE END';
  assert.equal(runSchema.safeParse({ id: 'r', jobId: 'j', scheduledAt: new Date(), status: 'failed', outputTail: long }).success, false);
  const tail = truncateOutput(long);
  assert.ok(tail.endsWith('THE END'));
  assert.ok(Buffer.byteLength(tail) <= MAX_OUTPUT_BYTES);
  const multi = truncateOutput('é'.repeat(MAX_OUTPUT_BYTES));
  assert.ok(Buffer.byteLength(multi) <= MAX_OUTPUT_BYTES && !multi.includes('\uFFFD'));
});

test('start deadline: its fields default so a stored job stays valid; unset, it is the period, at least 10 s and at most 60 s', () => {
  const job = parseOrThrow(jobInputSchema, valid);
  assert.deepEqual([job.startDeadlineMs, job.onStartDeadline, job.incidentOnStartDeadline], [undefined, 'skipped', false]);
  const slot = Date.UTC(2026, 10, 30, 12, 0, 0);
  const cron = (expr: string) => parseOrThrow(jobInputSchema, { ...valid, schedule: { type: 'cron', expr } });
  assert.equal(startDeadlineOf(cron('* * * * * *'), slot), 10_000, 'every second: 1 s, raised to the 10 s floor');
  assert.equal(startDeadlineOf(cron('*/15 * * * * *'), slot), 15_000);
  assert.equal(startDeadlineOf(cron('0 0 * * * *'), slot), 60_000, 'hourly: capped at 60 s');
  assert.equal(startDeadlineOf(cron('0 0 9,9 * * *'), slot), 60_000);
  const interval = parseOrThrow(jobInputSchema, { ...valid, schedule: { type: 'interval', everyMs: 5000 } });
  assert.equal(startDeadlineOf(interval, slot), 10_000, 'every 5 s: the 10 s floor');
  const once = parseOrThrow(jobInputSchema, { ...valid, schedule: { type: 'once', at: new Date(slot) } });
  assert.equal(startDeadlineOf(once, slot), 60_000, 'a one-shot has no period');
  assert.equal(startDeadlineOf({ ...once, startDeadlineMs: 0 }, slot), 0, 'set: as set, 0 included');
  const ended = parseOrThrow(jobInputSchema, {
    ...valid,
    schedule: { type: 'cron', expr: '* * * * * *' },
    window: { endAt: new Date(slot) },
  });
  assert.equal(startDeadlineOf(ended, slot), 60_000, 'no slot after this one: no period');
  assert.equal(jobInputSchema.safeParse({ ...valid, onStartDeadline: 'lost' }).success, false);
  assert.equal(jobInputSchema.safeParse({ ...valid, startDeadlineMs: -1 }).success, false);
});

test("an HTTP job's expectStatus: codes and ranges, comma separated, 100 to 599; anything else is refused with its code", () => {
  const http = (expectStatus: string) => jobKindSchema.safeParse({ type: 'http', url: 'https://example.com/', expectStatus });
  for (const ok of ['200', '200-299', '200,204', ' 200 - 299 , 404 ', '100-599']) assert.ok(http(ok).success, ok);
  for (const bad of ['', '2xx', '200-', '99', '600', '299-200', '200;204', '200,,204', '1000']) {
    const r = http(bad);
    assert.ok(!r.success, bad);
    assert.equal((r.error.issues[0] as { params?: { code?: string } }).params?.code, 'expect_status', bad);
  }
  assert.deepEqual(parseExpectStatus('200-299, 404'), [
    [200, 299],
    [404, 404],
  ]);
  assert.ok(statusExpected(302, undefined), 'none named: below 400');
  assert.ok(!statusExpected(400, undefined));
  assert.ok(!statusExpected(204, '200'));
  assert.ok(!statusExpected(200, 'garbage'), 'a text that does not parse expects nothing');
});

test('a cron rule is judged the same every time it is given: its verdict is remembered, good or bad, past the memory’s size', () => {
  const bad = { ...valid, schedule: { type: 'cron', expr: '0 0 0 31 4 *' } };
  for (let i = 0; i < 3; i++) {
    const r = jobInputSchema.safeParse(bad);
    assert.ok(!r.success);
    assert.match(fieldErrors(r.error)['schedule.expr'] ?? '', /^bad cron rule: the rule can never fire/);
    assert.ok(jobInputSchema.safeParse(valid).success);
  }
  // More distinct rules than are remembered (10,000): the memory starts over, the verdicts stay right.
  for (let s = 0; s < 60; s++)
    for (let m = 0; m < 60; m++)
      for (const h of [0, 1, 2]) {
        assert.ok(jobInputSchema.safeParse({ ...valid, schedule: { type: 'cron', expr: `${s} ${m} ${h} * * *` } }).success);
      }
  assert.ok(!jobInputSchema.safeParse(bad).success);
  assert.ok(!jobInputSchema.safeParse({ ...valid, schedule: { type: 'cron', expr: '61 * * * * *' } }).success);
});
