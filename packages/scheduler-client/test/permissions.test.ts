import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { cleanUp, freePort, waitFor } from '@clover/testkit';
import { RouterTransport, type Exec, type Message } from '@clover/protocol';
import { LeaderElection, cloverPaths, createZkClient, type ZkClient } from '@clover/zk-kit';
import { Agent } from '../src/index.js';
import { execOf } from './exec.js';

// What may run on an agent is the agent's own configuration (issue 21): with default settings it
// runs neither shell nor http jobs; allowed, http jobs still reach public addresses only, and a
// command list admits exactly the executables it names.
const paths = cloverPaths('/permissions-test');
const inbox: [string, Message][] = [];
const agents = new Map<string, Agent>();
let zk: ZkClient;
let leaderZk: ZkClient;
let router: RouterTransport;
let election: LeaderElection;
let target: http.Server;
let targetPort: number;
let targetHits = 0;

before(async () => {
  target = http.createServer((_req, res) => {
    targetHits++;
    res.end('the agent host’s own service');
  });
  target.listen(0, '127.0.0.1');
  await once(target, 'listening');
  targetPort = (target.address() as AddressInfo).port;
  zk = createZkClient({ connect: 'memory:permissions-test' });
  leaderZk = createZkClient({ connect: 'memory:permissions-test' });
  await zk.connect();
  await leaderZk.connect();
  const port = await freePort();
  router = new RouterTransport({ bind: `tcp://127.0.0.1:${port}`, onMessage: (p, m) => inbox.push([p, m]) });
  await router.start();
  election = new LeaderElection(leaderZk, { path: paths.electionDispatch, id: 'server-1', data: { endpoint: `tcp://127.0.0.1:${port}` } });
  await election.start();
  agents.set('defaults', new Agent({ zk, paths, id: 'defaults', drainTimeoutMs: 1000 }));
  agents.set('http-on', new Agent({ zk, paths, id: 'http-on', http: true, drainTimeoutMs: 1000 }));
  agents.set('listed', new Agent({ zk, paths, id: 'listed', shell: true, shellCommands: ['/bin/echo'], drainTimeoutMs: 1000 }));
  for (const a of agents.values()) await a.start();
  await waitFor(() => [...agents.keys()].every((id) => inbox.some(([p, m]) => p === id && m.type === 'HELLO')), {
    message: 'three HELLOs',
  });
});

after(() =>
  cleanUp([
    ...[...agents].map(([id, a]) => [`agent ${id}`, () => a.close()] as const),
    ['router', () => router.close()],
    ['election', () => election.close()],
    ['zk', () => zk.close()],
    ['leader zk', () => leaderZk.close()],
    ['target', () => new Promise<void>((resolve) => target.close(() => resolve()))],
  ]),
);

const exec = (kind: Exec['kind']): Exec => execOf('p', kind);

/** Sends `e` to agent `id` and returns its first answer: a refusing ACK or a RESULT. */
async function answer(id: string, e: Exec): Promise<{ refused?: string; status?: string; error?: string | null }> {
  await router.send(id, { type: 'EXEC', body: e });
  return waitFor(
    () => {
      for (const [, m] of inbox) {
        if (m.type === 'ACK' && m.body.execId === e.execId && !m.body.accepted) return { refused: m.body.reason };
        if (m.type === 'RESULT' && m.body.execId === e.execId) return { status: m.body.status, error: m.body.error };
      }
      return undefined;
    },
    { message: `an answer to ${e.execId}` },
  );
}

test('default settings: shell and http jobs are refused as unsupported, so the leader offers them elsewhere', async () => {
  assert.deepEqual(await answer('defaults', exec({ type: 'shell', command: '/bin/echo', args: ['hi'], env: {} })), {
    refused: 'unsupported',
  });
  assert.deepEqual(await answer('defaults', exec({ type: 'http', method: 'GET', url: `http://127.0.0.1:${targetPort}/`, headers: {} })), {
    refused: 'unsupported',
  });
  const hello = inbox.find(([p, m]) => p === 'defaults' && m.type === 'HELLO')?.[1] as Extract<Message, { type: 'HELLO' }>;
  assert.deepEqual([hello.body.shell, hello.body.http], [false, false], 'HELLO says so, so the leader routes elsewhere');
});

test('http allowed, default egress: cloud metadata, the agent host by address and by name all fail with a clear error; nothing is called', async () => {
  const cases: [url: string, error: RegExp][] = [
    [
      'http://169.254.169.254/latest/meta-data/iam/',
      /^refused: 169\.254\.169\.254 is a link-local address \(cloud metadata services live there\)/,
    ],
    [`http://127.0.0.1:${targetPort}/admin`, /^refused: 127\.0\.0\.1 is a loopback address; this agent calls public addresses only/],
    [`http://localhost:${targetPort}/admin`, /^refused: localhost, which resolves to (127\.0\.0\.1|::1), is a loopback address/],
  ];
  for (const [url, error] of cases) {
    const a = await answer('http-on', exec({ type: 'http', method: 'GET', url, headers: {} }));
    assert.equal(a.status, 'failed', url);
    assert.match(a.error ?? '', error, url);
  }
  assert.equal(targetHits, 0);
});

test('a command list admits exactly the executables it names', async () => {
  const ok = await answer('listed', exec({ type: 'shell', command: '/bin/echo', args: ['hi'], env: {} }));
  assert.equal(ok.status, 'succeeded');
  const no = await answer('listed', exec({ type: 'shell', command: 'sh', args: ['-c', '/bin/echo hi'], env: {} }));
  assert.equal(no.status, 'failed');
  assert.equal(no.error, 'refused: this agent runs only the commands listed in CLOVER_SHELL_COMMANDS, and "sh" is not one');
});
