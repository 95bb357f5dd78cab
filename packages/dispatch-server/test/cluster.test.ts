import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';
import { jobInputSchema, type Job, type Run } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import {
  cleanUp,
  followCursor,
  freePort,
  spawnProcess,
  startZooKeeper,
  tempDir,
  waitFor,
  within,
  type ChildHandle,
  type TempDir,
  type ZooKeeperHandle,
} from '@clover/testkit';
import { cloverPaths, createZkClient, publishJobChange, readLeader, type ZkClient } from '@clover/zk-kit';

// The whole cluster as separate processes: a real ZooKeeper, two dispatch-servers (the real
// bin) and three agents over tcp, every process on one embedded-store file. Assertions are on
// behaviour; the deadlines of the waits are generous so a slow machine only runs longer.
const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
const repo = path.resolve(pkg, '../..');
const serverBin = path.join(pkg, 'src/bin.ts');
const agentBin = path.join(here, 'fixtures/record-agent.ts');
const sessionTimeoutMs = 3000;
const paths = cloverPaths('/clover');

let zkServer: ZooKeeperHandle;
let dir: TempDir;
let store: Store;
let zk: ZkClient;
let recordFile: string;
// What before() got as far as opening, for after() to close: unset where it failed first.
const opened: { zkServer?: ZooKeeperHandle; dir?: TempDir; store?: Store; zk?: ZkClient } = {};
const servers = new Map<string, { child: ChildHandle; endpoint: string }>();
const agents = new Map<string, ChildHandle>();
const agentSpec: Record<string, { groups: string; tags: string }> = {
  'agent-a': { groups: 'blue', tags: 'linux,ssd' },
  'agent-b': { groups: 'blue', tags: 'linux' },
  'agent-c': { groups: 'green', tags: 'gpu' },
};
const agentIds = Object.keys(agentSpec).sort();

const tsx = (file: string) => ['--conditions=source', '--import', 'tsx', file];

async function startServer(id: string): Promise<void> {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const child = spawnProcess(process.execPath, tsx(serverBin), {
    name: id,
    cwd: repo,
    env: {
      CLOVER_ZK: zkServer.connectString,
      CLOVER_METRICS_PORT: '0',
      CLOVER_DATA_DIR: dir.path,
      CLOVER_DISPATCH_BIND: endpoint,
      CLOVER_NODE_ID: id,
      CLOVER_ZK_SESSION_TIMEOUT_MS: String(sessionTimeoutMs),
      CLOVER_HEARTBEAT_MS: '500',
    },
  });
  servers.set(id, { child, endpoint });
  await child.waitForOutput(/dispatch-server started/, 30_000);
}

async function startAgent(id: string): Promise<void> {
  const child = spawnProcess(process.execPath, tsx(agentBin), {
    name: id,
    cwd: repo,
    env: {
      CLOVER_ZK: zkServer.connectString,
      CLOVER_METRICS_PORT: '0',
      CLOVER_NODE_ID: id,
      CLOVER_RECORD_FILE: recordFile,
      CLOVER_ZK_SESSION_TIMEOUT_MS: String(sessionTimeoutMs),
      CLOVER_GROUPS: agentSpec[id]!.groups,
      CLOVER_TAGS: agentSpec[id]!.tags,
    },
  });
  agents.set(id, child);
  await child.waitForOutput(/ready/, 30_000);
}

async function leaderId(): Promise<string | null> {
  return (await readLeader(zk, paths.electionDispatch))?.id ?? null;
}

async function createJob(input: Record<string, unknown>): Promise<Job> {
  const job = await store.jobs.create(jobInputSchema.parse(input));
  await publishJobChange(zk, paths, { jobId: job.id, op: 'upsert' });
  return job;
}

async function runsOf(jobId: string): Promise<Run[]> {
  const pages = await followCursor((cursor) => store.runs.list({ jobId, limit: 1000, cursor }), {
    maxPages: 100,
    what: `the runs of ${jobId}`,
  });
  return pages.flatMap((p) => p.items);
}

const terminal = (r: Run) => !['scheduled', 'waiting', 'dispatched', 'running'].includes(r.status);

/** Every execution the agents started, from their record file. */
function executions(): Array<{ execId: string; agent: string; attempt: number }> {
  if (!existsSync(recordFile)) return [];
  return readFileSync(recordFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { execId: string; agent: string; attempt: number });
}

/** The next whole second at least `leadMs` from now. */
/** Executions started more than once, with where and when. */
function twice(): string[] {
  const seen = new Map<string, string[]>();
  for (const e of executions()) seen.set(e.execId, [...(seen.get(e.execId) ?? []), `${e.agent}#${e.attempt}`]);
  return [...seen].filter(([, v]) => v.length > 1).map(([k, v]) => `${k} on ${v.join(', ')}`);
}

const slotAfter = (leadMs: number) => Math.ceil((Date.now() + leadMs) / 1000) * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

before(async () => {
  zkServer = opened.zkServer = await startZooKeeper();
  dir = opened.dir = await tempDir('clover-cluster-');
  recordFile = path.join(dir.path, 'executions.jsonl');
  store = opened.store = await openStore({ dataDir: dir.path });
  zk = opened.zk = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 10_000 });
  await within(zk.connect(), 20_000, "the test's ZooKeeper session");
  await Promise.all([startServer('server-1'), startServer('server-2')]);
  await Promise.all(agentIds.map((id) => startAgent(id)));
  await waitFor(async () => (await zk.children(paths.electionDispatch)).length === 2, {
    timeoutMs: 20_000,
    message: 'both servers in the election',
  });
  // The leader can dispatch once every agent has said HELLO: a broadcast probe reaches all three.
  const probe = await createJob({
    name: 'probe',
    schedule: { type: 'once', at: new Date(Date.now() + 500) },
    kind: { type: 'handler', name: 'noop' },
    routing: 'broadcast',
    deleteWhenDone: false,
  });
  await waitFor(async () => (await runsOf(probe.id)).filter((r) => r.status === 'succeeded').length === 3, {
    timeoutMs: 30_000,
    message: 'a broadcast probe succeeded on all three agents',
  });
});

after(async () => {
  // CLOVER_TEST_LOGS=<dir> keeps every process's output there, for a failure's post-mortem.
  const keep = process.env.CLOVER_TEST_LOGS;
  if (keep) {
    mkdirSync(keep, { recursive: true });
    for (const [id, s] of servers) writeFileSync(path.join(keep, `${id}.log`), s.child.output());
    for (const [id, c] of agents) writeFileSync(path.join(keep, `${id}.log`), c.output());
    if (opened.dir && existsSync(recordFile)) writeFileSync(path.join(keep, 'executions.jsonl'), readFileSync(recordFile));
    if (opened.store) writeFileSync(path.join(keep, 'runs.json'), JSON.stringify((await opened.store.runs.list({ limit: 1000 })).items));
  }
  // kill() is bounded: a process that does not drain on SIGTERM is SIGKILLed and named.
  await cleanUp(
    [
      ...[...agents].map(([id, c]) => [id, () => c.kill('SIGTERM')] as const),
      ...[...servers].map(([id, s]) => [id, () => s.child.kill('SIGTERM')] as const),
      ['zk', () => opened.zk?.close()],
      ['store', () => opened.store?.close()],
      ['ZooKeeper', () => opened.zkServer?.cleanup()],
      ['temp dir', () => opened.dir?.cleanup()],
    ],
    { timeoutMs: 45_000 },
  );
});

const allowed: Record<string, (node: string) => boolean> = {
  any: () => true,
  blue: (n) => n === 'agent-a' || n === 'agent-b',
  green: (n) => n === 'agent-c',
  ssd: (n) => n === 'agent-a',
  linux: (n) => n === 'agent-a' || n === 'agent-b',
  nodeB: (n) => n === 'agent-b',
};
const targets: Record<string, unknown> = {
  any: { type: 'any' },
  blue: { type: 'group', group: 'blue' },
  green: { type: 'group', group: 'green' },
  ssd: { type: 'tags', tags: ['linux', 'ssd'] },
  linux: { type: 'tags', tags: ['linux'] },
  nodeB: { type: 'node', nodeId: 'agent-b' },
};

/**
 * The job's run counter against its runs. A run's final status and the job's counters are two
 * store writes (the store has no transaction across them): a leader SIGKILLed between them
 * leaves the counter one short. The run table is the truth; the counter may lag by that one.
 */
function assertCounted(name: string, runCount: number, runs: Run[]): void {
  const detail = runs.map((r) => `${iso(r.scheduledAt.getTime()).slice(17, 19)} ${r.trigger} ${r.node}`).join(', ');
  assert.ok(
    runCount === runs.length || runCount === runs.length - 1,
    `${name}: the job counts ${runCount} of its ${runs.length} runs: ${detail}`,
  );
  if (runCount !== runs.length) console.log(`# ${name}: counter one short after the SIGKILL (${runCount} of ${runs.length})`);
}

/** Splits sorted slots into runs of consecutive seconds. */
function stretches(slots: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const s of slots) {
    const last = out[out.length - 1];
    if (last && s === last[1] + 1000) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}

test('2 servers, 3 agents, leader SIGKILLed mid-window: every slot of every-second jobs fires exactly once, the gap per misfire policy, broadcast once per agent, in-flight runs adopted', async () => {
  const routings = ['first', 'round_robin', 'random', 'least_busy', 'consistent_hash', 'failover', 'round_robin'] as const;
  const targetNames = Object.keys(targets);
  const slots = 16;
  const start = slotAfter(3000);
  const end = start + (slots - 1) * 1000;
  const window = { startAt: new Date(start), endAt: new Date(end) };
  const windowSlots = Array.from({ length: slots }, (_, k) => start + k * 1000);
  const jobs: Array<{ job: Job; target: string }> = [];
  for (let i = 0; i < 14; i++) {
    const target = targetNames[i % targetNames.length]!;
    const job = await createJob({
      name: `every-second-${i}`,
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'record' },
      routing: routings[i % routings.length],
      target: targets[target],
      misfire: i % 2 === 0 ? 'fire_once' : 'skip',
      window,
    });
    jobs.push({ job, target });
  }
  const broadcast = await createJob({
    name: 'broadcast',
    schedule: { type: 'cron', expr: '* * * * * *' },
    kind: { type: 'handler', name: 'record' },
    routing: 'broadcast',
    misfire: 'fire_once',
    window,
  });
  // One long run in flight across the hand-over: the new leader must adopt it, not lose or repeat it.
  const long = await createJob({
    name: 'long',
    schedule: { type: 'once', at: new Date(start + 1000) },
    kind: { type: 'handler', name: 'record' },
    payload: { ms: 7000 },
    deleteWhenDone: false,
  });
  // And one that finishes while no server leads: its agent hands the result to the next leader.
  const gap = await createJob({
    name: 'ends-in-gap',
    schedule: { type: 'once', at: new Date(start + 1000) },
    kind: { type: 'handler', name: 'record' },
    payload: { ms: 4500 },
    deleteWhenDone: false,
  });
  const all = [...jobs.map((j) => j.job), broadcast];

  // The old leader fires the first five slots of every job, and the long run is running.
  const lastBefore = start + 4000;
  await waitFor(
    async () => {
      for (const job of all) if (!(await runsOf(job.id)).some((r) => r.scheduledAt.getTime() === lastBefore)) return false;
      return (await runsOf(long.id))[0]?.status === 'running' && (await runsOf(gap.id))[0]?.status === 'running';
    },
    {
      timeoutMs: lastBefore - Date.now() + 20_000,
      intervalMs: 100,
      message: 'the first leader fired five slots of every job and started the long runs',
    },
  );

  const old = (await leaderId())!;
  const killedAt = Date.now();
  await servers.get(old)!.child.kill('SIGKILL');
  const next = await waitFor(
    async () => {
      const id = await leaderId();
      return id && id !== old ? id : null;
    },
    { timeoutMs: sessionTimeoutMs + 10_000, intervalMs: 20, message: 'a new leader after the SIGKILL' },
  );
  const tookOverMs = Date.now() - killedAt;
  console.log(`# failover: ${next} leads ${tookOverMs} ms after SIGKILL of ${old} (session timeout ${sessionTimeoutMs} ms)`);
  // Behaviour, not speed: the standby is elected once ZooKeeper expires the dead leader's session, not later.
  assert.ok(
    tookOverMs < sessionTimeoutMs * 3,
    `the standby took over ${tookOverMs} ms after the kill, the session timeout is ${sessionTimeoutMs} ms`,
  );

  await waitFor(
    async () => {
      if (Date.now() < end + 1000) return false;
      for (const job of [...all, long, gap]) if (!(await runsOf(job.id)).every(terminal)) return false;
      return (await runsOf(long.id))[0]?.status === 'succeeded' && (await runsOf(gap.id))[0]?.status === 'succeeded';
    },
    { timeoutMs: end - Date.now() + 30_000, intervalMs: 500, message: 'every run finished' },
  );

  const execIds = executions().map((e) => e.execId);
  assert.deepEqual(twice(), [], 'no execution ran twice');
  for (const job of [long, gap]) {
    const run = (await runsOf(job.id))[0]!;
    assert.equal(run.status, 'succeeded', `${job.name}: ${run.status} ${run.error ?? ''}`);
    assert.equal(run.attempt, 1);
    // Timers run on the monotonic clock and the times are Date.now(): a few ms of slack.
    const took = run.finishedAt && run.startedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : -1;
    assert.ok(took >= (job.payload as { ms: number }).ms - 20, `${job.name}: the agent's own times (took ${took} ms)`);
    assert.equal(execIds.filter((e) => e.startsWith(job.id)).length, 1, `${job.name} executed once`);
    assert.equal((await store.jobs.get(job.id))!.lastStatus, 'succeeded');
  }

  /** Per job: scheduled slots before and after the gap, the gap's slots, and its misfire slot. */
  const check = (name: string, misfire: Job['misfire'], runs: Run[]) => {
    const bySlot = new Map<number, Run[]>();
    for (const r of runs) bySlot.set(r.scheduledAt.getTime(), [...(bySlot.get(r.scheduledAt.getTime()) ?? []), r]);
    for (const s of bySlot.keys()) assert.ok(windowSlots.includes(s), `${name}: run at ${iso(s)} is outside the window`);
    const scheduled = [...bySlot.keys()].filter((s) => bySlot.get(s)!.every((r) => r.trigger === 'schedule')).sort((a, b) => a - b);
    const misfired = [...bySlot.keys()].filter((s) => bySlot.get(s)!.some((r) => r.trigger === 'misfire'));
    const parts = stretches(scheduled);
    // Two stretches of consecutive slots, the first leader's and the second's, from the window's first slot to its last.
    assert.equal(parts.length, 2, `${name}: scheduled slots ${parts.map(([a, b]) => `${iso(a)}..${iso(b)}`).join(', ')}`);
    const [[a0, a1], [b0, b1]] = parts as [[number, number], [number, number]];
    assert.equal(a0, start, `${name}: the first slot fired`);
    assert.ok(a1 >= lastBefore, `${name}: the first leader fired up to the kill`);
    assert.equal(b1, end, `${name}: the last slot fired`);
    const gap = windowSlots.filter((s) => s > a1 && s < b0);
    assert.ok(gap.length >= 1, `${name}: the hand-over left a gap`);
    if (misfire === 'fire_once') assert.deepEqual(misfired, [b0 - 1000], `${name}: the gap fired once, its latest slot`);
    else assert.deepEqual(misfired, [], `${name}: the gap was skipped`);
    return { slots: [...bySlot.keys()], bySlot };
  };

  for (const { job, target } of jobs) {
    const runs = await runsOf(job.id);
    const { slots: fired } = check(job.name, job.misfire, runs);
    assert.equal(fired.length, runs.length, `${job.name}: one run per slot`);
    for (const r of runs) {
      assert.equal(r.status, 'succeeded', `${r.id}: ${r.status} ${r.error ?? ''}`);
      assert.equal(r.attempt, 1);
      assert.ok(r.node && allowed[target]!(r.node), `${r.id} ran on ${r.node}, which target ${target} does not allow`);
    }
    const nodes = new Set(runs.map((r) => r.node));
    if (['consistent_hash', 'first', 'failover'].includes(job.routing)) {
      assert.equal(nodes.size, 1, `${job.name} (${job.routing} over ${target}) stays on one agent: ${[...nodes].join(', ')}`);
    }
    if (job.routing === 'round_robin' && ['any', 'blue', 'linux'].includes(target)) {
      assert.ok(nodes.size > 1, `${job.name} (round_robin over ${target}) uses more than one agent`);
    }
    const stored = (await store.jobs.get(job.id))!;
    assertCounted(job.name, stored.runCount, runs);
    assert.equal(stored.lastStatus, 'succeeded');
    assert.equal(stored.lastRunAt?.getTime(), end);
  }

  const bRuns = await runsOf(broadcast.id);
  const { bySlot } = check('broadcast', 'fire_once', bRuns);
  for (const [slot, runs] of bySlot) {
    assert.deepEqual(runs.map((r) => r.node).sort(), agentIds, `broadcast at ${iso(slot)}: once on each agent`);
    for (const r of runs) assert.equal(r.status, 'succeeded', `${r.id}: ${r.status} ${r.error ?? ''}`);
  }
  assertCounted('broadcast', (await store.jobs.get(broadcast.id))!.runCount, bRuns);
});

test('an agent SIGKILLed mid-run: its runs become lost; retried on another agent when retries allow, a failure incident when not', async () => {
  const leader = (await leaderId())!;
  // 'first' over the blue group is agent-a (the first by id): both land on the victim.
  const retried = await createJob({
    name: 'survivor',
    schedule: { type: 'once', at: new Date(Date.now() + 300) },
    kind: { type: 'handler', name: 'record' },
    routing: 'first',
    target: { type: 'group', group: 'blue' },
    payload: { firstAttemptMs: 60_000 },
    retries: { max: 1, backoffMs: 200 },
    deleteWhenDone: false,
  });
  const doomed = await createJob({
    name: 'doomed',
    schedule: { type: 'once', at: new Date(Date.now() + 300) },
    kind: { type: 'handler', name: 'record' },
    target: { type: 'node', nodeId: 'agent-a' },
    payload: { ms: 60_000 },
    deleteWhenDone: false,
  });
  const [first] = await waitFor(
    async () => {
      const r = [(await runsOf(retried.id))[0], (await runsOf(doomed.id))[0]];
      return r.every((x) => x?.status === 'running') ? r : null;
    },
    { timeoutMs: 15_000, message: 'both running' },
  );
  assert.equal(first!.node, 'agent-a');
  await agents.get('agent-a')!.kill('SIGKILL');

  const done = await waitFor(async () => (await runsOf(retried.id)).find((r) => r.status === 'succeeded'), {
    timeoutMs: 30_000,
    message: 'the retry succeeded',
  });
  assert.equal(done.attempt, 2);
  assert.equal(done.trigger, 'retry');
  assert.equal(done.node, 'agent-b');
  const attempts = executions().filter((e) => e.execId.startsWith(first!.id));
  assert.deepEqual(
    attempts.map((a) => [a.agent, a.attempt]),
    [
      ['agent-a', 1],
      ['agent-b', 2],
    ],
  );
  // The first attempt ended 'lost' before the retry: the leader says so.
  await servers
    .get(leader)!
    .child.waitForOutput(
      new RegExp(`retrying run .*"runId":"${first!.id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}".*"after":"lost"`),
      10_000,
    );

  const lost = await waitFor(async () => (await runsOf(doomed.id)).find(terminal), { timeoutMs: 30_000, message: 'the doomed run ended' });
  assert.equal(lost.status, 'lost');
  assert.match(lost.error ?? '', /agent-a/);
  const incident = await waitFor(
    async () => (await store.incidents.list({ kind: 'job_failed' })).items.find((i) => i.jobId === doomed.id),
    { message: 'a job_failed incident' },
  );
  assert.equal(incident.runId, lost.id);
  assert.equal((await store.jobs.get(doomed.id))!.lastStatus, 'lost');
});

test("garbage, truncated and oversized frames to the leader's ROUTER are logged and dropped; it keeps dispatching", async () => {
  const id = (await leaderId())!;
  const leader = servers.get(id)!;
  // Queued frames go out only while the socket is open: close it once the leader has read them.
  // sendTimeout: a send that cannot be queued fails instead of waiting; closed on every path.
  const raw = new zmq.Dealer({ routingId: 'vandal', linger: 1000, sendTimeout: 10_000 });
  try {
    raw.connect(leader.endpoint);
    await raw.send([Buffer.from('\x00\xff garbage')]);
    await raw.send([Buffer.from('1'), Buffer.from('HELLO'), Buffer.from('{"agentId":"van')]);
    await raw.send([Buffer.from('1'), Buffer.from('RESULT'), Buffer.from('{"execId":1}')]);
    await raw.send([Buffer.from('1'), Buffer.from('EXEC'), Buffer.alloc(3 * 1024 * 1024, 120)]);
    await leader.child.waitForOutput(/dropped a malformed frame/, 10_000);
  } finally {
    raw.close();
  }
  const job = await createJob({
    name: 'after-garbage',
    schedule: { type: 'once', at: new Date(Date.now() + 300) },
    kind: { type: 'handler', name: 'noop' },
    deleteWhenDone: false,
  });
  await waitFor(async () => (await runsOf(job.id))[0]?.status === 'succeeded', { timeoutMs: 15_000, message: 'still dispatching' });
  assert.equal(await leaderId(), id, 'the same process still leads');
});

test('the bin: --help lists the settings, a bad setting exits 2 naming it', async () => {
  const help = spawnProcess(process.execPath, [...tsx(serverBin), '--help'], { cwd: repo, name: 'dispatch-server --help' });
  assert.equal(await help.waitForExit(30_000), 0);
  for (const name of [
    'CLOVER_ZK',
    'CLOVER_MONGO_URL',
    'CLOVER_DISPATCH_BIND',
    'CLOVER_DISPATCH_ADVERTISE',
    'CLOVER_NODE_ID',
    'CLOVER_DATA_DIR',
  ])
    assert.match(help.output(), new RegExp(name));
  const bad = spawnProcess(process.execPath, tsx(serverBin), {
    cwd: repo,
    name: 'dispatch-server with a bad bind',
    env: { CLOVER_ZK: zkServer.connectString, CLOVER_METRICS_PORT: '0', CLOVER_DISPATCH_BIND: 'not an endpoint' },
  });
  assert.equal(await bad.waitForExit(30_000), 2);
  assert.match(bad.output(), /CLOVER_DISPATCH_BIND/);
});
