import { mkdir, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createZkClient, cloverPaths, type ZkClient } from '@clover/zk-kit';
import { openStore, type Store } from '@clover/store';
import { CleanupError, CleanupStack } from '@clover/config';
import { createLogger } from '@clover/logging';
import { PrometheusMetrics, zkAndStoreReady } from '@clover/observability';
import { noopMetrics } from '@clover/telemetry';
import { DispatchServer } from '@clover/dispatch-server';
import { Agent, registerDemoHandlers } from '@clover/scheduler-client';
import { Monitor, createMailer } from '@clover/monitor';
import { startConsoleServer, ensureAdmin, createApiToken } from '@clover/console-api';
import { webDistDir } from '@clover/console-web';
import { tokenFileName } from './api-client.js';
import type { StandaloneSettings } from './settings.js';

export interface RunningStandalone {
  consoleUrl: string;
  adminPassword: string | null;
  close(): Promise<void>;
}

/**
 * Every clover role in one process on embedded defaults: the in-process ZooKeeper tree, the
 * SQLite store (MongoDB instead when `settings.mongoUrl` is set, as in the cluster bins), a
 * dispatch-server, a local agent, the monitor and the console. The roles talk to each other
 * exactly as they do across machines (ZooKeeper paths, ZeroMQ over tcp), so what works here
 * works distributed.
 */
export async function startStandalone(settings: StandaloneSettings): Promise<RunningStandalone> {
  await mkdir(settings.dataDir, { recursive: true });
  const paths = cloverPaths('/clover');
  const logger = createLogger({ service: 'clover', node: settings.nodeId, logDir: settings.logDir });
  // Each part pushes its close as it comes up; closing runs every step, newest first, even past
  // one that throws, and a second close() waits for the first.
  const cleanup = new CleanupStack();
  const close = async (): Promise<void> => {
    const failed = await cleanup.close();
    if (failed.length) throw new CleanupError(failed);
  };

  try {
    // This process is the dispatch-server, the store's busy writer.
    const store: Store = await openStore({ mongoUrl: settings.mongoUrl, dataDir: settings.dataDir, backgroundCheckpoint: true });
    cleanup.push('store', () => store.close());
    // One logger per role, named as in a cluster, so the console's Logs page can tell the
    // dispatch-server's entries from the agent's. Closed before the store (the stack closes
    // newest first), so their last entries are written.
    const roleLogger = (service: string, node: string) => {
      const l = createLogger({ service, node, logDir: settings.logDir, store });
      cleanup.push(`${service} logger`, () => l.close());
      return l;
    };
    const ids = {
      dispatch: `${settings.nodeId}-dispatch`,
      agent: `${settings.nodeId}-agent`,
      monitor: `${settings.nodeId}-monitor`,
      console: `${settings.nodeId}-console`,
    };

    // Each role gets its own session, as separate processes would: a role's ephemerals and
    // election candidacy belong to it alone.
    const sessions: ZkClient[] = [];
    const session = async (): Promise<ZkClient> => {
      const zk = createZkClient({ connect: 'memory:standalone' });
      await zk.connect();
      cleanup.push('ZooKeeper session', () => zk.close());
      sessions.push(zk);
      return zk;
    };
    // One registry for every role (their metric names do not overlap), served on the console's port.
    const prometheus = settings.metrics ? new PrometheusMetrics() : null;
    const metrics = prometheus ?? noopMetrics;

    const dispatch = new DispatchServer({
      zk: await session(),
      paths,
      store,
      logger: roleLogger('dispatch-server', ids.dispatch),
      metrics,
      id: ids.dispatch,
      bind: settings.dispatchBind,
    });
    cleanup.push('dispatch-server', () => dispatch.close());
    await dispatch.start();

    const agent = new Agent({
      zk: await session(),
      paths,
      id: ids.agent,
      groups: ['local'],
      tags: ['standalone'],
      // The agent's own defaults (scheduler-client README, "Capacity"): 64 at once, shell ones up to the host's cores.
      // One machine, one operator: its local agent runs shell and http jobs (issue 21); http jobs
      // still reach public addresses only unless CLOVER_HTTP_ALLOW_PRIVATE says otherwise.
      shell: true,
      http: true,
      httpEgress: { allowPrivate: settings.httpAllowPrivate },
      dataDir: settings.dataDir,
      logger: roleLogger('agent', ids.agent),
      metrics,
    });
    registerDemoHandlers(agent);
    cleanup.push('agent', () => agent.close());
    await agent.start();

    const consoleUrl = `http://${settings.httpHost === '0.0.0.0' ? 'localhost' : settings.httpHost}:${settings.httpPort}`;
    const monitorLogger = roleLogger('monitor', ids.monitor);
    const mailer = createMailer({ smtpUrl: settings.smtpUrl, from: settings.mailFrom, store, logger: monitorLogger });
    cleanup.push('mailer', () => mailer.close());
    const monitor = new Monitor({
      zk: await session(),
      paths,
      store,
      logger: monitorLogger,
      metrics,
      id: ids.monitor,
      consoleUrl,
      mailer,
    });
    cleanup.push('monitor', () => monitor.close());
    await monitor.start();

    const admin = await ensureAdmin(store, settings.adminPassword);
    const server = await startConsoleServer({
      store,
      zk: await session(),
      paths,
      logger: roleLogger('console', ids.console),
      port: settings.httpPort,
      host: settings.httpHost,
      webDir: webDistDir,
      metrics,
      endpoints: {
        metrics: prometheus,
        // Ready when every role is: each ZooKeeper session, the store, and the agent following its leader.
        ready: {
          ...zkAndStoreReady({ store }),
          zookeeper: () => sessions.every((s) => s.state === 'connected'),
          leader: () => agent.leaderConnected,
        },
      },
    });
    cleanup.push('console server', () => server.close());

    await writeCliToken(store, settings.dataDir);
    return { consoleUrl, adminPassword: admin.generatedPassword ?? null, close };
  } catch (err) {
    // The start's own error is the one to raise; failed clean-ups are logged beside it.
    for (const f of await cleanup.close()) logger.error('clean-up step failed', { step: f.name, err: f.error });
    throw err;
  }
}

/** Leaves an admin API token beside the store so `clover jobs ls` works here with no setup. */
async function writeCliToken(store: Store, dataDir: string): Promise<void> {
  const file = path.join(dataDir, tokenFileName);
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (existing) return;
  const { token } = await createApiToken(store, { name: 'clover-cli', user: 'admin' });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
}
