import os from 'node:os';
import path from 'node:path';
import { boolean, integer, list, optionalText, runBin, text, zkConnect, zkRoot, type SettingsOf } from '@clover/config';
import { createLogger } from '@clover/logging';
import { cloverPaths, createZkClient } from '@clover/zk-kit';
import { Agent } from './agent.js';
import { registerDemoHandlers } from './demo-handlers.js';

export const agentSettings = {
  zk: zkConnect('CLOVER_ZK', { help: 'ZooKeeper connect string (host:port,...)', required: true }),
  zkRoot: zkRoot('CLOVER_ZK_ROOT', { help: 'root znode of this cluster', fallback: '/clover' }),
  sessionTimeoutMs: integer('CLOVER_ZK_SESSION_TIMEOUT_MS', { help: 'ZooKeeper session timeout', fallback: 10_000, min: 1000 }),
  id: text('CLOVER_NODE_ID', { help: "this agent's node id", fallback: () => `${os.hostname()}-${process.pid}` }),
  groups: list('CLOVER_GROUPS', { help: 'groups this agent serves (comma-separated)', fallback: [] }),
  tags: list('CLOVER_TAGS', { help: 'tags of this agent (comma-separated)', fallback: [] }),
  capacity: integer('CLOVER_CAPACITY', { help: 'executions at once', fallback: 4, min: 1, max: 10_000 }),
  allowShell: boolean('CLOVER_ALLOW_SHELL', { help: 'run shell jobs here (any command the leader sends, as this user)', fallback: true }),
  allowHttp: boolean('CLOVER_ALLOW_HTTP', { help: 'run http jobs here', fallback: true }),
  drainTimeoutMs: integer('CLOVER_DRAIN_TIMEOUT_MS', {
    help: 'on SIGTERM, wait this long for running executions',
    fallback: 30_000,
    min: 0,
  }),
  heartbeatMs: integer('CLOVER_HEARTBEAT_MS', { help: 'heartbeat interval', fallback: 2000, min: 100 }),
  dataDir: text('CLOVER_DATA_DIR', {
    help: 'where running shell executions are recorded, so a restart kills what a crash left running',
    fallback: () => path.resolve('.clover-data'),
  }),
  groupReaper: boolean('CLOVER_GROUP_REAPER', {
    help: 'kill the process groups of shell executions when the agent dies, whatever its death (needs /bin/sh)',
    fallback: true,
  }),
  logDir: optionalText('CLOVER_LOG_DIR', 'directory for daily-rotated JSON log files'),
  curvePublicKey: optionalText('CLOVER_CURVE_PUBLIC_KEY', "this agent's CURVE public key (Z85)"),
  curveSecretKey: optionalText('CLOVER_CURVE_SECRET_KEY', "this agent's CURVE secret key (Z85)"),
  curveServerKey: optionalText('CLOVER_CURVE_SERVER_KEY', "the dispatch-servers' CURVE public key (Z85)"),
};

export async function startAgent(s: SettingsOf<typeof agentSettings>) {
  const logger = createLogger({ service: 'agent', node: s.id, logDir: s.logDir });
  const zk = createZkClient({ connect: s.zk, sessionTimeoutMs: s.sessionTimeoutMs, logger });
  const curve =
    s.curvePublicKey && s.curveSecretKey && s.curveServerKey
      ? { publicKey: s.curvePublicKey, secretKey: s.curveSecretKey, serverKey: s.curveServerKey }
      : undefined;
  const agent = registerDemoHandlers(
    new Agent({
      zk,
      paths: cloverPaths(s.zkRoot),
      id: s.id,
      groups: s.groups,
      tags: s.tags,
      capacity: s.capacity,
      heartbeatIntervalMs: s.heartbeatMs,
      curve,
      logger,
      shell: s.allowShell,
      http: s.allowHttp,
      drainTimeoutMs: s.drainTimeoutMs,
      dataDir: path.resolve(s.dataDir),
      groupReaper: s.groupReaper,
    }),
  );
  await agent.start();
  logger.info('agent started', { id: s.id, groups: s.groups, capacity: s.capacity });
  return {
    async close() {
      await agent.close();
      await zk.close();
      await logger.close();
    },
  };
}

export function main(): Promise<void> {
  return runBin({
    name: 'clover-scheduler-client',
    about: 'the clover agent: runs the executions the dispatch leader sends',
    spec: agentSettings,
    start: startAgent,
  });
}
