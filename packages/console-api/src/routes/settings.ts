import { Router } from 'express';
import { clusterConfigBodySchema, parseOrThrow, type ClusterSettings } from '@clover/model';
import { defaultClusterConfig, readClusterConfig, type ZkClient, type CloverPaths } from '@clover/zk-kit';
import type { ApiDeps } from '../deps.js';
import { apiError } from '../errors.js';
import { principalOf, requireRole } from '../auth/principal.js';

/**
 * Writes /clover/config with the defaults when it is absent, so the node the README and the
 * settings page name exists from the first start (the readers fall back to the same defaults
 * either way). Another process writing it first is fine: that write stands.
 */
export async function ensureClusterConfig(zk: ZkClient, paths: CloverPaths): Promise<boolean> {
  if (await zk.exists(paths.config)) return false;
  await zk.ensurePath(paths.root);
  try {
    await zk.create(paths.config, defaultClusterConfig);
    return true;
  } catch (err) {
    if (await zk.exists(paths.config)) return false;
    throw err;
  }
}

/** The cluster settings page: read by anyone signed in, written by admins, version-checked like a node edit. */
export function settingsRoutes(d: ApiDeps): Router {
  const r = Router();
  r.get('/config', requireRole('viewer'), async (_req, res) => {
    const node = await d.zk.getRaw(d.paths.config);
    const config = await readClusterConfig(d.zk, d.paths, { logger: d.logger });
    res.json({ config, version: node ? node.stat.version : -1, defaults: defaultClusterConfig } satisfies ClusterSettings);
  });

  r.put('/config', requireRole('admin'), async (req, res) => {
    const { version, ...config } = parseOrThrow(clusterConfigBodySchema, req.body);
    if (version === -1) {
      if (await d.zk.exists(d.paths.config)) throw apiError('conflict', 'the settings were written meanwhile; reload them and try again');
      await d.zk.ensurePath(d.paths.root);
      await d.zk.create(d.paths.config, config);
    } else await d.zk.set(d.paths.config, config, version);
    d.logger.info('cluster settings changed from the console', { ...config, by: principalOf(res)?.name });
    const node = await d.zk.getRaw(d.paths.config);
    res.json({ config, version: node ? node.stat.version : -1, defaults: defaultClusterConfig } satisfies ClusterSettings);
  });
  return r;
}
