import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jobInputSchema } from '@clover/model';
import { noopLogger } from '@clover/telemetry';
import { openStore, type Store } from '@clover/store';
import {
  cleanUp,
  startSmtpSink,
  startZooKeeper,
  tempDir,
  waitFor,
  within,
  type ChildHandle,
  type CleanupStep,
  type SmtpSink,
  type ZooKeeperHandle,
} from '@clover/testkit';
import { createZkClient, writeClusterConfig, type ZkClient } from '@clover/zk-kit';
import { Monitor, createMailer } from '../src/index.js';
import { beatingNode, paths, registered } from './beating.js';

// Clock trouble for the watchdog (docs/architecture.md, "Clock trouble"): heartbeats written by
// hosts whose clocks are ten minutes off, and a monitor whose own wall clock steps an hour.
// Real ZooKeeper, real heartbeat processes (test/fixtures/beating-node.ts, its clock skewed by
// SKEW_MS, hung for good by SIGUSR2), real SMTP sink; the monitor's wall clock is injected.

const deadTimeoutMs = 3000;
const tenMinutesMs = 600_000;

let zkServer: ZooKeeperHandle;
let sink: SmtpSink;
let store: Store;
let admin: ZkClient;
let offsetMs = 0;
/** The monitor's wall clock: Date.now plus what the test stepped it by. */
const wallClock = () => Date.now() + offsetMs;
const children: ChildHandle[] = [];
const opened: CleanupStep[] = [];

function node(id: string, skewMs: number, env: Record<string, string> = {}): ChildHandle {
  const child = beatingNode(zkServer.connectString, id, { SKEW_MS: String(skewMs), SESSION_MS: '30000', ...env });
  children.push(child);
  return child;
}

const ready = (child: ChildHandle, id: string) => registered(admin, child, id);

const deathOf = (id: string) => store.incidents.findOpen('node_dead', id);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  zkServer = await startZooKeeper();
  opened.push(['ZooKeeper', () => zkServer.cleanup()]);
  sink = await startSmtpSink();
  opened.push(['SMTP sink', () => sink.stop()]);
  const dir = await tempDir('clover-monitor-clock-');
  opened.push(['temp dir', () => dir.cleanup()]);
  store = await openStore({ dataDir: dir.path });
  opened.push(['store', () => store.close()]);
  await store.contacts.create({ name: 'Ann', email: 'ann@example.com' });
  admin = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 5000 });
  opened.push(['admin zk', () => admin.close()]);
  await within(admin.connect(), 20_000, 'the admin ZooKeeper session');
  await writeClusterConfig(admin, paths, {
    heartbeatIntervalMs: 300,
    deadTimeoutMs: { servers: deadTimeoutMs, clients: deadTimeoutMs, monitors: deadTimeoutMs },
  });
  const zk = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 3000 });
  opened.push(['monitor zk', () => zk.close()]);
  const monitor = new Monitor({
    zk,
    paths,
    store,
    mailer: createMailer({ smtpUrl: sink.url, from: 'clover@test', store }),
    logger: noopLogger,
    id: 'monitor-clock',
    clock: wallClock,
    digestWindowMs: 1000,
    quietPeriodMs: 0,
    heartbeatIntervalMs: 300,
  });
  opened.push(['monitor', () => monitor.close()]);
  await within(monitor.start(), 30_000, 'the monitor to start');
  await waitFor(() => monitor.isActive, { message: 'the monitor active' });
});

after(() => cleanUp([...children.map((c) => [`process ${c.name}`, () => c.kill('SIGKILL')] as const), ...opened.reverse()]));

// First, while no other incident waits to be mailed: an older one would carry this one out with it.
test('a job failure written by a dispatch-server whose clock is ten minutes ahead is mailed at once, not ten minutes later', async () => {
  const job = await store.jobs.create(
    jobInputSchema.parse({
      name: 'ahead-report',
      schedule: { type: 'cron', expr: '0 0 3 * * *' },
      kind: { type: 'handler', name: 'report' },
    }),
  );
  // What a dispatch-server writes when a run failed for good, stamped by its own clock.
  await store.incidents.open({
    kind: 'job_failed',
    subject: job.id,
    jobId: job.id,
    runId: `${job.id}@2026-11-24T03:00:00.000Z`,
    openedAt: new Date(Date.now() + tenMinutesMs),
    message: 'job "ahead-report" failed on agent-1 after 1 attempt(s): exit code 1',
    details: { node: 'agent-1', attempt: 1 },
  });
  await waitFor(() => sink.messages.some((m) => (m.subject ?? '').includes('ahead-report')), {
    timeoutMs: 15_000,
    message: 'the failure mailed within the digest window',
  });
});

test('heartbeats from hosts ten minutes ahead and behind: alive while they beat, dead once they stop', async () => {
  const ahead = node('beats-ahead', tenMinutesMs);
  const behind = node('beats-behind', -tenMinutesMs);
  const hungAhead = node('hung-ahead', tenMinutesMs);
  const hungBehind = node('hung-behind', -tenMinutesMs);
  await Promise.all([
    ready(ahead, 'beats-ahead'),
    ready(behind, 'beats-behind'),
    ready(hungAhead, 'hung-ahead'),
    ready(hungBehind, 'hung-behind'),
  ]);
  // A beatAt ten minutes ahead looks fresh for ten minutes: it must not keep a hung node alive.
  process.kill(hungAhead.pid, 'SIGUSR2');
  process.kill(hungBehind.pid, 'SIGUSR2');
  for (const id of ['hung-ahead', 'hung-behind']) {
    const death = await waitFor(() => deathOf(id), { timeoutMs: deadTimeoutMs + 10_000, message: `${id} declared dead` });
    assert.equal(death.details.reason, 'silent');
    const silentForMs = death.details.silentForMs as number;
    assert.ok(
      silentForMs > deadTimeoutMs && silentForMs < deadTimeoutMs + 5000,
      `${id}: silent ${silentForMs} ms by the monitor's clock, not its own`,
    );
  }
  // A beatAt ten minutes behind looks ten minutes stale: it must not kill a node that beats.
  await sleep(2 * deadTimeoutMs);
  for (const id of ['beats-ahead', 'beats-behind']) {
    assert.ok(await admin.exists(paths.node('clients', id)), `${id} still registered`);
    assert.equal(await deathOf(id), null, `${id} not declared dead`);
  }
  await hungAhead.kill('SIGKILL');
  await hungBehind.kill('SIGKILL');
  await ahead.kill('SIGTERM');
  await behind.kill('SIGTERM');
});

test("the monitor's own wall clock steps an hour forward, then back: no beating node dies, a hung one still does", async () => {
  // Beating every 2 s (under the 3 s dead timeout): a step forward has up to 2 s to be taken for silence.
  const steady = node('steady', 0, { BEAT_MS: '2000' });
  const hung = node('hung-over-step', 0);
  await Promise.all([ready(steady, 'steady'), ready(hung, 'hung-over-step')]);
  offsetMs += 3_600_000;
  await sleep(2 * deadTimeoutMs);
  assert.equal(await deathOf('steady'), null, 'a step forward is no hour of silence');
  assert.equal(await deathOf('hung-over-step'), null);
  // It hangs, and the clock steps back an hour from where it was: its silence still counts.
  process.kill(hung.pid, 'SIGUSR2');
  offsetMs -= 2 * 3_600_000;
  const death = await waitFor(() => deathOf('hung-over-step'), {
    timeoutMs: deadTimeoutMs + 10_000,
    message: 'a node hung across a step back is declared dead within the dead timeout, not an hour later',
  });
  assert.equal(death.details.reason, 'silent');
  assert.equal(await deathOf('steady'), null);
  offsetMs += 3_600_000;
  await hung.kill('SIGKILL');
  await steady.kill('SIGTERM');
});
