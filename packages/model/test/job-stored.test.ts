import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { jobFromStored, jobSchema, type Job } from '../src/index.js';
import { concurrencies, httpMethods, misfires, routings, runStatuses, startDeadlineOutcomes } from '../src/lists.js';

const date = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2040-01-01T00:00:00Z'), noInvalidDate: true });
const text = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim().length > 0);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const schedule = fc.oneof(
  fc.record(
    {
      type: fc.constant('cron'),
      expr: fc.constantFrom('0 * * * * *', '*/5 * * * *', '0 9 * * MON-FRI'),
      timezone: maybe(fc.constantFrom('UTC', 'Europe/Berlin')),
    },
    { requiredKeys: ['type', 'expr'] },
  ),
  fc.record({ type: fc.constant('once'), at: date }),
  fc.record(
    { type: fc.constant('interval'), everyMs: fc.integer({ min: 1000, max: 86_400_000 }), startAt: date },
    { requiredKeys: ['type', 'everyMs'] },
  ),
);
const kind = fc.oneof(
  fc.record({ type: fc.constant('handler'), name: text }),
  fc.record(
    { type: fc.constant('shell'), command: text, args: fc.array(fc.string()), env: fc.dictionary(text, fc.string()), cwd: fc.string() },
    { requiredKeys: ['type', 'command'] },
  ),
  fc.record(
    {
      type: fc.constant('http'),
      url: fc.constantFrom('http://127.0.0.1:8080/hook', 'https://example.test/a?b=c'),
      method: fc.constantFrom(...httpMethods),
      headers: fc.dictionary(text, fc.string()),
      body: fc.string(),
      expectStatus: fc.constantFrom('200-299', '204'),
    },
    { requiredKeys: ['type', 'url'] },
  ),
);
/** Job inputs as clients send them: any mix of the optional fields, so the stored document has each default. */
const input = fc.record(
  {
    name: text,
    description: fc.string({ maxLength: 20 }),
    group: text,
    schedule,
    enabled: fc.boolean(),
    target: fc.oneof(
      fc.constant({ type: 'any' }),
      fc.record({ type: fc.constant('node'), nodeId: text }),
      fc.record({ type: fc.constant('tags'), tags: fc.array(text, { minLength: 1 }) }),
    ),
    kind,
    payload: fc.jsonValue(),
    timeoutMs: fc.integer({ min: 100, max: 3_600_000 }),
    retries: fc.record({ max: fc.integer({ min: 0, max: 5 }), backoffMs: fc.nat(10_000) }, { requiredKeys: [] }),
    routing: fc.constantFrom(...routings),
    concurrency: fc.constantFrom(...concurrencies),
    misfire: fc.constantFrom(...misfires),
    window: fc.record({ startAt: date, endAt: date }, { requiredKeys: [] }),
    contacts: fc.array(text, { maxLength: 2 }),
    startDeadlineMs: fc.nat(60_000),
    onStartDeadline: fc.constantFrom(...startDeadlineOutcomes),
    incidentOnStartDeadline: fc.boolean(),
    deleteWhenDone: fc.boolean(),
  },
  { requiredKeys: ['name', 'schedule', 'kind'] },
);
const runState = fc.record({
  lastRunAt: fc.option(date, { nil: null }),
  lastStatus: fc.constantFrom(null, ...runStatuses),
  nextRunAt: fc.option(date, { nil: null }),
  runCount: fc.nat(1000),
  failureCount: fc.nat(1000),
});

/** What a store keeps of a job: the JSON text of the parsed `Job`. */
const stored = (job: Job) => JSON.parse(JSON.stringify(job)) as Record<string, unknown>;

test('a job read back from its stored document is what the full parse of that document gives, with or without its run state in it', () => {
  fc.assert(
    fc.property(input, runState, date, (spec, state, created) => {
      const job = jobSchema.parse({ ...spec, id: 'job_1', createdAt: created, updatedAt: created, ...state });
      // The contract is the full parse of the same stored text (JSON already turned -0 into 0).
      const full = (doc: Record<string, unknown>) => jobSchema.parse(structuredClone(doc));
      const doc = stored(job);
      assert.deepEqual(jobFromStored(structuredClone(doc)), full(doc));
      // The SQLite store keeps the run state in columns and merges them into the document it read.
      const { lastRunAt, lastStatus, nextRunAt, runCount, failureCount, ...spec1 } = doc;
      const merged = { ...spec1, lastRunAt, lastStatus, nextRunAt, runCount, failureCount };
      assert.deepEqual(jobFromStored(structuredClone(merged)), full(merged));
      // MongoDB's before its first run: no run state at all is the schema's defaults.
      assert.deepEqual(jobFromStored(structuredClone(spec1)), full(spec1));
    }),
    { numRuns: 500 },
  );
});

test('a document written before a defaulted field existed gets its default, at any depth, as the full parse gives it', () => {
  const job = jobSchema.parse({
    name: 'backup',
    schedule: { type: 'cron', expr: '0 3 * * *', timezone: 'Europe/Berlin' },
    kind: { type: 'shell', command: 'backup.sh', args: ['-v'], env: { A: '1' } },
    retries: { max: 2 },
    createdAt: new Date('2026-01-01T00:00:00Z'),
    updatedAt: new Date('2026-01-02T00:00:00Z'),
    id: 'job_old',
  });
  const cases: Array<[string, (doc: Record<string, unknown>) => void, (j: Job) => unknown, unknown]> = [
    ['onStartDeadline', (d) => delete d.onStartDeadline, (j) => j.onStartDeadline, 'skipped'],
    ['incidentOnStartDeadline', (d) => delete d.incidentOnStartDeadline, (j) => j.incidentOnStartDeadline, false],
    ['kind.env', (d) => delete (d.kind as Record<string, unknown>).env, (j) => j.kind.type === 'shell' && j.kind.env, {}],
    ['retries.maxBackoffMs', (d) => delete (d.retries as Record<string, unknown>).maxBackoffMs, (j) => j.retries.maxBackoffMs, 60_000],
    [
      'schedule.timezone',
      (d) => delete (d.schedule as Record<string, unknown>).timezone,
      (j) => j.schedule.type === 'cron' && j.schedule.timezone,
      'UTC',
    ],
  ];
  for (const [field, drop, read, value] of cases) {
    const doc = stored(job);
    drop(doc);
    const read1 = jobFromStored(doc);
    assert.deepEqual(read(read1), value, field);
    assert.ok(read1.createdAt instanceof Date && read1.createdAt.getTime() === job.createdAt.getTime(), field);
  }
});

test('dates a MongoDB driver hands back as Date objects are kept; ISO text becomes a Date', () => {
  const at = new Date('2027-05-01T10:00:00Z');
  const job = jobSchema.parse({
    name: 'once',
    schedule: { type: 'once', at },
    kind: { type: 'handler', name: 'h' },
    window: { endAt: at },
    id: 'job_d',
    createdAt: at,
    updatedAt: at,
  });
  const doc = { ...stored(job), lastRunAt: at, createdAt: at };
  const read = jobFromStored(doc);
  assert.equal(read.lastRunAt?.getTime(), at.getTime());
  assert.ok(read.schedule.type === 'once' && read.schedule.at instanceof Date && read.schedule.at.getTime() === at.getTime());
  assert.ok(read.window.endAt instanceof Date);
  assert.equal(read.window.startAt, undefined);
});
