import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CleanupError } from '@clover/lifecycle';
import { openStore, type Store } from '@clover/store';
import { cleanUp, freePort, startZooKeeper, tempDir, waitFor, within, type TempDir, type ZooKeeperHandle } from '@clover/testkit';
import { cloverPaths, createZkClient, type ZkClient } from '@clover/zk-kit';
import { DispatchServer } from '../src/index.js';
import { recordingLogger } from '@clover/telemetry';

// The close rule on a real ZooKeeper: a second close() while the first drains is the same
// promise and waits for it; it used to return at once, while the server still led and beat.
const paths = cloverPaths('/clover');
let zkServer: ZooKeeperHandle;
let dir: TempDir;
let store: Store;
const zks: ZkClient[] = [];
// What before() got as far as opening, for after() to close: unset where it failed first.
const opened: { zkServer?: ZooKeeperHandle; dir?: TempDir; store?: Store; server?: DispatchServer; failing?: DispatchServer } = {};

async function zk(): Promise<ZkClient> {
  const c = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 5000 });
  zks.push(c);
  await within(c.connect(), 20_000, 'a ZooKeeper session');
  return c;
}

before(async () => {
  zkServer = opened.zkServer = await startZooKeeper();
  dir = opened.dir = await tempDir('clover-close-');
  store = opened.store = await openStore({ dataDir: dir.path });
});

after(() =>
  cleanUp([
    ['server', () => opened.server?.close()],
    // Its close() fails by design (the second test); closed all the same.
    ['failing server', () => opened.failing?.close().catch(() => undefined)],
    ...zks.map((c, i) => [`zk ${i}`, () => c.close()] as const),
    ['store', () => opened.store?.close()],
    ['temp dir', () => opened.dir?.cleanup()],
    ['ZooKeeper', () => opened.zkServer?.cleanup()],
  ]),
);

test('a second close() while the first drains is the same promise, and resolves only once the drain is over; a later close() resolves too', async () => {
  const admin = await zk();
  const logger = recordingLogger();
  const logged = () => logger.records.map((r) => r.message);
  const server = (opened.server = new DispatchServer({
    zk: await zk(),
    paths,
    store,
    id: 'server-1',
    bind: `tcp://127.0.0.1:${await freePort()}`,
    logger,
    timings: { electionSettleMs: 200 },
    drainTimeoutMs: 1000,
  }));
  await server.start();
  await waitFor(() => server.isLeader, { timeoutMs: 20_000, message: 'server-1 leads' });
  const beat = paths.node('servers', 'server-1');
  assert.notEqual(await admin.exists(beat), null, 'its heartbeat znode is there');
  assert.equal((await admin.children(paths.electionDispatch)).length, 1, 'it stands in the election');

  const first = server.close();
  const second = server.close();
  assert.equal(second, first, 'one drain, one promise');
  // What the second caller sees the moment it goes on: the drain over, its last word logged.
  let stoppedWhenSecondResolved = false;
  await Promise.all([first, second.then(() => (stoppedWhenSecondResolved = logged().includes('dispatch-server stopped')))]);
  assert.ok(stoppedWhenSecondResolved, 'the drain had finished when the second close() resolved');
  assert.equal(await admin.exists(beat), null, 'the heartbeat znode is gone');
  assert.deepEqual(await admin.children(paths.electionDispatch), [], 'the election is left');
  assert.equal(server.isLeader, false);

  await within(server.close(), 1000, 'a close() called again later');
  assert.equal(logged().filter((m) => m === 'dispatch-server stopped').length, 1, 'drained once');
});

test('a drain step that throws does not stop the ones after it: close() rejects naming it, once all ran', async () => {
  const admin = await zk();
  const logger = recordingLogger();
  const errors = () => logger.records.filter((r) => r.level === 'error');
  // The agent registry's watch (an early step of the drain) throws when it is stopped.
  const real = await zk();
  const clientsDir = paths.nodesOf('clients');
  const zkWithBadWatch = new Proxy(real, {
    get(target, prop) {
      if (prop === 'watch') {
        return (path: string, cb: Parameters<ZkClient['watch']>[1]) => {
          const stop = target.watch(path, cb);
          if (path !== clientsDir) return stop;
          return () => {
            stop();
            throw new Error('the watch would not stop');
          };
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
  const server = (opened.failing = new DispatchServer({
    zk: zkWithBadWatch,
    paths,
    store,
    id: 'server-2',
    bind: `tcp://127.0.0.1:${await freePort()}`,
    logger,
    timings: { electionSettleMs: 200 },
    drainTimeoutMs: 1000,
  }));
  await server.start();
  await waitFor(() => server.isLeader, { timeoutMs: 20_000, message: 'server-2 leads' });
  const beat = paths.node('servers', 'server-2');
  assert.notEqual(await admin.exists(beat), null);

  const first = server.close();
  assert.equal(server.close(), first);
  const err = await first.then(
    () => assert.fail('close() resolved although a step failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof CleanupError, String(err));
  assert.deepEqual(
    err.failed.map((f) => f.name),
    ['agent registry watch'],
  );
  assert.equal(await admin.exists(beat), null, 'the heartbeat, a later step, still closed');
  assert.equal(errors().length, 1);
  assert.deepEqual(
    (errors()[0]?.fields.failed as Array<{ step: string }>).map((f) => f.step),
    ['agent registry watch'],
    'the failure logged by step name',
  );
  await assert.rejects(server.close(), CleanupError, 'a later close() gives the same answer');
});
