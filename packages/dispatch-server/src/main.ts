import os from 'node:os';
import path from 'node:path';
import { endpoint, integer, list, optionalText, runBin, text, url, zkConnect, zkRoot, type SettingsOf } from '@clover/config';
import { createLogger } from '@clover/logging';
import { openStore } from '@clover/store';
import { cloverPaths, createZkClient } from '@clover/zk-kit';
import { defaultClaimAheadMs, defaultTimings } from './interfaces.js';
import { DispatchServer } from './server.js';

export const dispatchSettings = {
  zk: zkConnect('CLOVER_ZK', { help: 'ZooKeeper connect string (host:port,...)', required: true }),
  zkRoot: zkRoot('CLOVER_ZK_ROOT', { help: 'root znode of this cluster', fallback: '/clover' }),
  sessionTimeoutMs: integer('CLOVER_ZK_SESSION_TIMEOUT_MS', {
    help: 'ZooKeeper session timeout; a dead leader is replaced after about this long',
    fallback: 10_000,
    min: 1000,
  }),
  mongoUrl: url('CLOVER_MONGO_URL', {
    help: 'MongoDB URL; unset: the embedded store in CLOVER_DATA_DIR',
    schemes: ['mongodb', 'mongodb+srv'],
  }),
  dataDir: text('CLOVER_DATA_DIR', { help: 'embedded store directory', fallback: () => path.resolve('.clover-data') }),
  bind: endpoint('CLOVER_DISPATCH_BIND', { help: 'ZeroMQ ROUTER bind endpoint', fallback: 'tcp://127.0.0.1:7710' }),
  advertise: optionalText('CLOVER_DISPATCH_ADVERTISE', 'endpoint agents use to reach this server (default: the bind endpoint)'),
  id: text('CLOVER_NODE_ID', { help: "this server's node id", fallback: () => `${os.hostname()}-${process.pid}` }),
  heartbeatMs: integer('CLOVER_HEARTBEAT_MS', { help: 'heartbeat interval', fallback: 2000, min: 100 }),
  ackTimeoutMs: integer('CLOVER_ACK_TIMEOUT_MS', { help: 'wait for an ACK before sending EXEC again', fallback: 1000, min: 50 }),
  claimAheadMs: integer('CLOVER_CLAIM_AHEAD_MS', {
    help: "how long before its slot a fire's run is written, so the EXEC leaves on time",
    fallback: defaultClaimAheadMs,
    min: 0,
    max: 1000,
  }),
  noAgentWaitMs: integer('CLOVER_NO_AGENT_WAIT_MS', {
    help: 'how long a fired run waits for a live agent matching its target and kind before it fails',
    fallback: defaultTimings.noAgentWaitMs,
    min: 0,
    max: 3_600_000,
  }),
  logDir: optionalText('CLOVER_LOG_DIR', 'directory for daily-rotated JSON log files'),
  curveSecretKey: optionalText('CLOVER_CURVE_SECRET_KEY', "this server's CURVE secret key (Z85); enables encryption"),
  curveAllowedKeys: list('CLOVER_CURVE_ALLOWED_KEYS', { help: 'agent CURVE public keys allowed in (comma-separated Z85)', fallback: [] }),
};

export async function startDispatch(s: SettingsOf<typeof dispatchSettings>) {
  const store = await openStore({ mongoUrl: s.mongoUrl, dataDir: s.dataDir, backgroundCheckpoint: true });
  const logger = createLogger({ service: 'dispatch-server', node: s.id, logDir: s.logDir, store });
  const zk = createZkClient({ connect: s.zk, sessionTimeoutMs: s.sessionTimeoutMs, logger });
  const server = new DispatchServer({
    zk,
    paths: cloverPaths(s.zkRoot),
    store,
    logger,
    id: s.id,
    bind: s.bind,
    advertise: s.advertise,
    heartbeatIntervalMs: s.heartbeatMs,
    claimAheadMs: s.claimAheadMs,
    timings: { ackTimeoutMs: s.ackTimeoutMs, noAgentWaitMs: s.noAgentWaitMs },
    curve: s.curveSecretKey ? { secretKey: s.curveSecretKey, allowedClientKeys: s.curveAllowedKeys } : undefined,
  });
  await server.start();
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
    name: 'clover-dispatch-server',
    about: 'the clover scheduling core: fires jobs and dispatches them to agents',
    spec: dispatchSettings,
    start: startDispatch,
  });
}
