import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runId } from '@clover/model';
import { openStore } from '@clover/store';
import { mongoForTest, waitFor, type TestMongo } from '@clover/testkit';
import { startCluster, type Cluster } from './harness.js';

// Issue 16's MongoDB chaos run ended with 516 jobs whose counts disagreed with their runs: a
// leader killed mid-batch leaves its counts in a tally that only a reconcile finishes, and the
// next leader's reconcile at its takeover found that tally too young to be a dead writer's. It
// stayed unapplied until a later takeover. A settled leader now reconciles at every sweep tick.
let mongo: TestMongo | undefined;
let c: Cluster | undefined;
let skip: string | false = false;

before(async () => {
  const m = await mongoForTest('dispatch_reconcile');
  if ('skip' in m) {
    skip = m.skip;
    return;
  }
  mongo = m;
  c = await startCluster('reconcile', {
    openStore: () => openStore({ mongoUrl: m.databaseUrl, reconcileAfterMs: 300 }),
    timings: { orphanSweepMs: 200 },
  });
});

after(async () => {
  await c?.close();
  await mongo?.cleanup();
});

test('counts a writer that died mid-batch left in its tally are finished by the leader after its takeover, not at the next one', async (t) => {
  if (skip || !c || !mongo) {
    t.skip(skip || 'no MongoDB');
    return;
  }
  const job = await c.createJob({
    name: 'counted',
    schedule: { type: 'cron', expr: '0 0 0 1 1 *' },
    kind: { type: 'handler', name: 'noop' },
  });
  // The leader has taken over and settled before the other writer dies.
  await new Promise((r) => setTimeout(r, 1000));
  const scheduledAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const id = runId(job.id, scheduledAt);
  await c.store.runs.insert({ id, jobId: job.id, scheduledAt, status: 'running', node: 'gone-agent', dispatchedAt: scheduledAt });
  // The writer "dies" right after its run writes: its tally is left, its counts not applied.
  const writer = await openStore({
    mongoUrl: mongo.databaseUrl,
    faultPoint: (step) => {
      if (step === 'runs-written') throw new Error('the writer died here');
    },
  });
  const finishedAt = new Date();
  await assert.rejects(
    writer.writeRuns({
      inserts: [],
      updates: [
        { id, patch: { status: 'succeeded', finishedAt }, jobState: { lastRunAt: finishedAt, lastStatus: 'succeeded', runCountDelta: 1 } },
      ],
      jobStates: [],
    }),
    /the writer died here/,
  );
  await writer.close();
  assert.equal((await c.store.runs.get(id))?.status, 'succeeded');
  const counted = await waitFor(
    async () => {
      const row = await c!.store.jobs.get(job.id);
      const hourly = await c!.store.counters.summary({ from: new Date(scheduledAt.getTime() - 3_600_000), to: new Date(), jobId: job.id });
      return row?.runCount === 1 && hourly.totals.succeeded === 1 ? { row, hourly } : null;
    },
    { timeoutMs: 10_000, message: "the dead writer's counts finished by the leader" },
  );
  assert.equal(counted.row.lastStatus, 'succeeded');
  assert.equal(counted.hourly.totals.succeeded, 1);
});
