// How fast a dead machine is noticed: SIGKILL a heartbeating process and time the monitor's
// steps (incident opened, znode deleted, mail received) against the configured dead timeout.
// Real ZooKeeper, real SMTP sink, the monitor in this process. Prints figures; asserts nothing.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@clover/logging';
import { Monitor, createMailer } from '@clover/monitor';
import { openStore } from '@clover/store';
import { spawnProcess, startSmtpSink, startZooKeeper, tempDir, waitFor } from '@clover/testkit';
import { cloverPaths, createZkClient, writeClusterConfig } from '@clover/zk-kit';

const rounds = Number(process.env.ROUNDS ?? 5);
const deadTimeoutMs = Number(process.env.DEAD_TIMEOUT_MS ?? 4000);
const beatMs = 500;
const here = path.dirname(fileURLToPath(import.meta.url));
const paths = cloverPaths('/clover');

const zkServer = await startZooKeeper();
const sink = await startSmtpSink();
const dir = await tempDir('clover-bench-monitor-');
const store = await openStore({ dataDir: dir.path });
await store.contacts.create({ name: 'Ops', email: 'ops@bench.test' });
const zk = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: deadTimeoutMs });
await zk.connect();
await writeClusterConfig(zk, paths, {
  heartbeatIntervalMs: beatMs,
  deadTimeoutMs: { servers: deadTimeoutMs, clients: deadTimeoutMs, monitors: deadTimeoutMs },
});
const logger = createLogger({ service: 'monitor', node: 'bench', console: false, logDir: path.join(dir.path, 'logs') });
const mailer = createMailer({ smtpUrl: sink.url, from: 'clover@bench.test', store });
const monitor = new Monitor({
  zk,
  paths,
  store,
  mailer,
  logger,
  id: 'bench-monitor',
  digestWindowMs: 300,
  quietPeriodMs: 0,
  heartbeatIntervalMs: beatMs,
});
await monitor.start();

const rows: Array<{ incident: number; deleted: number; mail: number }> = [];
for (let i = 0; i < rounds; i++) {
  const id = `victim-${i}`;
  const child = spawnProcess(process.execPath, ['--conditions=source', '--import', 'tsx', path.join(here, 'fixtures/beating-node.ts')], {
    name: id,
    cwd: here,
    env: { CLOVER_ZK: zkServer.connectString, NODE_ID: id, SESSION_MS: String(deadTimeoutMs), BEAT_MS: String(beatMs) },
  });
  await child.waitForOutput(/ready/, 30_000);
  await new Promise((r) => setTimeout(r, 2 * beatMs));
  const killedAt = Date.now();
  await child.kill('SIGKILL');
  let incident = 0;
  let deleted = 0;
  await waitFor(
    async () => {
      const now = Date.now() - killedAt;
      if (!incident && (await store.incidents.findOpen('node_dead', id))) incident = now;
      if (!deleted && !(await zk.exists(paths.node('clients', id)))) deleted = now;
      return incident && deleted;
    },
    { timeoutMs: deadTimeoutMs + 30_000, intervalMs: 20, message: `${id} declared dead` },
  );
  await waitFor(() => sink.messages.some((m) => (m.subject ?? '').includes(id)), {
    timeoutMs: 30_000,
    intervalMs: 20,
    message: `mail about ${id}`,
  });
  rows.push({ incident, deleted, mail: Date.now() - killedAt });
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
console.log(
  `monitor detection: dead timeout ${fmt(deadTimeoutMs)}, heartbeat ${beatMs} ms, ${rounds} SIGKILLs (real ZooKeeper, SMTP sink)`,
);
console.log('round  incident opened  znode deleted  mail received');
rows.forEach((r, i) =>
  console.log(`${String(i + 1).padStart(5)}  ${fmt(r.incident).padStart(15)}  ${fmt(r.deleted).padStart(13)}  ${fmt(r.mail).padStart(13)}`),
);
const worst = Math.max(...rows.map((r) => r.mail));
console.log(`worst kill→mail ${fmt(worst)} = dead timeout + ${fmt(worst - deadTimeoutMs)}`);

await monitor.close();
await mailer.close();
await zk.close();
await logger.close();
await store.close();
await sink.stop();
await zkServer.cleanup();
await dir.cleanup();
