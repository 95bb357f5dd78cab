import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '@clover/logging';
import { jobInputSchema } from '@clover/model';
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
  type TempDir,
  type ZooKeeperHandle,
} from '@clover/testkit';
import { createZkClient, writeClusterConfig, type ZkClient } from '@clover/zk-kit';
import { Monitor, createMailer } from '../src/index.js';
import { beatingNode, paths, registered } from './beating.js';

const deadTimeoutMs = 3000;

let zkServer: ZooKeeperHandle;
let sink: SmtpSink;
let dir: TempDir;
let store: Store;
let admin: ZkClient;
const monitors: Array<{ monitor: Monitor; zk: ZkClient; logger: { close(): Promise<void> } }> = [];
const children: ChildHandle[] = [];
let logDir: string;
/** The suite's own servers and clients, each close pushed as before() opens it. */
const opened: CleanupStep[] = [];

function node(id: string, env: Record<string, string> = {}): ChildHandle {
  const child = beatingNode(zkServer.connectString, id, env);
  children.push(child);
  return child;
}

async function startMonitor(id: string) {
  const zk = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 3000 });
  const logger = createLogger({ service: 'monitor', node: id, logDir, store, console: false });
  const mailer = createMailer({ smtpUrl: sink.url, from: 'clover@test', store });
  const monitor = new Monitor({
    zk,
    paths,
    store,
    mailer,
    logger,
    id,
    consoleUrl: 'http://console.test',
    digestWindowMs: 1000,
    quietPeriodMs: 0,
    heartbeatIntervalMs: 300,
  });
  // Listed before it starts: a start that fails still leaves its client for the after hook to close.
  monitors.push({ monitor, zk, logger });
  await within(monitor.start(), 30_000, `monitor ${id} to start`);
  return { monitor, zk };
}

const mailsAbout = (text: string) => sink.messages.filter((m) => (m.subject ?? '').includes(text) || (m.text ?? '').includes(text));

before(async () => {
  zkServer = await startZooKeeper();
  opened.push(['ZooKeeper', () => zkServer.cleanup()]);
  sink = await startSmtpSink();
  opened.push(['SMTP sink', () => sink.stop()]);
  dir = await tempDir('clover-monitor-');
  opened.push(['temp dir', () => dir.cleanup()]);
  logDir = path.join(dir.path, 'logs');
  store = await openStore({ dataDir: dir.path });
  opened.push(['store', () => store.close()]);
  await store.contacts.create({ name: 'Ann', email: 'ann@example.com' });
  await store.contacts.create({ name: 'Bob', email: 'bob@example.com' });
  await store.contacts.create({ name: 'Off', email: 'off@example.com', enabled: false });
  admin = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 5000 });
  opened.push(['admin zk', () => admin.close()]);
  await within(admin.connect(), 20_000, 'the admin ZooKeeper session');
  await writeClusterConfig(admin, paths, {
    heartbeatIntervalMs: 300,
    deadTimeoutMs: { servers: deadTimeoutMs, clients: deadTimeoutMs, monitors: deadTimeoutMs },
  });
  const first = await startMonitor('monitor-a');
  await waitFor(() => first.monitor.isActive, { message: 'monitor-a active' });
});

after(() =>
  cleanUp([
    ...children.map((c) => [`process ${c.name}`, () => c.kill('SIGKILL')] as const),
    ...monitors.flatMap(
      (m, i) =>
        [
          [`monitor ${i}`, () => m.monitor.close().catch(() => undefined)],
          [`monitor ${i} zk`, () => m.zk.close().catch(() => undefined)],
          [`monitor ${i} logger`, () => m.logger.close()],
        ] as const,
    ),
    ...opened.reverse(),
  ]),
);

const ready = (child: ChildHandle, id: string) => registered(admin, child, id);

test('an agent killed with SIGKILL: one incident, one mail to each enabled contact, in the log file and the store', async () => {
  const agent = node('agent-kill');
  await ready(agent, 'agent-kill');
  const other = node('agent-bystander');
  await ready(other, 'agent-bystander');
  await agent.kill('SIGKILL');
  const mails = await waitFor(
    () => {
      const m = mailsAbout('agent-kill');
      return m.length >= 2 ? m : undefined;
    },
    { timeoutMs: deadTimeoutMs + 10_000, message: 'two mails' },
  );
  assert.deepEqual(mails.map((m) => (m.to && 'text' in m.to ? m.to.text : '')).sort(), ['ann@example.com', 'bob@example.com']);
  assert.match(mails[0]!.subject ?? '', /client agent-kill is dead/);
  assert.match(mails[0]!.text ?? '', /http:\/\/console\.test/);
  assert.match(mails[0]!.html || '', /<table>/);
  const incidents = (await store.incidents.list({ open: true })).items.filter((i) => i.subject === 'agent-kill');
  assert.equal(incidents.length, 1);
  assert.deepEqual(incidents[0]!.notifiedContacts.sort(), ['ann@example.com', 'bob@example.com']);
  assert.ok(await admin.exists(paths.node('clients', 'agent-bystander')), 'nothing else deleted');
  // The directory is read on every try: the file may appear (or rotate) after the first look.
  const logged = () =>
    readdirSync(logDir)
      .filter((f) => f.startsWith('monitor-'))
      .some((f) => readFileSync(path.join(logDir, f), 'utf8').includes('"node":"agent-kill"'));
  await waitFor(logged, { message: 'incident in the log file' });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(mailsAbout('agent-kill').length, 2, 'no more mails for it');

  // It comes back: the incident closes, with one recovery mail each.
  const again = node('agent-kill');
  await ready(again, 'agent-kill');
  await waitFor(() => mailsAbout('recovered: agent-kill').length >= 2, { timeoutMs: 15_000, message: 'recovery mails' });
  assert.equal(await store.incidents.findOpen('node_dead', 'agent-kill'), null);
  await again.kill('SIGTERM');
  await other.kill('SIGTERM');
});

test('a hung process (session alive, no beats) is declared dead and its znode removed', async () => {
  const hung = node('agent-hung', { SESSION_MS: '30000' });
  await ready(hung, 'agent-hung');
  process.kill(hung.pid, 'SIGUSR2');
  await waitFor(() => mailsAbout('agent-hung').length >= 2, { timeoutMs: deadTimeoutMs + 10_000, message: 'mails about the hung node' });
  assert.equal(await admin.exists(paths.node('clients', 'agent-hung')), null, 'znode removed');
  const inc = await store.incidents.findOpen('node_dead', 'agent-hung');
  assert.equal(inc?.details.reason, 'silent');
  await hung.kill('SIGKILL');
});

test('a node whose clock is an hour behind but whose beat advances is alive', async () => {
  const skewed = node('agent-skewed', { SKEW_MS: String(-3600_000) });
  await ready(skewed, 'agent-skewed');
  await new Promise((r) => setTimeout(r, 2 * deadTimeoutMs));
  assert.ok(await admin.exists(paths.node('clients', 'agent-skewed')));
  assert.equal(await store.incidents.findOpen('node_dead', 'agent-skewed'), null);
  await skewed.kill('SIGTERM');
  assert.equal(mailsAbout('agent-skewed').length, 0, 'a clean stop is no death');
});

test('ten agents killed at once: one digest mail per contact', async () => {
  const ids = Array.from({ length: 10 }, (_, i) => `rack-${i}`);
  const procs = ids.map((id) => node(id));
  for (let i = 0; i < ids.length; i++) await ready(procs[i]!, ids[i]!);
  const before = sink.messages.length;
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  await waitFor(
    async () =>
      (await store.incidents.list({ open: true, limit: 100 })).items.filter((i) => i.subject.startsWith('rack-') && i.notifiedAt).length ===
      10,
    { timeoutMs: 20_000, message: 'ten notified incidents' },
  );
  const digests = sink.messages.slice(before).filter((m) => /rack-/.test(m.subject ?? ''));
  assert.equal(digests.length, 2, `one per contact, got: ${digests.map((m) => m.subject).join(' | ')}`);
  assert.match(digests[0]!.subject ?? '', /10 incidents/);
});

test('the SMTP server down: the mail is retried and delivered when it is back', async () => {
  const agent = node('agent-smtp');
  await ready(agent, 'agent-smtp');
  await sink.stop();
  await agent.kill('SIGKILL');
  await waitFor(() => store.incidents.findOpen('node_dead', 'agent-smtp'), { timeoutMs: 15_000, message: 'incident opened' });
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await store.incidents.findOpen('node_dead', 'agent-smtp'))?.notifiedAt, null, 'still pending while SMTP is down');
  await sink.start();
  await waitFor(() => mailsAbout('agent-smtp').length >= 2, { timeoutMs: 40_000, message: 'delivered after SMTP is back' });
});

test('the store refusing the incident at first: the death is written and mailed once the store answers', async () => {
  const agent = node('agent-outage');
  await ready(agent, 'agent-outage');
  // A store outage, for incidents alone: every open is refused until the store is back.
  const incidents = store.incidents;
  const open = incidents.open.bind(incidents);
  let refused = 0;
  incidents.open = () => {
    refused++;
    return Promise.reject(new Error('the store is out of reach'));
  };
  try {
    await agent.kill('SIGKILL');
    await waitFor(() => refused >= 2, { timeoutMs: deadTimeoutMs + 10_000, message: 'the incident tried, then tried again' });
  } finally {
    incidents.open = open;
  }
  await waitFor(() => mailsAbout('agent-outage').length >= 2, { timeoutMs: 15_000, message: 'mails once the store answers' });
  const opened = (await store.incidents.list({ open: true, limit: 100 })).items.filter((i) => i.subject === 'agent-outage');
  assert.equal(opened.length, 1, 'one incident');
});

test('the active monitor dies: the standby takes over without mailing the same incident again', async () => {
  const standby = await startMonitor('monitor-b');
  const agent = node('agent-failover');
  await ready(agent, 'agent-failover');
  await agent.kill('SIGKILL');
  await waitFor(() => mailsAbout('agent-failover').length >= 2, { timeoutMs: 15_000, message: 'first mails' });
  const active = monitors.find((m) => m.monitor.isActive)!;
  // A crash: the session ends without the monitor saying goodbye.
  await active.zk.close();
  await waitFor(() => standby.monitor.isActive, { timeoutMs: 15_000, message: 'standby takes over' });
  await waitFor(() => sink.messages.some((m) => /monitor monitor-a is dead/.test(m.subject ?? '')), {
    timeoutMs: 15_000,
    message: 'the dead monitor is reported',
  });
  assert.equal(mailsAbout('agent-failover').length, 2, 'no second mail for the same incident');
});

test("a job failure reported by a dispatch-server mails the job's own contacts", async () => {
  const ann = (await store.contacts.list()).find((c) => c.name === 'Ann')!;
  const job = await store.jobs.create(
    jobInputSchema.parse({
      name: 'nightly-report',
      schedule: { type: 'cron', expr: '0 0 3 * * *' },
      target: { type: 'group', group: 'default' },
      kind: { type: 'handler', name: 'report' },
      contacts: [ann.id],
    }),
  );
  // What a dispatch-server writes when the last attempt of a run failed.
  await store.incidents.open({
    kind: 'job_failed',
    subject: job.id,
    jobId: job.id,
    runId: `${job.id}@2026-11-24T03:00:00.000Z`,
    openedAt: new Date(),
    message: 'job "nightly-report" failed on agent-1 after 3 attempt(s): exit code 2',
    details: { node: 'agent-1', attempt: 3 },
  });
  const mails = await waitFor(
    () => {
      const m = mailsAbout(job.id);
      return m.length ? m : undefined;
    },
    { timeoutMs: 15_000, message: 'job failure mail' },
  );
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(mailsAbout(job.id).length, 1, "only the job's contact");
  assert.equal(mails[0]!.to && 'text' in mails[0]!.to ? mails[0]!.to.text : '', 'ann@example.com');
  assert.match(mails[0]!.text ?? '', /exit code 2/);
  assert.equal(mails[0]!.subject, '[clover] job "nightly-report" failed');

  // The job succeeds again: a dispatch-server closes the incident; its contact hears once.
  const open = await store.incidents.findOpen('job_failed', job.id);
  await store.incidents.close(open!.id, new Date());
  // Mails name the job by its name (its id stays in the facts).
  await waitFor(() => mailsAbout('recovered: nightly-report').length === 1, { timeoutMs: 15_000, message: 'job recovery mail' });
  assert.match(mailsAbout('recovered: nightly-report')[0]!.text ?? '', /succeeded again/);
});

test('close() twice at once: one drain, and the second caller waits for it to finish', async () => {
  const { monitor } = await startMonitor('monitor-closing');
  await waitFor(() => admin.exists(paths.node('monitors', 'monitor-closing')), { message: 'monitor-closing registered' });
  const first = monitor.close();
  const second = monitor.close();
  assert.equal(second, first, 'the second close() returns the first one’s promise');
  await within(second, 30_000, 'the second close()');
  // The drain's last step removes the heartbeat znode: it is gone by the time the second caller
  // goes on (an early return would have gone on with the monitor still registered).
  assert.equal(await admin.exists(paths.node('monitors', 'monitor-closing')), null);
  assert.equal(monitor.close(), first, 'a later close() too');
});
