import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { activeStatuses, jobInputSchema, type Run } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { cleanUp, freePort, tempDir, waitFor, type TempDir } from '@clover/testkit';
import { cloverPaths, createZkClient, publishJobChange, type ZkClient } from '@clover/zk-kit';
import { Agent, registerDemoHandlers } from '@clover/scheduler-client';
import { DispatchServer } from '../src/index.js';
import { startCluster, type Cluster } from './harness.js';

// Backpressure (issue 20): a fire that no agent can take now waits in the leader's queue
// (status `waiting`) for a free slot, up to its start deadline, instead of failing. Real
// ZeroMQ, in-process ZooKeeper tree, embedded store.
let c: Cluster | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

/** A one-shot job at `atMs` that stays after its run (so its run can be read). */
const oneShot = (cl: Cluster, name: string, atMs: number, spec: Record<string, unknown>) =>
  cl.createJob({ name, schedule: { type: 'once', at: new Date(atMs) }, deleteWhenDone: false, ...spec });

const over = (r: Run) => !activeStatuses.some((s) => s === r.status);
/** Adds the status each run of the job has now to what `seen` holds for it. */
async function watchStatuses(cl: Cluster, jobId: string, seen: Map<string, Set<string>>): Promise<void> {
  for (const r of await cl.runsOf(jobId)) {
    let s = seen.get(r.id);
    if (!s) seen.set(r.id, (s = new Set()));
    s.add(r.status);
  }
}

test('the only agent for a handler starts 5 s after the job’s first slot: the run waits, then succeeds on it', async () => {
  c = await startCluster('bp-late');
  // Connected, but serving the demo handlers only.
  await c.startAgent('other');
  const slot = Math.ceil((Date.now() + 500) / 1000) * 1000;
  const job = await c.createJob({
    name: 'late-handler',
    schedule: { type: 'once', at: new Date(slot) },
    kind: { type: 'handler', name: 'late.only' },
    deleteWhenDone: false,
  });
  const waiting = await waitFor(async () => (await c!.runsOf(job.id)).find((r) => r.status === 'waiting'), {
    message: 'the run waits',
  });
  assert.equal(waiting.node, null);
  await new Promise((r) => setTimeout(r, slot + 5000 - Date.now()));
  assert.equal((await c.store.runs.get(waiting.id))?.status, 'waiting', 'still waiting 5 s after its slot');
  await c.startAgent('late', { handlers: { 'late.only': () => 'done' } });
  const run = await waitFor(async () => (await c!.runsOf(job.id)).find(over), { timeoutMs: 15_000, message: 'the run over' });
  assert.deepEqual([run.status, run.node, run.attempt], ['succeeded', 'late', 1]);
  assert.ok(run.startedAt!.getTime() >= slot + 5000, 'started when the agent came');
});

test('capacity full: an every-second no-op job waits behind a sleeping run on a one-slot agent and every run succeeds, none failed', async () => {
  c = await startCluster('bp-full');
  await c.startAgent('solo', { capacity: 1 });
  const t0 = Math.ceil((Date.now() + 1000) / 1000) * 1000;
  const sleeper = await oneShot(c, 'sleeper', t0 - 300, { kind: { type: 'handler', name: 'sleep' }, payload: { ms: 2500 } });
  const noop = await c.createJob({
    name: 'noop-every-second',
    schedule: { type: 'cron', expr: '* * * * * *' },
    kind: { type: 'handler', name: 'noop' },
    startDeadlineMs: 10_000,
  });
  const seen = new Map<string, Set<string>>();
  const until = t0 + 5000;
  while (Date.now() < until) {
    await watchStatuses(c, noop.id, seen);
    await new Promise((r) => setTimeout(r, 100));
  }
  await c.setEnabled(noop.id, false);
  const done = await waitFor(
    async () => {
      const runs = await c!.runsOf(noop.id);
      return runs.every(over) ? runs : undefined;
    },
    { timeoutMs: 15_000, message: 'every no-op run over' },
  );
  const s = (await c.runsOf(sleeper.id))[0];
  assert.equal(s?.status, 'succeeded');
  const during = done.filter((r) => r.scheduledAt.getTime() > s.startedAt!.getTime() && r.scheduledAt.getTime() < s.finishedAt!.getTime());
  assert.ok(during.length >= 2, `no-op slots while the sleeper held the slot: ${during.length}`);
  assert.deepEqual(
    done.filter((r) => r.status !== 'succeeded').map((r) => [r.status, r.error]),
    [],
    'every no-op run succeeded',
  );
  assert.ok(
    during.some((r) => seen.get(r.id)?.has('waiting')),
    'a no-op run fired while the slot was taken was seen waiting',
  );
  for (const r of during) assert.ok(r.startedAt!.getTime() >= s.finishedAt!.getTime() - 50, `${r.id} started once the slot freed`);
});

test('a run past its start deadline ends skipped with the waiting message and no incident; a job that asks ends failed with one', async () => {
  c = await startCluster('bp-deadline');
  await c.startAgent('busy', { capacity: 1 });
  const t0 = Math.ceil((Date.now() + 800) / 1000) * 1000;
  await oneShot(c, 'hog', t0 - 300, { kind: { type: 'handler', name: 'sleep' }, payload: { ms: 4000 } });
  const quiet = await oneShot(c, 'quiet', t0, { kind: { type: 'handler', name: 'noop' }, startDeadlineMs: 1000 });
  const loud = await oneShot(c, 'loud', t0, {
    kind: { type: 'handler', name: 'noop' },
    startDeadlineMs: 1000,
    onStartDeadline: 'failed',
    incidentOnStartDeadline: true,
  });
  const q = await waitFor(async () => (await c!.runsOf(quiet.id)).find(over), { timeoutMs: 10_000, message: 'quiet over' });
  assert.equal(q.status, 'skipped');
  assert.equal(q.error, 'waited 1000 ms for capacity: no agent for handler "noop" on any agent had a free slot (busy: at_capacity)');
  assert.ok(q.finishedAt!.getTime() >= t0 + 1000, 'not before its deadline');
  const l = await waitFor(async () => (await c!.runsOf(loud.id)).find(over), { timeoutMs: 10_000, message: 'loud over' });
  assert.deepEqual([l.status, l.error], ['failed', q.error]);
  assert.equal(l.attempt, 1, 'never retried');
  await waitFor(() => c!.store.incidents.findOpen('job_failed', loud.id), { message: "loud's incident" });
  assert.equal(await c.store.incidents.findOpen('job_failed', quiet.id), null, 'no incident for the skipped run');
  const j = (await c.store.jobs.get(quiet.id))!;
  assert.deepEqual([j.lastStatus, j.failureCount], ['skipped', 0]);
});

test('forbid: a waiting run counts as running, so the next fire is skipped; replace cancels a waiting run', async () => {
  c = await startCluster('bp-forbid');
  // No agent serves the handler: each run waits.
  await c.startAgent('other');
  const waitingJob = (name: string, concurrency: string) =>
    c!.createJob({
      name,
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'nobody.serves' },
      concurrency,
      startDeadlineMs: 60_000,
    });
  const forbid = await waitingJob('forbid-waiting', 'forbid');
  const replace = await waitingJob('replace-waiting', 'replace');
  const count = (runs: Run[], status: string) => runs.filter((r) => r.status === status).length;
  /** The job's runs once `enough` holds of them (read again until it does). */
  const runsWhen = (jobId: string, enough: (runs: Run[]) => boolean, message: string) =>
    waitFor(
      async () => {
        const runs = await c!.runsOf(jobId);
        return enough(runs) ? runs : undefined;
      },
      { timeoutMs: 10_000, message },
    );
  const f = await runsWhen(forbid.id, (runs) => count(runs, 'skipped') >= 2, 'later fires of the forbid job skipped');
  assert.equal(count(f, 'waiting'), 1, 'one run waits');
  for (const r of f.filter((x) => x.status === 'skipped')) assert.match(r.error ?? '', /still running \(concurrency forbid\)/);
  // The next slot's row is claimed (waiting) just before the slot that cancels the one before it.
  const r = await runsWhen(
    replace.id,
    (runs) => count(runs, 'cancelled') >= 2 && count(runs, 'waiting') === 1,
    'waiting runs of the replace job cancelled, only the newest waiting',
  );
  assert.deepEqual([...new Set(r.filter((x) => x.status === 'cancelled').map((x) => x.error))], ['cancelled (replaced)']);
  await c.setEnabled(forbid.id, false);
  await c.setEnabled(replace.id, false);
});

// Several servers on one store and ZooKeeper tree, for leader changes; every part closed at the end.
const paths = cloverPaths('/clover');
const opened: { dirs: TempDir[]; stores: Store[]; zks: ZkClient[]; servers: DispatchServer[]; agents: Agent[] } = {
  dirs: [],
  stores: [],
  zks: [],
  servers: [],
  agents: [],
};
after(() =>
  cleanUp([
    ...opened.servers.map((s, i) => [`server ${i}`, () => s.close()] as const),
    ...opened.agents.map((a) => [`agent ${a.id}`, () => a.close()] as const),
    ...opened.zks.map((z, i) => [`zk ${i}`, () => z.close()] as const),
    ...opened.stores.map((st, i) => [`store ${i}`, () => st.close()] as const),
    ...opened.dirs.map((d, i) => [`dir ${i}`, () => d.cleanup()] as const),
  ]),
);

async function servers(name: string) {
  const zkName = `${name}-${process.pid}`;
  const zk = async () => {
    const z = createZkClient({ connect: `memory:${zkName}` });
    await z.connect();
    opened.zks.push(z);
    return z;
  };
  const dir = await tempDir(`clover-${name}-`);
  opened.dirs.push(dir);
  const store = await openStore({ dataDir: dir.path });
  opened.stores.push(store);
  const admin = await zk();
  return {
    store,
    zk,
    server: async (id: string) => {
      const s = new DispatchServer({ zk: await zk(), paths, store, id, bind: `tcp://127.0.0.1:${await freePort()}`, drainTimeoutMs: 1000 });
      opened.servers.push(s);
      await s.start();
      return s;
    },
    agent: async (id: string, capacity: number, handlers: Record<string, () => unknown> = {}) => {
      const a = registerDemoHandlers(new Agent({ zk: await zk(), paths, id, capacity, drainTimeoutMs: 1000 }));
      for (const [h, fn] of Object.entries(handlers)) a.register(h, fn);
      opened.agents.push(a);
      await a.start();
      return a;
    },
    createJob: async (input: Record<string, unknown>) => {
      const job = await store.jobs.create(jobInputSchema.parse(input));
      await publishJobChange(admin, paths, { jobId: job.id, op: 'upsert' });
      return job;
    },
  };
}

test('a new leader adopts a waiting run, keeps its deadline, and runs it when an agent for it comes', async () => {
  const { store, server, agent, createJob } = await servers('bp-adopt');
  const first = await server('first');
  await waitFor(() => first.isLeader, { message: 'first leads' });
  const second = await server('second');
  const slot = Math.ceil((Date.now() + 500) / 1000) * 1000;
  const oneShotAtSlot = (name: string, handler: string, startDeadlineMs: number) =>
    createJob({
      name,
      schedule: { type: 'once', at: new Date(slot) },
      kind: { type: 'handler', name: handler },
      startDeadlineMs,
      deleteWhenDone: false,
    });
  const job = await oneShotAtSlot('adopted-waiting', 'late.only', 30_000);
  // Nobody ever serves this one: it ends at its deadline, counted from its slot on either leader.
  const never = await oneShotAtSlot('adopted-deadline', 'never.served', 4000);
  const waiting = await waitFor(async () => (await store.runs.list({ jobId: job.id })).items.find((r) => r.status === 'waiting'), {
    message: 'the run waits on the first leader',
  });
  // Claimed ahead as waiting; queued at its slot.
  await waitFor(() => first.waitingInfo().depth === 2, { message: 'queued on the first leader' });
  await new Promise((r) => setTimeout(r, slot + 1500 - Date.now()));
  await first.close();
  await waitFor(() => second.isLeader, { timeoutMs: 15_000, message: 'second leads' });
  await waitFor(() => second.waitingInfo().depth === 2, { message: 'the second leader queued them' });
  assert.equal((await store.runs.get(waiting.id))?.status, 'waiting');
  let ran = 0;
  await agent('late', 2, {
    'late.only': () => {
      ran++;
    },
  });
  const run = await waitFor(
    async () => {
      const r = await store.runs.get(waiting.id);
      return r && over(r) ? r : undefined;
    },
    { timeoutMs: 15_000, message: 'the adopted run over' },
  );
  assert.deepEqual([run.status, run.node, ran], ['succeeded', 'late', 1]);
  const missed = await waitFor(
    async () => {
      const r = (await store.runs.list({ jobId: never.id })).items[0];
      return r && over(r) ? r : undefined;
    },
    { timeoutMs: 15_000, message: 'the other adopted run over' },
  );
  assert.equal(missed.status, 'skipped');
  const at = missed.finishedAt!.getTime() - slot;
  assert.ok(at >= 4000 && at < 5000, `skipped at its slot + 4 s (not 4 s after the takeover): slot + ${at} ms`);
  assert.equal(second.waitingInfo().depth, 0);
});

test('a small chaos run: 30 every-second no-op jobs and 6 forbid sleepers on 8 slots, and a leader change: every no-op run succeeds, none fails, no incident', async () => {
  const { store, server, agent, createJob } = await servers('bp-chaos');
  const first = await server('first');
  await waitFor(() => first.isLeader, { message: 'first leads' });
  const second = await server('second');
  await agent('c1', 4);
  await agent('c2', 4);
  /** `n` every-second jobs of the handler, named `<name>-<i>`. */
  const everySecond = async (n: number, name: string, spec: Record<string, unknown>) => {
    const jobs = [];
    for (let i = 0; i < n; i++)
      jobs.push(await createJob({ name: `${name}-${i}`, schedule: { type: 'cron', expr: '* * * * * *' }, ...spec }));
    return jobs;
  };
  const noops = await everySecond(30, 'noop', {
    // The default start deadline (an every-second job's: 10 s) outlasts what capacity can be short
    // here: the new leader's settle time (3 s) when an agent's first HELLO to it goes astray, and
    // that agent's next HELLO (5 s).
    kind: { type: 'handler', name: 'noop' },
  });
  const sleepers = await everySecond(6, 'sleeper', {
    kind: { type: 'handler', name: 'sleep' },
    payload: { ms: 2500 },
    concurrency: 'forbid',
  });
  const from = Date.now() + 1000;
  await new Promise((r) => setTimeout(r, 5000));
  await first.close();
  await waitFor(() => second.isLeader, { timeoutMs: 15_000, message: 'second leads' });
  await new Promise((r) => setTimeout(r, 5000));
  const to = Date.now() - 3000;
  await new Promise((r) => setTimeout(r, 3000));
  const inWindow = async (jobId: string) =>
    (await store.runs.list({ jobId, limit: 1000 })).items.filter((r) => r.scheduledAt.getTime() >= from && r.scheduledAt.getTime() < to);
  const noopRuns = (await Promise.all(noops.map((j) => inWindow(j.id)))).flat();
  const sleeperRuns = (await Promise.all(sleepers.map((j) => inWindow(j.id)))).flat();
  const bad = [...noopRuns, ...sleeperRuns].filter((r) => ['failed', 'lost', 'timed_out', 'cancelled'].includes(r.status));
  assert.deepEqual(
    bad.map((r) => [r.id, r.status, r.error]),
    [],
    'no run failed',
  );
  assert.ok(noopRuns.length >= 30 * 5, `no-op runs in the window: ${noopRuns.length}`);
  assert.deepEqual(
    noopRuns.filter((r) => r.status !== 'succeeded').map((r) => [r.id, r.status, r.error]),
    [],
    'every no-op run succeeded',
  );
  for (const r of sleeperRuns.filter((x) => x.status === 'skipped'))
    assert.match(r.error ?? '', /concurrency forbid|^waited 10000 ms for capacity/, 'a sleeper skipped by forbid or its start deadline');
  assert.ok(
    sleeperRuns.some((r) => r.status === 'succeeded'),
    'the sleepers ran as capacity allowed',
  );
  assert.equal((await store.incidents.list({ kind: 'job_failed', open: true, limit: 100 })).items.length, 0, 'no incident');
});
