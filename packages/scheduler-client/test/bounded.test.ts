import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { cleanUp, freePort, waitFor, within, type CleanupStep } from '@clover/testkit';
import { LIMITS, RouterTransport, resultSchema, type Exec, type Message, type ProtocolError, type Result } from '@clover/protocol';
import { LeaderElection, cloverPaths, createZkClient, type ZkClient } from '@clover/zk-kit';
import { Agent } from '../src/index.js';
import { execOf } from './exec.js';

// Every field an agent fills is bounded where it is made: whatever a handler, a command or an
// HTTP server produces, the RESULT passes the protocol's validation at a real ROUTER.
const paths = cloverPaths('/bounded-test');
let zk: ZkClient;
let leaderZk: ZkClient;
let router: RouterTransport;
let election: LeaderElection;
let agent: Agent;
const inbox: Message[] = [];
const invalid: ProtocolError[] = [];
const opened: CleanupStep[] = [];

before(async () => {
  zk = createZkClient({ connect: 'memory:bounded-test' });
  leaderZk = createZkClient({ connect: 'memory:bounded-test' });
  opened.push(['zk', () => zk.close()], ['leader zk', () => leaderZk.close()]);
  await zk.connect();
  await leaderZk.connect();
  const port = await freePort();
  router = new RouterTransport({
    bind: `tcp://127.0.0.1:${port}`,
    onMessage: (_p, m) => inbox.push(m),
    onInvalid: (_p, e) => invalid.push(e),
  });
  opened.push(['router', () => router.close()]);
  await router.start();
  election = new LeaderElection(leaderZk, { path: paths.electionDispatch, id: 'server-1', data: { endpoint: `tcp://127.0.0.1:${port}` } });
  opened.push(['election', () => election.close()]);
  await election.start();
  agent = new Agent({
    zk,
    paths,
    id: 'agent-b',
    shell: true,
    http: true,
    httpEgress: { allowPrivate: true },
    capacity: 4,
    drainTimeoutMs: 2000,
  });
  opened.push(['agent', () => agent.close()]);
  agent.register('fail-long', (ctx) => {
    throw new Error((ctx.payload as { message: string }).message);
  });
  await agent.start();
  await waitFor(() => inbox.some((m) => m.type === 'HELLO'), { message: 'HELLO' });
});

// Every part's close, pushed as before() opens it: each runs, bounded, newest first, even when
// before() stopped half-way or one close fails.
after(() => cleanUp(opened.reverse()));

const exec = (kind: Exec['kind'], over: Partial<Exec> = {}): Exec => execOf('big', kind, over, 20_000);

/** Sends the EXEC and answers the RESULT the router accepted; fails if it was dropped as invalid. */
async function resultOf(e: Exec): Promise<Result> {
  await router.send('agent-b', { type: 'EXEC', body: e });
  const result = await waitFor(
    () => {
      const bad = invalid.find((x) => x.execId === e.execId);
      if (bad) throw new Error(`the agent's answer for ${e.execId} failed validation: ${bad.message}`);
      return inbox.find((m): m is Extract<Message, { type: 'RESULT' }> => m.type === 'RESULT' && m.body.execId === e.execId)?.body;
    },
    { message: `a valid RESULT of ${e.execId}`, timeoutMs: 15_000 },
  );
  assert.ok(resultSchema.safeParse(result).success);
  return result;
}

test("a handler failing with a 4,097-character message: the RESULT passes validation and carries the error's start", async () => {
  const message = `invoice 42 failed: ${'x'.repeat(4097 - 19 - 4)}TAIL`;
  assert.equal(message.length, 4097);
  const r = await resultOf(exec({ type: 'handler', name: 'fail-long' }, { payload: { message } }));
  assert.equal(r.status, 'failed');
  assert.equal(r.exitCode, 1);
  assert.equal(r.error!.length, LIMITS.errorChars);
  assert.ok(r.error!.startsWith('invoice 42 failed: xxxx'), 'the start of the error is kept');
  assert.equal(r.error!.slice(-22), 'x…[truncated 22 chars]');
  assert.ok(Buffer.byteLength(r.outputTail) <= LIMITS.outputTailBytes);
  assert.equal(invalid.length, 0);
});

test('a handler failing with a long message of multi-byte characters and emoji: bounded in the unit the schema counts', async () => {
  const message = `é😀${'😀'.repeat(3000)}`;
  const r = await resultOf(exec({ type: 'handler', name: 'fail-long' }, { payload: { message } }));
  assert.ok(r.error!.length <= LIMITS.errorChars);
  assert.ok(r.error!.startsWith('é😀😀'));
  assert.match(r.error!, /…\[truncated \d+ chars\]$/);
});

test('a shell command printing megabytes to stdout and stderr: the output tail stays within its byte bound, the end kept', async () => {
  const script = 'head -c 1000000 /dev/zero | tr "\\0" "é" >&2; head -c 600000 /dev/zero | tr "\\0" x; echo; echo LAST-LINE >&2; exit 4';
  const r = await resultOf(exec({ type: 'shell', command: 'sh', args: ['-c', script], env: {} }));
  assert.deepEqual([r.status, r.exitCode, r.error], ['failed', 4, 'exit code 4']);
  assert.ok(Buffer.byteLength(r.outputTail, 'utf8') <= LIMITS.outputTailBytes);
  assert.ok(r.outputTail.endsWith('LAST-LINE\n'));
});

test('a shell command that cannot start, with a 6,000-character command line: the reason is bounded', async () => {
  const command = `/nonexistent/${'a'.repeat(6000)}`;
  const r = await resultOf(exec({ type: 'shell', command, args: [], env: {} }));
  assert.equal(r.status, 'failed');
  assert.ok(r.error!.startsWith('could not start /nonexistent/aaa'), r.error!.slice(0, 60));
  assert.ok(r.error!.length <= LIMITS.errorChars);
  assert.match(r.error!, /…\[truncated \d+ chars\]$/);
});

test('an HTTP call answered 500 with a 2 MB body: the error is the status and the start of the body, bounded; the output its end', async () => {
  const body = `maintenance until 10:00 UTC\n${'<p>filler</p>'.repeat(160_000)}\nEND-OF-BODY`;
  const server = http.createServer((_req, res) => {
    res.statusCode = 500;
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await within(once(server, 'listening'), 10_000, 'the test HTTP server to listen');
  const port = (server.address() as { port: number }).port;
  try {
    const r = await resultOf(exec({ type: 'http', method: 'GET', url: `http://127.0.0.1:${port}/`, headers: {} }));
    assert.deepEqual([r.status, r.exitCode], ['failed', 500]);
    assert.ok(r.error!.startsWith('HTTP 500 Internal Server Error: maintenance until 10:00 UTC'), r.error!.slice(0, 80));
    assert.ok(r.error!.length <= LIMITS.errorChars);
    assert.ok(r.outputTail.endsWith('END-OF-BODY'));
    assert.ok(Buffer.byteLength(r.outputTail) <= LIMITS.outputTailBytes);
  } finally {
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await within(closed, 10_000, 'the test HTTP server to close');
  }
});

test("what HELLO carries is checked where it is given: options over the protocol's bounds are refused with the option named", () => {
  const base = { zk, paths, id: 'ok' };
  assert.throws(() => new Agent({ ...base, id: 'a'.repeat(LIMITS.routingIdBytes + 1) }), /agent id .* at most 255 bytes/);
  assert.throws(() => new Agent({ ...base, id: 'é'.repeat(128) }), /at most 255 bytes as UTF-8, got 256/);
  assert.throws(() => new Agent({ ...base, capacity: LIMITS.capacity + 1 }), /capacity must be an integer from 1 to 100000/);
  assert.throws(() => new Agent({ ...base, version: 'v'.repeat(65) }), /version must be at most 64/);
  assert.throws(() => new Agent({ ...base, groups: ['g'.repeat(201)] }), /groups: each must be a string of at most 200/);
  assert.throws(() => new Agent({ ...base, tags: Array.from({ length: 1001 }, (_, i) => `t${i}`) }), /tags: at most 1000/);
  assert.throws(() => new Agent(base).register('h'.repeat(201), () => undefined), /handler name must be at most 200/);
  assert.doesNotThrow(() =>
    new Agent({ ...base, id: 'a'.repeat(255), capacity: LIMITS.capacity, groups: ['g'.repeat(200)] }).register(
      'h'.repeat(200),
      () => undefined,
    ),
  );
});
