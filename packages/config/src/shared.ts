import os from 'node:os';
import path from 'node:path';
import { boolean, integer, optionalText, port, secret, text, url, zkConnect, zkRoot } from './parsers.js';

/*
 * The settings every clover bin shares, declared once: a bin's spec spreads the groups it uses
 * (`{ ...zkSettings, ...storeSettings, bind: endpoint(…) }`), so a variable has one name, one
 * default and one help line in every bin. A bin that needs a different meaning declares its own
 * key instead (clover standalone's `nodeId` is an id prefix, not a node id).
 */

/** The ZooKeeper session: `zk` (required), `zkRoot`, `sessionTimeoutMs`. */
export const zkSettings = {
  zk: zkConnect('CLOVER_ZK', { help: 'ZooKeeper connect string (host:port,...)', required: true }),
  zkRoot: zkRoot('CLOVER_ZK_ROOT', { help: 'root znode of this cluster', fallback: '/clover' }),
  sessionTimeoutMs: integer('CLOVER_ZK_SESSION_TIMEOUT_MS', {
    help: 'ZooKeeper session timeout; a dead process is noticed, and a dead leader replaced, after about this long',
    fallback: 10_000,
    min: 1000,
  }),
  zkAuth: secret('CLOVER_ZK_AUTH', {
    help: "clover's ZooKeeper identity, user:password (digest); every node clover creates is then clover's alone (docs/security.md)",
    parse: (raw) => {
      const at = raw.indexOf(':');
      if (at <= 0 || at === raw.length - 1) throw new Error('expected user:password, both non-empty');
      return { user: raw.slice(0, at), password: raw.slice(at + 1) };
    },
  }),
};

/**
 * Plaintext ZeroMQ off this machine: a dispatch-server binding off loopback without CURVE, or an
 * agent following such a leader, refuses to unless this says so (docs/security.md).
 */
export const plaintextSettings = {
  insecurePlaintext: boolean('CLOVER_INSECURE_PLAINTEXT', {
    help: 'allow the ZeroMQ channel without CURVE off this machine (anyone who can reach it or write to ZooKeeper can then run jobs or read them)',
    fallback: false,
  }),
};

/**
 * The data directory, resolved against the working directory when the settings are read: the
 * embedded store's file (`clover.db`) and an agent's records of its running shell executions.
 */
export const dataDirSettings = {
  dataDir: text('CLOVER_DATA_DIR', {
    help: "data directory: the embedded store, and an agent's records of running shell executions",
    fallback: () => path.resolve('.clover-data'),
  }),
};

/**
 * The store: MongoDB when `mongoUrl` is set, else the embedded SQLite store in `dataDir`. Unset
 * is the default everywhere, so a bin, standalone and the CLI find one store on one host.
 */
export const storeSettings = {
  mongoUrl: url('CLOVER_MONGO_URL', {
    help: 'MongoDB URL; unset: the embedded store in CLOVER_DATA_DIR',
    schemes: ['mongodb', 'mongodb+srv'],
    secret: true,
  }),
  ...dataDirSettings,
};

/** This process's node id (`<hostname>-<pid>` by default): its znode and its name in the logs. */
export const nodeSettings = {
  id: text('CLOVER_NODE_ID', { help: "this process's node id", fallback: () => `${os.hostname()}-${process.pid}` }),
};

/** How often this process's heartbeat znode is rewritten, in ms. */
export const heartbeatSettings = {
  heartbeatMs: integer('CLOVER_HEARTBEAT_MS', { help: 'heartbeat interval in ms', fallback: 2000, min: 100 }),
};

/** Where daily-rotated JSON log files go; unset: no files (the log still goes to stderr and, from warn up, to the store). */
export const logSettings = {
  logDir: optionalText('CLOVER_LOG_DIR', 'directory for daily-rotated JSON log files'),
};

/**
 * Whether this process records Prometheus metrics: `/metrics` serves them, or answers 404 when
 * off. Off is the baseline of the metrics-on-versus-off bench; `/healthz` and `/readyz` stay.
 */
export const metricsSwitchSettings = {
  metrics: boolean('CLOVER_METRICS', { help: 'record Prometheus metrics and serve them at /metrics', fallback: true }),
};

/**
 * A bin's own HTTP port for `/metrics`, `/healthz` and `/readyz` (docs/deploy.md lists each bin's
 * default) and the interface it listens on: all of them by default, as Prometheus and a
 * container's probes come from outside; the endpoints say nothing secret.
 */
export function metricsSettings(defaultPort: number) {
  return {
    ...metricsSwitchSettings,
    metricsPort: port('CLOVER_METRICS_PORT', { help: 'HTTP port of /metrics, /healthz and /readyz', fallback: defaultPort }),
    metricsHost: text('CLOVER_METRICS_HOST', { help: 'interface /metrics, /healthz and /readyz listen on', fallback: '0.0.0.0' }),
  };
}

/** Every shared group at once: what a bin with a ZooKeeper session, a store and a heartbeat reads. */
export const sharedSettings = {
  ...zkSettings,
  ...storeSettings,
  ...nodeSettings,
  ...heartbeatSettings,
  ...logSettings,
};
