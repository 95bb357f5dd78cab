import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jobInputSchema } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { cleanUp, freePort, tempDir, waitFor, type TempDir } from '@clover/testkit';
import { MemoryZkServer, cloverPaths, createZkClient, publishJobChange, type ZkClient } from '@clover/zk-kit';
import { Agent, registerDemoHandlers } from '@clover/scheduler-client';
import type { Logger } from '@clover/telemetry';
import { DispatchServer } from '../src/index.js';
import { holdEventLoop } from './harness.js';

// A leader whose process stood still (SIGSTOP, a paused VM) wakes to overdue timers before it
// hears what ZooKeeper decided meanwhile. In-process ZooKeeper tree, real ZeroMQ, embedded store;
// the pause is the event loop held by a busy wait.
const zkName = `pause-${process.pid}`;
const paths = cloverPaths('/clover');
let dir: TempDir;
let store: Store;
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
  level: string;
  message: string;
  context?: Record<string, unknown>;
}
function recorder(lines: Line[]): Logger {
  const at = (level: string) => (message: string, context?: Record<string, unknown>) => void lines.push({ level, message, context });
  const logger: Logger = { debug() {}, info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

async function leader(id: string, lines: Line[], z: ZkClient): Promise<DispatchServer> {
  const s = new DispatchServer({
    zk: z,
    paths,
    store,
    id,
    bind: `tcp://127.0.0.1:${await freePort()}`,
    timings: { electionSettleMs: 500 },
    drainTimeoutMs: 1000,
    pauseLimitMs: 300,
    logger: recorder(lines),
  });
  closers.push(() => s.close());
  await s.start();
  return s;
}

before(async () => {
  dir = opened.dir = await tempDir('clover-pause-');
  store = opened.store = await openStore({ dataDir: dir.path });
  const a = registerDemoHandlers(new Agent({ zk: await zk(), paths, id: 'agent-p', capacity: 8, drainTimeoutMs: 1000 }));
  closers.push(() => a.close());
  await a.start();
  const job = await store.jobs.create(
    jobInputSchema.parse({
      name: 'every second',
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'noop' },
    }),
  );
  await publishJobChange(zks[0]!, paths, { jobId: job.id, op: 'upsert' });
});

after(() =>
  cleanUp([
    ...closers.reverse().map((c, i) => [`part ${i}`, c] as const),
    ...zks.map((c, i) => [`zk ${i}`, () => c.close()] as const),
    ['store', () => opened.store?.close()],
    ['temp dir', () => opened.dir?.cleanup()],
  ]),
);

test('a leader paused while its session lived holds its fires, confirms the lead with ZooKeeper, and fires on', async () => {
  const lines: Line[] = [];
  const s = await leader('server-a', lines, await zk());
  await waitFor(() => s.isLeader && s.stats.fired >= 2, { timeoutMs: 10_000, message: 'leading and firing' });
  holdEventLoop(1200);
  await waitFor(() => lines.some((l) => l.message === 'dispatching' && l.context?.why === 'lead confirmed after a pause'), {
    timeoutMs: 5000,
    message: 'the lead confirmed',
  });
  assert.ok(lines.some((l) => l.message.startsWith('the process stood still')));
  const fired = s.stats.fired;
  await waitFor(() => s.stats.fired >= fired + 2, { timeoutMs: 5000, message: 'firing on' });
  assert.ok(s.isLeader);
  await s.close();
});

test('a leader paused past its session wakes, holds its overdue fires, learns it lost the lead and fires nothing', async () => {
  const lines: Line[] = [];
  const mine = await zk();
  const s = await leader('server-b', lines, mine);
  await waitFor(() => s.isLeader && s.stats.fired >= 2, { timeoutMs: 10_000, message: 'leading and firing' });
  // ZooKeeper ends the session while the process stands still; it hears of it only after waking.
  MemoryZkServer.get(zkName).expireSession(mine.sessionId!);
  const fired = s.stats.fired;
  holdEventLoop(1500);
  await waitFor(() => lines.some((l) => l.message === 'stopped firing'), { timeoutMs: 5000, message: 'stepped down' });
  assert.ok(
    lines.some((l) => l.message.startsWith('the process stood still')),
    'the overdue fire was held, not sent',
  );
  assert.equal(s.stats.fired, fired, 'nothing fired after the pause');
  assert.ok(!lines.some((l) => l.context?.why === 'lead confirmed after a pause'));
});
