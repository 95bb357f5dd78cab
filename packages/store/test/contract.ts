import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanUp, followCursor, type CleanupStep } from '@clover/testkit';
import { jobInputSchema, runId, type Job, type JobSpec, type RunInput, type RunStatus } from '@clover/model';
import { hashRanges, jobHash, partitionOf } from '@clover/partitions';
import { BadCursorError, DuplicateError, DuplicateRunError, FencedRunError, type Store } from '../src/index.js';
import { probedRows } from '../src/log-words.js';

export interface StoreFactory {
  open(): Promise<Store>;
  /** A second store on the same data, as another process would open it (where the backend allows). */
  openTwin?(): Promise<Store>;
  cleanup(): Promise<void>;
}

const spec = (over: Partial<Record<string, unknown>> = {}): JobSpec =>
  jobInputSchema.parse({ name: 'job', schedule: { type: 'cron', expr: '* * * * * *' }, kind: { type: 'handler', name: 'noop' }, ...over });

const run = (jobId: string, at: number, over: Partial<RunInput> = {}): RunInput => ({
  id: runId(jobId, new Date(at)),
  jobId,
  scheduledAt: new Date(at),
  status: 'scheduled',
  ...over,
});

export function storeContract(name: string, makeFactory: () => Promise<StoreFactory>): void {
  describe(`store contract: ${name}`, () => {
    let factory: StoreFactory;
    let store: Store;
    /** What before() brought up, newest first: after() takes down that and only that. */
    const opened: CleanupStep[] = [];
    before(async () => {
      factory = await makeFactory();
      opened.unshift(['factory', () => factory.cleanup()]);
      store = await factory.open();
      opened.unshift(['store', () => store.close()]);
    });
    after(() => cleanUp(opened));

    test('jobs: create, get, list with filters and cursors, replace, enable, run state, counts', async () => {
      const a = await store.jobs.create(spec({ name: 'alpha report', group: 'g1' }));
      const b = await store.jobs.create(spec({ name: 'beta', description: 'nightly REPORT', enabled: false }));
      assert.match(a.id, /^job_/);
      assert.equal((await store.jobs.get(a.id))?.name, 'alpha report');
      assert.equal(await store.jobs.get('job_missing'), null);
      assert.deepEqual((await store.jobs.list({ q: 'report' })).items.map((j) => j.id).sort(), [a.id, b.id].sort());
      assert.deepEqual(
        (await store.jobs.list({ group: 'g1' })).items.map((j) => j.id),
        [a.id],
      );
      assert.deepEqual(
        (await store.jobs.list({ enabled: false })).items.map((j) => j.id),
        [b.id],
      );
      const first = await store.jobs.list({ limit: 1 });
      assert.equal(first.items.length, 1);
      const second = await store.jobs.list({ limit: 1, cursor: first.nextCursor });
      assert.notEqual(second.items[0]?.id, first.items[0]?.id);
      assert.ok((await store.jobs.listEnabled()).some((j) => j.id === a.id));
      assert.ok(!(await store.jobs.listEnabled()).some((j) => j.id === b.id));
      await store.jobs.recordRunState(a.id, {
        lastRunAt: new Date(5000),
        lastStatus: 'succeeded',
        nextRunAt: new Date(6000),
        runCountDelta: 1,
      });
      await store.jobs.recordRunState(a.id, { lastStatus: 'failed', runCountDelta: 1, failureCountDelta: 1 });
      const ran = (await store.jobs.get(a.id))!;
      assert.deepEqual(
        [ran.runCount, ran.failureCount, ran.lastStatus, ran.lastRunAt?.getTime(), ran.nextRunAt?.getTime()],
        [2, 1, 'failed', 5000, 6000],
      );
      await store.jobs.recordRunState(a.id, { nextRunAt: null });
      assert.equal((await store.jobs.get(a.id))!.nextRunAt, null, 'a job with no next run says so');
      await store.jobs.recordRunStates([
        { id: a.id, state: { lastStatus: 'succeeded', runCountDelta: 1 } },
        { id: 'no-such-job', state: { runCountDelta: 1 } },
        { id: a.id, state: { lastStatus: 'timed_out', lastRunAt: new Date(7000), runCountDelta: 1, failureCountDelta: 1 } },
      ]);
      const batched = (await store.jobs.get(a.id))!;
      assert.deepEqual(
        [batched.runCount, batched.failureCount, batched.lastStatus, batched.lastRunAt?.getTime()],
        [4, 2, 'timed_out', 7000],
        'in order, a missing job skipped',
      );
      await store.jobs.recordRunState(a.id, { runCountDelta: -2, failureCountDelta: -1 });
      const replaced = (await store.jobs.replace(a.id, spec({ name: 'alpha v2' })))!;
      assert.equal(replaced.name, 'alpha v2');
      assert.equal(replaced.runCount, 2, 'the scheduler fields survive an edit');
      assert.equal(replaced.createdAt.getTime(), a.createdAt.getTime());
      assert.equal((await store.jobs.setEnabled(b.id, true))?.enabled, true);
      assert.equal(await store.jobs.replace('job_missing', spec()), null);
      const counts = await store.jobs.counts();
      assert.ok(counts.total >= 2 && counts.enabled >= 2);
      await assert.rejects(store.jobs.list({ cursor: 'garbage!' }), BadCursorError);
    });

    test('runs: insertEach answers per slot, a duplicate among them keeping the others', async () => {
      const job = await store.jobs.create(spec());
      const t0 = Date.UTC(2026, 0, 2, 10, 0, 0);
      await store.runs.insert(run(job.id, t0 + 1000));
      const out = await store.runs.insertEach([run(job.id, t0), run(job.id, t0 + 1000), { ...run(job.id, t0 + 2000), status: 'skipped' }]);
      assert.equal(out.length, 3);
      assert.equal((out[0] as { id: string }).id, `${job.id}@2026-01-02T10:00:00.000Z`);
      assert.ok(out[1] instanceof DuplicateRunError);
      assert.ok(!(out[2] instanceof DuplicateRunError));
      assert.equal((await store.runs.list({ jobId: job.id })).items.length, 3);
      const totals = (await store.counters.summary({ from: new Date(t0 - 3600_000), to: new Date(t0 + 3600_000), jobId: job.id })).totals;
      assert.deepEqual(totals, { skipped: 1 }, 'a terminal run written this way is counted');
    });

    test('writeRuns: new rows, then their transitions, then job states, each answered in order', async () => {
      const job = await store.jobs.create(spec());
      const t0 = Date.UTC(2026, 0, 3, 10, 0, 0);
      await store.runs.insert(run(job.id, t0));
      const out = await store.writeRuns({
        inserts: [run(job.id, t0), run(job.id, t0 + 1000)],
        updates: [
          { id: `${job.id}@2026-01-03T10:00:01.000Z`, patch: { status: 'succeeded', node: 'n1', finishedAt: new Date(t0 + 1500) } },
          { id: 'nope', patch: { status: 'failed' } },
        ],
        jobStates: [{ id: job.id, state: { lastRunAt: new Date(t0 + 1000), lastStatus: 'succeeded', runCountDelta: 1 } }],
      });
      assert.ok(out.inserted[0] instanceof DuplicateRunError, 'the slot written before is a duplicate');
      assert.equal((out.inserted[1] as { status: string }).status, 'scheduled');
      assert.deepEqual(out.updated, [true, false], 'the row inserted in the same call is there to update; a missing one is said');
      const moved = (await store.runs.get(`${job.id}@2026-01-03T10:00:01.000Z`))!;
      assert.deepEqual(
        [moved.status, moved.node, moved.finishedAt?.getTime(), moved.attempt],
        ['succeeded', 'n1', t0 + 1500, 1],
        'the patch written, the rest kept',
      );
      const j = (await store.jobs.get(job.id))!;
      assert.deepEqual([j.runCount, j.lastStatus, j.lastRunAt?.getTime()], [1, 'succeeded', t0 + 1000]);
      const totals = (await store.counters.summary({ from: new Date(t0 - 3600_000), to: new Date(t0 + 3600_000), jobId: job.id })).totals;
      assert.deepEqual(totals, { succeeded: 1 });
      assert.deepEqual(await store.writeRuns({ inserts: [], updates: [], jobStates: [] }), { inserted: [], updated: [], fenced: 0 });
    });

    test('runs: the unique slot key, transitions, active runs, counters that match', async () => {
      const job = await store.jobs.create(spec());
      const t0 = Date.UTC(2026, 0, 1, 10, 0, 0);
      const r = await store.runs.insert(run(job.id, t0));
      assert.equal(r.id, `${job.id}@2026-01-01T10:00:00.000Z`);
      await assert.rejects(store.runs.insert(run(job.id, t0)), DuplicateRunError);
      await store.runs.update(r.id, { status: 'dispatched', node: 'n1', dispatchedAt: new Date(t0 + 5) });
      assert.deepEqual(
        (await store.runs.listActive({ node: 'n1' })).map((x) => x.id),
        [r.id],
      );
      const [running, missing] = await store.runs.updateEach([
        { id: r.id, patch: { status: 'running', startedAt: new Date(t0 + 10) } },
        { id: 'nope', patch: { status: 'failed' } },
      ]);
      assert.equal(running?.status, 'running');
      assert.equal(missing, null);
      const done = (await store.runs.update(r.id, { status: 'succeeded', finishedAt: new Date(t0 + 20), exitCode: 0, outputTail: 'ok' }))!;
      assert.equal(done.outputTail, 'ok');
      assert.equal((await store.runs.listActive({ jobId: job.id })).length, 0);
      assert.equal(await store.runs.update('nope', { status: 'failed' }), null);
      // 30 more runs over two hours with a mix of outcomes.
      const statuses = ['succeeded', 'failed', 'timed_out', 'lost', 'skipped'] as const;
      const expected: Record<string, number> = { succeeded: 1 };
      for (let i = 1; i <= 30; i++) {
        const at = t0 + i * 4 * 60_000;
        const status = statuses[i % statuses.length]!;
        const x = await store.runs.insert(run(job.id, at));
        await store.runs.update(x.id, { status });
        expected[status] = (expected[status] ?? 0) + 1;
      }
      const summary = await store.counters.summary({ from: new Date(t0), to: new Date(t0 + 3 * 3600_000), jobId: job.id });
      assert.deepEqual(summary.totals, expected);
      const perHour = summary.hours.reduce((n, h) => n + Object.values(h.counts).reduce((a, b) => a + b, 0), 0);
      assert.equal(perHour, 31);
      assert.equal(summary.hours.length, 3);
      // A status corrected after the fact moves its count.
      const last = (await store.runs.list({ jobId: job.id, limit: 1 })).items[0]!;
      await store.runs.update(last.id, { status: 'cancelled' });
      const again = await store.counters.summary({ from: new Date(t0), to: new Date(t0 + 3 * 3600_000), jobId: job.id });
      assert.equal(again.totals.cancelled, 1);
      assert.equal(
        Object.values(again.totals).reduce((a, b) => a + b, 0),
        31,
      );
    });

    test('runs: a waiting run is active and in the backlog, oldest first; waiting → dispatched → succeeded counts once', async () => {
      assert.deepEqual(await store.runs.backlog('waiting'), { count: 0, oldest: null }, 'no other test leaves a run waiting');
      const a = await store.jobs.create(spec({ name: 'waits a' }));
      const b = await store.jobs.create(spec({ name: 'waits b' }));
      const t0 = Date.UTC(2026, 4, 1, 9, 0, 0);
      // As a leader writes a fire no agent can take yet: inserted `waiting`, on no node.
      const { inserted } = await store.writeRuns({
        inserts: [run(a.id, t0 + 1000, { status: 'waiting' }), run(b.id, t0, { status: 'waiting' }), run(a.id, t0, { status: 'waiting' })],
        updates: [],
        jobStates: [],
      });
      const ids = inserted.map((r) => (r instanceof DuplicateRunError ? assert.fail(r) : r.id));
      const [later, sameSlot1, sameSlot2] = ids as [string, string, string];
      const oldestId = [sameSlot1, sameSlot2].sort()[0];

      assert.deepEqual((await store.runs.listActive({ jobId: a.id })).map((r) => r.id).sort(), [later, sameSlot2].sort());
      const active = new Set((await store.runs.listActive()).map((r) => r.id));
      assert.ok(
        ids.every((id) => active.has(id)),
        'every waiting run is listed active',
      );
      assert.deepEqual((await store.runs.list({ status: 'waiting' })).items.map((r) => r.id).sort(), [...ids].sort());
      const backlog = await store.runs.backlog('waiting');
      assert.equal(backlog.count, 3);
      assert.ok(backlog.oldest);
      assert.equal(backlog.oldest.id, oldestId, 'the earliest slot; between two of one slot, the smaller id');
      assert.equal(backlog.oldest.status, 'waiting');
      assert.deepEqual(backlog.oldest.scheduledAt, new Date(t0));
      assert.equal((await store.runs.backlog('dispatched')).count, 0);

      const hour = { from: new Date(t0), to: new Date(t0 + 3600_000), jobId: a.id };
      assert.deepEqual((await store.counters.summary(hour)).totals, {}, 'a waiting run is not counted');
      // An agent frees a slot: job a's first run goes, written in a batch as the leader writes, then runs and succeeds.
      const first = await store.runs.get(sameSlot2);
      await store.writeRuns({
        inserts: [],
        updates: [{ id: sameSlot2, patch: { status: 'dispatched', node: 'n1', dispatchedAt: new Date(t0 + 4000) } }],
        jobStates: [],
      });
      assert.equal((await store.runs.backlog('waiting')).count, 2);
      assert.equal((await store.runs.backlog('dispatched')).oldest?.id, sameSlot2);
      await store.runs.update(sameSlot2, { status: 'running', startedAt: new Date(t0 + 4005) });
      await store.runs.update(
        sameSlot2,
        { status: 'succeeded', finishedAt: new Date(t0 + 4010), exitCode: 0 },
        { lastRunAt: new Date(t0), lastStatus: 'succeeded', runCountDelta: 1 },
      );
      assert.equal(first?.status, 'waiting');
      assert.deepEqual((await store.counters.summary(hour)).totals, { succeeded: 1 }, 'counted once, when it ended');
      assert.equal((await store.jobs.get(a.id))?.runCount, 1);
      // Its start deadline passes for another: skipped, with the reason.
      await store.runs.update(later, { status: 'skipped', finishedAt: new Date(t0 + 61_000), error: 'waited 60 s for capacity' });
      assert.deepEqual((await store.counters.summary(hour)).totals, { succeeded: 1, skipped: 1 });
      assert.deepEqual((await store.runs.listActive({ jobId: a.id })).length, 0);
      const left = await store.runs.backlog('waiting');
      assert.equal(left.count, 1);
      assert.equal(left.oldest?.id, sameSlot1);
      await store.runs.update(sameSlot1, { status: 'cancelled', finishedAt: new Date(t0 + 5000) });
      assert.deepEqual(await store.runs.backlog('waiting'), { count: 0, oldest: null });
    });

    test("runs: a run's outcome counts for its job once, however many times a final status is written (two leaders, one RESULT)", async () => {
      const job = await store.jobs.create(spec({ name: 'counted once' }));
      const t0 = Date.UTC(2026, 10, 30, 10, 0, 0);
      const a = run(job.id, t0);
      await store.runs.insert(a);
      await store.runs.update(a.id, { status: 'running', node: 'agent-1' });
      const final = { status: 'succeeded' as RunStatus, finishedAt: new Date(t0 + 50) };
      const state = { lastRunAt: new Date(t0), lastStatus: 'succeeded' as RunStatus, runCountDelta: 1, failureCountDelta: 0 };
      await store.runs.update(a.id, final, state);
      // The same outcome again, through each write path the dispatch-server uses.
      await store.runs.update(a.id, final, state);
      await store.writeRuns({ inserts: [], updates: [{ id: a.id, patch: final, jobState: state }], jobStates: [] });
      const after = (await store.jobs.get(job.id))!;
      assert.deepEqual([after.runCount, after.failureCount], [1, 0]);
      // A later outcome of another kind moves the row and the hourly counters; the run still counts
      // once, and as a failure now (once: a second failure write adds nothing).
      await store.runs.update(a.id, { status: 'lost' }, { lastStatus: 'lost', runCountDelta: 1, failureCountDelta: 1 });
      await store.runs.update(a.id, { status: 'lost' }, { lastStatus: 'lost', runCountDelta: 1, failureCountDelta: 1 });
      const again = (await store.jobs.get(job.id))!;
      assert.deepEqual([again.runCount, again.failureCount, again.lastStatus], [1, 1, 'lost']);
      const totals = (await store.counters.summary({ from: new Date(t0 - 3_600_000), to: new Date(t0 + 3_600_000), jobId: job.id })).totals;
      assert.deepEqual(totals, { lost: 1 });
      // The agent's own RESULT after a leader's verdict of failure: a success again, and no failure
      // any more (issue 16's chaos run: a leader's timed_out, then the agent's succeeded).
      await store.runs.update(a.id, final, state);
      const back = (await store.jobs.get(job.id))!;
      assert.deepEqual([back.runCount, back.failureCount, back.lastStatus], [1, 0, 'succeeded']);
    });

    test('runs: a retry reopens only a failure, and takes it off the job counts until its new attempt ends; a run that succeeded is never reopened', async () => {
      // Issue 16's chaos run: one leader recorded a run's outcome, another that had judged it
      // lost retried it, and the job counted the run twice (runCount one over its runs).
      const job = await store.jobs.create(spec({ name: 'reopened' }));
      const t0 = Date.UTC(2026, 10, 30, 11, 0, 0);
      const failedRun = run(job.id, t0);
      await store.runs.insert(failedRun);
      await store.runs.update(
        failedRun.id,
        { status: 'failed', finishedAt: new Date(t0 + 10) },
        { lastStatus: 'failed', runCountDelta: 1, failureCountDelta: 1 },
      );
      const counts = async () => {
        const j = (await store.jobs.get(job.id))!;
        return [j.runCount, j.failureCount];
      };
      assert.deepEqual(await counts(), [1, 1]);
      await store.writeRuns({
        inserts: [],
        updates: [{ id: failedRun.id, patch: { status: 'scheduled', attempt: 2, node: null } }],
        jobStates: [],
      });
      assert.equal((await store.runs.get(failedRun.id))!.status, 'scheduled');
      assert.deepEqual(await counts(), [0, 0], 'the reopened failure no longer counts');
      await store.runs.update(
        failedRun.id,
        { status: 'succeeded', finishedAt: new Date(t0 + 500) },
        { lastStatus: 'succeeded', runCountDelta: 1, failureCountDelta: 0 },
      );
      assert.deepEqual(await counts(), [1, 0], 'the run counts once, as what its last attempt did');

      const ok = run(job.id, t0 + 1000);
      await store.runs.insert(ok);
      await store.runs.update(
        ok.id,
        { status: 'succeeded', finishedAt: new Date(t0 + 1010) },
        { lastStatus: 'succeeded', runCountDelta: 1, failureCountDelta: 0 },
      );
      for (const write of [
        () => store.runs.update(ok.id, { status: 'scheduled', attempt: 2, node: null }),
        () =>
          store.writeRuns({ inserts: [], updates: [{ id: ok.id, patch: { status: 'scheduled', attempt: 2, node: null } }], jobStates: [] }),
      ])
        await write();
      const still = (await store.runs.get(ok.id))!;
      assert.deepEqual([still.status, still.attempt], ['succeeded', 1], 'a run that succeeded is not reopened');
      assert.deepEqual(await counts(), [2, 0]);
    });

    test('runs: a write of an earlier leader term changes no run a later term has taken, and counts nothing (the fence)', async () => {
      // Issue 16's partition run: a leader cut off from the store fired and recorded runs whose
      // writes reached the store after the heal, over runs the next leader had adopted.
      const job = await store.jobs.create(spec({ name: 'fenced' }));
      const t0 = Date.UTC(2026, 11, 1, 2, 0, 0);
      const a = run(job.id, t0);
      const first = await store.writeRuns({
        inserts: [a],
        updates: [{ id: a.id, patch: { status: 'dispatched', node: 'n1' } }],
        jobStates: [],
        term: 5,
      });
      assert.deepEqual([first.updated, first.fenced], [[true], 0]);
      assert.equal((await store.runs.get(a.id))!.leaderTerm, 5, 'an insert carries its term');

      assert.ok((await store.runs.fence(7)) >= 1, 'the next leader takes every open run');
      assert.equal((await store.runs.get(a.id))!.leaderTerm, 7);
      const late = await store.writeRuns({
        inserts: [],
        updates: [
          {
            id: a.id,
            patch: { status: 'failed', finishedAt: new Date(t0 + 50) },
            jobState: { lastStatus: 'failed', runCountDelta: 1, failureCountDelta: 1 },
          },
        ],
        jobStates: [],
        term: 5,
      });
      assert.deepEqual([late.updated, late.fenced], [[false], 1], "the deposed term's update is refused");
      const kept = (await store.runs.get(a.id))!;
      assert.deepEqual([kept.status, kept.node, kept.leaderTerm], ['dispatched', 'n1', 7]);
      const counts = async () => {
        const j = (await store.jobs.get(job.id))!;
        const totals = (await store.counters.summary({ from: new Date(t0 - 3600_000), to: new Date(t0 + 3600_000), jobId: job.id })).totals;
        return [j.runCount, j.failureCount, totals.failed ?? 0, totals.succeeded ?? 0];
      };
      assert.deepEqual(await counts(), [0, 0, 0, 0], 'a refused update counts nothing');

      const now = await store.writeRuns({
        inserts: [],
        updates: [
          {
            id: a.id,
            patch: { status: 'succeeded', finishedAt: new Date(t0 + 60) },
            jobState: { lastStatus: 'succeeded', runCountDelta: 1, failureCountDelta: 0 },
          },
        ],
        jobStates: [],
        term: 7,
      });
      assert.deepEqual([now.updated, now.fenced], [[true], 0]);
      assert.deepEqual(await counts(), [1, 0, 0, 1]);
      assert.equal(await store.runs.fence(8, [a.id]), 0, 'a final run is no one to take');

      // A deposed term's insert is not fenced (the slot is the key); the next sweep takes it.
      const b = run(job.id, t0 + 1000);
      await store.writeRuns({ inserts: [b], updates: [], jobStates: [], term: 5 });
      assert.equal(await store.runs.fence(8, []), 0);
      assert.equal(await store.runs.fence(8, [a.id, b.id, 'run_missing']), 1, 'only the open runs named');
      assert.equal((await store.runs.get(b.id))!.leaderTerm, 8);
      assert.equal(await store.runs.fence(8, [b.id]), 0, 'stamped already');
      // A fence only raises: a deposed leader's own fence that reaches the store late (it passed
      // its lead check, then paused) takes nothing back from the leader after it.
      await store.runs.fence(2);
      assert.equal((await store.runs.get(b.id))!.leaderTerm, 8);
      const after = await store.writeRuns({
        inserts: [],
        updates: [{ id: b.id, patch: { status: 'dispatched', node: 'n2' } }],
        jobStates: [],
        term: 2,
      });
      assert.deepEqual([after.updated, after.fenced], [[false], 1]);
      // A write outside any leader (no term) is never fenced and leaves the term as it is.
      await store.runs.update(b.id, { node: 'n3' });
      const unfenced = (await store.runs.get(b.id))!;
      assert.deepEqual([unfenced.node, unfenced.leaderTerm], ['n3', 8]);
    });

    test('runs: a write under a partition token below its fence is refused, insert or update; fences only rise', async () => {
      // docs/architecture.md, "Fencing", layer 3: a server that shares the jobs out raises the
      // fences of the partitions it acquires; an earlier owner's writes that arrive later change nothing.
      const count = 16;
      const job = await store.jobs.create(spec({ name: 'partition-fenced' }));
      const other = await store.jobs.create(spec({ name: 'elsewhere' }));
      const p = partitionOf(job.id, count);
      const t0 = Date.UTC(2026, 11, 1, 3, 0, 0);
      const a = run(job.id, t0);
      const token = (incarnation: number, epoch: number) => ({ count, tokens: [{ partition: p, incarnation, epoch }] });
      assert.equal(await store.runs.fencePartitions([{ partition: p, incarnation: 100, epoch: 3 }]), 1);
      const first = await store.writeRuns({
        inserts: [a],
        updates: [{ id: a.id, patch: { status: 'dispatched', node: 'n1' } }],
        jobStates: [],
        partitions: token(100, 3),
      });
      assert.ok(!(first.inserted[0] instanceof Error));
      assert.deepEqual([first.updated, first.fenced], [[true], 0], 'a token at the fence is admitted');

      // The next owner: a higher epoch, and then a new incarnation with a lower epoch is higher still.
      assert.equal(await store.runs.fencePartitions([{ partition: p, incarnation: 100, epoch: 5 }]), 1);
      const late = await store.writeRuns({
        inserts: [run(job.id, t0 + 1000), run(other.id, t0)],
        updates: [
          {
            id: a.id,
            patch: { status: 'failed', finishedAt: new Date(t0 + 50) },
            jobState: { lastStatus: 'failed', runCountDelta: 1, failureCountDelta: 1 },
          },
        ],
        jobStates: [],
        partitions: token(100, 3),
      });
      assert.ok(late.inserted[0] instanceof FencedRunError, "the earlier owner's claim of a slot is refused");
      assert.ok(late.inserted[0] instanceof DuplicateRunError, 'as a taken slot is');
      const otherP = partitionOf(other.id, count);
      if (otherP !== p) assert.ok(!(late.inserted[1] instanceof Error), 'a run of another partition is not fenced by this token');
      assert.deepEqual([late.updated, late.fenced], [[false], otherP === p ? 3 : 2]);
      assert.equal(await store.runs.get(run(job.id, t0 + 1000).id), null);
      const kept = (await store.runs.get(a.id))!;
      assert.deepEqual([kept.status, kept.node], ['dispatched', 'n1']);
      assert.equal((await store.jobs.get(job.id))!.runCount, 0, 'a refused update counts nothing');

      assert.equal(await store.runs.fencePartitions([{ partition: p, incarnation: 100, epoch: 4 }]), 0, 'a lower token raises nothing');
      assert.equal(await store.runs.fencePartitions([{ partition: p, incarnation: 100, epoch: 5 }]), 0, 'nor an equal one');
      assert.deepEqual(await store.runs.partitionFences([p]), [{ partition: p, incarnation: 100, epoch: 5 }]);
      assert.equal(await store.runs.fencePartitions([{ partition: p, incarnation: 200, epoch: 0 }]), 1, 'a new incarnation is higher');
      const stale = await store.writeRuns({
        inserts: [],
        updates: [{ id: a.id, patch: { node: 'n2' } }],
        jobStates: [],
        partitions: token(100, 9),
      });
      assert.deepEqual([stale.updated, stale.fenced], [[false], 1], 'an epoch of the incarnation before is below');
      const now = await store.writeRuns({
        inserts: [],
        updates: [
          {
            id: a.id,
            patch: { status: 'succeeded', finishedAt: new Date(t0 + 60) },
            jobState: { lastStatus: 'succeeded', runCountDelta: 1, failureCountDelta: 0 },
          },
        ],
        jobStates: [],
        partitions: token(200, 0),
      });
      assert.deepEqual([now.updated, now.fenced], [[true], 0]);
      assert.equal((await store.jobs.get(job.id))!.runCount, 1);
      // Writes without tokens (console-api, imports) are not fenced by partition.
      await store.runs.update(a.id, { outputTail: 'x' });
      assert.equal((await store.runs.get(a.id))!.outputTail, 'x');
    });

    test('runs: a patch writes only what it gives, never the slot; a bad one writes nothing; counters follow', async () => {
      const job = await store.jobs.create(spec());
      const t0 = Date.UTC(2026, 3, 1, 8, 0, 0);
      const r = await store.runs.insert(run(job.id, t0));
      const dispatched = (await store.runs.update(r.id, {
        status: 'dispatched',
        node: 'n1',
        dispatchedAt: new Date(t0 + 5),
        error: 'an earlier try',
      }))!;
      const slot = { id: 'run_other', jobId: 'job_other', scheduledAt: new Date(0) };
      const running = (await store.runs.update(r.id, {
        status: 'running',
        startedAt: new Date(t0 + 10),
        error: null,
        ...slot,
      }))!;
      assert.deepEqual(running, { ...dispatched, status: 'running', startedAt: new Date(t0 + 10), error: null });
      assert.deepEqual(await store.runs.get(r.id), running, 'what update answers is what was stored');

      await assert.rejects(store.runs.update(r.id, { status: 'succeeded', finishedAt: new Date(t0 + 20), attempt: 0 }), {
        name: 'ZodError',
      });
      await assert.rejects(store.runs.update(r.id, { status: 'finished' as RunStatus }), { name: 'ZodError' });
      assert.deepEqual(await store.runs.get(r.id), running, 'nothing of a rejected patch is written');

      const hour = { from: new Date(t0), to: new Date(t0 + 3600_000), jobId: job.id };
      await store.runs.update(r.id, { status: 'failed' });
      assert.deepEqual((await store.counters.summary(hour)).totals, { failed: 1 });
      await store.runs.update(r.id, { status: 'timed_out' });
      assert.deepEqual((await store.counters.summary(hour)).totals, { timed_out: 1 }, 'terminal to terminal moves the count');
      await store.runs.update(r.id, { exitCode: 3 });
      assert.deepEqual((await store.counters.summary(hour)).totals, { timed_out: 1 }, 'no status, no move');
      // A stale writer's active status does not reopen a final run; a new attempt (a retry) does.
      await store.runs.update(r.id, { status: 'dispatched', node: 'agent-9' });
      assert.deepEqual([(await store.runs.get(r.id))!.status, (await store.runs.get(r.id))!.node], ['timed_out', running.node]);
      assert.deepEqual((await store.counters.summary(hour)).totals, { timed_out: 1 });
      await store.runs.update(r.id, { status: 'scheduled', attempt: 2, node: null });
      assert.deepEqual((await store.counters.summary(hour)).totals, {}, 'back out of a terminal status, out of the count');
      const again = (await store.runs.get(r.id))!;
      assert.deepEqual([again.status, again.attempt, again.node, again.exitCode], ['scheduled', 2, null, 3]);
    });

    test('runs: cursor pagination over 10,000 runs sees each once, newest first; filters', async () => {
      const job = await store.jobs.create(spec());
      const t0 = Date.UTC(2025, 5, 1);
      const batch: RunInput[] = [];
      for (let i = 0; i < 10_000; i++)
        batch.push(
          run(job.id, t0 + Math.floor(i / 3) * 1000, { id: `${job.id}@${i}`, status: i % 2 ? 'failed' : 'succeeded', node: `n${i % 4}` }),
        );
      await store.runs.insertMany(batch);
      const seen = new Set<string>();
      let prev = Number.POSITIVE_INFINITY;
      // followCursor fails on a cursor that comes back or never ends, instead of paging for ever.
      const pages = await followCursor((cursor) => store.runs.list({ jobId: job.id, limit: 500, cursor }), {
        maxPages: 100,
        what: 'the 10,000 runs',
      });
      for (const r of pages.flatMap((p) => p.items)) {
        assert.ok(!seen.has(r.id), `seen twice: ${r.id}`);
        assert.ok(r.scheduledAt.getTime() <= prev, 'newest first');
        prev = r.scheduledAt.getTime();
        seen.add(r.id);
      }
      assert.equal(seen.size, 10_000);
      assert.equal(pages.length, 20);
      const failedPages = await followCursor(
        (cursor) => store.runs.list({ jobId: job.id, status: 'failed', node: 'n1', limit: 1000, cursor }),
        { maxPages: 100, what: 'the failed runs on n1' },
      );
      const failedOnN1 = failedPages.flatMap((p) => p.items);
      assert.ok(failedOnN1.every((r) => r.status === 'failed' && r.node === 'n1'));
      assert.equal(failedOnN1.length, 2500);
      // 'succeeded' is left out of the status index; its filter walks the time order instead.
      const succeededPages = await followCursor(
        (cursor) => store.runs.list({ jobId: job.id, status: 'succeeded', node: 'n0', limit: 1000, cursor }),
        { maxPages: 100, what: 'the succeeded runs on n0' },
      );
      const succeededOnN0 = succeededPages.flatMap((p) => p.items);
      assert.ok(succeededOnN0.every((r) => r.status === 'succeeded' && r.node === 'n0'));
      assert.equal(succeededOnN0.length, 2500);
      assert.equal((await store.runs.list({ jobId: job.id, status: 'succeeded', limit: 1000 })).items.length, 1000);
      const window = await store.runs.list({ jobId: job.id, from: new Date(t0), to: new Date(t0 + 10_000), limit: 1000 });
      assert.equal(window.items.length, 30);
    });

    test('retention removes old runs, their counters and old logs, keeps new ones', async () => {
      const job = await store.jobs.create(spec());
      const now = Date.now();
      const old = await store.runs.insert(run(job.id, now - 40 * 24 * 3600_000));
      await store.runs.update(old.id, { status: 'failed' });
      const fresh = await store.runs.insert(run(job.id, now - 1000));
      await store.runs.update(fresh.id, { status: 'succeeded' });
      const all = { from: new Date(now - 50 * 24 * 3600_000), to: new Date(now + 3600_000), jobId: job.id };
      assert.deepEqual((await store.counters.summary(all)).totals, { failed: 1, succeeded: 1 });
      await store.logs.write([
        { time: new Date(now - 20 * 24 * 3600_000), level: 'error', source: 'test', message: 'old' },
        { time: new Date(now), level: 'error', source: 'test', message: 'new' },
      ]);
      const swept = await store.sweep(new Date(now));
      assert.ok(swept.runs >= 1 && swept.logs >= 1);
      assert.equal((await store.runs.list({ jobId: job.id })).items.length, 1);
      const logs = await store.logs.list({ source: 'test' });
      assert.deepEqual(
        logs.items.map((l) => l.message),
        ['new'],
      );
      assert.deepEqual((await store.counters.summary(all)).totals, { succeeded: 1 }, "the old hour's counters went with its runs");
    });

    test("jobs by hash: a server's partitions as hash ranges, paged in (hash, id) order, each job once; enabled filter; bad ranges refused", async () => {
      const made = await Promise.all(
        Array.from({ length: 40 }, (_, i) => store.jobs.create(spec({ name: `p${i}`, enabled: i % 5 !== 0 }))),
      );
      const all: Job[] = [];
      for (let cursor: string | null = null; ;) {
        const page = await store.jobs.list({ limit: 1000, cursor });
        all.push(...page.items);
        if (!(cursor = page.nextCursor)) break;
      }
      assert.ok(made.every((j) => all.some((a) => a.id === j.id)));
      const count = 8;
      const mine = [1, 2, 5, 7];
      const ranges = hashRanges(mine, count);
      assert.equal(ranges.length, 3, 'partitions 1 and 2 are one range');
      const byHash = (a: Job, b: Job) => jobHash(a.id) - jobHash(b.id) || (a.id < b.id ? -1 : 1);
      const expected = all.filter((j) => mine.includes(partitionOf(j.id, count))).sort(byHash);
      const read = async (enabled?: boolean) => {
        const ids: string[] = [];
        for (let cursor: string | null = null; ;) {
          const page = await store.jobs.listByHash({ ranges, limit: 3, cursor, ...(enabled === undefined ? {} : { enabled }) });
          assert.ok(page.items.length <= 3);
          ids.push(...page.items.map((j) => j.id));
          if (!(cursor = page.nextCursor)) break;
        }
        return ids;
      };
      assert.deepEqual(
        await read(),
        expected.map((j) => j.id),
      );
      assert.deepEqual(
        await read(true),
        expected.filter((j) => j.enabled).map((j) => j.id),
      );
      // The whole hash space in one range: every job.
      assert.equal((await store.jobs.listByHash({ ranges: [{ from: 0, to: 2 ** 32 }], limit: 1000 })).items.length, all.length);
      for (const bad of [
        [{ from: 5, to: 5 }],
        [{ from: -1, to: 3 }],
        [{ from: 0, to: 2 ** 32 + 1 }],
        [
          { from: 10, to: 20 },
          { from: 15, to: 30 },
        ],
        [{ from: 0.5, to: 2 }],
      ])
        await assert.rejects(store.jobs.listByHash({ ranges: bad }), RangeError);
      await assert.rejects(store.jobs.listByHash({ ranges, cursor: 'garbage' }), BadCursorError);
    });

    test('live outputs: put replaces, get reads back; removed with their job and by the run retention', async () => {
      const job = await store.jobs.create(spec());
      const other = await store.jobs.create(spec());
      const now = Date.now();
      const r = await store.runs.insert(run(job.id, now - 1000, { status: 'running' }));
      assert.equal(await store.liveOutputs.get(r.id), null);
      const first = { runId: r.id, jobId: job.id, execId: r.id, text: 'line1\n', end: 6, updatedAt: new Date(now) };
      await store.liveOutputs.put(first);
      assert.deepEqual(await store.liveOutputs.get(r.id), first);
      // The end of 64 KiB of text (multi-byte characters, '.' and '$' kept as they are).
      const text = '$.€ '.repeat((64 * 1024) / 8);
      const second = { ...first, execId: `${r.id}~2`, text, end: 1_000_000, updatedAt: new Date(now + 500) };
      await store.liveOutputs.put(second);
      assert.deepEqual(await store.liveOutputs.get(r.id), second, 'a put replaces the record');
      const kept = { runId: 'other-run', jobId: other.id, execId: 'other-run', text: 'x', end: 1, updatedAt: new Date(now) };
      const old = {
        runId: 'old-run',
        jobId: other.id,
        execId: 'old-run',
        text: 'y',
        end: 1,
        updatedAt: new Date(now - 40 * 24 * 3600_000),
      };
      await store.liveOutputs.put(kept);
      await store.liveOutputs.put(old);
      assert.equal(await store.jobs.delete(job.id), true);
      assert.equal(await store.liveOutputs.get(r.id), null, "deleting the job removed its run's live output");
      await store.sweep(new Date(now));
      assert.equal(await store.liveOutputs.get('old-run'), null, 'retention removed the one last written 40 days ago');
      assert.deepEqual(await store.liveOutputs.get('other-run'), kept);
    });

    test('deleting a job removes its runs and counters', async () => {
      const job = await store.jobs.create(spec());
      const other = await store.jobs.create(spec());
      const t0 = Date.UTC(2026, 2, 1);
      const r = await store.runs.insert(run(job.id, t0));
      await store.runs.update(r.id, { status: 'succeeded' });
      const o = await store.runs.insert(run(other.id, t0));
      await store.runs.update(o.id, { status: 'succeeded' });
      assert.equal(await store.jobs.delete(job.id), true);
      assert.equal(await store.jobs.get(job.id), null);
      assert.equal(await store.runs.get(r.id), null);
      assert.deepEqual((await store.counters.summary({ from: new Date(t0), to: new Date(t0 + 3600_000), jobId: job.id })).totals, {});
      assert.equal(
        (await store.counters.summary({ from: new Date(t0), to: new Date(t0 + 3600_000), jobId: other.id })).totals.succeeded,
        1,
      );
      assert.equal(await store.jobs.delete(job.id), false);
    });

    test('contacts, users, sessions, tokens', async () => {
      const c = await store.contacts.create({ name: 'Ann', email: 'ann@example.com', groups: ['ops'] });
      assert.equal((await store.contacts.get(c.id))?.email, 'ann@example.com');
      assert.equal((await store.contacts.update(c.id, { name: 'Ann B', email: 'annb@example.com', enabled: false }))?.enabled, false);
      assert.ok((await store.contacts.list()).some((x) => x.id === c.id && x.name === 'Ann B'));
      await assert.rejects(store.contacts.create({ name: 'x', email: 'not-an-email' }));
      assert.equal(await store.contacts.delete(c.id), true);
      assert.equal(await store.contacts.get(c.id), null);

      const user = { name: 'ops1', passwordHash: 'h', role: 'operator' as const, createdAt: new Date() };
      await store.users.create(user);
      await assert.rejects(store.users.create(user), DuplicateError);
      assert.equal((await store.users.get('ops1'))?.role, 'operator');
      assert.equal(await store.users.setPassword('ops1', 'h2'), true);
      assert.equal((await store.users.get('ops1'))?.passwordHash, 'h2');
      assert.deepEqual((await store.users.get('ops1'))?.grants, [], 'no grants unless given');
      assert.deepEqual((await store.users.setAccess('ops1', { grants: ['commands'] }))?.grants, ['commands']);
      const changed = await store.users.get('ops1');
      assert.deepEqual(
        [changed?.role, changed?.grants, changed?.passwordHash],
        ['operator', ['commands'], 'h2'],
        'only what was named changes',
      );
      assert.equal((await store.users.setAccess('ops1', { role: 'viewer', grants: [] }))?.role, 'viewer');
      assert.equal(await store.users.setAccess('nobody', { role: 'admin' }), null);
      assert.equal((await store.users.get('ops1'))?.disabled, false, 'enabled unless disabled');
      assert.equal((await store.users.setAccess('ops1', { disabled: true }))?.disabled, true);
      assert.deepEqual(
        [(await store.users.get('ops1'))?.disabled, (await store.users.get('ops1'))?.role],
        [true, 'viewer'],
        'disabling keeps the rest',
      );
      await store.users.setAccess('ops1', { disabled: false });
      assert.ok((await store.users.count()) >= 1);

      await store.sessions.create({ id: 's1', user: 'ops1', csrf: 'c', expiresAt: new Date(Date.now() + 60_000) });
      await store.sessions.create({ id: 's2', user: 'ops1', csrf: 'c', expiresAt: new Date(Date.now() - 1) });
      assert.equal((await store.sessions.get('s1'))?.user, 'ops1');
      assert.ok((await store.sessions.deleteExpired(new Date())) >= 1);
      assert.equal(await store.sessions.get('s2'), null);
      await store.sessions.delete('s1');
      assert.equal(await store.sessions.get('s1'), null);

      await store.tokens.create({ id: 't1', name: 'ci', hash: 'abc', user: 'ops1', createdAt: new Date() });
      assert.equal((await store.tokens.findByHash('abc'))?.id, 't1');
      assert.equal(await store.tokens.delete('t1'), true);
      assert.equal(await store.tokens.findByHash('abc'), null);
      assert.equal(await store.users.delete('ops1'), true);
    });

    test('incidents: open, find open, notify, close, recovery; logs by level and text; outbox', async () => {
      const i = await store.incidents.open({
        kind: 'node_dead',
        subject: 'agent-7',
        nodeKind: 'clients',
        openedAt: new Date(),
        message: 'agent-7 died',
        details: { host: 'h' },
      });
      assert.equal((await store.incidents.findOpen('node_dead', 'agent-7'))?.id, i.id);
      assert.ok((await store.incidents.listUnnotified()).some((x) => x.id === i.id));
      await store.incidents.markNotified(i.id, ['a@example.com'], new Date());
      assert.ok(!(await store.incidents.listUnnotified()).some((x) => x.id === i.id));
      const acked = await store.incidents.acknowledge(i.id, 'ann', new Date(5000));
      assert.deepEqual([acked?.acknowledgedBy, acked?.acknowledgedAt?.getTime(), acked?.closedAt], ['ann', 5000, null]);
      await store.incidents.acknowledge(i.id, 'bob', new Date(6000));
      assert.equal((await store.incidents.get(i.id))?.acknowledgedBy, 'ann', 'the first acknowledgement stands');
      await store.incidents.close(i.id, new Date(), 'ann');
      assert.equal((await store.incidents.get(i.id))?.closedBy, 'ann');
      assert.equal(await store.incidents.findOpen('node_dead', 'agent-7'), null);
      assert.ok((await store.incidents.listRecoveryUnnotified()).some((x) => x.id === i.id));
      await store.incidents.markRecoveryNotified(i.id, new Date());
      assert.ok(!(await store.incidents.listRecoveryUnnotified()).some((x) => x.id === i.id));
      assert.ok((await store.incidents.list({ open: false })).items.some((x) => x.id === i.id));
      assert.deepEqual((await store.incidents.get(i.id))?.notifiedContacts, ['a@example.com']);

      const t = Date.now();
      await store.logs.write([
        { time: new Date(t), level: 'debug', source: 'svc', node: 'n1', message: 'chatter' },
        { time: new Date(t + 1), level: 'warn', source: 'svc', node: 'n1', message: 'disk 91% full' },
        { time: new Date(t + 2), level: 'error', source: 'svc', node: 'n2', message: 'job 42 failed', context: { code: 1 } },
      ]);
      const warnUp = await store.logs.list({ level: 'warn', source: 'svc' });
      assert.deepEqual(
        warnUp.items.map((l) => l.message),
        ['job 42 failed', 'disk 91% full'],
      );
      assert.deepEqual(
        (await store.logs.list({ q: '91%', source: 'svc' })).items.map((l) => l.node),
        ['n1'],
      );
      assert.deepEqual((await store.logs.list({ level: 'error', source: 'svc' })).items[0]?.context, { code: 1 });
      // The source filter finds a source by part of its name.
      await store.logs.write([{ time: new Date(t + 3), level: 'error', source: 'dispatch-server', node: 'n3', message: 'run failed' }]);
      assert.deepEqual(
        (await store.logs.list({ source: 'dispatch' })).items.map((l) => l.source),
        ['dispatch-server'],
      );

      const mail = await store.outbox.add({ to: ['a@example.com'], subject: 's', text: 't', incidentIds: [i.id] });
      assert.equal((await store.outbox.list()).items[0]?.id, mail.id);
    });

    test('logs: search by words of the message, context values, job id or name and source, with the filters, paged', async () => {
      const nightly = await store.jobs.create(spec({ name: 'Nightly backup' }));
      const other = await store.jobs.create(spec({ name: 'hourly sync' }));
      const german = await store.jobs.create(spec({ name: 'Ärger täglich' }));
      const t0 = Date.now() + 3600_000;
      const at = (s: number) => new Date(t0 + s * 1000);
      await store.logs.write([
        { time: at(0), level: 'info', source: 'agent', node: 'a1', message: 'probe timeout after 5s' },
        {
          time: at(1),
          level: 'warn',
          source: 'dispatch-server',
          node: 's1',
          message: 'run failed',
          context: { jobId: nightly.id, error: 'connect ECONNREFUSED 10.0.0.7:5432', attempt: 3 },
        },
        {
          time: at(2),
          level: 'error',
          source: 'dispatch-server',
          node: 's2',
          message: 'run failed',
          context: { jobId: other.id, error: 'ENOENT' },
        },
        {
          time: at(3),
          level: 'info',
          source: 'monitor',
          node: 'm1',
          message: 'dispatcher elected',
          context: { nested: { deep: ['Blue-Whale'] } },
        },
        { time: at(4), level: 'info', source: 'agent', node: 'a2', message: 'run started', context: { job: german.id } },
      ]);
      // Newer entries that match no search, as many as a search probes (log-words.ts): with them in
      // range a search is answered from the word index; with the range ending before them, from the
      // newest rows. Each case asks both ways.
      await store.logs.write(
        Array.from({ length: probedRows }, (_, i) => ({
          time: at(100 + i),
          level: 'debug' as const,
          source: 'filler',
          message: `tick ${i}`,
        })),
      );
      const nodes = async (query: Parameters<Store['logs']['list']>[0]) => {
        const ask = async (range: { from: Date; to?: Date }) => (await store.logs.list({ ...range, ...query })).items.map((l) => l.node);
        const byIndex = await ask({ from: at(0) });
        const byProbe = await ask({ from: at(0), to: at(99) });
        assert.deepEqual(byProbe, byIndex, `${JSON.stringify(query)}: the newest rows and the index agree`);
        return byIndex;
      };
      assert.deepEqual(await nodes({ q: 'timeout' }), ['a1'], 'a word of the message');
      assert.deepEqual(await nodes({ q: 'TIME' }), ['a1'], 'the beginning of a word, any case');
      assert.deepEqual(await nodes({ q: 'out' }), [], 'not the inside of a word');
      assert.deepEqual(await nodes({ q: 'econnrefused' }), ['s1'], 'an error text inside the context');
      assert.deepEqual(await nodes({ q: '10.0.0.7' }), ['s1'], 'every word of an address');
      assert.deepEqual(await nodes({ q: 'whale' }), ['m1'], 'a value deep in the context');
      assert.deepEqual(await nodes({ q: nightly.id }), ['s1'], 'a job id');
      assert.deepEqual(await nodes({ q: nightly.id.slice(0, -3) }), ['s1'], 'the beginning of a job id');
      assert.deepEqual(await nodes({ q: 'nightly' }), ['s1'], "a job's name");
      assert.deepEqual(await nodes({ q: 'backup night' }), ['s1'], "words of a job's name, any order");
      assert.deepEqual(await nodes({ q: 'nightly refused' }), [], 'every word must match');
      assert.deepEqual(await nodes({ q: 'ÄRGER TÄG' }), ['a2'], 'a job name with letters beyond ASCII, any case');
      assert.deepEqual(await nodes({ q: 'nightly econn' }), ['s1'], "a job's name and a context word together");
      assert.deepEqual(await nodes({ q: 'dispatch' }), ['m1', 's2', 's1'], 'the beginning of a source name (and of a message word)');
      assert.deepEqual(await nodes({ q: 'patch' }), [], 'not the inside of a source name');
      assert.deepEqual(await nodes({ q: 'jobid' }), [], "the context's keys are not searched");
      assert.deepEqual(await nodes({ q: 'zzzznothing' }), [], 'no match');
      assert.deepEqual(await nodes({ q: 'run', level: 'error' }), ['s2'], 'with the level filter');
      assert.deepEqual(await nodes({ q: 'dispatch', source: 'monitor' }), ['m1'], 'with the source filter');
      assert.deepEqual(await nodes({ q: 'failed', to: at(2) }), ['s1'], 'with a time range');
      assert.deepEqual(await nodes({ q: 'failed', node: 's2' }), ['s2'], 'with the node filter');
      assert.deepEqual(await nodes({ q: ' %% - ', source: 'agent' }), ['a2', 'a1'], 'a query without words sets no condition');

      // Paged: newest first, each matching entry once, across pages.
      await store.logs.write(
        Array.from({ length: 5 }, (_, i) => ({ time: at(10 + i), level: 'info' as const, source: 'pager', message: `page probe ${i}` })),
      );
      for (const range of [{}, { to: at(99) }]) {
        const pages = await followCursor((cursor) =>
          store.logs.list({ ...range, q: 'probe pag', limit: 2, ...(cursor ? { cursor } : {}) }),
        );
        assert.equal(pages.length, 3);
        assert.deepEqual(
          pages.flatMap((p) => p.items.map((l) => l.message)),
          [4, 3, 2, 1, 0].map((i) => `page probe ${i}`),
        );
      }
    });

    test('audit: kept with before and after, newest first, filtered by user, text, method and time, paged', async () => {
      const t0 = Date.now();
      const at = (s: number) => new Date(t0 + s * 1000);
      await store.audit.add({
        at: at(0),
        user: 'ann',
        method: 'POST',
        path: '/api/jobs',
        target: 'job_1',
        status: 201,
        after: { 'a.b': 1 },
      });
      await store.audit.add({
        at: at(1),
        user: 'bob',
        method: 'PUT',
        path: '/api/jobs/job_1',
        target: 'job_1',
        status: 200,
        before: { n: 1 },
        after: { n: 2 },
      });
      await store.audit.add({
        at: at(2),
        user: 'ann',
        method: 'DELETE',
        path: '/api/contacts/c_9',
        target: 'c_9',
        status: 200,
        before: { n: 3 },
      });
      const all = await store.audit.list({ from: at(0) });
      assert.deepEqual(
        all.items.map((e) => [e.user, e.method, e.target]),
        [
          ['ann', 'DELETE', 'c_9'],
          ['bob', 'PUT', 'job_1'],
          ['ann', 'POST', 'job_1'],
        ],
      );
      assert.deepEqual(all.items[1]?.before, { n: 1 });
      const created = all.items[2];
      assert.deepEqual([created?.after, created?.before], [{ 'a.b': 1 }, null], 'keys with dots kept; a create has no before');
      assert.deepEqual(
        (await store.audit.list({ user: 'ann', from: at(0) })).items.map((e) => e.method),
        ['DELETE', 'POST'],
      );
      assert.deepEqual(
        (await store.audit.list({ q: 'job_1', from: at(0) })).items.map((e) => e.user),
        ['bob', 'ann'],
      );
      assert.deepEqual(
        (await store.audit.list({ method: 'put', from: at(0) })).items.map((e) => e.user),
        ['bob'],
      );
      assert.deepEqual(
        (await store.audit.list({ from: at(1), to: at(2) })).items.map((e) => e.user),
        ['bob'],
      );
      const first = await store.audit.list({ from: at(0), limit: 2 });
      assert.equal(first.items.length, 2);
      const second = await store.audit.list({ from: at(0), limit: 2, cursor: first.nextCursor });
      assert.deepEqual(
        second.items.map((e) => e.method),
        ['POST'],
      );
    });

    test('free-form maps keep keys with "." and "$" as they were (env, headers, details, context)', async () => {
      const odd = { 'a.b': '1', $x: '2', 'c$d.e': '3', '%2E': '4', plain: '5' };
      const shell = await store.jobs.create(spec({ kind: { type: 'shell', command: 'true', env: odd } }));
      assert.deepEqual((await store.jobs.get(shell.id))?.kind, { ...shell.kind, env: odd });
      const edited = (await store.jobs.replace(shell.id, spec({ kind: { type: 'shell', command: 'false', env: { 'x.y': 'z' } } })))!;
      assert.deepEqual((await store.jobs.get(shell.id))?.kind, edited.kind);
      const http = await store.jobs.create(
        spec({ kind: { type: 'http', url: 'http://127.0.0.1:9/', headers: { 'x.trace': 't', $auth: 'a' } } }),
      );
      assert.deepEqual(((await store.jobs.get(http.id))?.kind as { headers: unknown }).headers, { 'x.trace': 't', $auth: 'a' });
      assert.ok(
        (await store.jobs.list({ limit: 1000 })).items.some((j) => j.id === http.id),
        'listing decodes too',
      );
      const inc = await store.incidents.open({
        kind: 'node_dead',
        subject: 'odd-keys',
        nodeKind: 'clients',
        openedAt: new Date(),
        message: 'm',
        details: { 'host.name': 'h', $where: { 'n.e.s.t': 1 } },
      });
      assert.deepEqual((await store.incidents.get(inc.id))?.details, { 'host.name': 'h', $where: { 'n.e.s.t': 1 } });
      await store.incidents.markNotified(inc.id, ['a@example.com'], new Date());
      assert.deepEqual(
        (await store.incidents.get(inc.id))?.details,
        { 'host.name': 'h', $where: { 'n.e.s.t': 1 } },
        'kept through an update',
      );
      await store.logs.write([
        { time: new Date(), level: 'error', source: 'odd-keys', message: 'm', context: { 'req.id': 7, $op: ['a.b'] } },
      ]);
      assert.deepEqual((await store.logs.list({ source: 'odd-keys' })).items[0]?.context, { 'req.id': 7, $op: ['a.b'] });
    });

    test('runs.insertMany puts in every new run and names the duplicates; their counts only', async () => {
      const job = await store.jobs.create(spec());
      const t0 = Date.UTC(2026, 6, 1, 9, 0, 0);
      await store.runs.insert(run(job.id, t0 + 1000, { status: 'succeeded' }));
      const out = await store.runs.insertMany([
        run(job.id, t0, { status: 'failed' }),
        run(job.id, t0 + 1000, { status: 'failed' }),
        run(job.id, t0 + 2000, { status: 'succeeded' }),
      ]);
      assert.deepEqual(out, { inserted: 2, duplicates: [`${job.id}@2026-07-01T09:00:01.000Z`] });
      assert.equal((await store.runs.list({ jobId: job.id })).items.length, 3);
      assert.equal((await store.runs.get(`${job.id}@2026-07-01T09:00:01.000Z`))?.status, 'succeeded', 'the stored run is untouched');
      const totals = (await store.counters.summary({ from: new Date(t0), to: new Date(t0 + 3600_000), jobId: job.id })).totals;
      assert.deepEqual(totals, { succeeded: 2, failed: 1 });
    });

    test('a run update carries its job state: both written, once', async () => {
      const job = await store.jobs.create(spec());
      const t0 = Date.UTC(2026, 6, 2, 9, 0, 0);
      const r = await store.runs.insert(run(job.id, t0));
      await store.runs.update(
        r.id,
        { status: 'failed' },
        { lastStatus: 'failed', lastRunAt: new Date(t0), runCountDelta: 1, failureCountDelta: 1 },
      );
      const out = await store.writeRuns({
        inserts: [],
        updates: [
          { id: r.id, patch: { status: 'timed_out' }, jobState: { lastStatus: 'timed_out' } },
          { id: 'nope', patch: { status: 'failed' }, jobState: { runCountDelta: 1 } },
        ],
        jobStates: [],
      });
      assert.deepEqual(out.updated, [true, false], 'a missing run carries no job state');
      const j = (await store.jobs.get(job.id))!;
      assert.deepEqual([j.runCount, j.failureCount, j.lastStatus, j.lastRunAt?.getTime()], [1, 1, 'timed_out', t0]);
      assert.deepEqual((await store.counters.summary({ from: new Date(t0), to: new Date(t0 + 3600_000), jobId: job.id })).totals, {
        timed_out: 1,
      });
      assert.deepEqual(await store.reconcile(), { runs: 0 }, 'nothing left half done by a live writer');
    });

    test('a batch of 250 transitions with their job states, and 120 job states alone, in one call each', async () => {
      // FerretDB deadlocked on an update command of 100 statements or more: batches go in chunks.
      const jobs = await Promise.all(Array.from({ length: 5 }, () => store.jobs.create(spec())));
      const t0 = Date.UTC(2026, 6, 3, 9, 0, 0);
      const inputs = Array.from({ length: 250 }, (_, i) => run(jobs[i % 5]!.id, t0 + Math.floor(i / 5) * 1000));
      const inserted = await store.writeRuns({ inserts: inputs, updates: [], jobStates: [] });
      assert.equal(inserted.inserted.filter((r) => !(r instanceof DuplicateRunError)).length, 250);
      const out = await store.writeRuns({
        inserts: [],
        updates: inputs.map((r, i) => ({
          id: r.id,
          patch: { status: i % 10 ? 'succeeded' : 'failed' },
          jobState: { runCountDelta: 1, failureCountDelta: i % 10 ? 0 : 1 },
        })),
        jobStates: Array.from({ length: 120 }, (_, i) => ({ id: jobs[i % 5]!.id, state: { nextRunAt: new Date(t0 + i) } })),
      });
      assert.equal(out.updated.filter(Boolean).length, 250);
      for (const [i, j] of jobs.entries()) {
        const got = (await store.jobs.get(j.id))!;
        assert.deepEqual([got.runCount, got.failureCount, got.nextRunAt?.getTime()], [50, i === 0 ? 25 : 0, t0 + 115 + i]);
      }
      const totals = (await store.counters.summary({ from: new Date(t0), to: new Date(t0 + 3600_000) })).totals;
      assert.ok((totals.succeeded ?? 0) >= 225 && (totals.failed ?? 0) >= 25);
    });

    test('tokens: a taken id or hash is a DuplicateError', async () => {
      await store.tokens.create({ id: 'tdup', name: 'ci', hash: 'hash-dup', user: 'ops1', createdAt: new Date() });
      await assert.rejects(
        store.tokens.create({ id: 'tdup', name: 'ci2', hash: 'other', user: 'ops1', createdAt: new Date() }),
        DuplicateError,
      );
      await assert.rejects(
        store.tokens.create({ id: 'tdup2', name: 'ci3', hash: 'hash-dup', user: 'ops1', createdAt: new Date() }),
        DuplicateError,
      );
      assert.equal(await store.tokens.delete('tdup'), true);
    });

    test("a second store on the same data sees the first one's writes at once", async (t) => {
      if (!factory.openTwin) {
        t.skip('this backend has no second-process view');
        return;
      }
      const twin = await factory.openTwin();
      try {
        const job = await store.jobs.create(spec({ name: 'shared' }));
        assert.equal((await twin.jobs.get(job.id))?.name, 'shared');
        const r = await twin.runs.insert(run(job.id, Date.now()));
        await assert.rejects(store.runs.insert(run(job.id, r.scheduledAt.getTime())), DuplicateRunError);
        await twin.jobs.setEnabled(job.id, false);
        assert.equal((await store.jobs.get(job.id))?.enabled, false);
      } finally {
        await twin.close();
      }
    });

    test('close: a second close, concurrent or later, is the same promise; after it, the store is closed', async () => {
      const twin = await factory.open();
      const first = twin.close();
      const second = twin.close();
      assert.equal(first, second, 'one close');
      await first;
      assert.equal(twin.close(), first, 'a later close is the same one');
      await assert.rejects(twin.jobs.list({}));
    });
  });
}
