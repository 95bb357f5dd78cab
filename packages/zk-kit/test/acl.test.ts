import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startZooKeeper, waitFor, within } from '@clover/testkit';
import { secureCreated } from '../src/acl.js';
import { cloverAcl, createZkClient, digestId, LeaderElection, NoAuthError, type ZkClient } from '../src/index.js';
import type { RawSession } from '../src/session.js';
import { openNativeSession } from '../src/native/session.js';
import { zkContract } from './contract.js';
import { forceExpiry } from './expiry.js';

// ZooKeeper access control (issue 21): with credentials, every node clover creates is clover's
// alone. The whole zk-kit contract (CRUD, ephemerals across expiry, watches, elections, the
// change feed, and self-healing of everything clover owns) runs under those ACLs, and a client
// without the password can create, change or delete nothing under clover's root.
const clover = { user: 'clover', password: 'correct horse battery staple' };

zkContract('ZooKeeper 3.8, every node under ACLs', async () => {
  const server = await startZooKeeper();
  return {
    client: async () => {
      const zk = createZkClient({ connect: server.connectString, sessionTimeoutMs: 4000, auth: clover });
      await zk.connect();
      return zk;
    },
    expire: (zk) => forceExpiry(zk, server.connectString),
    cleanup: () => server.cleanup(),
  };
});

test('digest ids as ZooKeeper computes them', () => {
  // As ZooKeeper computes it: java -cp '/usr/share/java/*:/usr/share/zookeeper/lib/*'
  //   org.apache.zookeeper.server.auth.DigestAuthenticationProvider super:superpw
  assert.equal(digestId({ user: 'super', password: 'superpw' }), 'super:g9oN2HttPfn8MMWJZ2r45Np/LIA=');
});

test('a client without the password can create, change or delete nothing under clover’s root; clover heals what it owns', async () => {
  const server = await startZooKeeper();
  const clients: ZkClient[] = [];
  const client = async (auth?: { user: string; password: string }) => {
    const zk = createZkClient({ connect: server.connectString, sessionTimeoutMs: 4000, auth });
    await zk.connect();
    clients.push(zk);
    return zk;
  };
  try {
    const zk = await client(clover);
    await zk.ensurePath('/clover/nodes/clients');
    await zk.create('/clover/config', { heartbeatIntervalMs: 2000 });
    await zk.create('/clover/nodes/clients/agent-1', { endpoint: 'x' }, 'ephemeral');
    const election = new LeaderElection(zk, {
      path: '/clover/election/dispatch',
      id: 'server-1',
      data: { endpoint: 'tcp://127.0.0.1:7710' },
    });
    await election.start();
    await waitFor(() => election.isLeader, { message: 'clover leads' });

    for (const intruder of [
      await client(),
      await client({ user: 'clover', password: 'wrong' }),
      await client({ user: 'mallory', password: 'x' }),
    ]) {
      const refused = async (what: string, op: () => Promise<unknown>) =>
        assert.rejects(op, (err: unknown) => err instanceof NoAuthError, `${what} must be refused`);
      await refused('create under the root', () => intruder.create('/clover/evil', { a: 1 }));
      await refused('create a forged election candidate', () =>
        intruder.create('/clover/election/dispatch/c-', { endpoint: 'tcp://evil:1' }, 'ephemeral_sequential'),
      );
      await refused('change the config', () => intruder.set('/clover/config', { heartbeatIntervalMs: 1 }));
      await refused('delete a heartbeat', () => intruder.delete('/clover/nodes/clients/agent-1'));
      await refused('read the config', () => intruder.get('/clover/config'));
    }

    // Clover deletes its own election folder, as the console's Nodes page may: the election
    // heals it, and the healed folder is clover's alone too.
    await zk.delete('/clover/election/dispatch', { recursive: true });
    await waitFor(async () => election.isLeader && (await zk.exists('/clover/election/dispatch')) !== null, {
      timeoutMs: 20_000,
      message: 'the election folder back, clover leading again',
    });
    const intruder = await client();
    await assert.rejects(
      () => intruder.create('/clover/election/dispatch/c-', { endpoint: 'tcp://evil:1' }, 'ephemeral_sequential'),
      NoAuthError,
    );
    await election.close();
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await server.cleanup();
  }
});

test('a tree made before clover had credentials: claimTree gives every node clover’s ACL, after which outsiders change nothing', async () => {
  const server = await startZooKeeper();
  const clients: ZkClient[] = [];
  const client = async (auth?: { user: string; password: string }) => {
    const zk = createZkClient({ connect: server.connectString, sessionTimeoutMs: 4000, auth });
    await zk.connect();
    clients.push(zk);
    return zk;
  };
  try {
    const before = await client();
    await before.ensurePath('/clover/election/dispatch');
    await before.ensurePath('/clover/jobs/changes');
    await before.create('/clover/config', { heartbeatIntervalMs: 2000 });
    const outsider = await client();
    await outsider.create('/clover/jobs/changes/c-1', { jobId: 'x', op: 'upsert' });
    const zk = await client(clover);
    assert.equal(await zk.claimTree('/clover'), 7, '/clover, election, dispatch, jobs, changes, c-1, config');
    await assert.rejects(outsider.set('/clover/config', { heartbeatIntervalMs: 1 }), NoAuthError);
    await assert.rejects(
      outsider.create('/clover/election/dispatch/c-', { endpoint: 'tcp://evil:1' }, 'ephemeral_sequential'),
      NoAuthError,
    );
    await assert.rejects(outsider.delete('/clover/jobs/changes/c-1'), NoAuthError);
    assert.deepEqual((await zk.get('/clover/config'))?.data, { heartbeatIntervalMs: 2000 }, 'clover still reads and writes it');
    assert.equal(await zk.claimTree('/clover'), 0, 'claimed already: one ACL read, nothing set');
    assert.equal(await (await client()).claimTree('/clover'), 0, 'a client without credentials claims nothing');
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await server.cleanup();
  }
});

test('a node tampered with between its create and its ACL: foreign data written back, foreign children removed, a foreign ACL refused', async () => {
  const server = await startZooKeeper();
  const sessions: RawSession[] = [];
  const open = async (security?: Parameters<typeof openNativeSession>[3]) => {
    let connected!: () => void;
    const up = new Promise<void>((resolve) => (connected = resolve));
    const s = openNativeSession(server.connectString, 4000, { connected, disconnected() {}, expired() {} }, security);
    sessions.push(s);
    await within(up, 20_000, 'a raw session');
    return s;
  };
  const acl = cloverAcl(clover);
  try {
    const mine = await open({ credentials: clover, acl });
    const mallory = { user: 'mallory', password: 'x' };
    // An intruder with no credentials acts in the window with plain creates (the open ACL); one
    // with credentials of its own can also lock what it makes.
    const intruder = await open();
    const locker = await open({ credentials: mallory, acl: cloverAcl(mallory) });
    const primitives = {
      setAcl: (p: string, v: number, entries: typeof acl) =>
        mine.setAcl ? mine.setAcl(p, v, entries) : Promise.reject(new Error('no setAcl')),
      exists: (p: string) => mine.exists(p),
      set: (p: string, d: Buffer, v: number) => mine.set(p, d, v),
      children: (p: string) => mine.children(p),
      delete: (p: string, v: number) => mine.delete(p, v),
    };
    const data = Buffer.from('{"endpoint":"tcp://127.0.0.1:7710"}');
    const evil = Buffer.from('{"endpoint":"tcp://evil:1"}');
    // The window replayed: a node made with the open ACL, as the binding makes every node, then
    // the intruder changes its data and puts a forged candidate, with a child, under it.
    await intruder.create('/election', data, 'persistent');
    await intruder.set('/election', evil, -1);
    await intruder.create('/election/c-0000000000', evil, 'persistent');
    await intruder.create('/election/c-0000000000/deeper', Buffer.alloc(0), 'persistent');
    await secureCreated(primitives, '/election', data, acl);
    assert.equal((await mine.get('/election')).data.toString(), data.toString(), 'the data written back');
    assert.deepEqual(await mine.children('/election'), [], 'the forged candidate and what is under it are gone');
    await assert.rejects(intruder.set('/election', evil, -1), NoAuthError);
    await assert.rejects(intruder.create('/election/c-', evil, 'persistent_sequential'), NoAuthError);

    // The intruder set an ACL of its own first: clover's ACL is refused and the node deleted, so
    // the caller's create can be tried again on a clean path.
    await intruder.create('/grabbed', data, 'persistent');
    await locker.setAcl?.('/grabbed', 0, cloverAcl(mallory));
    await assert.rejects(secureCreated(primitives, '/grabbed', data, acl), NoAuthError);
    assert.equal(await mine.exists('/grabbed'), null, 'the grabbed node is gone');

    // A forged child locked with the intruder's own ACL, with a child under it: clover cannot
    // remove it, and says so instead of going on as if the node were its own.
    await intruder.create('/poisoned', data, 'persistent');
    await locker.create('/poisoned/c-0000000000', evil, 'persistent');
    await locker.create('/poisoned/c-0000000000/deeper', Buffer.alloc(0), 'persistent');
    await assert.rejects(
      secureCreated(primitives, '/poisoned', data, acl),
      /^Error: \/poisoned\/c-0000000000 was made by someone else while \/poisoned had no ACL yet, and cannot be removed/,
    );
  } finally {
    for (const s of sessions) await s.close();
    await server.cleanup();
  }
});

test('claimTree on a fresh ZooKeeper (no root yet) claims nothing and lives; an ephemeral under the root is left to its session', async () => {
  // It segfaulted: the npm binding's answer to get_acl on a missing node frees a NULL ACL. A
  // dispatch-server started with CLOVER_ZK_AUTH against a fresh ZooKeeper died of it (issue 19's
  // Python suite found it).
  const server = await startZooKeeper();
  const clients: ZkClient[] = [];
  try {
    const zk = createZkClient({ connect: server.connectString, sessionTimeoutMs: 4000, auth: clover });
    clients.push(zk);
    await zk.connect();
    assert.equal(await zk.claimTree('/clover'), 0, 'nothing there, nothing claimed');
    await zk.ensurePath('/clover/nodes/servers');
    await zk.create('/clover/nodes/servers/s-1', { beatAt: 1 }, 'ephemeral');
    assert.equal(await zk.claimTree('/clover'), 0, 'made by clover: already its');
    assert.ok(await zk.exists('/clover/nodes/servers/s-1'));
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await server.cleanup();
  }
});
