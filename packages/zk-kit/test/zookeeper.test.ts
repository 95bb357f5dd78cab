import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startZooKeeper, waitFor } from '@clover/testkit';
import { LeaderElection, createZkClient, type WatchEvent } from '../src/index.js';
import { forceExpiry } from './expiry.js';
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
