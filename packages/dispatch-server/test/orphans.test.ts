import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runId } from '@clover/model';
import { waitFor } from '@clover/testkit';
import { createZkClient } from '@clover/zk-kit';
import { paths, startCluster, type Cluster } from './harness.js';

// Issue 16's partition runs: a leader cut off from the network fired two slots whose writes sat
// in its connection to the store and landed once the link was back, after the next leader had
// adopted what it found; no one tracked them, and they stayed `dispatched` for good. The leader
// sweeps the store for such open runs and adopts them.
let c: Cluster;
let opened: Cluster | undefined;

before(async () => {
  c = opened = await startCluster('orphans', { timings: { orphanSweepMs: 200, orphanAgeMs: 1000 } });
  await c.startAgent('agent-1');
});

after(async () => {
  await opened?.close();
});

test('open runs written behind the leader (a dispatched one and an unsent one) are adopted by its sweep and end', async () => {
  // A job that does not fire by itself inside the test: only the planted runs are its.
  const job = await c.createJob({
    name: 'orphaned',
    schedule: { type: 'cron', expr: '0 0 0 1 1 *' },
    kind: { type: 'handler', name: 'noop' },
  });
  await waitFor(() => c.server.isLeader, { message: 'leading' });
  // After the agent's HELLO: sent to this life of it.
  await new Promise((r) => setTimeout(r, 1500));
  const now = Date.now();
  const sent = runId(job.id, new Date(Math.floor(now / 1000) * 1000 - 3000));
  const unsent = runId(job.id, new Date(Math.floor(now / 1000) * 1000 - 4000));
  await c.store.runs.insert({
    id: sent,
    jobId: job.id,
    scheduledAt: new Date(Math.floor(now / 1000) * 1000 - 3000),
    status: 'dispatched',
    node: 'agent-1',
    dispatchedAt: new Date(now - 1200),
  });
  await c.store.runs.insert({
    id: unsent,
    jobId: job.id,
    scheduledAt: new Date(Math.floor(now / 1000) * 1000 - 4000),
    status: 'scheduled',
  });
  const ended = await waitFor(
    async () => {
      const runs = await c.runsOf(job.id);
      return runs.length === 2 && runs.every((r) => r.status === 'succeeded') ? runs : null;
    },
    { timeoutMs: 15_000, message: 'both planted runs ended' },
  );
  assert.deepEqual(
    ended.map((r) => [r.id, r.node]).sort(),
    [
      [sent, 'agent-1'],
      [unsent, 'agent-1'],
    ].sort(),
  );
});

test("an open run of an earlier leader term is adopted at the next sweep, not after orphanAgeMs, and that term's late update changes nothing", async () => {
  // The age rule alone would wait a minute here: only the run's term makes it an orphan.
  // Two sequence numbers spent in the election first, so that the leader's term has one before it.
  const zk = createZkClient({ connect: `memory:orphans-term-${process.pid}` });
  await zk.connect();
  await zk.ensurePath(paths.electionDispatch);
  for (let i = 0; i < 2; i++) await zk.create(`${paths.electionDispatch}/spent-`, Buffer.alloc(0), 'ephemeral_sequential');
  const slow = await startCluster('orphans-term', { timings: { orphanSweepMs: 200, orphanAgeMs: 60_000 } });
  try {
    await slow.startAgent('agent-1');
    const job = await slow.createJob({
      name: 'deposed',
      schedule: { type: 'cron', expr: '0 0 0 1 1 *' },
      kind: { type: 'handler', name: 'noop' },
    });
    const term = await waitFor(() => slow.server.leaderTerm, { message: 'leading' });
    assert.equal(term, 2);
    await new Promise((r) => setTimeout(r, 1500));
    const now = Date.now();
    const scheduledAt = new Date(Math.floor(now / 1000) * 1000 - 1000);
    const id = runId(job.id, scheduledAt);
    // What a deposed leader's write looks like when it reaches the store late.
    await slow.store.writeRuns({
      inserts: [{ id, jobId: job.id, scheduledAt, status: 'dispatched', node: 'agent-1', dispatchedAt: new Date(now) }],
      updates: [],
      jobStates: [],
      term: term - 1,
    });
    const done = await waitFor(
      async () => {
        const r = await slow.store.runs.get(id);
        return r?.status === 'succeeded' ? r : null;
      },
      { timeoutMs: 15_000, message: 'the earlier term’s run adopted and run' },
    );
    assert.equal(done.leaderTerm, term, 'the leader took it for its term');
    const late = await slow.store.writeRuns({
      inserts: [],
      updates: [{ id, patch: { status: 'failed', error: 'late' } }],
      jobStates: [],
      term: term - 1,
    });
    assert.deepEqual([late.updated, late.fenced], [[false], 1]);
    assert.equal((await slow.store.runs.get(id))?.status, 'succeeded');
  } finally {
    await slow.close();
    await zk.close();
  }
});
