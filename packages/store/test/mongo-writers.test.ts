import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { jobInputSchema, runId } from '@clover/model';
import { mongoForTest } from '@clover/testkit';
import { openStore } from '../src/index.js';

/**
 * Several writers on one MongoDB (a real wire server: CLOVER_TEST_MONGO_URL's, else FerretDB,
 * a database of its own), each a store as a dispatch-server opens it. Skips, saying why, only
 * outside CI when no server can be had (mongoForTest).
 */
const mongo = await mongoForTest('clover_writers');

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
      const job = await newLeader.jobs.create(
        jobInputSchema.parse({
          name: 'counted once, two writers',
          schedule: { type: 'cron', expr: '0 * * * * *' },
          kind: { type: 'handler', name: 'h' },
        }),
      );
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
      const failed = { status: 'failed' as const, finishedAt: new Date(t0 + 900), error: 'flaky: failed' };
      const state = { lastRunAt: new Date(t0), lastStatus: 'failed' as const, runCountDelta: 1, failureCountDelta: 1 };
      const write = (term: number) => ({ inserts: [], updates: [{ id, patch: failed, jobState: state }], jobStates: [], term });
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
    } finally {
      for (const s of opened.reverse()) await s.close();
    }
  });
}
