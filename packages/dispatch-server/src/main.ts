import {
  boolean,
  endpoint,
  integer,
  list,
  metricsSettings,
  plaintextSettings,
  runBin,
  secret,
  sharedSettings,
  optionalText,
  SettingError,
  type CleanupStack,
  type Setting,
  type SettingsOf,
} from '@clover/config';
import { createLogger } from '@clover/logging';
import { serveObservability, zkAndStoreReady } from '@clover/observability';
import { assertPartitionCount, defaultPartitionCount, maxPartitionCount } from '@clover/partitions';
import { openStore, type Store } from '@clover/store';
import { cloverPaths, createZkClient, type ZkClient } from '@clover/zk-kit';
import { defaultClaimAheadMs, defaultMaxWaitingRuns } from './interfaces.js';
import { DispatchServer } from './server.js';
import { checkWirePolicy } from './wire-policy.js';

/** The default port of a dispatch-server's /metrics, /healthz and /readyz (docs/deploy.md lists every port). */
export const defaultMetricsPort = 9710;

export const dispatchSettings = {
  ...sharedSettings,
  bind: endpoint('CLOVER_DISPATCH_BIND', { help: 'ZeroMQ ROUTER bind endpoint', fallback: 'tcp://127.0.0.1:7710' }),
  advertise: optionalText('CLOVER_DISPATCH_ADVERTISE', 'endpoint agents use to reach this server (default: the bind endpoint)'),
  ackTimeoutMs: integer('CLOVER_ACK_TIMEOUT_MS', { help: 'wait for an ACK before sending EXEC again', fallback: 1000, min: 50 }),
  claimAheadMs: integer('CLOVER_CLAIM_AHEAD_MS', {
    help: "how long before its slot a fire's run is written, so the EXEC leaves on time",
    fallback: defaultClaimAheadMs,
    min: 0,
    max: 1000,
  }),
  maxWaitingRuns: integer('CLOVER_MAX_WAITING_RUNS', {
    help: 'the most runs that wait at once for an agent with a free slot (~1.2 KB each); a fire beyond it ends as a missed start',
    fallback: defaultMaxWaitingRuns,
    min: 0,
    max: 10_000_000,
  }),
  shares: boolean('CLOVER_DISPATCH_SHARES', {
    help: 'share the jobs out: every dispatch-server fires the jobs of the partitions it owns, not one elected leader all of them (every server of a cluster alike)',
    fallback: false,
  }),
  partitionCount: partitionCountSetting(),
  curveSecretKey: secret('CLOVER_CURVE_SECRET_KEY', {
    help: "the dispatch-servers' CURVE secret key (Z85, from clover keys); required when the bind endpoint is off this machine",
  }),
  curveAllowedKeys: list('CLOVER_CURVE_ALLOWED_KEYS', { help: 'agent CURVE public keys allowed in (comma-separated Z85)', fallback: [] }),
  ...plaintextSettings,
  ...metricsSettings(defaultMetricsPort),
};

/**
 * `CLOVER_PARTITIONS`: a power of two from 1 to 65,536 (@clover/partitions `assertPartitionCount`),
 * default 1,024; another value is a bad setting, refused before anything opens.
 */
function partitionCountSetting(): Setting<number> {
  const whole = integer('CLOVER_PARTITIONS', {
    help: 'with CLOVER_DISPATCH_SHARES: the number of partitions, a power of two, the same on every server',
    fallback: defaultPartitionCount,
    min: 1,
    max: maxPartitionCount,
  });
  return {
    ...whole,
    parse: (raw, name) => {
      const n = whole.parse(raw, name);
      try {
        assertPartitionCount(n);
      } catch {
        throw new SettingError(name, `expected a power of two from 1 to ${maxPartitionCount}, got "${raw}"`);
      }
      return n;
    },
  };
}

/**
 * Opens the metrics and health endpoints, store, logger, ZooKeeper client and server, each pushed
 * onto `cleanup` as it opens. Ready (`/readyz`): its ZooKeeper session connected and the store answering.
 */
export async function startDispatch(s: SettingsOf<typeof dispatchSettings>, cleanup: CleanupStack): Promise<void> {
  // Before anything opens: an unsafe wire is a bad setting, not a start that half happened.
  const wireWarning = checkWirePolicy(s);
  const parts: { zk?: ZkClient; store?: Store } = {};
  const metrics = await serveObservability(s, zkAndStoreReady(parts), cleanup);
  const store = (parts.store = await openStore({ mongoUrl: s.mongoUrl, dataDir: s.dataDir, backgroundCheckpoint: true }));
  cleanup.push('store', () => store.close());
  const logger = createLogger({ service: 'dispatch-server', node: s.id, logDir: s.logDir, store });
  cleanup.push('logger', () => logger.close());
  if (wireWarning) logger.warn(wireWarning);
  const zk = (parts.zk = createZkClient({ connect: s.zk, sessionTimeoutMs: s.sessionTimeoutMs, logger, auth: s.zkAuth }));
  cleanup.push('ZooKeeper client', () => zk.close());
  if (s.zkAuth) {
    // A tree made before the cluster had credentials keeps open folders until they are claimed.
    await zk.connect();
    logger.info("clover's ZooKeeper tree is under its ACL", { root: s.zkRoot, nodes: await zk.claimTree(s.zkRoot) });
  }
  const server = new DispatchServer({
    zk,
    paths: cloverPaths(s.zkRoot),
    store,
    logger,
    metrics,
    id: s.id,
    bind: s.bind,
    advertise: s.advertise,
    heartbeatIntervalMs: s.heartbeatMs,
    claimAheadMs: s.claimAheadMs,
    timings: { ackTimeoutMs: s.ackTimeoutMs },
    maxWaitingRuns: s.maxWaitingRuns,
    shares: s.shares,
    partitionCount: s.partitionCount,
    curve: s.curveSecretKey ? { secretKey: s.curveSecretKey, allowedClientKeys: s.curveAllowedKeys } : undefined,
  });
  // Pushed before start(): a start that fails half way has bound its socket or joined the election.
  cleanup.push('dispatch-server', () => server.close());
  await server.start();
}

export function main(): Promise<void> {
  return runBin({
    name: 'clover-dispatch-server',
    about: 'the clover scheduling core: fires jobs and dispatches them to agents',
    spec: dispatchSettings,
    start: startDispatch,
  });
}
