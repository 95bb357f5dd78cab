import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { jobInputSchema, type Run } from '@clover/model';
import { DealerTransport, type Message } from '@clover/protocol';
import { openStore, type Store } from '@clover/store';
import { cleanUp, freePort, tempDir, waitFor, type TempDir } from '@clover/testkit';
import { MemoryZkServer, cloverPaths, createZkClient, publishJobChange, type ZkClient } from '@clover/zk-kit';
import { Agent, registerDemoHandlers } from '@clover/scheduler-client';
import { DispatchServer } from '../src/index.js';
import { sayHello } from './harness.js';

// One dispatch-server and two agents in this process: real ZeroMQ over tcp, the embedded
// store, the in-process ZooKeeper tree.
const zkName = `dispatch-${process.pid}`;
const paths = cloverPaths('/clover');
let dir: TempDir;
let store: Store;
let server: DispatchServer;
let endpoint: string;
const agents: Agent[] = [];
const zks: ZkClient[] = [];
let executions: Array<{ agent: string; execId: string; at: number }> = [];
// What before() got as far as opening, for after() to close: unset where it failed first.
const opened: { dir?: TempDir; store?: Store; server?: DispatchServer } = {};

async function zk(): Promise<ZkClient> {
  const c = createZkClient({ connect: `memory:${zkName}` });
  await c.connect();
  zks.push(c);
  return c;
}

async function startAgent(id: string, groups: string[] = []): Promise<Agent> {
  const a = registerDemoHandlers(new Agent({ zk: await zk(), paths, id, groups, shell: true, capacity: 8, drainTimeoutMs: 1000 }));
  a.register('record', (ctx) => {
    executions.push({ agent: id, execId: ctx.execId, at: Date.now() });
  });
  a.register('flaky', (ctx) => {
    executions.push({ agent: id, execId: ctx.execId, at: Date.now() });
    if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} fails`);
    return 'third time lucky';
  });
  await a.start();
  agents.push(a);
  return a;
}

before(async () => {
  dir = opened.dir = await tempDir('clover-dispatch-');
  store = opened.store = await openStore({ dataDir: dir.path });
  endpoint = `tcp://127.0.0.1:${await freePort()}`;
  server = opened.server = new DispatchServer({
    zk: await zk(),
    paths,
    store,
    id: 'server-1',
    bind: endpoint,
    timings: { ackTimeoutMs: 300, adoptGraceMs: 2000 },
    claimAheadMs: 400,
  });
  await server.start();
  await waitFor(() => server.isLeader, { message: 'leads' });
  await startAgent('agent-1', ['blue']);
  await startAgent('agent-2', ['green']);
  // Agents are usable once their HELLO arrived; a first job tells us so.
  const probe = await createJob({
    name: 'probe',
    schedule: { type: 'once', at: new Date(Date.now() + 200) },
    kind: { type: 'handler', name: 'noop' },
    deleteWhenDone: false,
  });
  await waitFor(async () => (await store.runs.list({ jobId: probe.id })).items[0]?.status === 'succeeded', { message: 'probe ran' });
});

after(async () => {
  const step = (name: string, fn: () => Promise<unknown>) =>
    [
      name,
      async () => {
        const t = Date.now();
        await fn();
        if (process.env.CLOVER_TEST_DEBUG) console.log(`# after: ${name} ${Date.now() - t} ms`);
      },
    ] as const;
  // Every step runs, each bounded, even past one that fails: an open socket would hold the file.
  await cleanUp([
    step('server', async () => opened.server?.close()),
    ...agents.map((a) => step(`agent ${a.id}`, () => a.close())),
    ...zks.map((c) => step('zk', () => c.close())),
    step('store', async () => opened.store?.close()),
    step('dir', async () => opened.dir?.cleanup()),
  ]);
});

async function createJob(input: Record<string, unknown>) {
  const job = await store.jobs.create(jobInputSchema.parse(input));
  await publishJobChange(zks[0]!, paths, { jobId: job.id, op: 'upsert' });
  return job;
}

async function runsOf(jobId: string): Promise<Run[]> {
  return (await store.runs.list({ jobId, limit: 1000 })).items;
}

async function disable(jobId: string) {
  await store.jobs.setEnabled(jobId, false);
  await publishJobChange(zks[0]!, paths, { jobId, op: 'upsert' });
}

test('cron jobs fire every second, one run per slot, each on an agent the target allows', async () => {
  executions = [];
  const blue = await createJob({
    name: 'blue',
    schedule: { type: 'cron', expr: '* * * * * *' },
    kind: { type: 'handler', name: 'record' },
    target: { type: 'group', group: 'blue' },
  });
  const any = await createJob({
    name: 'rr',
    schedule: { type: 'cron', expr: '* * * * * *' },
    kind: { type: 'handler', name: 'record' },
    routing: 'round_robin',
  });
  await waitFor(
    async () =>
      (await runsOf(blue.id)).filter((r) => r.status === 'succeeded').length >= 4 &&
      (await runsOf(any.id)).filter((r) => r.status === 'succeeded').length >= 4,
    { timeoutMs: 20_000, message: '4 runs each' },
  );
  await disable(blue.id);
  await disable(any.id);
  const blueRuns = await runsOf(blue.id);
  assert.ok(
    blueRuns.every((r) => r.node === 'agent-1'),
    'blue runs only on agent-1',
  );
  const slots = blueRuns.map((r) => r.scheduledAt.getTime());
  assert.equal(new Set(slots).size, slots.length, 'one run per slot');
  assert.ok(slots.every((s) => s % 1000 === 0));
  const rrNodes = new Set((await runsOf(any.id)).filter((r) => r.status === 'succeeded').map((r) => r.node));
  assert.deepEqual([...rrNodes].sort(), ['agent-1', 'agent-2'], 'round robin uses both agents');
  const job = (await store.jobs.get(blue.id))!;
  assert.equal(job.lastStatus, 'succeeded');
  assert.ok(job.runCount >= 4 && job.lastRunAt);
  const ids = executions.map((e) => e.execId);
  assert.equal(new Set(ids).size, ids.length, 'no execution ran twice');
});

test('a once job runs once and is gone with its runs', async () => {
  const job = await createJob({
    name: 'once',
    schedule: { type: 'once', at: new Date(Date.now() + 300) },
    kind: { type: 'handler', name: 'echo' },
  });
  await waitFor(async () => (await store.jobs.get(job.id)) === null, { message: 'once job deleted' });
  assert.equal((await runsOf(job.id)).length, 0);
});

test('a fire is claimed in the store ahead of its slot, and its handler starts at the slot, not before', async () => {
  executions = [];
  const at = new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000);
  const job = await createJob({
    name: 'ahead',
    schedule: { type: 'once', at },
    kind: { type: 'handler', name: 'record' },
    deleteWhenDone: false,
  });
  const seenAt = await waitFor(async () => ((await runsOf(job.id)).length ? Date.now() : undefined), {
    intervalMs: 10,
    message: 'the run row',
  });
  assert.ok(seenAt < at.getTime(), `the row is in the store before the slot (seen ${at.getTime() - seenAt} ms ahead)`);
  const run = await waitFor(async () => (await runsOf(job.id)).find((r) => r.status === 'succeeded'), { message: 'the run succeeded' });
  assert.equal(run.dispatchedAt?.getTime(), at.getTime(), 'stamped with the slot it leaves at');
  const ran = executions.find((e) => e.execId === run.id);
  assert.ok(ran && ran.at >= at.getTime(), 'the handler never starts before its time');
});

test('trigger now fires a manual run', async () => {
  const job = await createJob({
    name: 'manual',
    schedule: { type: 'cron', expr: '0 0 1 1 *' },
    kind: { type: 'handler', name: 'echo' },
    payload: { x: 1 },
  });
  await publishJobChange(zks[0]!, paths, { jobId: job.id, op: 'trigger' });
  const [run] = await waitFor(
    async () => {
      const r = (await runsOf(job.id)).filter((x) => x.status === 'succeeded');
      return r.length ? r : undefined;
    },
    { message: 'manual run' },
  );
  assert.equal(run!.trigger, 'manual');
  assert.equal(run!.outputTail, '{"x":1}');
});

test('a shell job past its deadline is killed and recorded timed_out; a failing job retries with backoff', async () => {
  const slow = await createJob({
    name: 'slow',
    schedule: { type: 'once', at: new Date(Date.now() + 200) },
    kind: { type: 'shell', command: 'sh', args: ['-c', 'sleep 30'] },
    timeoutMs: 500,
    deleteWhenDone: false,
  });
  const [t] = await waitFor(
    async () => {
      const r = (await runsOf(slow.id)).filter((x) => x.status === 'timed_out');
      return r.length ? r : undefined;
    },
    { message: 'timed_out' },
  );
  assert.match(t!.error ?? '', /deadline/);
  assert.ok(
    (await store.incidents.list({ open: true })).items.some((i) => i.jobId === slow.id),
    'a job_failed incident for the monitor to mail',
  );

  executions = [];
  const flaky = await createJob({
    name: 'flaky',
    schedule: { type: 'once', at: new Date(Date.now() + 200) },
    kind: { type: 'handler', name: 'flaky' },
    retries: { max: 3, backoffMs: 100, factor: 2 },
    deleteWhenDone: false,
  });
  const [ok] = await waitFor(
    async () => {
      const r = (await runsOf(flaky.id)).filter((x) => x.status === 'succeeded');
      return r.length ? r : undefined;
    },
    { timeoutMs: 15_000, message: 'flaky succeeds' },
  );
  assert.equal(ok!.attempt, 3);
  assert.equal(executions.length, 3);
});

test('a failing job has one open incident however often it fails; its next success closes it', async () => {
  const job = await createJob({
    name: 'failing',
    schedule: { type: 'cron', expr: '* * * * * *' },
    kind: { type: 'handler', name: 'fail' },
  });
  await waitFor(async () => (await runsOf(job.id)).filter((r) => r.status === 'failed').length >= 3, {
    timeoutMs: 15_000,
    message: 'three failed runs',
  });
  const incidents = async () => (await store.incidents.list({ kind: 'job_failed', limit: 500 })).items.filter((i) => i.jobId === job.id);
  assert.equal((await incidents()).length, 1, 'one incident for the failing job');
  assert.equal((await incidents())[0]!.closedAt, null);
  // The schema keeps the spec and drops what the server keeps (id, counters, times).
  const spec = jobInputSchema.parse((await store.jobs.get(job.id))!);
  await store.jobs.replace(job.id, { ...spec, kind: { type: 'handler', name: 'echo' } });
  await publishJobChange(zks[0]!, paths, { jobId: job.id, op: 'upsert' });
  await waitFor(async () => (await incidents())[0]!.closedAt !== null, { timeoutMs: 15_000, message: 'closed by a success' });
  await disable(job.id);
  assert.equal((await incidents()).length, 1, 'still one');
});

test('forbid skips a fire while one runs; replace cancels the running one', async () => {
  const forbid = await createJob({
    name: 'forbid',
    schedule: { type: 'cron', expr: '* * * * * *' },
    kind: { type: 'handler', name: 'sleep' },
    payload: { ms: 2500 },
    concurrency: 'forbid',
  });
  await waitFor(async () => (await runsOf(forbid.id)).some((r) => r.status === 'skipped'), { timeoutMs: 15_000, message: 'a skipped run' });
  await disable(forbid.id);
  const replace = await createJob({
    name: 'replace',
    schedule: { type: 'cron', expr: '* * * * * *' },
    kind: { type: 'handler', name: 'sleep' },
    payload: { ms: 2500 },
    concurrency: 'replace',
  });
  await waitFor(async () => (await runsOf(replace.id)).some((r) => r.status === 'cancelled'), {
    timeoutMs: 15_000,
    message: 'a cancelled run',
  });
  await disable(replace.id);
  const skipped = (await runsOf(forbid.id)).filter((r) => r.status === 'skipped');
  assert.ok(skipped.every((r) => /concurrency forbid/.test(r.error ?? '')));
});

test('a lost ACK is resent and the execution runs once', async () => {
  // A hand-written agent that "loses" its first ACK: it runs the EXEC but does not acknowledge it.
  const id = 'deaf-agent';
  const c = await zk();
  await c.ensurePath(paths.nodesOf('clients'));
  await c.create(paths.node('clients', id), { id, beatAt: Date.now(), seq: 1 }, 'ephemeral');
  let execs = 0;
  let ran = 0;
  const t: DealerTransport = new DealerTransport({
    id,
    onMessage: (m: Message) => {
      if (m.type !== 'EXEC') return;
      execs++;
      if (execs === 1) {
        // It runs, but its ACK (and START) never reach the server.
        ran++;
        return;
      }
      void t.send({ type: 'ACK', body: { execId: m.body.execId, accepted: false, reason: 'duplicate' } });
      void t.send({
        type: 'RESULT',
        body: {
          execId: m.body.execId,
          status: 'succeeded',
          exitCode: 0,
          startedAt: Date.now(),
          finishedAt: Date.now(),
          outputTail: 'once',
          error: null,
        },
      });
    },
  });
  t.connect(endpoint);
  try {
    // The transport queues nothing for an absent peer: this send waits for the connection.
    await sayHello(t, id, 'deaf');
    const job = await createJob({
      name: 'deaf',
      schedule: { type: 'once', at: new Date(Date.now() + 300) },
      kind: { type: 'handler', name: 'deaf' },
      deleteWhenDone: false,
    });
    const [run] = await waitFor(
      async () => {
        const r = (await runsOf(job.id)).filter((x) => x.status === 'succeeded');
        return r.length ? r : undefined;
      },
      { message: 'succeeds after the resend' },
    );
    assert.equal(run!.node, id);
    assert.equal(ran, 1);
    assert.ok(execs >= 2, 'EXEC was sent again');
  } finally {
    await t.close();
    await c.delete(paths.node('clients', id)).catch(() => undefined);
  }
});

test('an agent lost mid-run: the run is lost and, with retries, succeeds on another agent', async () => {
  // Sorts before agent-1, so routing 'first' in group blue picks it first.
  const doomed = await startAgent('agent-0-doomed', ['blue']);
  doomed.register(
    'hang',
    async (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))),
  );
  await waitFor(async () => (await zks[0]!.children(paths.nodesOf('clients'))).includes('agent-0-doomed'));
  executions = [];
  const job = await createJob({
    name: 'survivor',
    schedule: { type: 'once', at: new Date(Date.now() + 500) },
    kind: { type: 'handler', name: 'record' },
    routing: 'first',
    retries: { max: 2, backoffMs: 100 },
    deleteWhenDone: false,
    target: { type: 'group', group: 'blue' },
  });
  // agent-doomed sorts first: stall it on 'record' so the first attempt hangs there, then kill its session.
  doomed.register(
    'record',
    async (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))),
  );
  await waitFor(async () => (await runsOf(job.id))[0]?.node === 'agent-0-doomed' && (await runsOf(job.id))[0]?.status === 'running', {
    message: 'running on the doomed agent',
  });
  // Dead: it stops answering (its sockets closed, no BYE), and then its session ends.
  await silence(doomed);
  const doomedZk = zks[zks.length - 1]!;
  MemoryZkServer.get(zkName).expireSession(doomedZk.sessionId!);
  const [run] = await waitFor(
    async () => {
      const r = (await runsOf(job.id)).filter((x) => x.status === 'succeeded');
      return r.length ? r : undefined;
    },
    { timeoutMs: 15_000, message: 'succeeds elsewhere' },
  );
  assert.equal(run!.node, 'agent-1');
  assert.equal(run!.attempt, 2);
  await doomed.close();
});

/** Makes an in-process agent a dead one to its servers: its sockets close with no BYE, then its last PONG grows old. */
async function silence(agent: Agent): Promise<void> {
  const channels = (agent as unknown as { channels: Map<string, { transport: { close(): Promise<void> } }> }).channels;
  for (const c of channels.values()) await c.transport.close();
  await new Promise((r) => setTimeout(r, 3500));
}

test('an agent whose ZooKeeper session ends while it still answers keeps its run: not lost, not run again', async () => {
  // The shares chaos run's ZooKeeper restart: every agent's session expired at once, every
  // server took every agent for lost, and each forbid job's run still going had its next slot
  // run beside it (8 overlaps); a lost run with retries ran a second attempt beside the first.
  const alive = await startAgent('agent-0-alive', ['violet']);
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  alive.register('held', () => released.then(() => 'done'));
  await waitFor(async () => (await zks[0]!.children(paths.nodesOf('clients'))).includes('agent-0-alive'));
  const job = await createJob({
    name: 'outlives-its-session',
    schedule: { type: 'once', at: new Date(Date.now() + 500) },
    kind: { type: 'handler', name: 'held' },
    retries: { max: 2, backoffMs: 100 },
    deleteWhenDone: false,
    target: { type: 'group', group: 'violet' },
  });
  await waitFor(async () => (await runsOf(job.id))[0]?.status === 'running' || undefined, { message: 'running on the agent' });
  const aliveZk = zks[zks.length - 1]!;
  MemoryZkServer.get(zkName).expireSession(aliveZk.sessionId!);
  // Its znode goes with the session; it registers again in a new one.
  await waitFor(async () => !(await zks[0]!.children(paths.nodesOf('clients'))).includes('agent-0-alive') || undefined, {
    message: 'its znode gone',
  }).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 3000));
  const during = await runsOf(job.id);
  assert.deepEqual(
    during.map((r) => [r.attempt, r.status]),
    [[1, 'running']],
    'still running, no second attempt',
  );
  release();
  const [run] = await waitFor(
    async () => {
      const r = (await runsOf(job.id)).filter((x) => x.status === 'succeeded');
      return r.length ? r : undefined;
    },
    { timeoutMs: 15_000, message: 'succeeds where it ran' },
  );
  assert.equal(run!.node, 'agent-0-alive');
  assert.equal(run!.attempt, 1);
  assert.equal((await runsOf(job.id)).length, 1);
  await alive.close();
});

test('garbage, truncated and oversized frames leave the server running', async () => {
  const raw = new zmq.Dealer({ routingId: 'vandal', linger: 0, sendTimeout: 10_000 });
  try {
    raw.connect(endpoint);
    await raw.send([Buffer.from('\x00\xff garbage')]);
    await raw.send([Buffer.from('1'), Buffer.from('HELLO'), Buffer.from('{"agentId":"van')]);
    await raw.send([Buffer.from('1'), Buffer.from('RESULT'), Buffer.from('{"execId":1}')]);
    await raw.send([Buffer.from('1'), Buffer.from('EXEC'), Buffer.alloc(4 * 1024 * 1024, 120)]);
  } finally {
    raw.close();
  }
  const job = await createJob({
    name: 'after-garbage',
    schedule: { type: 'once', at: new Date(Date.now() + 300) },
    kind: { type: 'handler', name: 'noop' },
    deleteWhenDone: false,
  });
  await waitFor(async () => (await runsOf(job.id))[0]?.status === 'succeeded', { message: 'still dispatching' });
  assert.ok(server.isLeader);
});
