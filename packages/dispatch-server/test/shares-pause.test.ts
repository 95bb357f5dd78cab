import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jobInputSchema, type Job } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { cleanUp, freePort, tempDir, waitFor, type TempDir } from '@clover/testkit';
import { MemoryZkServer, cloverPaths, createZkClient, publishJobChange, type ZkClient } from '@clover/zk-kit';
import { Agent, registerDemoHandlers } from '@clover/scheduler-client';
import type { Logger } from '@clover/telemetry';
import { DispatchServer } from '../src/index.js';
import { holdEventLoop } from './harness.js';

// A server that shares the jobs out and whose process stood still (SIGSTOP, a paused VM) wakes to
// overdue timers before it hears what ZooKeeper decided meanwhile: it holds its fires until
// PartitionOwnership.confirmMember() answers (docs/architecture.md, "Fencing", layer 2).
// In-process ZooKeeper tree, real ZeroMQ, embedded store; the pause is the event loop held by a busy wait.
const zkName = `shares-pause-${process.pid}`;
const paths = cloverPaths('/clover');
const partitionCount = 16;
let dir: TempDir;
let store: Store;
const jobs: Job[] = [];
const zks: ZkClient[] = [];
const closers: Array<() => Promise<void>> = [];
const opened: { dir?: TempDir; store?: Store } = {};

async function zk(): Promise<ZkClient> {
  const c = createZkClient({ connect: `memory:${zkName}` });
  await c.connect();
  zks.push(c);
  return c;
}

interface Line {
  message: string;
  context?: Record<string, unknown>;
  /** The server's fires so far when the line was logged. */
  fired: number;
}

async function sharer(id: string, lines: Line[], z: ZkClient): Promise<DispatchServer> {
  const at = (message: string, context?: Record<string, unknown>) => void lines.push({ message, context, fired: s.stats.fired });
  const logger: Logger = { debug() {}, info: at, warn: at, error: at, child: () => logger };
  const s: DispatchServer = new DispatchServer({
    zk: z,
    paths,
    store,
    id,
    bind: `tcp://127.0.0.1:${await freePort()}`,
    shares: true,
    partitionCount,
    timings: { electionSettleMs: 500 },
    drainTimeoutMs: 1000,
    pauseLimitMs: 300,
    logger,
  });
  closers.push(() => s.close());
  await s.start();
  return s;
}

before(async () => {
  dir = opened.dir = await tempDir('clover-shares-pause-');
  store = opened.store = await openStore({ dataDir: dir.path });
  const a = registerDemoHandlers(new Agent({ zk: await zk(), paths, id: 'agent-p', capacity: 16, drainTimeoutMs: 1000 }));
  closers.push(() => a.close());
  await a.start();
  for (let i = 0; i < 8; i++) {
    const job = await store.jobs.create(
      jobInputSchema.parse({
        name: `every second ${i}`,
        schedule: { type: 'cron', expr: '* * * * * *' },
        kind: { type: 'handler', name: 'noop' },
      }),
    );
    jobs.push(job);
    await publishJobChange(zks[0]!, paths, { jobId: job.id, op: 'upsert' });
  }
});

after(() =>
  cleanUp([
    ...closers.reverse().map((c, i) => [`part ${i}`, c] as const),
    ...zks.map((c, i) => [`zk ${i}`, () => c.close()] as const),
    ['store', () => opened.store?.close()],
    ['temp dir', () => opened.dir?.cleanup()],
  ]),
);

test('a sharing server paused while its session lived holds its fires, confirms its membership with ZooKeeper, and fires on', async () => {
  const lines: Line[] = [];
  const s = await sharer('server-a', lines, await zk());
  await waitFor(() => s.ownedPartitions().length === partitionCount && s.stats.fired >= 2, {
    timeoutMs: 10_000,
    message: 'owning every partition and firing',
  });
  holdEventLoop(1200);
  await waitFor(() => lines.some((l) => l.message === 'dispatching' && l.context?.why === 'lead confirmed after a pause'), {
    timeoutMs: 5000,
    message: 'the partitions confirmed',
  });
  assert.ok(lines.some((l) => l.message.startsWith('the process stood still')));
  const fired = s.stats.fired;
  await waitFor(() => s.stats.fired >= fired + 2, { timeoutMs: 5000, message: 'firing on' });
  assert.equal(s.ownedPartitions().length, partitionCount);
  await s.close();
});

test('a sharing server paused past its session holds its overdue fires, loses its partitions, and the other server fires them; one run per slot', async () => {
  const otherLines: Line[] = [];
  const other = await sharer('server-b', otherLines, await zk());
  const lines: Line[] = [];
  const mine = await zk();
  const s = await sharer('server-c', lines, mine);
  await waitFor(() => s.ownedPartitions().length > 0 && other.ownedPartitions().length > 0 && s.stats.fired >= 2, {
    timeoutMs: 10_000,
    message: 'both servers own partitions, and server-c fires',
  });
  // ZooKeeper ends the session while the process stands still; it hears of it only after waking.
  MemoryZkServer.get(zkName).expireSession(mine.sessionId!);
  const fired = s.stats.fired;
  holdEventLoop(1500);
  const stopped = await waitFor(() => lines.find((l) => l.message === 'stopped firing'), {
    timeoutMs: 5000,
    message: 'server-c stopped firing',
  });
  assert.ok(
    lines.some((l) => l.message.startsWith('the process stood still')),
    'the overdue fires were held, not sent',
  );
  assert.equal(stopped.fired, fired, 'nothing fired between the pause and the loss of the partitions');
  assert.ok(!lines.some((l) => l.context?.why === 'lead confirmed after a pause'), 'the session that ended confirmed nothing');
  // The other server fires what server-c held (server-c may claim a share again in its new session).
  const before = new Map<string, number>();
  for (const job of jobs) before.set(job.id, (await store.runs.list({ jobId: job.id, limit: 1000 })).items.length);
  await waitFor(
    async () => {
      for (const job of jobs)
        if ((await store.runs.list({ jobId: job.id, limit: 1000 })).items.length < before.get(job.id)! + 2) return undefined;
      return true;
    },
    { timeoutMs: 20_000, message: 'every job fired on after the pause' },
  );
  for (const job of jobs) {
    const slots = (await store.runs.list({ jobId: job.id, limit: 1000 })).items.map((r) => r.scheduledAt.getTime());
    assert.equal(new Set(slots).size, slots.length, `${job.id}: one run per slot`);
  }
});
