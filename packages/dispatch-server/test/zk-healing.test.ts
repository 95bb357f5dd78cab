import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jobInputSchema, type Run } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { cleanUp, freePort, startZooKeeper, tempDir, waitFor, type TempDir, type ZooKeeperHandle } from '@clover/testkit';
import { cloverPaths, createZkClient, publishJobChange, readLeader, type ZkClient } from '@clover/zk-kit';
import { Agent } from '@clover/scheduler-client';
import { DispatchServer } from '../src/index.js';

// Issue 13, "ZooKeeper's structure heals": an admin deletes /clover/election/dispatch (or the
// job change folder) from the console while one server and one agent run. A real ZooKeeper 3.8,
// real ZeroMQ, the embedded store; the deletions come from a second, plain client, as the
// console's DELETE /api/nodes/data does them (recursive).
const paths = cloverPaths('/clover');
let zkServer: ZooKeeperHandle;
let dir: TempDir;
let store: Store;
let server: DispatchServer;
let agent: Agent;
let admin: ZkClient;
const zks: ZkClient[] = [];
// What before() got as far as opening, for after() to close: unset where it failed first.
const opened: { zkServer?: ZooKeeperHandle; dir?: TempDir; store?: Store; server?: DispatchServer; agent?: Agent } = {};

async function zk(): Promise<ZkClient> {
  const c = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 5000 });
  zks.push(c);
  await c.connect();
  return c;
}

before(async () => {
  zkServer = opened.zkServer = await startZooKeeper();
  dir = opened.dir = await tempDir('clover-zk-healing-');
  store = opened.store = await openStore({ dataDir: dir.path });
  admin = await zk();
  server = opened.server = new DispatchServer({
    zk: await zk(),
    paths,
    store,
    id: 'server-1',
    bind: `tcp://127.0.0.1:${await freePort()}`,
    timings: { electionSettleMs: 1000 },
    drainTimeoutMs: 1500,
  });
  await server.start();
  await waitFor(() => server.isLeader, { timeoutMs: 20_000, message: 'server-1 leads' });
  agent = opened.agent = new Agent({ zk: await zk(), paths, id: 'agent-1', capacity: 8, drainTimeoutMs: 1000 });
  agent.register('record', () => 'ok');
  await agent.start();
});

after(() =>
  cleanUp([
    ['server', () => opened.server?.close()],
    ['agent', () => opened.agent?.close()],
    ...zks.map((c, i) => [`zk ${i}`, () => c.close()] as const),
    ['store', () => opened.store?.close()],
    ['temp dir', () => opened.dir?.cleanup()],
    ['ZooKeeper', () => opened.zkServer?.cleanup()],
  ]),
);

async function createJob(name: string) {
  const job = await store.jobs.create(
    jobInputSchema.parse({ name, schedule: { type: 'cron', expr: '* * * * * *' }, kind: { type: 'handler', name: 'record' } }),
  );
  await publishJobChange(admin, paths, { jobId: job.id, op: 'upsert' });
  return job;
}

/** Succeeded runs of the job scheduled at or after `since` (ms). */
async function succeededSince(jobId: string, since: number): Promise<Run[]> {
  return (await store.runs.list({ jobId, limit: 1000 })).items.filter((r) => r.status === 'succeeded' && r.scheduledAt.getTime() >= since);
}

test('/clover/election/dispatch deleted as the Nodes page does it: a leader is elected again, agents find it, and every-second runs keep succeeding', async () => {
  const job = await createJob('every-second');
  await waitFor(async () => (await succeededSince(job.id, 0)).length >= 2, {
    timeoutMs: 20_000,
    message: 'runs succeed before the deletion',
  });

  await admin.delete(paths.electionDispatch, { recursive: true });
  const deletedAt = Date.now();
  // Slots after the deletion still run to success: dispatch did not stop until a restart.
  await waitFor(async () => (await succeededSince(job.id, deletedAt + 1000)).length >= 3, {
    timeoutMs: 30_000,
    message: 'three runs after the deletion succeed',
  });
  assert.equal(server.isLeader, true);
  const leader = await readLeader(admin, paths.electionDispatch);
  assert.equal(leader?.id, 'server-1', 'the election folder and the candidate are back');
  assert.equal((await admin.children(paths.electionDispatch)).length, 1, 'one candidate');
  await store.jobs.setEnabled(job.id, false);
  await publishJobChange(admin, paths, { jobId: job.id, op: 'upsert' });
});

test('/clover/jobs/changes deleted: a job created afterwards still reaches the leader and fires', async () => {
  await admin.delete(paths.jobChanges, { recursive: true });
  const deletedAt = Date.now();
  const job = await createJob('after-the-feed-went');
  await waitFor(async () => (await succeededSince(job.id, deletedAt)).length >= 2, { timeoutMs: 30_000, message: 'the new job fires' });
});

test('/clover/jobs/changes deleted before the leader read a change: the feed resets and the leader reloads its jobs, so a job whose change was lost still fires', async () => {
  // Written to the store, its change never read: what a change left in the deleted folder is.
  const job = await store.jobs.create(
    jobInputSchema.parse({
      name: 'change-lost',
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'record' },
    }),
  );
  const since = Date.now();
  await admin.delete(paths.jobChanges, { recursive: true });
  await waitFor(async () => (await succeededSince(job.id, since)).length >= 2, {
    timeoutMs: 30_000,
    message: 'the job whose change was lost fires after the reload',
  });
});
