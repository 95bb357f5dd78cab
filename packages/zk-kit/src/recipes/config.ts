import type { Logger } from '@clover/telemetry';
import { z } from 'zod';
import { InvalidDataError } from '../errors.js';
import type { ClusterConfig, NodeKind, ZkClient } from '../interfaces.js';
import type { CloverPaths } from '../paths.js';
import { nodeKinds } from '../paths.js';

export const defaultClusterConfig: ClusterConfig = {
  heartbeatIntervalMs: 2000,
  deadTimeoutMs: { servers: 10_000, clients: 10_000, monitors: 10_000 },
};

const positive = z.number().int().positive();
const nonNegative = z.number().int().nonnegative();

export interface ClusterConfigOptions {
  /** Told (warn) about every setting that was unreadable and fell back to its default. */
  logger?: Logger;
}

/**
 * The cluster settings at paths.config, with defaults for whatever is absent.
 *
 * Self-healing: the node is anyone's to edit (console, zkCli), so bad data never stops a reader.
 * A missing node gives the defaults; data that is not JSON, or not an object, gives the defaults
 * with a warning; a single setting that is not a positive integer (ms) falls back to its default
 * with a warning naming it, and the valid ones are kept. `quietPeriodMs` and `digestWindowMs`
 * (integers ≥ 0) are read only when present: absent, each monitor applies its own. Nothing here throws InvalidDataError;
 * only a lost connection rejects.
 */
export async function readClusterConfig(zk: ZkClient, paths: CloverPaths, opts: ClusterConfigOptions = {}): Promise<ClusterConfig> {
  let data: unknown = null;
  try {
    data = (await zk.get(paths.config))?.data ?? null;
  } catch (err) {
    if (!(err instanceof InvalidDataError)) throw err;
    opts.logger?.warn('cluster config is not JSON; using the defaults', { path: paths.config });
    return structuredClone(defaultClusterConfig);
  }
  return parseClusterConfig(data, (problem) => opts.logger?.warn(`cluster config ${problem}; using the default`, { path: paths.config }));
}

/** Takes each valid setting from `data` and the default for every other, telling `warn` which fell back. */
function parseClusterConfig(data: unknown, warn: (problem: string) => void): ClusterConfig {
  const config = structuredClone(defaultClusterConfig);
  if (data === null) return config;
  if (typeof data !== 'object' || Array.isArray(data)) {
    warn('is not an object');
    return config;
  }
  const d = data as Record<string, unknown>;
  if (d.heartbeatIntervalMs !== undefined) {
    const v = positive.safeParse(d.heartbeatIntervalMs);
    if (v.success) config.heartbeatIntervalMs = v.data;
    else warn('heartbeatIntervalMs is not a positive integer');
  }
  for (const key of ['quietPeriodMs', 'digestWindowMs'] as const) {
    if (d[key] === undefined) continue;
    const v = nonNegative.safeParse(d[key]);
    if (v.success) config[key] = v.data;
    else warn(`${key} is not an integer of 0 or more; each monitor's own setting applies`);
  }
  if (d.language !== undefined) {
    if (d.language === 'en' || d.language === 'zh') config.language = d.language;
    else warn('language is neither en nor zh; English applies');
  }
  if (d.deadTimeoutMs !== undefined) {
    const dead = d.deadTimeoutMs;
    if (typeof dead !== 'object' || dead === null || Array.isArray(dead)) warn('deadTimeoutMs is not an object');
    else {
      for (const kind of nodeKinds) {
        const raw = (dead as Partial<Record<NodeKind, unknown>>)[kind];
        if (raw === undefined) continue;
        const v = positive.safeParse(raw);
        if (v.success) config.deadTimeoutMs[kind] = v.data;
        else warn(`deadTimeoutMs.${kind} is not a positive integer`);
      }
    }
  }
  return config;
}

/**
 * Follows the cluster settings: calls `listener` with them once read, then after every write,
 * deletion or re-creation of paths.config, and after a session expiry (changes may have been
 * missed). Reads go through readClusterConfig, so a deleted or garbled node gives the defaults
 * (with a warning) and a later valid write is picked up. A read that fails for want of a
 * connection is retried by the watch's next event. Returns a stop function; `ready` resolves
 * after the first read.
 */
export function watchClusterConfig(
  zk: ZkClient,
  paths: CloverPaths,
  listener: (config: ClusterConfig) => void,
  opts: ClusterConfigOptions = {},
): (() => void) & { ready: Promise<void> } {
  let stopped = false;
  let reading: Promise<void> = Promise.resolve();
  const readAndTell = async () => {
    try {
      const config = await readClusterConfig(zk, paths, opts);
      // Stopped while reading: the listener hears nothing more.
      if (!stopped) listener(config);
    } catch (err) {
      opts.logger?.warn('could not read the cluster config', { path: paths.config, err });
    }
  };
  const read = () => {
    reading = reading.then(() => (stopped ? undefined : readAndTell()));
    return reading;
  };
  const stopWatch = zk.watch(paths.config, () => void read());
  const ready = stopWatch.ready.then(() => read());
  return Object.assign(
    () => {
      stopped = true;
      stopWatch();
    },
    { ready },
  );
}

export async function writeClusterConfig(zk: ZkClient, paths: CloverPaths, config: ClusterConfig): Promise<void> {
  await zk.ensurePath(paths.root);
  if (await zk.exists(paths.config)) await zk.set(paths.config, config);
  else await zk.create(paths.config, config);
}
