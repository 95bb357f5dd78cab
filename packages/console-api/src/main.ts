import {
  logSettings,
  metricsSwitchSettings,
  nodeSettings,
  port,
  runBin,
  storeSettings,
  secret,
  text,
  zkSettings,
  type CleanupStack,
  type SettingsOf,
} from '@clover/config';
import { createLogger } from '@clover/logging';
import { PrometheusMetrics, zkAndStoreReady } from '@clover/observability';
import { noopMetrics } from '@clover/telemetry';
import { openStore } from '@clover/store';
import { cloverPaths, createZkClient } from '@clover/zk-kit';
import { webDistDir } from '@clover/console-web';
import { ensureAdmin } from './auth/bootstrap.js';
import { startConsoleServer } from './server.js';

export const consoleSettings = {
  ...zkSettings,
  ...storeSettings,
  ...nodeSettings,
  ...logSettings,
  httpPort: port('CLOVER_HTTP_PORT', { help: 'HTTP port of the console and its API', fallback: 8080 }),
  httpHost: text('CLOVER_HTTP_HOST', { help: 'address to listen on', fallback: '0.0.0.0' }),
  ...metricsSwitchSettings,
  adminPassword: secret('CLOVER_ADMIN_PASSWORD', { help: 'password of the first admin; unset: one is generated and printed once' }),
};

/**
 * Opens the store, logger, ZooKeeper client and HTTP server, each pushed onto `cleanup` as it opens.
 * `/metrics`, `/healthz` and `/readyz` are on the console's own HTTP port; ready: its ZooKeeper
 * session connected and the store answering.
 */
export async function startConsole(s: SettingsOf<typeof consoleSettings>, cleanup: CleanupStack): Promise<void> {
  const store = await openStore({ mongoUrl: s.mongoUrl, dataDir: s.dataDir });
  cleanup.push('store', () => store.close());
  const logger = createLogger({ service: 'console', node: s.id, logDir: s.logDir, store });
  cleanup.push('logger', () => logger.close());
  const zk = createZkClient({ connect: s.zk, sessionTimeoutMs: s.sessionTimeoutMs, logger, auth: s.zkAuth });
  cleanup.push('ZooKeeper client', () => zk.close());
  await zk.connect();
  const metrics = s.metrics ? new PrometheusMetrics() : null;
  const admin = await ensureAdmin(store, s.adminPassword);
  if (admin.generatedPassword)
    console.log(`clover-console: created user "admin" with password ${admin.generatedPassword} (shown once; change it)`);
  const server = await startConsoleServer({
    store,
    zk,
    paths: cloverPaths(s.zkRoot),
    logger,
    port: s.httpPort,
    host: s.httpHost,
    webDir: webDistDir,
    trustProxy: true,
    metrics: metrics ?? noopMetrics,
    endpoints: { metrics, ready: zkAndStoreReady({ zk, store }) },
  });
  cleanup.push('HTTP server', () => server.close());
  logger.info('console listening', { url: server.url });
  console.log(`clover-console: listening on ${server.url}`);
}

export function main(): Promise<void> {
  return runBin({
    name: 'clover-console',
    about: 'the clover console: REST API under /api and the web console',
    spec: consoleSettings,
    start: startConsole,
  });
}
