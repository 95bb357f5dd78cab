import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { jobInputSchema, runId } from '@clover/model';
import { mongoForTest } from '@clover/testkit';
import { openStore, type Store } from '../src/index.js';

/**
 * Several writers on one MongoDB (a real wire server: CLOVER_TEST_MONGO_URL's, else FerretDB,
 * a database of its own), each a store as a dispatch-server opens it. Skips, saying why, only
 * outside CI when no server can be had (mongoForTest).
 */
const mongo = await mongoForTest('clover_writers');

/** An every-minute handler job, made through `store`. */
const everyMinute = (store: Store, name: string) =>
  store.jobs.create(jobInputSchema.parse({ name, schedule: { type: 'cron', expr: '0 * * * * *' }, kind: { type: 'handler', name: 'h' } }));

/** A failed attempt's RESULT as a dispatch-server writes it: the run failed, its job's counts one up. */
const failedAttempt = (id: string, scheduledAt: number, term: number) => ({
  inserts: [],
  updates: [
    {
      id,
      patch: { status: 'failed' as const, finishedAt: new Date(scheduledAt + 900), error: 'flaky: failed' },
      jobState: { lastRunAt: new Date(scheduledAt), lastStatus: 'failed' as const, runCountDelta: 1, failureCountDelta: 1 },
    },
  ],
  jobStates: [],
  term,
});

if ('skip' in mongo) {
  console.log(`# SKIP MongoDB writers: ${mongo.skip}`);
  test('MongoDB writers', { skip: mongo.skip }, () => {});
} else {
  after(() => mongo.cleanup());
  // The 10-min MongoDB chaos run: a failed attempt counted by two servers (each job's failureCount,
  // runCount and hourly `failed` one above its runs). After a leader change both recorded the
  // agent's RESULT; the new leader had read the run as running before the old one's write landed,
  // and its write, applied over that one, counted the failure again.
  test(`MongoDB on ${mongo.server}: two servers that read a running run before either writes its failure count it once`, async () => {
    const opened: Array<{ close(): Promise<void> }> = [];
    try {
      let pausing = false;
      let reached!: () => void;
      const atWrite = new Promise<void>((r) => (reached = r));
      let resume!: () => void;
      const resumed = new Promise<void>((r) => (resume = r));
      const newLeader = await openStore({
        mongoUrl: mongo.databaseUrl,
        beforeRunsWritten: async () => {
          if (!pausing) return;
          pausing = false;
          reached();
          await resumed;
        },
      });
      opened.push(newLeader);
      const oldLeader = await openStore({ mongoUrl: mongo.databaseUrl });
      opened.push(oldLeader);
      const job = await everyMinute(newLeader, 'counted once, two writers');
      const t0 = Date.UTC(2026, 11, 1, 11, 5, 49);
      const id = runId(job.id, new Date(t0));
      await oldLeader.runs.insert({
        id,
        jobId: job.id,
        scheduledAt: new Date(t0),
        trigger: 'schedule',
        status: 'dispatched',
        node: 'agent-3',
      });
      await oldLeader.runs.update(id, { status: 'running' });
      const write = (term: number) => failedAttempt(id, t0, term);
      pausing = true;
      const late = newLeader.writeRuns(write(7));
      await atWrite;
      await oldLeader.writeRuns(write(6));
      resume();
      await late;
      const row = (await oldLeader.jobs.get(job.id))!;
      assert.deepEqual([row.runCount, row.failureCount, row.lastStatus], [1, 1, 'failed']);
      const totals = (await oldLeader.counters.summary({ from: new Date(t0 - 3_600_000), to: new Date(t0 + 3_600_000), jobId: job.id }))
        .totals;
      assert.deepEqual(totals, { failed: 1 });
      assert.equal((await oldLeader.runs.get(id))?.status, 'failed');
      // Both batches cleaned up once the writers close: none is left for a reconciler to find
      // (the new leader's, all of whose shares the other writer took, used to be).
      for (const s of opened.splice(0).reverse()) await s.close();
      const found: string[] = [];
      opened.push(
        await openStore({
          mongoUrl: mongo.databaseUrl,
          reconcileAfterMs: 0,
          beforeTallyApplied: (t) => Promise.resolve(void found.push(t)),
        }),
      );
      assert.deepEqual(found, []);
    } finally {
      for (const s of opened.reverse()) await s.close();
    }
  });

  // The other way a batch counted twice: a writer slowed past reconcileAfterMs sent its clean-up
  // (tally deleted, its id pulled from the counters and the job) while a new leader's reconcile
  // held the tally it had read; that apply then found no id and counted the batch again.
  test(`MongoDB on ${mongo.server}: a batch its writer finishes while a reconciler holds its tally is counted once`, async () => {
    const opened: Array<{ close(): Promise<void> }> = [];
    try {
      const held: string[] = [];
      let armed = false;
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let reached!: () => void;
      const atApply = new Promise<void>((r) => (reached = r));
      // The writer's clean-up waits for the test (no next batch, and a timer of a minute).
      const writer = await openStore({ mongoUrl: mongo.databaseUrl, settleDelayMs: 60_000 });
      opened.push(writer);
      const reconciler = await openStore({
        mongoUrl: mongo.databaseUrl,
        reconcileAfterMs: 0,
        beforeTallyApplied: async (tallyId) => {
          // Open reconciles too, before this test has written anything: only its own batch is held.
          if (!armed) return;
          held.push(tallyId);
          reached();
          await released;
        },
      });
      opened.push(reconciler);
      const job = await everyMinute(writer, 'counted once, writer and reconciler');
      const t0 = Date.UTC(2026, 11, 1, 18, 40, 0);
      const id = runId(job.id, new Date(t0));
      await writer.runs.insert({ id, jobId: job.id, scheduledAt: new Date(t0), trigger: 'schedule', status: 'running', node: 'agent-1' });
      await writer.writeRuns(failedAttempt(id, t0, 1));
      // Counted (step 3); its tally still stored, its clean-up not sent.
      armed = true;
      const reconciling = reconciler.reconcile();
      await atApply;
      assert.equal(held.length, 1, "the reconciler holds the writer's tally");
      // The writer's clean-up lands while the reconciler holds the tally (close sends it).
      await writer.close();
      opened.shift();
      release();
      await reconciling;
      const row = (await reconciler.jobs.get(job.id))!;
      assert.deepEqual([row.runCount, row.failureCount, row.lastStatus], [1, 1, 'failed']);
      const totals = (await reconciler.counters.summary({ from: new Date(t0 - 3_600_000), to: new Date(t0 + 3_600_000), jobId: job.id }))
        .totals;
      assert.deepEqual(totals, { failed: 1 });
      // The reconciler deleted the tally it claimed: nothing is left to apply again.
      assert.deepEqual(await reconciler.reconcile(), { runs: 0 });
    } finally {
      for (const s of opened.reverse()) await s.close();
    }
  });
}
