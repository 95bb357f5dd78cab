import os from 'node:os';
import path from 'node:path';
import { integer, optionalText, runBin, text, url, zkConnect, zkRoot, type SettingsOf } from '@clover/config';
import { createLogger } from '@clover/logging';
import { openStore } from '@clover/store';
import { cloverPaths, createZkClient } from '@clover/zk-kit';
import { createMailer } from './mailer.js';
import { Monitor } from './monitor.js';

export const monitorSettings = {
  zk: zkConnect('CLOVER_ZK', { help: 'ZooKeeper connect string (host:port,...)', required: true }),
  zkRoot: zkRoot('CLOVER_ZK_ROOT', { help: 'root znode of this cluster', fallback: '/clover' }),
  sessionTimeoutMs: integer('CLOVER_ZK_SESSION_TIMEOUT_MS', { help: 'ZooKeeper session timeout', fallback: 10_000, min: 1000 }),
  mongoUrl: url('CLOVER_MONGO_URL', {
    help: 'MongoDB URL; unset: the embedded store in CLOVER_DATA_DIR',
    schemes: ['mongodb', 'mongodb+srv'],
  }),
  dataDir: text('CLOVER_DATA_DIR', { help: 'embedded store directory', fallback: () => path.resolve('.clover-data') }),
  smtpUrl: url('CLOVER_SMTP_URL', {
    help: 'smtp://user:pass@host:port (add ?tls=off for a plain relay); unset: mails go to the console outbox',
    schemes: ['smtp', 'smtps'],
  }),
  mailFrom: text('CLOVER_MAIL_FROM', { help: 'sender address', fallback: 'clover@localhost' }),
  consoleUrl: optionalText('CLOVER_CONSOLE_URL', 'console link put in mails'),
  id: text('CLOVER_NODE_ID', { help: "this monitor's node id", fallback: () => `${os.hostname()}-${process.pid}` }),
  quietPeriodMs: integer('CLOVER_QUIET_PERIOD_MS', { help: 'no second mail about one node within this period', fallback: 300_000, min: 0 }),
  digestWindowMs: integer('CLOVER_DIGEST_WINDOW_MS', {
    help: 'incidents this close together go out as one digest',
    fallback: 2000,
    min: 0,
  }),
  heartbeatMs: integer('CLOVER_HEARTBEAT_MS', { help: 'heartbeat interval', fallback: 2000, min: 100 }),
  logDir: optionalText('CLOVER_LOG_DIR', 'directory for daily-rotated JSON log files (incidents are written there)'),
};

export async function startMonitor(s: SettingsOf<typeof monitorSettings>) {
  const store = await openStore({ mongoUrl: s.mongoUrl, dataDir: s.dataDir });
  const logger = createLogger({ service: 'monitor', node: s.id, logDir: s.logDir, store });
  const zk = createZkClient({ connect: s.zk, sessionTimeoutMs: s.sessionTimeoutMs, logger });
  const mailer = createMailer({ smtpUrl: s.smtpUrl, from: s.mailFrom, store, logger });
  const monitor = new Monitor({
    zk,
    paths: cloverPaths(s.zkRoot),
    store,
    mailer,
    logger,
    id: s.id,
    consoleUrl: s.consoleUrl,
    quietPeriodMs: s.quietPeriodMs,
    digestWindowMs: s.digestWindowMs,
    heartbeatIntervalMs: s.heartbeatMs,
  });
  await monitor.start();
  logger.info('monitor started', { id: s.id, mail: mailer.kind });
  return {
    async close() {
      await monitor.close();
      await mailer.close();
      await zk.close();
      await logger.close();
      await store.close();
    },
  };
}

export function main(): Promise<void> {
  return runBin({
    name: 'clover-monitor',
    about: 'the clover watchdog: declares silent nodes dead, removes them, mails the contacts',
    spec: monitorSettings,
    start: startMonitor,
  });
}
