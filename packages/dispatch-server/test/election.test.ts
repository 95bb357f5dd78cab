import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jobInputSchema, type Job, type Run } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { cleanUp, freePort, tempDir, waitFor, within, type TempDir } from '@clover/testkit';
import { cloverPaths, createZkClient, publishJobChange, type ZkClient } from '@clover/zk-kit';
import { Agent, registerDemoHandlers } from '@clover/scheduler-client';
import { DispatchServer } from '../src/index.js';

// Taking over: jobs whose slots went by while no server led, and agents that are already
// waiting for a leader when one is elected. In-process ZooKeeper tree, real ZeroMQ, embedded store.
const zkName = `election-${process.pid}`;
const paths = cloverPaths('/clover');
let dir: TempDir;
let store: Store;
const agents: Agent[] = [];
const zks: ZkClient[] = [];
const servers: DispatchServer[] = [];
const executions: Array<{ agent: string; execId: string }> = [];
const finishedAt = new Map<string, number>();
// What before() got as far as opening, for after() to close: unset where it failed first.
const opened: { dir?: TempDir; store?: Store } = {};

async function zk(): Promise<ZkClient> {
  const c = createZkClient({ connect: `memory:${zkName}` });
  await c.connect();
  zks.push(c);
  return c;
}

async function startServer(id: string, electionSettleMs = 3000): Promise<DispatchServer> {
  const s = new DispatchServer({
    zk: await zk(),
    paths,
    store,
    id,
    bind: `tcp://127.0.0.1:${await freePort()}`,
    timings: { electionSettleMs },
    drainTimeoutMs: 1500,
  });
  servers.push(s);
  await s.start();
  await waitFor(() => s.isLeader, { message: `${id} leads` });
  return s;
}

before(async () => {
  dir = opened.dir = await tempDir('clover-election-');
  store = opened.store = await openStore({ dataDir: dir.path });
  for (const id of ['agent-1', 'agent-2']) {
    const a = registerDemoHandlers(new Agent({ zk: await zk(), paths, id, capacity: 8, drainTimeoutMs: 1000 }));
    a.register('record', (ctx) => void executions.push({ agent: id, execId: ctx.execId }));
    // Quick on agent-1, slow on agent-2.
    a.register('uneven', async (ctx) => {
      await new Promise((r) => setTimeout(r, id === 'agent-2' ? 1000 : 0));
      finishedAt.set(id, Date.now());
      return ctx.attempt;
    });
    await a.start();
    agents.push(a);
  }
});

after(() =>
  cleanUp([
    ...servers.map((s, i) => [`server ${i}`, () => s.close()] as const),
    ...agents.map((a) => [`agent ${a.id}`, () => a.close()] as const),
    ...zks.map((c, i) => [`zk ${i}`, () => c.close()] as const),
    ['store', () => opened.store?.close()],
    ['temp dir', () => opened.dir?.cleanup()],
  ]),
);

/** A job that last expected a slot 5 s ago: the leader that takes over finds it missed. */
async function missedJob(input: Record<string, unknown>): Promise<Job> {
  const now = Date.now();
  const job = await store.jobs.create(
    jobInputSchema.parse({
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'record' },
      misfire: 'fire_once',
      window: { endAt: new Date(Math.floor(now / 1000) * 1000) },
      ...input,
    }),
  );
  await store.jobs.recordRunState(job.id, { nextRunAt: new Date(Math.floor(now / 1000) * 1000 - 5000) });
  return job;
}

async function runsOf(jobId: string): Promise<Run[]> {
  return (await store.runs.list({ jobId, limit: 1000 })).items;
}

test('a new leader fires each missed job once, routed over every agent that was waiting for it', async () => {
  const rr = await missedJob({ name: 'rr', routing: 'round_robin' });
  const first = await missedJob({ name: 'first', routing: 'first' });
  const all = await missedJob({ name: 'all', routing: 'broadcast' });
  const server = await startServer('server-1');
  await waitFor(
    async () => {
      const done = (r: Run[], n: number) => r.length === n && r.every((x) => x.status === 'succeeded');
      return done(await runsOf(rr.id), 1) && done(await runsOf(first.id), 1) && done(await runsOf(all.id), 2);
    },
    { timeoutMs: 10_000, message: 'one misfire run each, two for the broadcast' },
  );
  const ids = executions.map((e) => e.execId);
  assert.equal(new Set(ids).size, ids.length, `no execution ran twice: ${ids.join(', ')}`);
  assert.equal(ids.length, 4);
  assert.ok([...(await runsOf(rr.id)), ...(await runsOf(first.id)), ...(await runsOf(all.id))].every((r) => r.trigger === 'misfire'));
  assert.equal((await runsOf(first.id))[0]!.node, 'agent-1', '"first" is the first agent by id, not the quickest to say HELLO');
  assert.deepEqual((await runsOf(all.id)).map((r) => r.node).sort(), ['agent-1', 'agent-2'], 'the broadcast reached both agents');
  assert.ok(server.stats.settledAt >= server.stats.electedAt);
  await server.close();
});

test('a registered agent that never says HELLO holds a new leader back only for the settle time', async () => {
  const ghostZk = await zk();
  await ghostZk.create(paths.node('clients', 'agent-0-ghost'), { id: 'agent-0-ghost', beatAt: Date.now(), seq: 1 }, 'ephemeral');
  const job = await missedJob({ name: 'late', routing: 'first' });
  executions.length = 0;
  const server = await startServer('server-2', 800);
  const [run] = await waitFor(
    async () => {
      const r = (await runsOf(job.id)).filter((x) => x.status === 'succeeded');
      return r.length ? r : null;
    },
    { timeoutMs: 10_000, message: 'the misfire ran' },
  );
  assert.equal(run!.node, 'agent-1');
  assert.ok(
    server.stats.settledAt - server.stats.electedAt >= 700,
    `it waited for the ghost: ${server.stats.settledAt - server.stats.electedAt} ms`,
  );
  await ghostZk.close();
});

test("a broadcast one-shot is retired when every agent's run is done, not at the first", async () => {
  const server = servers.at(-1)!;
  assert.ok(server.isLeader);
  const job = await store.jobs.create(
    jobInputSchema.parse({
      name: 'everywhere-once',
      schedule: { type: 'once', at: new Date(Date.now() + 300) },
      kind: { type: 'handler', name: 'uneven' },
      routing: 'broadcast',
      deleteWhenDone: true,
    }),
  );
  await publishJobChange(zks[0]!, paths, { jobId: job.id, op: 'upsert' });
  const goneAt = await waitFor(async () => ((await store.jobs.get(job.id)) === null ? Date.now() : null), {
    timeoutMs: 10_000,
    intervalMs: 20,
    message: 'the one-shot deleted',
  });
  assert.ok(finishedAt.has('agent-1') && finishedAt.has('agent-2'), 'it ran on both agents');
  assert.ok(finishedAt.get('agent-2')! <= goneAt, 'deleted only after the slow agent finished');
});

test('close() with a run in flight returns even when every agent has already left', async () => {
  // Closing hands the lead over (here: to nobody), the agents disconnect, the drain runs out,
  // and the goodbyes go to agents that are gone: they must not hold the shutdown.
  const server = servers.at(-1)!;
  const job = await store.jobs.create(
    jobInputSchema.parse({
      name: 'outlives-the-server',
      schedule: { type: 'once', at: new Date(Date.now() + 200) },
      kind: { type: 'handler', name: 'sleep' },
      payload: { ms: 3000 },
      deleteWhenDone: false,
    }),
  );
  await publishJobChange(zks[0]!, paths, { jobId: job.id, op: 'upsert' });
  await waitFor(async () => (await runsOf(job.id))[0]?.status === 'running', { message: 'running' });
  await within(server.close(), 15_000, 'close() with a run in flight and no agent left');
});
