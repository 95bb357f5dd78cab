import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { cleanUp, waitFor } from '@clover/testkit';
import {
  BadVersionError,
  ConnectionLossError,
  InvalidDataError,
  JobChangeFeed,
  LeaderElection,
  NodeExistsError,
  NodeRegistry,
  NotEmptyError,
  cloverPaths,
  publishJobChange,
  readLeader,
  type JobChange,
  type WatchEvent,
  type ZkClient,
} from '../src/index.js';
import { gatedClient } from './gated-client.js';
import { healingContract } from './healing.js';

export interface Backend {
  /** A new connected client of the backend. */
  client(): Promise<ZkClient>;
  /** Ends a client's session the way a server would after its timeout. */
  expire(client: ZkClient): Promise<void>;
}

let counter = 0;
/** A fresh root per test so tests never see each other's nodes. */
const freshRoot = () => `/t${process.pid}x${++counter}`;

export function zkContract(name: string, makeBackend: () => Promise<Backend & { cleanup(): Promise<void> }>): void {
  describe(`zk-kit contract: ${name}`, () => {
    let backend: Backend & { cleanup(): Promise<void> };
    /** Set once before() has a backend: after() takes down only what came up. */
    let cleanupBackend: (() => Promise<void>) | undefined;
    const clients: ZkClient[] = [];
    const client = async () => {
      const c = await backend.client();
      clients.push(c);
      return c;
    };
    before(async () => {
      backend = await makeBackend();
      cleanupBackend = () => backend.cleanup();
    });
    // Every client closes and the backend (a real ZooKeeper process) goes, past any failure.
    after(() => cleanUp([...clients.map((c, i) => [`client ${i}`, () => c.close()] as const), ['backend', () => cleanupBackend?.()]]));

    test('CRUD on JSON znodes with schema checks and stats', async () => {
      const zk = await client();
      const root = freshRoot();
      await zk.ensurePath(`${root}/a/b`);
      assert.ok(await zk.exists(`${root}/a/b`));
      const p = await zk.create(`${root}/a/b/n`, { x: 1 });
      assert.equal(p, `${root}/a/b/n`);
      const got = await zk.get(`${root}/a/b/n`, z.object({ x: z.number() }));
      assert.deepEqual(got?.data, { x: 1 });
      assert.equal(got.stat.version, 0);
      assert.equal(got.stat.ephemeralOwner, '0');
      await assert.rejects(zk.get(`${root}/a/b/n`, z.object({ x: z.string() })), InvalidDataError);
      const stat = await zk.set(`${root}/a/b/n`, { x: 2 });
      assert.equal(stat.version, 1);
      assert.deepEqual((await zk.get(`${root}/a/b/n`))?.data, { x: 2 });
      assert.deepEqual(await zk.children(`${root}/a/b`), ['n']);
      await assert.rejects(zk.create(`${root}/a/b/n`, {}), NodeExistsError);
      await assert.rejects(zk.delete(`${root}/a`), NotEmptyError);
      await zk.delete(`${root}/a/b/n`);
      assert.equal(await zk.get(`${root}/a/b/n`), null);
      assert.equal(await zk.exists(`${root}/a/b/n`), null);
      await zk.delete(root, { recursive: true });
      assert.equal(await zk.exists(root), null);
    });

    test('a closed client rejects every call; none throws at the call site', async () => {
      const zk = await backend.client();
      await zk.close();
      const calls: Array<() => Promise<unknown>> = [
        () => zk.exists('/x'),
        () => zk.children('/x'),
        () => zk.get('/x'),
        () => zk.set('/x', 1),
        () => zk.create('/x', 1),
        () => zk.delete('/x'),
        () => zk.ensurePath('/x/y'),
      ];
      for (const call of calls) {
        let pending: Promise<unknown> | undefined;
        assert.doesNotThrow(() => {
          pending = call();
        });
        await assert.rejects(pending!, ConnectionLossError);
      }
    });

    test('a write with a stale version is a typed conflict', async () => {
      const zk = await client();
      const root = freshRoot();
      await zk.ensurePath(root);
      await zk.create(`${root}/v`, { n: 0 });
      await zk.set(`${root}/v`, { n: 1 }, 0);
      await assert.rejects(zk.set(`${root}/v`, { n: 2 }, 0), BadVersionError);
      await assert.rejects(zk.delete(`${root}/v`, { version: 0 }), BadVersionError);
      await zk.delete(`${root}/v`, { version: 1 });
    });

    test('sequential nodes get increasing 10-digit suffixes', async () => {
      const zk = await client();
      const root = freshRoot();
      await zk.ensurePath(root);
      const a = await zk.create(`${root}/s-`, null, 'persistent_sequential');
      const b = await zk.create(`${root}/s-`, null, 'persistent_sequential');
      assert.match(a, /\/s-\d{10}$/);
      assert.ok(Number(b.slice(-10)) > Number(a.slice(-10)));
    });

    test('ephemerals go when their session closes, and another session sees it', async () => {
      const owner = await client();
      const other = await client();
      const root = freshRoot();
      await owner.ensurePath(root);
      await owner.create(`${root}/e`, { me: 1 }, 'ephemeral');
      // The owner is the creating session's id, as ZkClient.sessionId spells it: recipes tell their
      // own znodes from another session's under the same name by it (ownEphemeral).
      assert.equal((await other.exists(`${root}/e`))?.ephemeralOwner, owner.sessionId);
      assert.notEqual(owner.sessionId, other.sessionId);
      const events: WatchEvent[] = [];
      await other.watch(`${root}/e`, (e) => events.push(e)).ready;
      await owner.close();
      await waitFor(async () => (await other.exists(`${root}/e`)) === null, { message: 'ephemeral gone' });
      await waitFor(() => events.some((e) => e.type === 'deleted'), { message: 'deleted event' });
    });

    test('persistent watches fire for data, children, deletion and creation, again and again', async () => {
      const zk = await client();
      const writer = await client();
      const root = freshRoot();
      await zk.ensurePath(`${root}/w`);
      const events: WatchEvent[] = [];
      await zk.watch(`${root}/w`, (e) => events.push(e)).ready;
      await writer.set(`${root}/w`, { n: 1 });
      await waitFor(() => events.some((e) => e.type === 'data'), { message: 'data event' });
      await writer.set(`${root}/w`, { n: 'again' });
      await waitFor(() => events.filter((e) => e.type === 'data').length >= 2, { message: 'second data event (re-armed)' });
      await writer.create(`${root}/w/c1`);
      await waitFor(() => events.some((e) => e.type === 'children'), { message: 'children event' });
      await writer.create(`${root}/w/c2`);
      await waitFor(() => events.filter((e) => e.type === 'children').length >= 2, { message: 'second children event' });
      await writer.delete(`${root}/w`, { recursive: true });
      await waitFor(() => events.some((e) => e.type === 'deleted'), { message: 'deleted event' });
      await writer.create(`${root}/w`);
      await waitFor(() => events.some((e) => e.type === 'created'), { message: 'created event' });
    });

    test('a watch without children fires for data, deletion and creation, again and again', async () => {
      const zk = await client();
      const writer = await client();
      const root = freshRoot();
      await zk.ensurePath(`${root}/leaf`);
      const events: WatchEvent[] = [];
      await zk.watch(`${root}/leaf`, (e) => events.push(e), { children: false }).ready;
      await writer.set(`${root}/leaf`, { n: 1 });
      await waitFor(() => events.some((e) => e.type === 'data'), { message: 'data event' });
      await writer.set(`${root}/leaf`, { n: 2 });
      await waitFor(() => events.filter((e) => e.type === 'data').length >= 2, { message: 'second data event (re-armed)' });
      await writer.delete(`${root}/leaf`);
      await waitFor(() => events.some((e) => e.type === 'deleted'), { message: 'deleted event' });
      await writer.create(`${root}/leaf`);
      await waitFor(() => events.some((e) => e.type === 'created'), { message: 'created event' });
      await writer.set(`${root}/leaf`, { n: 3 });
      await waitFor(() => events.filter((e) => e.type === 'data').length >= 3, { message: 'data event after re-creation' });
    });

    test('a watch that keeps the data: watchedData is what it read when it last armed, re-read at each change, null once deleted', async () => {
      const zk = await client();
      const writer = await client();
      const root = freshRoot();
      const leaf = `${root}/kept`;
      await zk.ensurePath(root);
      assert.equal(zk.watchedData(leaf), undefined, 'no watch: not known');
      const events: WatchEvent[] = [];
      await zk.watch(leaf, (e) => events.push(e), { children: false, data: true }).ready;
      assert.equal(zk.watchedData(leaf), null, 'absent at the read');
      await writer.create(leaf, { n: 1 });
      await waitFor(() => events.some((e) => e.type === 'created'), { message: 'created event' });
      // Created: heard through exists, whose watch then reads the data at the next change.
      await writer.set(leaf, { n: 2 });
      await waitFor(() => zk.watchedData(leaf)?.data.toString() === JSON.stringify({ n: 2 }) || undefined, {
        message: 'data read at the change',
      });
      const version = zk.watchedData(leaf)!.stat.version;
      await writer.set(leaf, { n: 3 });
      await waitFor(() => zk.watchedData(leaf)?.data.toString() === JSON.stringify({ n: 3 }) || undefined, {
        message: 'read again at the next',
      });
      assert.equal(zk.watchedData(leaf)!.stat.version, version + 1);
      await writer.delete(leaf);
      await waitFor(() => zk.watchedData(leaf) === null || undefined, { message: 'null once deleted' });
    });

    test('after session expiry: a new session, ephemerals back, watches still firing', async () => {
      const zk = await client();
      const writer = await client();
      const root = freshRoot();
      await zk.ensurePath(root);
      await zk.create(`${root}/mine`, { v: 1 }, 'ephemeral');
      await zk.set(`${root}/mine`, { v: 2 });
      const events: WatchEvent[] = [];
      await zk.watch(root, (e) => events.push(e)).ready;
      const states: string[] = [];
      zk.onState((s) => states.push(s));
      const oldSession = zk.sessionId;
      await backend.expire(zk);
      await waitFor(() => states.includes('expired'), { timeoutMs: 30_000, message: 'expired state' });
      await waitFor(() => zk.state === 'connected' && zk.sessionId !== oldSession, { timeoutMs: 30_000, message: 'new session' });
      const mine = await waitFor(() => writer.get(`${root}/mine`), { message: 'ephemeral re-created' });
      assert.deepEqual(mine.data, { v: 2 });
      assert.notEqual(mine.stat.ephemeralOwner, '0');
      events.length = 0;
      await writer.create(`${root}/after`);
      await waitFor(() => events.some((e) => e.type === 'children'), { message: 'watch fires after expiry' });
    });

    test('leader election: exactly one leader, hand-over when the leader session ends', async () => {
      const root = freshRoot();
      const path = `${root}/election`;
      const zks = [await client(), await client(), await client()];
      const elections = zks.map((zk, i) => new LeaderElection(zk, { path, id: `n${i}`, data: { endpoint: `tcp://x:${i}` } }));
      let maxLeaders = 0;
      const sample = setInterval(() => {
        maxLeaders = Math.max(maxLeaders, elections.filter((e) => e.isLeader).length);
      }, 5);
      try {
        for (const e of elections) await e.start();
        await waitFor(() => elections.filter((e) => e.isLeader).length === 1, { message: 'one leader' });
        const first = elections.findIndex((e) => e.isLeader);
        assert.equal(first, 0, 'the first candidate leads');
        await zks[0]!.close();
        await waitFor(() => elections[1]!.isLeader, { timeoutMs: 30_000, message: 'second candidate leads' });
        assert.equal(elections[2]!.isLeader, false);
        await elections[1]!.close();
        await waitFor(() => elections[2]!.isLeader, { timeoutMs: 30_000, message: 'third candidate leads' });
        assert.equal(maxLeaders, 1, 'never two leaders at once');
      } finally {
        clearInterval(sample);
        for (const e of elections) await e.close();
      }
    });

    // The scheduler-client suite's "another leader" wait timed out once in CI: a candidate that
    // checked its predecessor before its watch on it was armed never heard it go (a watch learns a
    // node's state when it arms and reports only changes after that).
    test('leader election: a predecessor that goes while the watch on it is still arming is not missed', async () => {
      const root = freshRoot();
      const path = `${root}/election`;
      const [za, zb] = [await client(), await client()];
      // zb's watch on its predecessor arms only when the gate opens, as a slow round trip would have it.
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let armsAsked = 0;
      const gated = new Proxy(zb, {
        get(target, prop, receiver) {
          if (prop !== 'watch') return Reflect.get(target, prop, receiver) as unknown;
          return (p: string, listener: Parameters<ZkClient['watch']>[1]) => {
            // The first is b's watch on its own znode, which arms at once.
            if (++armsAsked === 1) return target.watch(p, listener);
            let off: ReturnType<ZkClient['watch']> | null = null;
            let stopped = false;
            const ready = gate.then(() => {
              if (stopped) return;
              off = target.watch(p, listener);
              return off.ready;
            });
            return Object.assign(
              () => {
                stopped = true;
                off?.();
              },
              { ready },
            );
          };
        },
      });
      const a = new LeaderElection(za, { path, id: 'a', data: {} });
      const b = new LeaderElection(gated, { path, id: 'b', data: {} });
      try {
        await a.start();
        const started = b.start();
        // b has entered and asked for its watches (its own znode's, then a's): a goes now.
        await waitFor(() => armsAsked >= 2 || undefined, { message: 'b to watch its predecessor' });
        await a.close();
        open();
        await started;
        await waitFor(() => b.isLeader || undefined, { timeoutMs: 10_000, message: 'b to lead once a is gone' });
      } finally {
        open();
        await a.close();
        await b.close();
      }
    });

    // CI of 2026-12-01: the healing test "leader and a follower" timed out with one candidate left.
    // A re-created election folder numbers its candidates from 0 again, so the follower, entering
    // first, was given the leader's old name; the leader found a znode there, took it for its
    // own, wrote its data over the follower's, and both led.
    test("leader election: another candidate given this one's old name in a re-created folder is not taken for its own", async () => {
      const root = freshRoot();
      const path = `${root}/election`;
      const [za, zb, raw] = [await client(), await client(), await client()];
      // a's looks at its own candidate wait at the gate while the folder is made anew under it.
      const gated = gatedClient(za, 'exists');
      const a = new LeaderElection(gated.client, { path, id: 'a', data: {} });
      const b = new LeaderElection(zb, { path, id: 'b', data: {} });
      let maxLeaders = 0;
      const sample = setInterval(() => (maxLeaders = Math.max(maxLeaders, [a, b].filter((e) => e.isLeader).length)), 2);
      try {
        await a.start();
        await b.start();
        await waitFor(() => a.isLeader || undefined, { message: 'a leads' });
        const oldName = a.candidatePath;
        gated.hold();
        await raw.delete(path, { recursive: true });
        // b enters the new folder first and is given a's old name.
        await waitFor(
          async () => {
            const names = await raw.children(path).catch(() => []);
            return names.length === 1 && `${path}/${names[0]}` === oldName && b.candidatePath === oldName && b.isLeader ? true : undefined;
          },
          { message: "b's candidate under a's old name, leading" },
        );
        gated.open();
        await waitFor(async () => ((await raw.children(path)).length === 2 ? true : undefined), { message: 'a enters again beside b' });
        await waitFor(() => (b.isLeader && !a.isLeader && a.candidatePath !== oldName) || undefined, {
          message: 'b leads, a follows under a new name',
        });
        assert.equal((await raw.get(oldName!, z.object({ id: z.string() })))?.data.id, 'b', "b's candidate keeps b's data");
        assert.equal((await readLeader(raw, path))?.id, 'b');
        assert.equal(maxLeaders, 1, 'never two leaders at once');
      } finally {
        clearInterval(sample);
        gated.open();
        await a.close();
        await b.close();
      }
    });

    test('an expired leader revokes at once and re-enters the election', async () => {
      const root = freshRoot();
      const path = `${root}/election`;
      const a = await client();
      const b = await client();
      const ea = new LeaderElection(a, { path, id: 'a' });
      const eb = new LeaderElection(b, { path, id: 'b' });
      const seen: string[] = [];
      ea.on('elected', () => seen.push('elected')).on('revoked', () => seen.push('revoked'));
      await ea.start();
      await eb.start();
      await waitFor(() => ea.isLeader, { message: 'a leads' });
      await backend.expire(a);
      await waitFor(() => seen.includes('revoked'), { timeoutMs: 30_000, message: 'a revoked' });
      await waitFor(() => eb.isLeader, { timeoutMs: 30_000, message: 'b leads' });
      // a is back as a candidate in its new session.
      await waitFor(async () => (await b.children(path)).length === 2, { timeoutMs: 30_000, message: 'a re-entered' });
      assert.equal(ea.isLeader, false);
      await ea.close();
      await eb.close();
    });

    test('registry lists and watches nodes', async () => {
      const zk = await client();
      const paths = cloverPaths(freshRoot());
      const registry = new NodeRegistry(zk, paths);
      assert.deepEqual(await registry.list('clients'), []);
      const seen: string[][] = [];
      const stop = registry.watch('clients', (nodes) => seen.push(nodes.map((n) => n.id)));
      await zk.ensurePath(paths.nodesOf('clients'));
      await zk.create(paths.node('clients', 'a1'), { id: 'a1', beatAt: 1 }, 'ephemeral');
      await zk.create(paths.node('clients', 'a2'), { id: 'a2', beatAt: 1 }, 'ephemeral');
      const list = await registry.list('clients');
      assert.deepEqual(
        list.map((n) => n.id),
        ['a1', 'a2'],
      );
      assert.equal(list[0]!.data.beatAt, 1);
      await waitFor(() => seen.some((ids) => ids.join() === 'a1,a2'), { message: 'watch lists both' });
      await zk.delete(paths.node('clients', 'a1'));
      await waitFor(() => seen.at(-1)?.join() === 'a2', { message: 'watch sees a1 leave' });
      stop();
    });

    // CI of 2026-12-01: the monitor declared a hung node 'vanished' (its session had 30 s to run):
    // a read of the list that failed left nodes out, and whoever reads the list takes a node left
    // out for a node dead (the monitor mails it dead; a dispatch-server loses its agent's runs).
    test('registry: a failed read lists no one as gone; the watch reads again and says nothing meanwhile; garbled data still lists the node', async () => {
      const zk = await client();
      const paths = cloverPaths(freshRoot());
      await zk.ensurePath(paths.nodesOf('clients'));
      for (const id of ['a1', 'a2']) await zk.create(paths.node('clients', id), { id, beatAt: 1 }, 'ephemeral');
      // Reads of a2 fail with a lost connection while `failing` is set; a1's go through.
      let failing = true;
      const flaky = new Proxy(zk, {
        get(target, prop, receiver) {
          if (prop !== 'get') return Reflect.get(target, prop, receiver) as unknown;
          return (path: string) => (failing && path.endsWith('/a2') ? Promise.reject(new ConnectionLossError(path)) : target.get(path));
        },
      });
      const registry = new NodeRegistry(flaky, paths);
      await assert.rejects(registry.list('clients'), ConnectionLossError);
      const seen: string[][] = [];
      const stop = registry.watch('clients', (nodes) => seen.push(nodes.map((n) => n.id)));
      try {
        // Several retries' worth of failing reads: nothing is said, certainly not a list without a2.
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(seen.length, 0, `nothing said while a2 cannot be read: ${JSON.stringify(seen)}`);
        failing = false;
        await waitFor(() => seen.at(-1)?.join() === 'a1,a2' || undefined, { message: 'the whole list once a2 reads again' });
        await zk.setRaw(paths.node('clients', 'a2'), Buffer.from('not json'));
        const list = await registry.list('clients');
        assert.deepEqual(
          list.map((n) => [n.id, n.data]),
          [
            ['a1', { id: 'a1', beatAt: 1 }],
            ['a2', {}],
          ],
        );
        await new Promise((r) => setTimeout(r, 300));
        assert.ok(
          seen.every((ids) => ids.includes('a2')),
          `never listed without a2: ${JSON.stringify(seen)}`,
        );
      } finally {
        stop();
      }
    });

    test('job change feed delivers each change once, in order, from start on', async () => {
      const writer = await client();
      const reader = await client();
      const paths = cloverPaths(freshRoot());
      await publishJobChange(writer, paths, { jobId: 'before', op: 'upsert' });
      const got: JobChange[] = [];
      const feed = new JobChangeFeed(reader, paths, { onChange: (c) => got.push(c) });
      await feed.start();
      for (let i = 0; i < 20; i++) await publishJobChange(writer, paths, { jobId: `j${i}`, op: i % 2 ? 'upsert' : 'trigger' });
      await waitFor(() => got.length >= 20, { message: '20 changes' });
      assert.deepEqual(
        got.map((c) => c.jobId),
        Array.from({ length: 20 }, (_, i) => `j${i}`),
      );
      assert.equal(got[0]!.op, 'trigger');
      await feed.close();
    });

    healingContract(client, freshRoot);
  });
}
