import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobRunState } from '@clover/model';
import { openStore, type RunWrites, type Store } from '@clover/store';
import { tempDir, waitFor, type TempDir } from '@clover/testkit';
import { startCluster, type Cluster } from './harness.js';

// The job's recorded next run time is where a new leader starts looking for missed slots. A
// server's store writes land out of order (one flush per turn, side by side), so a slot whose
// row is still being written must hold that time back: recorded past it, a leader killed before
// the row lands leaves the slot with no row and no misfire (issue 16's MongoDB chaos run).

test("a forbid job's skip still being written holds the recorded next run time at its slot", async () => {
  const dir: TempDir = await tempDir('clover-next-run-store-');
  let c: Cluster | undefined;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  try {
    const inner = await openStore({ dataDir: dir.path });
    let jobId = '';
    let heldSlot: number | undefined;
    /** The job states of the job that reached the store while the skip was held. */
    const statesWhileHeld: JobRunState[] = [];
    const store: Store = Object.assign(Object.create(inner) as Store, {
      async writeRuns(writes: RunWrites) {
        const skip = writes.inserts.find((r) => r.jobId === jobId && r.status === 'skipped');
        if (skip && heldSlot === undefined) {
          // The store is slow for this write alone: it lands only when the test says.
          heldSlot = (skip.scheduledAt as Date).getTime();
          await released;
        } else if (heldSlot !== undefined) {
          // A run's outcome carries its job's state (RunUpdate.jobState); the rest go on their own.
          for (const u of writes.updates) if (u.jobState && u.id.startsWith(`${jobId}@`)) statesWhileHeld.push(u.jobState);
          for (const s of writes.jobStates) if (s.id === jobId) statesWhileHeld.push(s.state);
        }
        return inner.writeRuns(writes);
      },
    });
    c = await startCluster('next-run', { openStore: () => Promise.resolve(store) });
    await c.startAgent('a1', { capacity: 2 });
    // Every second, each run 1.5 s: every other slot finds the one before still running.
    const job = await c.createJob({
      name: 'sleeper',
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'sleep' },
      payload: { ms: 1500 },
      concurrency: 'forbid',
    });
    jobId = job.id;
    // The run before the held slot ends ~0.5 s after it; its outcome carries the next run time.
    await waitFor(() => statesWhileHeld.some((s) => s.runCountDelta === 1), {
      timeoutMs: 15_000,
      message: 'the outcome of the run still going at the held slot',
    });
    const outcome = statesWhileHeld.find((s) => s.runCountDelta === 1)!;
    assert.ok(heldSlot !== undefined);
    assert.ok(outcome.nextRunAt, 'the outcome carries a next run time');
    // Before: the slot after the held one (heldSlot + 1000), while the held slot had no row.
    assert.equal(outcome.nextRunAt.getTime(), heldSlot, 'held back to the slot still being written');
    const stored = await inner.jobs.get(jobId);
    assert.ok(stored?.nextRunAt && stored.nextRunAt.getTime() <= heldSlot, 'what a new leader would read covers the held slot');
    release();
    // Written, the slot no longer holds it back: the next run times recorded move on past it.
    await waitFor(async () => ((await inner.jobs.get(jobId))?.nextRunAt?.getTime() ?? 0) > heldSlot!, {
      timeoutMs: 15_000,
      message: 'the next run time moves past the slot once it is written',
    });
    const rows = await c.runsOf(jobId);
    assert.equal(rows.find((r) => r.scheduledAt.getTime() === heldSlot)?.status, 'skipped');
  } finally {
    release();
    await c?.close();
    await dir.cleanup();
  }
});
