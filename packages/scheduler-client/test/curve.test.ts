import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { CleanupStack } from '@clover/lifecycle';
import { freePort, spawnProcess, startZooKeeper, waitFor, type ZooKeeperHandle } from '@clover/testkit';
import { generateCurveKeyPair, RouterTransport, type Exec } from '@clover/protocol';
import { LeaderElection, cloverPaths, createZkClient, type ZkClient } from '@clover/zk-kit';
import { Agent } from '../src/index.js';

// The wire of issue 21 on a real ZooKeeper and real ZeroMQ: agents pin the dispatch-servers'
// CURVE key, so whoever can write the election znode cannot make them connect anywhere else; the
// server lets in only agents whose keys it knows; and a plaintext agent follows no leader off
// this machine.
const server = generateCurveKeyPair();
const known = generateCurveKeyPair();
const stranger = generateCurveKeyPair();
const attacker = generateCurveKeyPair();
const paths = cloverPaths('/curve-test');
const opened = new CleanupStack();
let zkServer: ZooKeeperHandle;
const ran: string[] = [];

before(async () => {
  zkServer = await startZooKeeper();
  opened.push('ZooKeeper', () => zkServer.cleanup());
});
after(async () => {
  const failed = await opened.close();
  assert.deepEqual(failed, [], 'every clean-up step ran');
});

async function session(): Promise<ZkClient> {
  const zk = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 5000 });
  await zk.connect();
  opened.push('zk session', () => zk.close());
  return zk;
}

async function router(curve: { secretKey: string; allowedClientKeys: string[] } | undefined, heard: string[], host = '127.0.0.1') {
  const port = await freePort();
  const r = new RouterTransport({ bind: `tcp://${host}:${port}`, onMessage: (peer) => heard.push(peer), curve });
  await r.start();
  opened.push(`router :${port}`, () => r.close());
  return { r, port };
}

async function agent(id: string, opts: Partial<ConstructorParameters<typeof Agent>[0]>): Promise<Agent> {
  const a = new Agent({ zk: await session(), paths, id, drainTimeoutMs: 1000, ...opts });
  a.register('record', (ctx) => void ran.push(`${id}:${ctx.execId}`));
  await a.start();
  opened.push(`agent ${id}`, () => a.close());
  return a;
}

function exec(n: number): Exec {
  const now = Date.now();
  return {
    execId: `forged@${n}`,
    jobId: 'forged',
    jobName: 'forged',
    attempt: 1,
    kind: { type: 'handler', name: 'record' },
    payload: {},
    timeoutMs: 5000,
    deadline: now + 5000,
    scheduledAt: now,
  };
}

test('a leader endpoint forged in ZooKeeper gets no agent and runs nothing; the real server gets the known agent and not the stranger', async () => {
  // The forger knows the agent's public key (public keys are not secret) and lets it in; it does
  // not hold the servers' secret key, which the agent pins.
  const forgedHeard: string[] = [];
  const forged = await router({ secretKey: attacker.secretKey, allowedClientKeys: [known.publicKey, stranger.publicKey] }, forgedHeard);
  const realHeard: string[] = [];
  const real = await router({ secretKey: server.secretKey, allowedClientKeys: [known.publicKey] }, realHeard);
  // The forged candidate enters the election first, so it leads: every agent reads its endpoint.
  const forgedElection = new LeaderElection(await session(), {
    path: paths.electionDispatch,
    id: 'forged',
    data: { endpoint: `tcp://127.0.0.1:${forged.port}` },
  });
  await forgedElection.start();
  opened.push('forged election', () => forgedElection.close());
  await waitFor(() => forgedElection.isLeader, { message: 'the forged candidate leads' });
  const realElection = new LeaderElection(await session(), {
    path: paths.electionDispatch,
    id: 'server-1',
    data: { endpoint: `tcp://127.0.0.1:${real.port}` },
  });
  await realElection.start();
  opened.push('real election', () => realElection.close());

  await agent('agent-known', { curve: { ...known, serverKey: server.publicKey } });
  await agent('agent-stranger', { curve: { ...stranger, serverKey: server.publicKey } });
  // The forger tries for a while: HELLOs would arrive within 5 s (every HELLO interval), EXECs are pushed at both ids.
  for (let i = 0; i < 30; i++) {
    await forged.r.send('agent-known', { type: 'EXEC', body: exec(i) });
    await forged.r.send('agent-stranger', { type: 'EXEC', body: exec(100 + i) });
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(forgedHeard, [], 'no agent completed a handshake with the forged endpoint');
  assert.deepEqual(ran, [], 'nothing ran');

  // The forged candidate goes; the real server leads; the known agent comes, the stranger does not.
  await forgedElection.close();
  await waitFor(() => realHeard.includes('agent-known'), { timeoutMs: 30_000, message: 'the known agent at the real server' });
  await waitFor(() => realHeard.filter((p) => p === 'agent-known').length >= 3, { timeoutMs: 30_000, message: 'two more HELLOs' });
  assert.ok(!realHeard.includes('agent-stranger'), 'an agent whose key the server does not know is refused');
});

test('a plaintext agent follows a leader on this machine, and refuses one off it unless told it may', async (t) => {
  // A non-loopback address of this machine: the traffic, if any, never leaves it.
  const hostIp = Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
  if (!hostIp) {
    t.skip('this machine has no non-loopback IPv4 address');
    return;
  }
  const heard: string[] = [];
  const off = await router(undefined, heard, hostIp);
  const root = cloverPaths('/curve-plain');
  const election = new LeaderElection(await session(), {
    path: root.electionDispatch,
    id: 'plain',
    data: { endpoint: `tcp://${hostIp}:${off.port}` },
  });
  await election.start();
  opened.push('plain election', () => election.close());
  const plain = new Agent({ zk: await session(), paths: root, id: 'agent-plain', drainTimeoutMs: 1000 });
  await plain.start();
  opened.push('agent-plain', () => plain.close());
  const told = new Agent({ zk: await session(), paths: root, id: 'agent-told', insecurePlaintext: true, drainTimeoutMs: 1000 });
  await told.start();
  opened.push('agent-told', () => told.close());
  await waitFor(() => heard.includes('agent-told'), { timeoutMs: 30_000, message: 'the agent told it may, at the plaintext leader' });
  await waitFor(() => heard.filter((p) => p === 'agent-told').length >= 2, { timeoutMs: 30_000, message: 'another HELLO' });
  assert.ok(!heard.includes('agent-plain'), 'a plaintext agent does not follow a leader off this machine');
});

test('the agent bin: some CURVE keys but not all is a bad setting (exit 2), not a quiet plaintext agent', async () => {
  const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
  const child = spawnProcess(process.execPath, ['--conditions=source', '--import', 'tsx', bin], {
    name: 'half-keys',
    cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    env: {
      CLOVER_ZK: 'memory:half-keys',
      CLOVER_METRICS_PORT: '0',
      CLOVER_NODE_ID: 'half',
      CLOVER_CURVE_PUBLIC_KEY: known.publicKey,
      CLOVER_CURVE_SECRET_KEY: known.secretKey,
    },
  });
  assert.equal(await child.waitForExit(60_000), 2);
  assert.match(
    child.output(),
    /bad setting: CLOVER_CURVE_SERVER_KEY: CURVE needs all three of CLOVER_CURVE_PUBLIC_KEY, CLOVER_CURVE_SECRET_KEY and CLOVER_CURVE_SERVER_KEY/,
  );
  assert.doesNotMatch(child.output(), new RegExp(known.secretKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'the secret is not echoed');
});
