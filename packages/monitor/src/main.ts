import {
  integer,
  metricsSettings,
  optionalText,
  runBin,
  sharedSettings,
  text,
  url,
  type CleanupStack,
  type SettingsOf,
} from '@clover/config';
import { createLogger } from '@clover/logging';
import { serveObservability, zkAndStoreReady } from '@clover/observability';
import { openStore, type Store } from '@clover/store';
import { cloverPaths, createZkClient, type ZkClient } from '@clover/zk-kit';
import { createMailer } from './mailer.js';
import { Monitor } from './monitor.js';

/** The default port of a monitor's /metrics, /healthz and /readyz (docs/deploy.md lists every port). */
export const defaultMetricsPort = 9712;

export const monitorSettings = {
  ...sharedSettings,
  smtpUrl: url('CLOVER_SMTP_URL', {
    help: 'smtp://user:pass@host:port (add ?tls=off for a plain relay); unset: mails go to the console outbox',
    schemes: ['smtp', 'smtps'],
    secret: true,
  }),
  mailFrom: text('CLOVER_MAIL_FROM', { help: 'sender address', fallback: 'clover@localhost' }),
  consoleUrl: optionalText('CLOVER_CONSOLE_URL', 'console link put in mails'),
  quietPeriodMs: integer('CLOVER_QUIET_PERIOD_MS', { help: 'no second mail about one node within this period', fallback: 300_000, min: 0 }),
  digestWindowMs: integer('CLOVER_DIGEST_WINDOW_MS', {
    help: 'incidents this close together go out as one digest',
    fallback: 2000,
    min: 0,
  }),
  ...metricsSettings(defaultMetricsPort),
};

/**
 * Opens the metrics and health endpoints, store, logger, ZooKeeper client, mailer and monitor, each
 * pushed onto `cleanup` as it opens. Ready (`/readyz`): its ZooKeeper session connected and the store answering.
 */
export async function startMonitor(s: SettingsOf<typeof monitorSettings>, cleanup: CleanupStack): Promise<void> {
  const parts: { zk?: ZkClient; store?: Store } = {};
  const metrics = await serveObservability(s, zkAndStoreReady(parts), cleanup);
  const store = (parts.store = await openStore({ mongoUrl: s.mongoUrl, dataDir: s.dataDir }));
  cleanup.push('store', () => store.close());
  // Incidents are logged too: with CLOVER_LOG_DIR they are in its files.
  const logger = createLogger({ service: 'monitor', node: s.id, logDir: s.logDir, store });
  cleanup.push('logger', () => logger.close());
  const zk = (parts.zk = createZkClient({ connect: s.zk, sessionTimeoutMs: s.sessionTimeoutMs, logger, auth: s.zkAuth }));
  cleanup.push('ZooKeeper client', () => zk.close());
  if (s.zkAuth) {
    // A tree made before the cluster had credentials keeps open folders until they are claimed.
    await zk.connect();
    logger.info("clover's ZooKeeper tree is under its ACL", { root: s.zkRoot, nodes: await zk.claimTree(s.zkRoot) });
  }
  const mailer = createMailer({ smtpUrl: s.smtpUrl, from: s.mailFrom, store, logger });
  cleanup.push('mailer', () => mailer.close());
  const monitor = new Monitor({
    zk,
    paths: cloverPaths(s.zkRoot),
    store,
    mailer,
    logger,
    metrics,
    id: s.id,
    consoleUrl: s.consoleUrl,
    quietPeriodMs: s.quietPeriodMs,
    digestWindowMs: s.digestWindowMs,
    heartbeatIntervalMs: s.heartbeatMs,
  });
  cleanup.push('monitor', () => monitor.close());
  await monitor.start();
  logger.info('monitor started', { id: s.id, mail: mailer.kind });
}

export function main(): Promise<void> {
  return runBin({
    name: 'clover-monitor',
    about: 'the clover watchdog: declares silent nodes dead, removes them, mails the contacts',
    spec: monitorSettings,
    start: startMonitor,
  });
}
