import { Router } from 'express';
import type { Health } from '@clover/model';
import type { ApiDeps } from '../deps.js';

export function healthRoutes(d: ApiDeps): Router {
  const r = Router();
  r.get('/health', async (_req, res) => {
    let store: Health['store'] = 'ok';
    try {
      await d.store.users.count();
    } catch {
      store = 'error';
    }
    const zk = d.zk.state === 'connected' ? 'connected' : 'disconnected';
    res.status(store === 'ok' ? 200 : 503).json({
      status: store === 'ok' ? 'ok' : 'degraded',
      version: d.version,
      uptimeSec: Math.round((d.clock() - d.startedAt) / 1000),
      zk,
      store,
    } satisfies Health);
  });
  return r;
}
