import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanUp, startZooKeeper, waitFor, within, type ZooKeeperHandle } from '@clover/testkit';
import { cloverPaths, createZkClient, MemoryZkServer, type WatchEvent, type ZkClient } from '@clover/zk-kit';
import { Heartbeat, type HeartbeatData } from '../src/index.js';

let n = 0;
function suite(name: string, connect: () => Promise<string>) {
  describe(`heartbeat on ${name}`, () => {
    const clients: ZkClient[] = [];
    const client = async () => {
      const zk = createZkClient({ connect: await connect(), sessionTimeoutMs: 4000 });
      clients.push(zk);
      await within(zk.connect(), 20_000, `a ZooKeeper session on ${name}`);
      return zk;
    };
    after(() => cleanUp(clients.map((c, i) => [`zk ${i}`, () => c.close()] as const)));

    test('registers, advances the beat, comes back after deletion, leaves cleanly on close', async (t) => {
      const paths = cloverPaths(`/hb${process.pid}x${++n}`);
      const zk = await client();
      const other = await client();
      let fake = 1_000;
      const hb = new Heartbeat({
        zk,
        paths,
        kind: 'clients',
        id: 'agent-1',
        version: '1.2.3',
        endpoint: 'tcp://h:1',
        intervalMs: 50,
        clock: () => fake,
        info: () => ({ running: 2, groups: ['g'] }),
      });
      await hb.start();
      // Its beat timer keeps the file alive: closed however the test ends (close is idempotent).
      t.after(() => hb.close());
      const first = (await other.get<HeartbeatData>(hb.path))!;
      assert.equal(first.data.id, 'agent-1');
      assert.equal(first.data.kind, 'clients');
      assert.equal(first.data.running, 2);
      assert.deepEqual(first.data.groups, ['g']);
      assert.equal(first.data.status, 'up');
      assert.equal(first.data.pid, process.pid);
      assert.notEqual(first.stat.ephemeralOwner, '0');
      fake = 5_000;
      const later = await waitFor(
        async () => {
          const d = (await other.get<HeartbeatData>(hb.path))?.data;
          return d && d.seq > first.data.seq && d.beatAt === 5_000 ? d : undefined;
        },
        { message: 'beat advances' },
      );
      assert.equal(later.startedAt, 1_000);

      await other.delete(hb.path);
      await waitFor(() => other.exists(hb.path), { message: 're-registered after deletion by another session' });

      const events: WatchEvent[] = [];
      const seenData: HeartbeatData[] = [];
      await other.watch(hb.path, (e) => {
        events.push(e);
        if (e.type === 'data') void other.get<HeartbeatData>(hb.path).then((d) => d && seenData.push(d.data));
      }).ready;
      await hb.close();
      await hb.close();
      assert.equal(await other.exists(hb.path), null);
      await waitFor(() => events.some((e) => e.type === 'deleted'), { message: 'deleted' });
    });

    test('self-healing: its kind folder, the whole root, garbage data or a persistent impostor are all undone by the heartbeat itself', async (t) => {
      const paths = cloverPaths(`/hb${process.pid}x${++n}`);
      const zk = await client();
      const other = await client();
      // A long interval: every repair below comes from the watch, not from the next timed beat.
      const hb = new Heartbeat({ zk, paths, kind: 'clients', id: 'agent-h', version: '1.0.0', intervalMs: 3_600_000 });
      await hb.start();
      t.after(() => hb.close());
      const isOurs = async () => {
        // An empty znode reads as null data.
        const node = await other.get<HeartbeatData | null>(hb.path).catch(() => null);
        const data = node?.data;
        return node && data?.id === 'agent-h' && node.stat.ephemeralOwner !== '0' ? { ...node, data } : undefined;
      };

      await other.delete(paths.nodesOf('clients'), { recursive: true });
      const afterFolder = await waitFor(isOurs, { message: 'heartbeat back after its kind folder was deleted' });
      assert.equal(afterFolder.data.status, 'up');

      await other.delete(paths.root, { recursive: true });
      await waitFor(isOurs, { message: 'heartbeat back after the whole root was deleted' });

      await other.setRaw(hb.path, Buffer.from('not json at all'));
      const healed = await waitFor(isOurs, { message: 'garbage overwritten with the heartbeat' });
      assert.equal(healed.data.kind, 'clients');

      await other.delete(hb.path);
      await other.create(hb.path, { id: 'impostor' }, 'persistent');
      const back = await waitFor(isOurs, { message: 'a persistent impostor replaced by our ephemeral' });
      assert.notEqual(back.stat.ephemeralOwner, '0');
    });
  });
}

suite('the in-process tree', () => Promise.resolve('memory:heartbeat'));

// A CI run under load (12-01): the kind folder deleted, and the heartbeat not back within 10 s.
// Its client was cut off when the deletion's event came; the beat that event asked for found no
// connection and did nothing, and nothing asked again until the next timed beat (an hour here).
test('heartbeat: a deletion heard while cut off is healed once the connection is back, not at the next timed beat', async () => {
  const name = `heartbeat-cutoff-${process.pid}`;
  const paths = cloverPaths('/clover');
  const zk = createZkClient({ connect: `memory:${name}` });
  const other = createZkClient({ connect: `memory:${name}` });
  const hb = new Heartbeat({ zk, paths, kind: 'servers', id: 'server-c', version: '1.0.0', intervalMs: 3_600_000 });
  try {
    await zk.connect();
    await other.connect();
    await hb.start();
    assert.ok(await other.exists(hb.path));
    const cut = new Promise<void>((resolve) => {
      const off = zk.onState((state) => {
        if (state !== 'disconnected') return;
        off();
        resolve();
      });
    });
    MemoryZkServer.get(name).interruptSession(zk.sessionId!, 500);
    await cut;
    await other.delete(hb.path);
    await waitFor(() => zk.state === 'connected', { message: 'connected again' });
    await waitFor(() => other.exists(hb.path), { timeoutMs: 5000, message: 'the heartbeat znode back' });
  } finally {
    await cleanUp([
      ['heartbeat', () => hb.close()],
      ['zk', () => zk.close()],
      ['other', () => other.close()],
    ]);
  }
});

let server: ZooKeeperHandle | null = null;
suite('ZooKeeper 3.8', async () => {
  server ??= await startZooKeeper();
  return server.connectString;
});
after(async () => server?.cleanup());
