import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settleWithin } from '@clover/lifecycle';
import { startZooKeeper, waitFor } from '@clover/testkit';
import { LeaderElection, createZkClient, type WatchEvent, type ZkClient } from '../src/index.js';
import { NativeZooKeeper } from '../src/native/binding.js';
import { zkContract } from './contract.js';

zkContract('ZooKeeper 3.8', async () => {
  const server = await startZooKeeper();
  return {
    client: async () => {
      const zk = createZkClient({ connect: server.connectString, sessionTimeoutMs: 4000 });
      await zk.connect();
      return zk;
    },
    // Reaching into the C client's session from outside is not possible; a second client
    // joining the same session id and closing it is how ZooKeeper users force expiry.
    expire: (zk) => forceExpiry(zk, server.connectString),
    cleanup: () => server.cleanup(),
  };
});

test('the server down for longer than the session timeout: expiry, new session, ephemerals, candidacy and watches back', async () => {
  const server = await startZooKeeper();
  const zk = createZkClient({ connect: server.connectString, sessionTimeoutMs: 2000 });
  const observer = createZkClient({ connect: server.connectString, sessionTimeoutMs: 20_000 });
  try {
    await zk.connect();
    await zk.ensurePath('/outage/election');
    await zk.create('/outage/eph', { hello: 1 }, 'ephemeral');
    const election = new LeaderElection(zk, { path: '/outage/election', id: 'me' });
    await election.start();
    await waitFor(() => election.isLeader, { message: 'leads' });
    const events: WatchEvent[] = [];
    zk.watch('/outage', (e) => events.push(e));
    const states: string[] = [];
    zk.onState((s) => states.push(s));
    const before = zk.sessionId;

    await server.stop();
    await waitFor(() => states.includes('disconnected'), { timeoutMs: 20_000, message: 'disconnected' });
    assert.equal(election.isLeader, false, 'a leader without a connection stops leading at once');
    // Outlast the session timeout while the server is down.
    await waitFor(() => states.includes('expired'), { timeoutMs: 30_000, message: 'expired' });
    await server.start();
    await waitFor(() => zk.state === 'connected' && zk.sessionId !== before, { timeoutMs: 30_000, message: 'new session' });
    await observer.connect();
    const eph = await waitFor(() => observer.get('/outage/eph'), { timeoutMs: 10_000, message: 'ephemeral back' });
    assert.deepEqual(eph.data, { hello: 1 });
    await waitFor(() => election.isLeader, { timeoutMs: 10_000, message: 'leads again' });
    // The old session's candidate goes when the ensemble expires it; one candidate remains.
    await waitFor(async () => (await observer.children('/outage/election')).length === 1, {
      timeoutMs: 15_000,
      message: 'one candidate, in the new session',
    });
    events.length = 0;
    await observer.create('/outage/new');
    await waitFor(() => events.some((e) => e.type === 'children'), { message: 'watch fires after the outage' });
    await election.close();
  } finally {
    await zk.close();
    await observer.close();
    await server.cleanup();
  }
});

/**
 * Ends a real session from outside: a second connection joins it with its id and password and
 * closes it. The owner may win its connection back before the close goes out (the server keeps
 * the newer connection of a session), so this repeats until the owner has seen its expiry.
 * Every wait is bounded: a twin joining a session that is already gone never connects, and the
 * owner learns of the expiry only when it reconnects, which can take a few seconds.
 */
async function forceExpiry(zk: ZkClient, connect: string): Promise<void> {
  const original = zk.sessionId;
  let sawExpiry = false;
  let states: string[] = [];
  const off = zk.onState((s) => {
    states.push(s);
    if (s === 'expired') sawExpiry = true;
  });
  const done = () => sawExpiry || zk.sessionId !== original;
  // The owner reconnected into the same session before the twin's close went out.
  const wonBack = () => states.includes('disconnected') && states.at(-1) === 'connected';
  try {
    for (let attempt = 0; attempt < 10 && !done(); attempt++) {
      states = [];
      const [idHex, password] = sessionCredentials(zk);
      await joinAndClose(connect, idHex, password);
      await waitFor(() => done() || wonBack(), { timeoutMs: 15_000 }).catch(() => undefined);
    }
  } finally {
    off();
  }
  if (!done()) throw new Error(`session ${original} did not expire after 10 attempts`);
}

/** Connects a twin to a session and closes it; gives up after 10 s if the session is gone. */
async function joinAndClose(connect: string, idHex: string, password: string): Promise<void> {
  const twin = new NativeZooKeeper({ connect, timeout: 4000, debug_level: 1, client_id: idHex, client_password: password });
  await settleWithin(
    new Promise<void>((resolve) => {
      twin.on('connect', () => resolve());
      twin.on('close', () => resolve());
      twin.init({});
    }),
    10_000,
  );
  try {
    twin.close();
  } catch {
    // already closed by the server's expiry
  }
}

function sessionCredentials(zk: ZkClient): [string, string] {
  const creds = (zk as unknown as { sessionCredentials?: () => [string, string] }).sessionCredentials?.();
  if (!creds) throw new Error('client does not expose its session credentials');
  return creds;
}
