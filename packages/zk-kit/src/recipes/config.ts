import { z } from 'zod';
import type { ClusterConfig, ZkClient } from '../interfaces.js';
import type { CloverPaths } from '../paths.js';

export const defaultClusterConfig: ClusterConfig = {
  heartbeatIntervalMs: 2000,
  deadTimeoutMs: { servers: 10_000, clients: 10_000, monitors: 10_000 },
};

const positive = z.number().int().positive();
const configSchema = z.object({
  heartbeatIntervalMs: positive.optional(),
  deadTimeoutMs: z.object({ servers: positive.optional(), clients: positive.optional(), monitors: positive.optional() }).partial().optional(),
}).nullable();

/** The cluster settings at paths.config, with defaults for whatever is absent. */
export async function readClusterConfig(zk: ZkClient, paths: CloverPaths): Promise<ClusterConfig> {
  const node = await zk.get(paths.config, configSchema);
  const data = node?.data ?? {};
  return {
    heartbeatIntervalMs: data.heartbeatIntervalMs ?? defaultClusterConfig.heartbeatIntervalMs,
    deadTimeoutMs: { ...defaultClusterConfig.deadTimeoutMs, ...(data.deadTimeoutMs ?? {}) },
  };
}

export async function writeClusterConfig(zk: ZkClient, paths: CloverPaths, config: ClusterConfig): Promise<void> {
  await zk.ensurePath(paths.root);
  if (await zk.exists(paths.config)) await zk.set(paths.config, config);
  else await zk.create(paths.config, config);
}
