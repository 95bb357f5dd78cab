import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jobInputSchema, type Run } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { cleanUp, freePort, startZooKeeper, tempDir, waitFor, within, type TempDir, type ZooKeeperHandle } from '@clover/testkit';
import { cloverPaths, createZkClient, publishJobChange, type ZkClient } from '@clover/zk-kit';
import { Agent, registerDemoHandlers } from '@clover/scheduler-client';
import { DispatchServer } from '../src/index.js';

// The failure ElasticJob users lose schedules to: the leader's ZooKeeper goes away for longer
// than the session timeout. clover's leader must stop firing the moment it is disconnected
// (another server may lead by now) and, once ZooKeeper is back, lead and fire again by itself.
const paths = cloverPaths('/clover');
const sessionTimeoutMs = 3000;
let zkServer: ZooKeeperHandle;
let dir: TempDir;
let store: Store;
let server: DispatchServer;
let agent: Agent;
const clients: ZkClient[] = [];
// What before() got as far as opening, for after() to close: unset where it failed first.
const opened: { zkServer?: ZooKeeperHandle; dir?: TempDir; store?: Store; server?: DispatchServer; agent?: Agent } = {};

async function zk(): Promise<ZkClient> {
  const c = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs });
  clients.push(c);
  await within(c.connect(), 20_000, 'a ZooKeeper session');
  return c;
}

before(async () => {
  zkServer = opened.zkServer = await startZooKeeper();
  dir = opened.dir = await tempDir('clover-outage-');
  store = opened.store = await openStore({ dataDir: dir.path });
  server = opened.server = new DispatchServer({
    zk: await zk(),
    paths,
    store,
    id: 'server-1',
    bind: `tcp://127.0.0.1:${await freePort()}`,
    timings: { ackTimeoutMs: 300, electionSettleMs: 1000 },
  });
  await server.start();
  agent = opened.agent = registerDemoHandlers(
    new Agent({ zk: await zk(), paths, id: 'agent-1', capacity: 8, drainTimeoutMs: 1000, heartbeatIntervalMs: 300 }),
  );
  await agent.start();
  await waitFor(() => server.isLeader, { timeoutMs: 20_000, message: 'leads' });
});

after(() =>
  cleanUp([
    ['server', () => opened.server?.close()],
    ['agent', () => opened.agent?.close()],
    ...clients.map((c, i) => [`zk ${i}`, () => c.close()] as const),
    ['store', () => opened.store?.close()],
    ['ZooKeeper', () => opened.zkServer?.cleanup()],
    ['temp dir', () => opened.dir?.cleanup()],
  ]),
);

test('ZooKeeper gone longer than the session: the leader stops firing at once, then leads and fires again by itself', async () => {
  const job = await store.jobs.create(
    jobInputSchema.parse({
      name: 'tick',
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'noop' },
      misfire: 'skip',
    }),
  );
  await publishJobChange(clients[0]!, paths, { jobId: job.id, op: 'upsert' });
  const runs = async (): Promise<Run[]> => (await store.runs.list({ jobId: job.id, limit: 1000 })).items;
  await waitFor(async () => (await runs()).filter((r) => r.status === 'succeeded').length >= 2, {
    timeoutMs: 20_000,
    message: 'fires before the outage',
  });

  const stoppedAt = Date.now();
  await zkServer.stop();
  await waitFor(() => !server.isLeader, { timeoutMs: 5000, message: 'steps down when disconnected' });
  // Longer than the session timeout: the session is gone for good.
  await new Promise((r) => setTimeout(r, sessionTimeoutMs + 2000));
  const restartedAt = Date.now();
  const duringOutage = (await runs()).filter((r) => r.scheduledAt.getTime() > stoppedAt + 1000 && r.scheduledAt.getTime() < restartedAt);
  assert.deepEqual(
    duringOutage.map((r) => r.id),
    [],
    'nothing fired while it could not know it still led',
  );

  await zkServer.start();
  await waitFor(() => server.isLeader, { timeoutMs: 30_000, message: 'leads again in a new session' });
  await waitFor(async () => (await runs()).some((r) => r.status === 'succeeded' && r.scheduledAt.getTime() > restartedAt), {
    timeoutMs: 30_000,
    message: 'fires again after the outage',
  });
  const ids = (await runs()).map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
});
