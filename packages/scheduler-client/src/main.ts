import path from 'node:path';
import {
  boolean,
  dataDirSettings,
  heartbeatSettings,
  integer,
  list,
  logSettings,
  metricsSettings,
  nodeSettings,
  optionalText,
  plaintextSettings,
  runBin,
  secret,
  SettingError,
  zkSettings,
  type CleanupStack,
  type SettingsOf,
} from '@clover/config';
import { createLogger } from '@clover/logging';
import { serveObservability } from '@clover/observability';
import { cloverPaths, createZkClient, type ZkClient } from '@clover/zk-kit';
import { Agent } from './agent.js';
import { registerDemoHandlers } from './demo-handlers.js';
import { DEFAULT_CAPACITY, defaultProcessCapacity } from './capacity.js';

/** The default port of an agent's /metrics, /healthz and /readyz (docs/deploy.md lists every port). */
export const defaultMetricsPort = 9711;

export const agentSettings = {
  ...zkSettings,
  ...nodeSettings,
  ...heartbeatSettings,
  // Where running shell executions are recorded, so a restart kills what a crash left running.
  ...dataDirSettings,
  ...logSettings,
  groups: list('CLOVER_GROUPS', { help: 'groups this agent serves (comma-separated)', fallback: [] }),
  tags: list('CLOVER_TAGS', { help: 'tags of this agent (comma-separated)', fallback: [] }),
  capacity: integer('CLOVER_CAPACITY', {
    help: 'executions at once, of every kind (what the leader is told)',
    fallback: DEFAULT_CAPACITY,
    min: 1,
    max: 10_000,
  }),
  processCapacity: integer('CLOVER_PROCESS_CAPACITY', {
    help: "shell executions (child processes) at once; default the host's cores, at least 2, never more than CLOVER_CAPACITY",
    fallback: defaultProcessCapacity,
    min: 1,
    max: 10_000,
  }),
  allowShell: boolean('CLOVER_ALLOW_SHELL', {
    help: 'run shell jobs here (the commands the leader sends, as this user); off unless set',
    fallback: false,
  }),
  shellCommands: list('CLOVER_SHELL_COMMANDS', {
    help: "when set, the only executables shell jobs may run, matched exactly against the job's command (comma-separated)",
    fallback: [],
  }),
  allowHttp: boolean('CLOVER_ALLOW_HTTP', { help: 'run http jobs here; off unless set', fallback: false }),
  httpUrlPrefixes: list('CLOVER_HTTP_URL_PREFIXES', {
    help: 'when set, http jobs may call only URLs under these prefixes (scheme, host, port and path start; comma-separated)',
    fallback: [],
  }),
  httpAllowPrivate: boolean('CLOVER_HTTP_ALLOW_PRIVATE', {
    help: 'let http jobs call loopback, link-local (cloud metadata) and private addresses',
    fallback: false,
  }),
  drainTimeoutMs: integer('CLOVER_DRAIN_TIMEOUT_MS', {
    help: 'on SIGTERM, wait this long for running executions',
    fallback: 30_000,
    min: 0,
  }),
  journal: optionalText(
    'CLOVER_EXEC_JOURNAL',
    'a file to append one JSON line to as each execution starts and ends (an audit of what ran on this host); default none',
  ),
  groupReaper: boolean('CLOVER_GROUP_REAPER', {
    help: 'kill the process groups of shell executions when the agent dies, whatever its death (needs /bin/sh)',
    fallback: true,
  }),
  curvePublicKey: optionalText('CLOVER_CURVE_PUBLIC_KEY', "this agent's CURVE public key (Z85)"),
  curveSecretKey: secret('CLOVER_CURVE_SECRET_KEY', { help: "this agent's CURVE secret key (Z85, from clover keys)" }),
  curveServerKey: optionalText(
    'CLOVER_CURVE_SERVER_KEY',
    "the dispatch-servers' CURVE public key (Z85), pinned: no other server gets this agent",
  ),
  ...plaintextSettings,
  ...metricsSettings(defaultMetricsPort),
};

/**
 * Opens the metrics and health endpoints, logger, ZooKeeper client and agent, each pushed onto
 * `cleanup` as it opens. Ready (`/readyz`): its ZooKeeper session connected and a dispatch leader
 * heard from in the last 10 s.
 */
export async function startAgent(s: SettingsOf<typeof agentSettings>, cleanup: CleanupStack): Promise<void> {
  const parts: { zk?: ZkClient; agent?: Agent } = {};
  const metrics = await serveObservability(
    s,
    { zookeeper: () => parts.zk?.state === 'connected', leader: () => parts.agent?.leaderConnected ?? false },
    cleanup,
  );
  const logger = createLogger({ service: 'agent', node: s.id, logDir: s.logDir });
  cleanup.push('logger', () => logger.close());
  const zk = (parts.zk = createZkClient({ connect: s.zk, sessionTimeoutMs: s.sessionTimeoutMs, logger, auth: s.zkAuth }));
  cleanup.push('ZooKeeper client', () => zk.close());
  const keys = [s.curvePublicKey, s.curveSecretKey, s.curveServerKey].filter((k) => k !== undefined).length;
  // Some keys but not all would run in plaintext while the operator thinks it is encrypted.
  if (keys > 0 && keys < 3)
    throw new SettingError(
      'CLOVER_CURVE_SERVER_KEY',
      'CURVE needs all three of CLOVER_CURVE_PUBLIC_KEY, CLOVER_CURVE_SECRET_KEY and CLOVER_CURVE_SERVER_KEY',
    );
  const curve =
    s.curvePublicKey && s.curveSecretKey && s.curveServerKey
      ? { publicKey: s.curvePublicKey, secretKey: s.curveSecretKey, serverKey: s.curveServerKey }
      : undefined;
  if (!curve && s.insecurePlaintext)
    logger.warn('CLOVER_INSECURE_PLAINTEXT=true: this agent follows a leader off this machine without CURVE');
  const agent = (parts.agent = registerDemoHandlers(
    new Agent({
      zk,
      paths: cloverPaths(s.zkRoot),
      id: s.id,
      groups: s.groups,
      tags: s.tags,
      capacity: s.capacity,
      processCapacity: s.processCapacity,
      heartbeatIntervalMs: s.heartbeatMs,
      curve,
      insecurePlaintext: s.insecurePlaintext,
      logger,
      shell: s.allowShell,
      shellCommands: s.shellCommands.length ? s.shellCommands : undefined,
      http: s.allowHttp,
      httpEgress: { allowPrivate: s.httpAllowPrivate, urlPrefixes: s.httpUrlPrefixes },
      drainTimeoutMs: s.drainTimeoutMs,
      dataDir: path.resolve(s.dataDir),
      groupReaper: s.groupReaper,
      ...(s.journal ? { journal: path.resolve(s.journal) } : {}),
      metrics,
    }),
  ));
  cleanup.push('agent', () => agent.close());
  await agent.start();
  logger.info('agent started', {
    id: s.id,
    groups: s.groups,
    capacity: s.capacity,
    processCapacity: Math.min(s.processCapacity, s.capacity),
  });
}

export function main(): Promise<void> {
  return runBin({
    name: 'clover-scheduler-client',
    about: 'the clover agent: runs the executions the dispatch leader sends',
    spec: agentSettings,
    start: startAgent,
    // The agent's close waits up to the drain timeout for running executions, and bounds each of
    // its own steps: its clean-up step is cut only well after the drain timeout.
    stepTimeoutMs: (s) => s.drainTimeoutMs + 60_000,
  });
}
