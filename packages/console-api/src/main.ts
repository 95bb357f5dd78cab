import os from 'node:os';
import path from 'node:path';
import { integer, port, runBin, text, url, zkConnect, zkRoot, type SettingsOf } from '@clover/config';
import { createLogger } from '@clover/logging';
import { openStore } from '@clover/store';
import { cloverPaths, createZkClient } from '@clover/zk-kit';
import { webDistDir } from '@clover/console-web';
import { ensureAdmin } from './auth/bootstrap.js';
import { startConsoleServer } from './server.js';

export const consoleSettings = {
  zk: zkConnect('CLOVER_ZK', { help: 'ZooKeeper connect string (host:port,...)', required: true }),
  zkRoot: zkRoot('CLOVER_ZK_ROOT', { help: 'root znode of this cluster', fallback: '/clover' }),
  sessionTimeoutMs: integer('CLOVER_ZK_SESSION_TIMEOUT_MS', { help: 'ZooKeeper session timeout', fallback: 10_000, min: 1000 }),
  mongoUrl: url('CLOVER_MONGO_URL', {
    help: 'MongoDB URL; unset: the embedded store in CLOVER_DATA_DIR',
    schemes: ['mongodb', 'mongodb+srv'],
  }),
  dataDir: text('CLOVER_DATA_DIR', { help: 'embedded store directory', fallback: () => path.resolve('.clover-data') }),
  httpPort: port('CLOVER_HTTP_PORT', { help: 'HTTP port of the console and its API', fallback: 8080 }),
  httpHost: text('CLOVER_HTTP_HOST', { help: 'address to listen on', fallback: '0.0.0.0' }),
  adminPassword: text('CLOVER_ADMIN_PASSWORD', {
    help: 'password of the first admin; unset: one is generated and printed once',
    fallback: '',
  }),
  id: text('CLOVER_NODE_ID', { help: "this console's name in the logs", fallback: () => `${os.hostname()}-${process.pid}` }),
  logDir: text('CLOVER_LOG_DIR', { help: 'directory for daily-rotated JSON log files', fallback: '' }),
};

export async function startConsole(s: SettingsOf<typeof consoleSettings>) {
  const store = await openStore({ mongoUrl: s.mongoUrl, dataDir: s.dataDir });
  const logger = createLogger({ service: 'console', node: s.id, logDir: s.logDir || undefined, store });
  const zk = createZkClient({ connect: s.zk, sessionTimeoutMs: s.sessionTimeoutMs, logger });
  await zk.connect();
  const admin = await ensureAdmin(store, s.adminPassword || undefined);
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
  });
  logger.info('console listening', { url: server.url });
  console.log(`clover-console: listening on ${server.url}`);
  return {
    async close() {
      await server.close();
      await zk.close();
      await logger.close();
      await store.close();
    },
  };
}

export function main(): Promise<void> {
  return runBin({
    name: 'clover-console',
    about: 'the clover console: REST API under /api and the web console',
    spec: consoleSettings,
    start: startConsole,
  });
}
