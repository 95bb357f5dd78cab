import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RouterTransport, type Exec, type Message } from '@clover/protocol';
import { cleanUp, freePort, startZooKeeper, waitFor, type CleanupStep, type ZooKeeperHandle } from '@clover/testkit';
import { cloverPaths, createZkClient, LeaderElection, type ZkClient } from '@clover/zk-kit';
import { Agent } from '../src/index.js';
import { execOf } from './exec.js';

// Issue 17, "Agents serve every server": an agent holds a DEALER to each live dispatch-server,
// found through ZooKeeper (the election's candidates), and answers each on its own channel,
// within one capacity. The servers here are what a dispatch-server is to an agent: a ROUTER
// bound on 127.0.0.1 and a candidate in the election carrying its endpoint, each in a ZooKeeper
// session of its own, on a real ZooKeeper.

const paths = cloverPaths('/servers-test');
/** Every part's close, pushed as it opens: each runs, bounded, newest first, even when before() stopped half-way. */
const opened: CleanupStep[] = [];
let zooKeeper: ZooKeeperHandle;
let agent: Agent;

type BodyOf<T extends Message['type']> = Extract<Message, { type: T }> extends { body: infer B } ? B : never;

/** One stand-in dispatch-server: its ROUTER, what reached it, its candidacy. */
class Server {
  readonly inbox: Array<[string, Message]> = [];
  private router: RouterTransport | null = null;
  private zk: ZkClient | null = null;
  private election: LeaderElection | null = null;

  /** @param shares it fires a share of the jobs (its candidate says `shares`), as partitioned servers will. */
  constructor(
    readonly id: string,
    private readonly shares = false,
  ) {}

  /** Binds its ROUTER (on a port of its own, kept across restarts) and stands in the election. */
  async start(port?: number): Promise<this> {
    this.port = port ?? this.port ?? (await freePort());
    this.router = new RouterTransport({ bind: this.endpoint, onMessage: (p, m) => this.inbox.push([p, m]) });
    await this.router.start();
    await this.stand();
    return this;
  }

  /** Stands in the election (again). */
  async stand(): Promise<void> {
    this.zk = createZkClient({ connect: zooKeeper.connectString, sessionTimeoutMs: 4000 });
    await this.zk.connect();
    const data = { endpoint: this.endpoint, batch: true, ...(this.shares ? { shares: true } : {}) };
    this.election = new LeaderElection(this.zk, { path: paths.electionDispatch, id: this.id, data });
    await this.election.start();
  }

  port: number | undefined;

  get endpoint(): string {
    return `tcp://127.0.0.1:${String(this.port)}`;
  }

  get isLeader(): boolean {
    return this.election?.isLeader === true;
  }

  send(msg: Message): Promise<boolean> {
    if (!this.router) throw new Error(`${this.id} is stopped`);
    return this.router.send('agent-m', msg);
  }

  /** The bodies of type `type` that reached this server from the agent, oldest first; `from` skips the first ones. */
  got<T extends Message['type']>(type: T, from = 0): Array<BodyOf<T>> {
    const found: Array<BodyOf<T>> = [];
    for (const [p, m] of this.inbox.slice(from)) if (p === 'agent-m' && m.type === type) found.push(m.body as BodyOf<T>);
    return found;
  }

  /** Answers (ACK or RESULT) about `execId` that reached this server. */
  answersTo(execId: string): Message[] {
    return this.inbox.filter(([, m]) => (m.type === 'ACK' || m.type === 'RESULT') && m.body.execId === execId).map(([, m]) => m);
  }

  /** Leaves the election, keeping its ROUTER: a leader cut off from ZooKeeper whose sockets still hold what it sent. */
  async resign(): Promise<void> {
    await this.election?.close();
    await this.zk?.close();
    this.election = null;
    this.zk = null;
  }

  async stop(): Promise<void> {
    await this.election?.close();
    await this.zk?.close();
    await this.router?.close();
    this.election = null;
    this.zk = null;
    this.router = null;
  }
}

const s1 = new Server('server-1');
const s2 = new Server('server-2');
const s3 = new Server('server-3');
const s4 = new Server('server-4', true);
/** Releases the `hold` executions running now, by exec id. */
const holds = new Map<string, () => void>();

before(async () => {
  zooKeeper = await startZooKeeper();
  opened.push(['ZooKeeper', () => zooKeeper.cleanup()]);
  opened.push(['server-1', () => s1.stop()]);
  await s1.start();
  opened.push(['server-2', () => s2.stop()]);
  await s2.start();
  opened.push(['server-3', () => s3.stop()]);
  opened.push(['server-4', () => s4.stop()]);
  agent = new Agent({ zk: zooKeeper.connectString, paths, id: 'agent-m', capacity: 2, drainTimeoutMs: 1000 });
  agent.register('hold', (ctx) => new Promise<void>((resolve) => holds.set(ctx.execId, resolve)));
  agent.register('quick', () => 'done');
  opened.push(['agent', () => agent.close()]);
  await agent.start();
});

after(() => cleanUp(opened.reverse()));

const hold = (over: Partial<Exec> = {}): Exec => execOf('held', { type: 'handler', name: 'hold' }, over);

test('the agent holds a channel to each live dispatch-server and says HELLO to each, saying it serves them all', async () => {
  await waitFor(() => s1.got('HELLO').some((h) => h.resultsRepeated) || undefined, {
    message: 'HELLO, the recent RESULTs, HELLO again to the leader',
  });
  await waitFor(() => s2.got('HELLO').length > 0 || undefined, { message: 'HELLO to the standby' });
  for (const s of [s1, s2])
    assert.ok(
      s.got('HELLO').every((h) => h.allServers === true && h.agentId === 'agent-m' && h.capacity === 2),
      `each HELLO to ${s.id} says the agent serves every server`,
    );
  assert.ok(!s2.got('HELLO').some((h) => h.resultsRepeated), 'a standby of the single-leader cluster adopts nothing: no repeated RESULTs');
  assert.deepEqual(agent.servers.sort(), ['server-1', 'server-2']);
  assert.ok(s1.isLeader && !s2.isLeader, 'the first candidate leads');
});

test('a dispatch-server that starts is connected and greeted; one that stops is dropped; one that comes back is greeted again', async () => {
  await s3.start();
  await waitFor(() => s3.got('HELLO').length > 0 || undefined, { message: 'HELLO to the server that started' });
  assert.deepEqual(agent.servers.sort(), ['server-1', 'server-2', 'server-3']);
  await s3.stop();
  await waitFor(() => !agent.servers.includes('server-3') || undefined, { message: 'the stopped server dropped' });
  assert.deepEqual(agent.servers.sort(), ['server-1', 'server-2']);
  const before = s3.inbox.length;
  await s3.start();
  await waitFor(() => s3.got('HELLO', before).length > 0 || undefined, { message: 'HELLO to the server back' });
  await s3.stop();
  await waitFor(() => !agent.servers.includes('server-3') || undefined, { message: 'server-3 dropped again' });
});

test('two servers sending at once share the agent’s one capacity, and each is answered on its own channel', async () => {
  const from1 = [hold(), hold()];
  const from2 = [hold(), hold()];
  await Promise.all([...from1.map((e) => s1.send({ type: 'EXEC', body: e })), ...from2.map((e) => s2.send({ type: 'EXEC', body: e }))]);
  const all = [...from1.map((e) => [s1, e] as const), ...from2.map((e) => [s2, e] as const)];
  await waitFor(() => all.every(([s, e]) => s.answersTo(e.execId).length > 0) || undefined, { message: 'an answer to each of 4 EXECs' });
  const accepted = all.filter(([s, e]) => s.got('ACK').some((a) => a.execId === e.execId && a.accepted));
  const full = all.filter(([s, e]) => s.got('ACK').some((a) => a.execId === e.execId && a.reason === 'at_capacity'));
  assert.equal(accepted.length, 2, 'as many run as the capacity, whichever server sent them');
  assert.equal(full.length, 2, 'the rest are refused at_capacity');
  assert.equal(agent.running, 2);
  for (const [s, e] of all) {
    const other = s === s1 ? s2 : s1;
    assert.equal(other.answersTo(e.execId).length, 0, `no answer about ${e.execId} on the other server’s channel`);
  }
  // Each server hears how much of the agent the other one holds, in the next HELLO (here at once:
  // a handler registered is said to every server).
  const hellosBefore = [s1.inbox.length, s2.inbox.length];
  agent.register('later', () => undefined);
  for (const [i, s] of [s1, s2].entries()) {
    const mine = accepted.filter(([by]) => by === s).length;
    const hello = await waitFor(() => s.got('HELLO', hellosBefore[i]).at(-1), { message: `a HELLO to ${s.id}` });
    assert.equal(hello.runningForOthers ?? 0, 2 - mine, `${s.id} is told what runs for the other server`);
    assert.equal(hello.running.length, 2, 'HELLO lists every execution running here, whoever sent it');
  }
  for (const [, e] of accepted) holds.get(e.execId)?.();
  for (const [s, e] of accepted) {
    const other = s === s1 ? s2 : s1;
    const result = await waitFor(() => s.got('RESULT').find((r) => r.execId === e.execId), { message: `RESULT of ${e.execId}` });
    assert.equal(result.status, 'succeeded');
    assert.equal(other.answersTo(e.execId).length, 0, 'the RESULT goes back on the channel its EXEC came in on');
  }
  await waitFor(() => agent.running === 0 || undefined, { message: 'nothing running' });
});

test('an EXEC that another server sends again is a duplicate there, and its RESULT goes to the server that sent it last', async () => {
  const e = hold();
  await s1.send({ type: 'EXEC', body: e });
  await waitFor(() => s1.got('ACK').find((a) => a.execId === e.execId && a.accepted), { message: 'accepted from server-1' });
  await s2.send({ type: 'EXEC', body: e });
  const dup = await waitFor(() => s2.got('ACK').find((a) => a.execId === e.execId), { message: 'answer to server-2' });
  assert.equal(dup.reason, 'duplicate');
  assert.equal(agent.running, 1, 'it runs once');
  holds.get(e.execId)?.();
  await waitFor(() => s2.got('RESULT').find((r) => r.execId === e.execId), { message: 'RESULT to server-2' });
  assert.equal(s1.got('RESULT').filter((r) => r.execId === e.execId).length, 0, 'not to server-1');
});

test('a server that fires a share of the jobs hears the recent RESULTs when it joins and when another server leaves', async () => {
  const e = execOf('quick', { type: 'handler', name: 'quick' });
  await s1.send({ type: 'EXEC', body: e });
  await waitFor(() => s1.got('RESULT').find((r) => r.execId === e.execId), { message: 'RESULT to server-1' });
  await s4.start();
  const repeated = (from: number) =>
    waitFor(
      () => {
        const hellos = s4.got('HELLO', from);
        return hellos.some((h) => h.resultsRepeated) ? s4.inbox.slice(from) : undefined;
      },
      { message: 'the recent RESULTs, then HELLO resultsRepeated, to server-4' },
    );
  const atJoin = await repeated(0);
  const resultAt = atJoin.findIndex(([, m]) => m.type === 'RESULT' && m.body.execId === e.execId);
  const sayingAllIn = atJoin.findIndex(([, m]) => m.type === 'HELLO' && m.body.resultsRepeated === true);
  assert.ok(resultAt > 0 && sayingAllIn > resultAt, 'a HELLO, the RESULT the server never heard, then HELLO saying they are all in');
  const before = s4.inbox.length;
  await s3.start();
  await waitFor(() => agent.servers.includes('server-3') || undefined, { message: 'server-3 joined' });
  await s3.stop();
  const atLeave = await repeated(before);
  assert.ok(
    atLeave.some(([, m]) => m.type === 'RESULT' && m.body.execId === e.execId),
    'when a server leaves, its runs may move to this one: the RESULTs again',
  );
  await s4.stop();
  await waitFor(() => !agent.servers.includes('server-4') || undefined, { message: 'server-4 dropped' });
});

test('a server the election names leader hears the recent RESULTs again, then HELLO saying they are all in, and the RESULTs of what the last leader sent', async () => {
  const e = execOf('quick', { type: 'handler', name: 'quick' });
  await s1.send({ type: 'EXEC', body: e });
  await waitFor(() => s1.got('RESULT').find((r) => r.execId === e.execId), { message: 'RESULT to server-1' });
  const running = hold();
  await s1.send({ type: 'EXEC', body: running });
  await waitFor(() => s1.got('ACK').find((a) => a.execId === running.execId && a.accepted), { message: 'accepted from server-1' });
  const before = s2.inbox.length;
  await s1.stop();
  await waitFor(() => s2.got('HELLO', before).some((h) => h.resultsRepeated) || undefined, {
    message: 'the repeated RESULTs, then HELLO, to the new leader',
  });
  assert.ok(s2.isLeader);
  assert.ok(
    s2.got('RESULT', before).some((r) => r.execId === e.execId && r.status === 'succeeded'),
    'the new leader hears how the run the old one sent ended',
  );
  assert.deepEqual(agent.servers, ['server-2']);
  // Sent by the leader of a single-leader cluster: it answers to whoever leads now, which adopted it.
  const mark = s2.inbox.length;
  agent.register('again', () => undefined);
  const hello = await waitFor(() => s2.got('HELLO', mark).at(-1), { message: 'a HELLO to the new leader' });
  assert.equal(hello.runningForOthers, undefined, 'what the last leader sent counts as the new leader’s');
  holds.get(running.execId)?.();
  const result = await waitFor(() => s2.got('RESULT').find((r) => r.execId === running.execId), {
    message: 'its RESULT to the new leader',
  });
  assert.equal(result.status, 'succeeded');
});

// Issue 16's partition run: a leader cut off fired an EXEC that TCP held through the cut and
// delivered over the channel the agent keeps to every server, after the next leader had fired
// the forbid job's next slots: the job ran beside itself.
test('a server of the single-leader cluster that led and another leads since: its EXEC is refused as not_leader, never run', async () => {
  // A standby of its own, so there is one whatever the tests before left running.
  const s5 = new Server('server-5');
  opened.push(['server-5', () => s5.stop()]);
  await s5.start();
  const servers = [s1, s2, s3, s4, s5];
  const old = await waitFor(() => servers.find((s) => s.isLeader && s !== s4), { message: 'a leader' });
  await old.resign();
  const next = await waitFor(() => servers.find((s) => s !== old && s.isLeader), { message: 'another leader' });
  // Back in the election (a standby now), as the cut-off leader was once its link came back; the
  // agent hears of both through ZooKeeper (a watch, then a read): given a moment.
  await old.stand();
  await new Promise((r) => setTimeout(r, 1500));
  const e = execOf('late', { type: 'handler', name: 'quick' });
  await old.send({ type: 'EXEC', body: e });
  const ack = await waitFor(() => old.got('ACK').find((a) => a.execId === e.execId), { message: 'an answer to the deposed leader' });
  assert.deepEqual([ack.accepted, ack.reason], [false, 'not_leader']);
  assert.equal(old.got('RESULT').filter((r) => r.execId === e.execId).length, 0, 'not run');
  const mine = execOf('now', { type: 'handler', name: 'quick' });
  await next.send({ type: 'EXEC', body: mine });
  const result = await waitFor(() => next.got('RESULT').find((r) => r.execId === mine.execId), { message: 'the leader’s EXEC runs' });
  assert.equal(result.status, 'succeeded');
});
