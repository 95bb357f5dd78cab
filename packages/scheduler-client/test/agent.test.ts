import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { cleanUp, freePort, waitFor, within, type CleanupStep } from '@clover/testkit';
import { RouterTransport, type Exec, type Message } from '@clover/protocol';
import { LeaderElection, cloverPaths, createZkClient, type ZkClient } from '@clover/zk-kit';
import { Agent, registerDemoHandlers } from '../src/index.js';
import { execOf } from './exec.js';

const paths = cloverPaths('/agent-test');
let zk: ZkClient;
let leaderZk: ZkClient;
let router: RouterTransport;
let election: LeaderElection;
const inbox: Array<[string, Message]> = [];
let agent: Agent;
let endpoint: string;
const opened: CleanupStep[] = [];

async function serverAt(port: number, into: Array<[string, Message]>) {
  const r = new RouterTransport({ bind: `tcp://127.0.0.1:${port}`, onMessage: (p, m) => into.push([p, m]) });
  await r.start();
  return r;
}

before(async () => {
  zk = createZkClient({ connect: 'memory:agent-test' });
  leaderZk = createZkClient({ connect: 'memory:agent-test' });
  opened.push(['zk', () => zk.close()], ['leader zk', () => leaderZk.close()]);
  await zk.connect();
  await leaderZk.connect();
  const port = await freePort();
  endpoint = `tcp://127.0.0.1:${port}`;
  router = await serverAt(port, inbox);
  opened.push(['router', () => router.close()]);
  election = new LeaderElection(leaderZk, { path: paths.electionDispatch, id: 'server-1', data: { endpoint } });
  opened.push(['election', () => election.close()]);
  await election.start();
  agent = registerDemoHandlers(
    new Agent({
      zk,
      paths,
      id: 'agent-a',
      shell: true,
      http: true,
      httpEgress: { allowPrivate: true },
      capacity: 2,
      groups: ['g'],
      drainTimeoutMs: 2000,
    }),
  );
  opened.push(['agent', () => agent.close()]);
  agent.register('slow', async (ctx) => {
    await new Promise((r) => setTimeout(r, 300));
    return ctx.attempt;
  });
  // Never looks at its signal and never ends by itself.
  agent.register('deaf', () => new Promise<void>((resolve) => deafOnes.push(resolve)));
  await agent.start();
  await waitFor(() => inbox.some(([p, m]) => p === 'agent-a' && m.type === 'HELLO'), { message: 'HELLO' });
});

// Every part's close, pushed as before() opens it: each runs, bounded, newest first, even when
// before() stopped half-way or one close fails.
after(() => cleanUp(opened.reverse()));

const deafOnes: Array<() => void> = [];
const exec = (kind: Exec['kind'], over: Partial<Exec> = {}): Exec => execOf('job', kind, over);

const find = <T extends Message['type']>(type: T, execId: string) =>
  inbox
    .filter(([, m]) => m.type === type && (m.body as { execId?: string }).execId === execId)
    .map(([, m]) => m as Extract<Message, { type: T }>);

async function runToResult(e: Exec) {
  await router.send('agent-a', { type: 'EXEC', body: e });
  const [result] = await waitFor(
    () => {
      const r = find('RESULT', e.execId);
      return r.length ? r : undefined;
    },
    { message: `RESULT of ${e.execId}` },
  );
  return result!.body;
}

test('HELLO says who the agent is; the heartbeat znode is there', async () => {
  const hello = inbox.find(([, m]) => m.type === 'HELLO')![1] as Extract<Message, { type: 'HELLO' }>;
  assert.deepEqual(hello.body.groups, ['g']);
  assert.ok(hello.body.handlers.includes('echo'));
  assert.equal(hello.body.capacity, 2);
  const node = await zk.get<{ handlers: string[] }>(paths.node('clients', 'agent-a'));
  assert.ok(node?.data.handlers.includes('slow'));
});

test('a handler runs: a quick one is answered by its RESULT alone, a longer one by an ACK with its start, then its RESULT', async () => {
  const e = exec({ type: 'handler', name: 'echo' }, { payload: { hi: 'there' } });
  const r = await runToResult(e);
  assert.equal(r.status, 'succeeded');
  assert.equal(r.outputTail, '{"hi":"there"}');
  assert.equal(find('ACK', e.execId).length, 0, 'over before its ACK went out: the RESULT stands for it');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(find('RESULT', e.execId).length, 1, 'one RESULT');
  const before = Date.now();
  const slow = exec({ type: 'handler', name: 'slow' });
  await router.send('agent-a', { type: 'EXEC', body: slow });
  const [ack] = await waitFor(
    () => {
      const a = find('ACK', slow.execId);
      return a.length ? a : undefined;
    },
    { message: 'ACK of the slow one' },
  );
  assert.equal(ack!.body.accepted, true);
  assert.ok(ack!.body.startedAt! >= before && ack!.body.startedAt! <= Date.now(), 'the ACK says when it started');
  assert.equal(find('RESULT', slow.execId).length, 0, 'the ACK came before the end');
  const done = await waitFor(() => find('RESULT', slow.execId)[0]?.body, { message: 'RESULT of the slow one' });
  assert.equal(done.startedAt, ack!.body.startedAt);
  assert.equal(find('START', slow.execId).length + find('START', e.execId).length, 0, 'no START: the ACK carries it');
  const failed = await runToResult(exec({ type: 'handler', name: 'fail' }, { payload: { message: 'nope' } }));
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error, 'nope');
});

test('a shell command: exit code and output tail', async () => {
  const ok = await runToResult(exec({ type: 'shell', command: 'sh', args: ['-c', 'echo out; echo err >&2'], env: {} }));
  assert.equal(ok.status, 'succeeded');
  assert.match(ok.outputTail, /out/);
  assert.match(ok.outputTail, /err/);
  const bad = await runToResult(exec({ type: 'shell', command: 'sh', args: ['-c', 'exit 3'], env: {} }));
  assert.deepEqual([bad.status, bad.exitCode], ['failed', 3]);
  const long = await runToResult(
    exec({ type: 'shell', command: 'sh', args: ['-c', 'head -c 100000 /dev/zero | tr "\\0" x; echo END'], env: {} }),
  );
  assert.ok(long.outputTail.endsWith('END\n') && Buffer.byteLength(long.outputTail) <= 8192);
});

test('a deadline kills the whole process group and says timed_out', async () => {
  const marker = `clover-sleep-${process.pid}-${Date.now()}`;
  const r = await runToResult(
    exec(
      { type: 'shell', command: 'sh', args: ['-c', `exec -a ${marker} sleep 30 & sleep 30`], env: {} },
      { timeoutMs: 500, deadline: Date.now() + 500 },
    ),
  );
  assert.equal(r.status, 'timed_out');
  const { execSync } = await import('node:child_process');
  await waitFor(() => !execSync('ps -eo args').toString().includes(marker), { message: 'no process left behind' });
});

test('CANCEL stops a running execution', async () => {
  const e = exec({ type: 'handler', name: 'sleep' }, { payload: { ms: 20_000 } });
  await router.send('agent-a', { type: 'EXEC', body: e });
  await waitFor(() => find('ACK', e.execId)[0]?.body.startedAt !== undefined, { message: 'started' });
  await router.send('agent-a', { type: 'CANCEL', body: { execId: e.execId, reason: 'replaced' } });
  const [r] = await waitFor(
    () => {
      const x = find('RESULT', e.execId);
      return x.length ? x : undefined;
    },
    { message: 'cancelled result' },
  );
  assert.equal(r!.body.status, 'cancelled');
});

test('CANCEL and the deadline end a handler that never reads its signal', async () => {
  try {
    const e = exec({ type: 'handler', name: 'deaf' });
    await router.send('agent-a', { type: 'EXEC', body: e });
    await waitFor(() => find('ACK', e.execId)[0]?.body.startedAt !== undefined, { message: 'started' });
    await router.send('agent-a', { type: 'CANCEL', body: { execId: e.execId, reason: 'requested' } });
    const cancelled = await waitFor(() => find('RESULT', e.execId)[0]?.body, { message: 'cancelled result' });
    assert.deepEqual([cancelled.status, cancelled.error], ['cancelled', 'cancelled (requested)']);
    const late = await runToResult(exec({ type: 'handler', name: 'deaf' }, { timeoutMs: 300, deadline: Date.now() + 300 }));
    assert.deepEqual([late.status, late.error], ['timed_out', 'deadline of 300 ms exceeded']);
  } finally {
    for (const resolve of deafOnes.splice(0)) resolve();
  }
});

test('an http call: status decides the outcome', async () => {
  const server = http.createServer((req, res) => {
    res.statusCode = req.url === '/fail' ? 503 : 200;
    res.end(`you asked ${req.method} ${req.url}`);
  });
  // once() rejects on 'error' (a listen that fails) instead of waiting for 'listening' for ever.
  server.listen(0, '127.0.0.1');
  await within(once(server, 'listening'), 10_000, 'the test HTTP server to listen');
  const port = (server.address() as { port: number }).port;
  try {
    const ok = await runToResult(exec({ type: 'http', method: 'POST', url: `http://127.0.0.1:${port}/ok`, headers: {} }));
    assert.equal(ok.status, 'succeeded');
    assert.match(ok.outputTail, /you asked POST \/ok/);
    const bad = await runToResult(exec({ type: 'http', method: 'GET', url: `http://127.0.0.1:${port}/fail`, headers: {} }));
    assert.deepEqual([bad.status, bad.exitCode], ['failed', 503]);
  } finally {
    // close() waits for keep-alive connections (the agent's fetch keeps one): end them too.
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await within(closed, 10_000, 'the test HTTP server to close');
  }
});

test('a duplicate EXEC is acknowledged as such and runs once; its result is repeated', async () => {
  let runs = 0;
  agent.register('count', () => ++runs);
  const e = exec({ type: 'handler', name: 'count' });
  await runToResult(e);
  await router.send('agent-a', { type: 'EXEC', body: e });
  await waitFor(() => find('ACK', e.execId).some((a) => a.body.reason === 'duplicate'), { message: 'duplicate ACK' });
  await waitFor(() => find('RESULT', e.execId).length === 2, { message: 'result repeated' });
  assert.equal(runs, 1);
});

// Issue 16's 10-minute chaos run: an agent SIGKILLed and restarted keeps its routing id, and an
// EXEC a new leader meant for its earlier life (which had run it) reached the new one: 37
// executions started twice.
test('an EXEC for an earlier life of the agent is refused as other_life and not run; one for this life runs', async () => {
  let runs = 0;
  agent.register('count', () => ++runs);
  const hello = inbox.find(([p, m]) => p === 'agent-a' && m.type === 'HELLO')![1] as Extract<Message, { type: 'HELLO' }>;
  const life = hello.body.startedAt!;
  assert.ok(life > 0, 'HELLO says when this life began');
  const earlier = exec({ type: 'handler', name: 'count' }, { agentStartedAt: life - 60_000 });
  await router.send('agent-a', { type: 'EXEC', body: earlier });
  const [ack] = await waitFor(() => (find('ACK', earlier.execId).length ? find('ACK', earlier.execId) : undefined), { message: 'ACK' });
  assert.deepEqual([ack!.body.accepted, ack!.body.reason], [false, 'other_life']);
  const mine = exec({ type: 'handler', name: 'count' }, { agentStartedAt: life });
  assert.equal((await runToResult(mine)).status, 'succeeded');
  assert.equal(runs, 1, 'only the EXEC for this life ran');
  assert.deepEqual(find('RESULT', earlier.execId), []);
});

// Issue 16's partition runs: an EXEC held in a TCP connection through a partition arrived when
// the link came back, after its leader had recorded the run lost and retried it elsewhere.
test('an EXEC that arrives after its deadline is not started: its RESULT says timed_out at once', async () => {
  let runs = 0;
  agent.register('count', () => ++runs);
  // The deadline is on the leader's clock, which the agent learns from its PINGs.
  const nonce = `clock-${Date.now()}`;
  await router.send('agent-a', { type: 'PING', body: { nonce, sentAt: Date.now() } });
  await waitFor(() => inbox.some(([, m]) => m.type === 'PONG' && m.body.nonce === nonce), { message: 'PONG' });
  const e = exec({ type: 'handler', name: 'count' }, { deadline: Date.now() - 5000 });
  const result = await runToResult(e);
  assert.equal(result.status, 'timed_out');
  assert.match(result.error ?? '', /after its deadline; not started/);
  assert.equal(runs, 0);
  assert.deepEqual(find('ACK', e.execId), [], 'no ACK: it never started');
});

test('answers go in the order their EXEC or PING arrived, whatever kind each is', async () => {
  const first = exec({ type: 'handler', name: 'slow' });
  const quick = exec({ type: 'handler', name: 'noop' });
  const missing = exec({ type: 'handler', name: 'no-such-handler' });
  const last = exec({ type: 'handler', name: 'slow' });
  const nonce = `order-${Date.now()}`;
  const from = inbox.length;
  await router.send('agent-a', { type: 'EXEC', body: first });
  await router.send('agent-a', { type: 'PING', body: { nonce, sentAt: Date.now() } });
  await router.send('agent-a', { type: 'EXEC', body: quick });
  await router.send('agent-a', { type: 'EXEC', body: missing });
  await router.send('agent-a', { type: 'EXEC', body: last });
  const answers = () =>
    inbox
      .slice(from)
      .map(([, m]) => m)
      .filter((m) => m.type !== 'HELLO' && !(m.type === 'RESULT' && [first.execId, last.execId].includes(m.body.execId)));
  await waitFor(() => answers().length >= 5, { message: 'five answers' });
  assert.deepEqual(
    answers().map((m) => `${m.type} ${'execId' in m.body ? m.body.execId : (m.body as { nonce: string }).nonce}`),
    [`ACK ${first.execId}`, `PONG ${nonce}`, `RESULT ${quick.execId}`, `ACK ${missing.execId}`, `ACK ${last.execId}`],
  );
  await waitFor(() => find('RESULT', last.execId).length && find('RESULT', first.execId).length, { message: 'both slow ones finish' });
});

test('capacity: the third concurrent execution is refused', async () => {
  const es = [1, 2, 3].map(() => exec({ type: 'handler', name: 'sleep' }, { payload: { ms: 500 } }));
  for (const e of es) await router.send('agent-a', { type: 'EXEC', body: e });
  await waitFor(() => es.every((e) => find('ACK', e.execId).length > 0), { message: 'three ACKs' });
  assert.deepEqual(
    es.map((e) => find('ACK', e.execId)[0]!.body.accepted),
    [true, true, false],
  );
  assert.equal(find('ACK', es[2]!.execId)[0]!.body.reason, 'at_capacity');
  const missing = exec({ type: 'handler', name: 'no-such-handler' });
  await router.send('agent-a', { type: 'EXEC', body: missing });
  await waitFor(() => find('ACK', missing.execId)[0]?.body.reason === 'no_handler', { message: 'no_handler' });
  await waitFor(() => es.slice(0, 2).every((e) => find('RESULT', e.execId).length > 0), { message: 'the two finish' });
});

test('a new leader: the agent follows it to its endpoint and says HELLO there', async () => {
  const port = await freePort();
  const inbox2: Array<[string, Message]> = [];
  const router2 = await serverAt(port, inbox2);
  const zk2 = createZkClient({ connect: 'memory:agent-test' });
  await zk2.connect();
  // This leader reads messages of several bodies, and says so in its election znode.
  const e2 = new LeaderElection(zk2, {
    path: paths.electionDispatch,
    id: 'server-2',
    data: { endpoint: `tcp://127.0.0.1:${port}`, batch: true },
  });
  await e2.start();
  try {
    // What the agent finished under the first leader: the new one hears each again.
    const first = exec({ type: 'handler', name: 'noop' });
    await router.send('agent-a', { type: 'EXEC', body: first });
    await waitFor(() => find('RESULT', first.execId).length > 0, { message: 'a result under the first leader' });
    const finishedBefore = inbox.flatMap(([, m]) => (m.type === 'RESULT' ? [m.body.execId] : []));
    await election.close();
    await waitFor(() => e2.isLeader, { message: 'server-2 leads' });
    await waitFor(() => inbox2.some(([p, m]) => p === 'agent-a' && m.type === 'HELLO'), { message: 'HELLO at the new leader' });
    // HELLO, the repeated RESULTs, then a HELLO that says they have all been sent.
    await waitFor(() => inbox2.some(([, m]) => m.type === 'HELLO' && m.body.resultsRepeated === true), {
      message: 'HELLO with resultsRepeated',
    });
    const types = inbox2.map(([, m]) => (m.type === 'HELLO' ? (m.body.resultsRepeated ? 'HELLO+' : 'HELLO') : m.type));
    const marker = types.indexOf('HELLO+');
    assert.equal(types[0], 'HELLO');
    const repeated = inbox2.slice(0, marker).flatMap(([, m]) => (m.type === 'RESULT' ? [m.body.execId] : []));
    assert.deepEqual(
      [...new Set(repeated)].sort(),
      [...new Set(finishedBefore)].sort(),
      'every RESULT of the last minute before the HELLO that says so',
    );
    const e = exec({ type: 'handler', name: 'noop' });
    await router2.send('agent-a', { type: 'EXEC', body: e });
    await waitFor(() => inbox2.some(([, m]) => m.type === 'RESULT' && m.body.execId === e.execId), { message: 'result at the new leader' });
    // The agent said it reads several bodies; two EXECs (its capacity) go as one message and
    // their quick RESULTs come back as one.
    const hello = inbox2.find(([, m]) => m.type === 'HELLO')![1] as Extract<Message, { type: 'HELLO' }>;
    assert.equal(hello.body.batch, true);
    router2.setBatching('agent-a', true);
    const two = [1, 2].map(() => exec({ type: 'handler', name: 'noop' }));
    const before = { ...router2.received };
    await Promise.all(two.map((x) => router2.send('agent-a', { type: 'EXEC', body: x })));
    await waitFor(() => two.every((x) => inbox2.some(([, m]) => m.type === 'RESULT' && m.body.execId === x.execId)), {
      message: 'two results',
    });
    assert.deepEqual(
      [router2.received.messages - before.messages, router2.received.bodies - before.bodies],
      [1, 2],
      'one message of two RESULTs',
    );
  } finally {
    await cleanUp([
      ['election 2', () => e2.close()],
      ['zk 2', () => zk2.close()],
      ['router 2', () => router2.close()],
    ]);
  }
});

test('close() twice at once: one drain (one BYE), and the second caller waits for the running execution', async () => {
  const closePaths = cloverPaths('/agent-close-test');
  const port = await freePort();
  const inbox3: Array<[string, Message]> = [];
  const router3 = await serverAt(port, inbox3);
  const zk3 = createZkClient({ connect: 'memory:agent-test' });
  await zk3.connect();
  const e3 = new LeaderElection(zk3, { path: closePaths.electionDispatch, id: 'server-3', data: { endpoint: `tcp://127.0.0.1:${port}` } });
  const closing = new Agent({ zk: zk3, paths: closePaths, id: 'agent-closing', drainTimeoutMs: 10_000 });
  let finished = false;
  closing.register('slow', async () => {
    await new Promise((r) => setTimeout(r, 500));
    finished = true;
  });
  try {
    await e3.start();
    await closing.start();
    await waitFor(() => inbox3.some(([p, m]) => p === 'agent-closing' && m.type === 'HELLO'), { message: 'HELLO from agent-closing' });
    const e = exec({ type: 'handler', name: 'slow' });
    await router3.send('agent-closing', { type: 'EXEC', body: e });
    await waitFor(() => closing.running === 1, { message: 'the slow execution running' });

    const first = closing.close();
    const second = closing.close();
    assert.equal(second, first, 'the second close() returns the first one’s promise');
    await within(second, 30_000, 'the second close()');
    assert.ok(finished, 'the second caller went on only after the drain let the execution finish');
    assert.equal(await zk3.exists(closePaths.node('clients', 'agent-closing')), null, 'and after the heartbeat znode went');
    await waitFor(() => inbox3.some(([, m]) => m.type === 'BYE'), { message: 'the BYE' });
    // Any second drain would have sent its BYE by now (each is sent within 500 ms of the first).
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(inbox3.filter(([p, m]) => p === 'agent-closing' && m.type === 'BYE').length, 1, 'one drain, one BYE');
    const resultAt = inbox3.findIndex(([, m]) => m.type === 'RESULT' && m.body.execId === e.execId);
    const byeAt = inbox3.findIndex(([, m]) => m.type === 'BYE');
    assert.ok(resultAt >= 0 && resultAt < byeAt, 'the result went out before the BYE');
  } finally {
    await cleanUp([
      ['agent-closing', () => closing.close()],
      ['election 3', () => e3.close()],
      ['zk 3', () => zk3.close()],
      ['router 3', () => router3.close()],
    ]);
  }
});
