import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DealerTransport, RouterTransport, type Message } from '@clover/protocol';
import { Agent, registerDemoHandlers } from '@clover/scheduler-client';
import type { Store } from '@clover/store';
import { recordingLogger, type RecordingLogger } from '@clover/telemetry';
import { cleanUp, freePort, waitFor, type CleanupStep, type ZooKeeperHandle } from '@clover/testkit';
import { jobInputSchema } from '@clover/model';
import { cloverPaths, createZkClient, LeaderElection, publishJobChange, type ZkClient } from '@clover/zk-kit';
import { DispatchServer, Router } from '../src/index.js';
import { AgentDirectory } from '../src/agents.js';
import { singleLeaderRefusal } from '../src/admission.js';
import { helloOf, testJob } from './jobs.js';
import { realZooKeeperBed, sayHello } from './harness.js';

// Issue 17, "Agents serve every server": what a dispatch-server accepts of an agent that holds a
// channel to every server (docs/protocol.md, Several servers), and what it does with one of the
// single-leader protocol. Real ZooKeeper, real ZeroMQ on 127.0.0.1, the embedded store.

test('a free slot and least_busy count what runs on the agent for other servers', () => {
  const agents = new AgentDirectory(() => undefined);
  agents.hello(helloOf('busy-elsewhere', { capacity: 4, runningForOthers: 3 }), 0);
  agents.hello(helloOf('busy-here', { capacity: 4 }), 0);
  agents.reserve('run-1', 'busy-here');
  agents.reserve('run-2', 'busy-here');
  assert.deepEqual(
    new Router().order(testJob({ routing: 'least_busy' }), agents.usable()).map((a) => a.id),
    ['busy-here', 'busy-elsewhere'],
    '2 of 4 taken here is less busy than 3 of 4 taken by the others',
  );
  agents.reserve('run-3', 'busy-elsewhere');
  assert.equal(agents.hasRoom('busy-elsewhere'), false, '1 here + 3 for the others fill its 4 slots');
  assert.equal(agents.hasRoom('busy-here'), true);
  // Refused at capacity, then slots freed for the others: a PONG (or ACK, RESULT, HELLO) says so.
  agents.markFull('busy-elsewhere');
  const pong = (n?: number): Message => ({
    type: 'PONG',
    body: { nonce: 'n', sentAt: 0, ...(n === undefined ? {} : { runningForOthers: n }) },
  });
  assert.equal(agents.reportedLoad('busy-elsewhere', pong(3)), false, 'the same load: nothing changes');
  assert.equal(agents.hasRoom('busy-elsewhere'), false);
  assert.equal(agents.reportedLoad('busy-elsewhere', pong()), true, 'absent is 0: the other servers’ slots are free');
  assert.equal(agents.hasRoom('busy-elsewhere'), true, 'offered runs again, though it refused one before');
  assert.equal(agents.reportedLoad('busy-elsewhere', { type: 'BYE', body: { reason: 'x' } }), false, 'a BYE says nothing of it');
});

const paths = cloverPaths('/several');
const opened: CleanupStep[] = [];
let zooKeeper: ZooKeeperHandle;
let store: Store;
let admin: ZkClient;
const logs = new Map<string, RecordingLogger>();
const servers = new Map<string, DispatchServer>();

async function startServer(id: string, over: { paths?: typeof paths; refuseSingleLeaderAgents?: boolean } = {}): Promise<DispatchServer> {
  const zk = createZkClient({ connect: zooKeeper.connectString, sessionTimeoutMs: 4000 });
  opened.push([`${id} session`, () => zk.close()]);
  const logger = recordingLogger();
  const server = new DispatchServer({
    zk,
    paths: over.paths ?? paths,
    store,
    id,
    bind: `tcp://127.0.0.1:${await freePort()}`,
    logger,
    refuseSingleLeaderAgents: over.refuseSingleLeaderAgents,
    drainTimeoutMs: 2000,
  });
  opened.push([id, () => server.close()]);
  await server.start();
  logs.set(id, logger);
  servers.set(id, server);
  return server;
}

before(async () => {
  ({ zooKeeper, store, admin } = await realZooKeeperBed('clover-several-', opened));
});

after(() => cleanUp(opened.reverse()));

/** A bare DEALER, as an agent in another language is, connected to `endpoint`; what reaches it goes to `inbox`. */
function bareAgent(id: string, endpoint: string, inbox: Message[]): DealerTransport {
  const t = new DealerTransport({ id, onMessage: (m) => inbox.push(m) });
  opened.push([`bare agent ${id}`, () => t.close()]);
  t.connect(endpoint);
  return t;
}

test('a standby serves an agent of every server as the leader does: when the leader stops it dispatches at once', async () => {
  const a = await startServer('server-a');
  await waitFor(() => a.isLeader || undefined, { message: 'server-a leads' });
  const b = await startServer('server-b');
  const agent = registerDemoHandlers(new Agent({ zk: zooKeeper.connectString, paths, id: 'agent-x', capacity: 4, drainTimeoutMs: 1000 }));
  opened.push(['agent-x', () => agent.close()]);
  await agent.start();
  await waitFor(() => agent.servers.length === 2 || undefined, { message: 'a channel to each server' });
  // The standby PINGs the agents whose HELLO it took.
  await waitFor(() => (agent.heardFrom('server-a') && agent.heardFrom('server-b')) || undefined, {
    message: 'both servers serve the agent',
  });
  const job = await store.jobs.create(
    jobInputSchema.parse({
      name: 'every second',
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'noop' },
    }),
  );
  await publishJobChange(admin, paths, { jobId: job.id, op: 'upsert' });
  const succeeded = async () => (await store.runs.list({ jobId: job.id, limit: 1000 })).items.filter((r) => r.status === 'succeeded');
  await waitFor(async () => ((await succeeded()).length >= 2 ? true : undefined), { message: 'runs from the leader' });
  const before = (await succeeded()).length;
  await a.close();
  await waitFor(() => b.isLeader || undefined, { message: 'server-b leads' });
  const dispatching = await waitFor(() => logs.get('server-b')!.records.find((r) => r.message === 'dispatching'), {
    message: 'server-b dispatching',
  });
  assert.equal(dispatching.fields.why, 'every live agent said HELLO', 'the agent had said HELLO to the standby already');
  await waitFor(async () => ((await succeeded()).length >= before + 2 ? true : undefined), { message: 'runs from the new leader' });
  const runs = (await store.runs.list({ jobId: job.id, limit: 1000 })).items;
  assert.deepEqual(
    runs
      .filter((r) => !['succeeded', 'scheduled', 'dispatched', 'running'].includes(r.status))
      .map((r) => `${r.id}: ${r.status} ${String(r.error)}`),
    [],
    'no run failed, was lost or skipped across the change',
  );
  await store.jobs.delete(job.id);
  await publishJobChange(admin, paths, { jobId: job.id, op: 'delete' });
  await agent.close();
});

test('an agent of the single-leader protocol is served as always, or, where a server refuses such agents, told why in a BYE', async () => {
  const b = servers.get('server-b')!;
  // Served: its HELLO (no allServers) is taken, so the server PINGs it as it PINGs every agent it knows.
  const servedInbox: Message[] = [];
  const served = bareAgent('old-served', b.endpoint, servedInbox);
  await sayHello(served, 'old-served', 'h');
  await waitFor(() => servedInbox.some((m) => m.type === 'PING') || undefined, { message: 'a PING to the old agent' });
  assert.ok(!servedInbox.some((m) => m.type === 'BYE'));

  const refusing = await startServer('server-r', { paths: cloverPaths('/refusing'), refuseSingleLeaderAgents: true });
  const oldInbox: Message[] = [];
  const old = bareAgent('old-agent', refusing.endpoint, oldInbox);
  await sayHello(old, 'old-agent', 'h');
  const bye = await waitFor(() => oldInbox.find((m) => m.type === 'BYE'), { message: 'a BYE to the old agent' });
  assert.deepEqual(bye.body, { reason: singleLeaderRefusal });
  assert.ok(
    logs
      .get('server-r')!
      .records.some((r) => r.level === 'warn' && r.message.includes('single-leader protocol') && r.fields.agent === 'old-agent'),
    'the server says whom it refused, and why',
  );
  // An agent that says it serves every server is served there.
  const newInbox: Message[] = [];
  const current = bareAgent('new-agent', refusing.endpoint, newInbox);
  await current.send({ type: 'HELLO', body: helloOf('new-agent', { allServers: true }) });
  await waitFor(() => newInbox.some((m) => m.type === 'PING') || undefined, { message: 'a PING to the agent of every server' });
  assert.ok(!newInbox.some((m) => m.type === 'BYE'));
  assert.ok(!oldInbox.some((m) => m.type === 'PING'), 'the refused agent is not among the agents the server knows');
});

test('least_busy on a real leader counts the slots another server’s work holds on an agent', async () => {
  // The leader here, and beside it a second server that sends work of its own to agent-1 (a
  // ROUTER and an election candidate, as partitioned servers will both send): agent-1 then has
  // 1 slot of 4 free and agent-2 all 4. By its own runs alone the leader sees both idle and
  // picks agent-1 (ties go by id); told what runs for the other server, it picks agent-2.
  const root = cloverPaths('/least-busy');
  const leader = await startServer('lb-leader', { paths: root });
  await waitFor(() => leader.isLeader || undefined, { message: 'lb-leader leads' });
  const otherInbox: Message[] = [];
  const other = new RouterTransport({ bind: `tcp://127.0.0.1:${await freePort()}`, onMessage: (_p, m) => otherInbox.push(m) });
  opened.push(['the other server', () => other.close()]);
  await other.start();
  const otherZk = createZkClient({ connect: zooKeeper.connectString });
  opened.push(['the other server’s session', () => otherZk.close()]);
  await otherZk.connect();
  const candidacy = new LeaderElection(otherZk, { path: root.electionDispatch, id: 'lb-other', data: { endpoint: other.endpoint } });
  opened.push(['the other server’s candidacy', () => candidacy.close()]);
  await candidacy.start();
  const agents: Agent[] = [];
  for (const id of ['agent-1', 'agent-2']) {
    const a = registerDemoHandlers(new Agent({ zk: zooKeeper.connectString, paths: root, id, capacity: 4, drainTimeoutMs: 500 }));
    opened.push([id, () => a.close()]);
    await a.start();
    agents.push(a);
  }
  await waitFor(() => agents.every((a) => a.servers.length === 2) || undefined, { message: 'each agent has a channel to both servers' });
  const sleeps = [1, 2, 3].map((i) => ({
    execId: `other-job@${i}`,
    jobId: 'other-job',
    jobName: 'other',
    attempt: 1,
    kind: { type: 'handler' as const, name: 'sleep' },
    payload: { ms: 60_000 },
    timeoutMs: 60_000,
    deadline: Date.now() + 60_000,
    scheduledAt: Date.now(),
  }));
  for (const body of sleeps) await other.send('agent-1', { type: 'EXEC', body });
  await waitFor(() => otherInbox.filter((m) => m.type === 'ACK' && m.body.accepted).length === 3 || undefined, {
    message: 'agent-1 runs the other server’s 3 executions',
  });
  // Every server hears it at once (a handler registered is said in a HELLO to each), and in each PONG.
  agents[0]!.register('now-busy', () => undefined);
  const slot = Math.ceil((Date.now() + 2000) / 1000) * 1000;
  const job = await store.jobs.create(
    jobInputSchema.parse({
      name: 'least busy',
      schedule: { type: 'once', at: new Date(slot) },
      kind: { type: 'handler', name: 'noop' },
      routing: 'least_busy',
      deleteWhenDone: false,
    }),
  );
  await publishJobChange(admin, root, { jobId: job.id, op: 'upsert' });
  const run = await waitFor(async () => (await store.runs.list({ jobId: job.id })).items.find((r) => r.status === 'succeeded'), {
    message: 'the run succeeded',
  });
  assert.equal(run.node, 'agent-2', 'agent-1, 3 of 4 slots held by the other server’s work, is the busier');
});
