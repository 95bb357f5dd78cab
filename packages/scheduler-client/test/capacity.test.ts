import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { cleanUp, freePort, waitFor, type CleanupStep } from '@clover/testkit';
import { RouterTransport, type Exec, type Message } from '@clover/protocol';
import { LeaderElection, cloverPaths, createZkClient, type ZkClient } from '@clover/zk-kit';
import { Agent, DEFAULT_CAPACITY, defaultProcessCapacity, registerDemoHandlers } from '../src/index.js';
import { Slots } from '../src/capacity.js';
import { execOf } from './exec.js';

// Two limits (README, "Capacity"): every execution counts against `capacity`, which HELLO
// reports; shell executions, each a child process, count against `processCapacity` too. Past
// either, the answer is the same `at_capacity`.
const paths = cloverPaths('/capacity-test');
const inbox: Array<[string, Message]> = [];
let zk: ZkClient;
const opened: CleanupStep[] = [];
let router: RouterTransport;

async function agentUp(options: Partial<ConstructorParameters<typeof Agent>[0]> & { id: string }): Promise<Agent> {
  const agent = registerDemoHandlers(new Agent({ zk, paths, shell: true, drainTimeoutMs: 2000, ...options }));
  opened.push([`agent ${options.id}`, () => agent.close()]);
  await agent.start();
  await waitFor(() => inbox.some(([p, m]) => p === options.id && m.type === 'HELLO'), { message: `HELLO from ${options.id}` });
  return agent;
}

before(async () => {
  zk = createZkClient({ connect: 'memory:capacity-test' });
  const leaderZk = createZkClient({ connect: 'memory:capacity-test' });
  opened.push(['zk', () => zk.close()], ['leader zk', () => leaderZk.close()]);
  await zk.connect();
  await leaderZk.connect();
  const port = await freePort();
  router = new RouterTransport({ bind: `tcp://127.0.0.1:${port}`, onMessage: (p, m) => inbox.push([p, m]) });
  await router.start();
  opened.push(['router', () => router.close()]);
  const election = new LeaderElection(leaderZk, {
    path: paths.electionDispatch,
    id: 'server-1',
    data: { endpoint: `tcp://127.0.0.1:${port}` },
  });
  opened.push(['election', () => election.close()]);
  await election.start();
});

after(() => cleanUp(opened.reverse()));

const exec = (kind: Exec['kind']): Exec => execOf('c', kind);
const sleepShell = (): Exec => exec({ type: 'shell', command: 'sleep', args: ['0.6'], env: {} });
const sleepHandler = (): Exec => ({ ...exec({ type: 'handler', name: 'sleep' }), payload: { ms: 2000 } });

/** The agent's first answer to `e`: accepted (an ACK, or a RESULT standing for it) or the refusal's reason. */
async function answer(id: string, e: Exec): Promise<string> {
  await router.send(id, { type: 'EXEC', body: e });
  return waitFor(
    () => {
      for (const [p, m] of inbox) {
        if (p !== id || !('execId' in m.body) || m.body.execId !== e.execId) continue;
        if (m.type === 'RESULT') return 'accepted';
        if (m.type === 'ACK') return m.body.accepted ? 'accepted' : (m.body.reason ?? 'refused');
      }
      return undefined;
    },
    { message: `an answer to ${e.execId}` },
  );
}
const resultOf = (e: Exec) =>
  waitFor(() => inbox.some(([, m]) => m.type === 'RESULT' && m.body.execId === e.execId), { message: `RESULT of ${e.execId}` });

test('the defaults: 64 executions in HELLO, shell ones up to the host’s cores (at least 2), both in the heartbeat', async () => {
  assert.equal(DEFAULT_CAPACITY, 64);
  assert.equal(defaultProcessCapacity(), Math.max(2, os.availableParallelism()));
  await agentUp({ id: 'defaults' });
  const hello = inbox.find(([p, m]) => p === 'defaults' && m.type === 'HELLO')![1] as Extract<Message, { type: 'HELLO' }>;
  assert.equal(hello.body.capacity, 64, 'the leader is told the one total');
  assert.equal(Object.keys(hello.body).includes('processCapacity'), false, 'HELLO is unchanged on the wire');
  const node = await zk.get<{ capacity: number; processCapacity: number; processesRunning: number }>(paths.node('clients', 'defaults'));
  assert.deepEqual([node?.data.capacity, node?.data.processCapacity, node?.data.processesRunning], [64, defaultProcessCapacity(), 0]);
});

test('shell executions stop at processCapacity (at_capacity) while handlers go on up to capacity; a freed process slot takes the next', async () => {
  await agentUp({ id: 'two-limits', capacity: 4, processCapacity: 1 });
  const shell1 = sleepShell();
  assert.equal(await answer('two-limits', shell1), 'accepted');
  assert.equal(await answer('two-limits', sleepShell()), 'at_capacity', 'a second child process is one too many');
  const handlers = [sleepHandler(), sleepHandler(), sleepHandler()];
  for (const h of handlers) assert.equal(await answer('two-limits', h), 'accepted', 'in-process work still starts');
  assert.equal(await answer('two-limits', sleepHandler()), 'at_capacity', 'four at once in all');
  await resultOf(shell1);
  // The shell's slot is free again, in both counts: a shell may start, and then all four are taken.
  const shell2 = sleepShell();
  assert.equal(await answer('two-limits', shell2), 'accepted');
  assert.equal(await answer('two-limits', exec({ type: 'handler', name: 'noop' })), 'at_capacity');
  await Promise.all([...handlers, shell2].map(resultOf));
  assert.equal(await answer('two-limits', exec({ type: 'handler', name: 'noop' })), 'accepted', 'every slot given back');
});

test('processCapacity is held to capacity, and must be a whole number from 1', () => {
  const slots = new Slots(2, 2);
  const shell: Exec['kind'] = { type: 'shell', command: 'true', args: [], env: {} };
  const http: Exec['kind'] = { type: 'http', method: 'GET', url: 'https://example.com/', headers: {} };
  assert.equal(slots.take(http), true, 'an HTTP call is in-process: it counts in the total only');
  assert.equal(slots.processesRunning, 0);
  assert.equal(slots.take(shell), true);
  assert.equal(slots.take(shell), false, 'the total is full');
  slots.give(http);
  assert.equal(slots.take(shell), true);
  assert.deepEqual([slots.running, slots.processesRunning], [2, 2]);
  slots.give(shell);
  slots.give(shell);
  slots.give(shell);
  assert.deepEqual([slots.running, slots.processesRunning], [0, 0], 'never below none');

  const base = { zk: 'memory:capacity-unused', id: 'x' };
  assert.throws(() => new Agent({ ...base, processCapacity: 0 }), /processCapacity must be an integer from 1 to 100000, got 0/);
  assert.throws(() => new Agent({ ...base, processCapacity: 1.5 }), /processCapacity must be an integer/);
});

test('a processCapacity above capacity is held to capacity', async () => {
  await agentUp({ id: 'held', capacity: 1, processCapacity: 8 });
  const node = await zk.get<{ processCapacity: number }>(paths.node('clients', 'held'));
  assert.equal(node?.data.processCapacity, 1);
  const shell = sleepShell();
  assert.equal(await answer('held', shell), 'accepted');
  assert.equal(await answer('held', sleepShell()), 'at_capacity');
  await resultOf(shell);
});
