import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionOf } from '@clover/partitions';
import { DuplicateRunError, FencedRunError, openStore } from '@clover/store';
import { tempDir } from '@clover/testkit';
import { StoreWriteBatch } from '../src/write-batch.js';

test('writes of one turn go to the store as one call, rows before transitions before job states; each caller gets its own answer', async () => {
  const dir = await tempDir('clover-batch-');
  const store = await openStore({ dataDir: dir.path });
  try {
    const calls: string[] = [];
    // Counts the store calls; the writes themselves go to the real embedded store.
    const writeRuns = store.writeRuns.bind(store);
    store.writeRuns = (w) => (calls.push(`${w.inserts.length}/${w.updates.length}/${w.jobStates.length}`), writeRuns(w));
    const batch = new StoreWriteBatch(store);
    const slot = (s: number) => ({
      id: `j@2026-01-01T00:00:0${s}.000Z`,
      jobId: 'j',
      scheduledAt: new Date(Date.UTC(2026, 0, 1, 0, 0, s)),
      status: 'scheduled' as const,
    });
    await store.runs.insert(slot(1));
    const answers = await Promise.allSettled([batch.insertRun(slot(0)), batch.insertRun(slot(1)), batch.insertRun(slot(2))]);
    assert.deepEqual(calls, ['3/0/0'], 'one store call for the turn');
    assert.equal(answers[0].status, 'fulfilled');
    assert.ok(answers[1].status === 'rejected' && answers[1].reason instanceof DuplicateRunError, 'the fired slot is a duplicate');
    assert.equal(answers[2].status, 'fulfilled');
    // A row and its transition in the same turn: the row is there first.
    const job = await store.jobs.create({
      name: 'b',
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'h' },
    } as never);
    const [, moved] = await Promise.all([
      batch.insertRun(slot(3)),
      batch.updateRun(slot(3).id, { status: 'succeeded', node: 'a1' }),
      batch.recordRunState(job.id, { lastStatus: 'succeeded', runCountDelta: 1 }),
    ]);
    assert.equal(moved, true);
    assert.equal((await store.runs.get(slot(3).id))?.node, 'a1');
    assert.deepEqual(calls, ['3/0/0', '1/1/1'], 'a later turn is its own batch, all three kinds in one call');
    assert.deepEqual(
      [
        (await store.jobs.get(job.id))?.runCount,
        (await store.counters.summary({ from: new Date(0), to: new Date(Date.UTC(2027, 0)) })).totals.succeeded,
      ],
      [1, 1],
    );
    assert.equal(await batch.updateRun('j@nope', { status: 'failed' }), false);
  } finally {
    await store.close();
    await dir.cleanup();
  }
});

test('a turn of 12,000 job run states (a new leader arming its jobs) goes in transactions of at most 5,000, in order, every caller answered', async () => {
  const dir = await tempDir('clover-batch-');
  const store = await openStore({ dataDir: dir.path });
  try {
    const calls: number[] = [];
    const writeRuns = store.writeRuns.bind(store);
    store.writeRuns = (w) => (calls.push(w.jobStates.length), writeRuns(w));
    const job = await store.jobs.create({
      name: 'many',
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'h' },
    } as never);
    const batch = new StoreWriteBatch(store);
    const last = new Date(Date.UTC(2026, 0, 1, 3, 20));
    await Promise.all(
      Array.from({ length: 12_000 }, (_, i) =>
        batch.recordRunState(job.id, { runCountDelta: 1, nextRunAt: i === 11_999 ? last : new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60)) }),
      ),
    );
    assert.deepEqual(calls, [5000, 5000, 2000]);
    const stored = await store.jobs.get(job.id);
    assert.equal(stored?.runCount, 12_000);
    assert.equal(stored.nextRunAt?.getTime(), last.getTime(), 'the last written last');
  } finally {
    await store.close();
    await dir.cleanup();
  }
});

test('each write carries the leader term it was queued in: a new term ends the batch, and the store refuses the older term over a run the newer has', async () => {
  const dir = await tempDir('clover-batch-');
  const store = await openStore({ dataDir: dir.path });
  try {
    const calls: Array<[number | undefined, number, number]> = [];
    const writeRuns = store.writeRuns.bind(store);
    store.writeRuns = (w) => (calls.push([w.term, w.inserts.length, w.updates.length]), writeRuns(w));
    let term: number | undefined = 3;
    const batch = new StoreWriteBatch(store, undefined, () => term);
    const slot = (s: number) => ({
      id: `t@2026-01-01T00:00:0${s}.000Z`,
      jobId: 't',
      scheduledAt: new Date(Date.UTC(2026, 0, 1, 0, 0, s)),
      status: 'dispatched' as const,
    });
    const first = batch.insertRun(slot(1));
    term = 4;
    const second = batch.insertRun(slot(2));
    await Promise.all([first, second]);
    assert.deepEqual(
      calls,
      [
        [3, 1, 0],
        [4, 1, 0],
      ],
      'one batch per term, the older first',
    );
    assert.deepEqual([(await store.runs.get(slot(1).id))?.leaderTerm, (await store.runs.get(slot(2).id))?.leaderTerm], [3, 4]);
    // The newer term has taken the run: an update queued in the older one changes nothing.
    await store.runs.fence(4, [slot(1).id]);
    term = 3;
    assert.equal(await batch.updateRun(slot(1).id, { status: 'failed' }), false);
    assert.equal((await store.runs.get(slot(1).id))?.status, 'dispatched');
    term = undefined;
    assert.equal(await batch.updateRun(slot(1).id, { node: 'a2' }), true, 'no term: no fence');
  } finally {
    await store.close();
    await dir.cleanup();
  }
});

test('sharing the jobs out, each run write carries its partition token as held when queued; the store refuses those below the fence', async () => {
  const dir = await tempDir('clover-batch-');
  const store = await openStore({ dataDir: dir.path });
  try {
    const count = 4;
    const sent: Array<Array<{ partition: number; epoch: number }>> = [];
    const writeRuns = store.writeRuns.bind(store);
    store.writeRuns = (w) => (
      sent.push((w.partitions?.tokens ?? []).map((t) => ({ partition: t.partition, epoch: t.epoch }))),
      writeRuns(w)
    );
    const jobId = 'job_fenced';
    const p = partitionOf(jobId, count);
    let epoch: number | undefined = 1;
    const batch = new StoreWriteBatch(store, undefined, undefined, {
      count,
      tokenOf: (id) => (id === jobId && epoch !== undefined ? { partition: p, incarnation: 10, epoch } : undefined),
    });
    const slot = (s: number) => ({
      id: `${jobId}@2026-01-01T00:00:0${s}.000Z`,
      jobId,
      scheduledAt: new Date(Date.UTC(2026, 0, 1, 0, 0, s)),
      status: 'dispatched' as const,
      node: 'a1',
    });
    await batch.insertRun(slot(0));
    assert.deepEqual(sent, [[{ partition: p, epoch: 1 }]], 'the insert went with its token');
    // A later owner raises the fence: what this server still holds is below it.
    await store.runs.fencePartitions([{ partition: p, incarnation: 10, epoch: 2 }]);
    const [claim, update] = await Promise.allSettled([batch.insertRun(slot(1)), batch.updateRun(slot(0).id, { status: 'lost' })]);
    assert.ok(claim.status === 'rejected' && claim.reason instanceof FencedRunError, 'the claim of a slot is refused');
    assert.ok(claim.reason instanceof DuplicateRunError, 'as a taken slot is: the fire stops there');
    assert.deepEqual(update, { status: 'fulfilled', value: false }, 'the update is refused');
    assert.equal((await store.runs.get(slot(0).id))?.status, 'dispatched');
    // Two tokens of one partition never share a batch: a change of token flushes what was queued under the one before.
    sent.length = 0;
    epoch = 2;
    const first = batch.updateRun(slot(0).id, { node: 'a2' });
    epoch = 3;
    const second = batch.updateRun(slot(0).id, { node: 'a3' });
    assert.deepEqual(await Promise.all([first, second]), [true, true]);
    assert.deepEqual(sent, [[{ partition: p, epoch: 2 }], [{ partition: p, epoch: 3 }]]);
    // Not owned (no token): written unfenced, as a RESULT of a run handed over is recorded.
    epoch = undefined;
    assert.equal(await batch.updateRun(slot(0).id, { status: 'succeeded' }), true);
  } finally {
    await store.close();
    await dir.cleanup();
  }
});
