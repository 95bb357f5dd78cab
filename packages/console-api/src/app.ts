import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';
import cookieParser from 'cookie-parser';
import type { Logger } from '@clover/logging';
import { endpointsHandler, type EndpointsOptions } from '@clover/observability';
import { noopMetrics, type Metrics } from '@clover/telemetry';
import type { Store } from '@clover/store';
import type { CloverPaths, ZkClient } from '@clover/zk-kit';
import { authenticate } from './auth/sessions.js';
import { LoginThrottle } from './auth/throttle.js';
import type { ApiDeps } from './deps.js';
import { apiError, errorHandler, protoKeyMessage } from './errors.js';
import { ConsoleMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { auditRoutes, auditWrites } from './routes/audit.js';
import { authRoutes } from './routes/auth.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { machineRoutes } from './routes/machines.js';
import { nodeRoutes } from './routes/nodes.js';
import { settingsRoutes } from './routes/settings.js';
import { contactRoutes, historyRoutes } from './routes/records.js';
import { statsRoutes } from './routes/stats.js';

export const consoleApiVersion = '0.1.0';

export interface ConsoleAppOptions {
  store: Store;
  zk: ZkClient;
  paths: CloverPaths;
  logger: Logger;
  /** The built console-web; omitted, only /api is served. */
  webDir?: string;
  throttle?: LoginThrottle;
  clock?: () => number;
  /** Behind a reverse proxy, so req.ip and req.secure are the client's. */
  trustProxy?: boolean;
  /** Where its metrics go (ConsoleMetrics: requests by route and status, latency, logins refused); default: nowhere. */
  metrics?: Metrics;
  /**
   * When given, `/metrics`, `/healthz` and `/readyz` are served on this app's port, before
   * anything else and without authentication (what a probe and Prometheus reach).
   */
  endpoints?: EndpointsOptions;
}

export function createConsoleApp(o: ConsoleAppOptions): Express {
  const clock = o.clock ?? Date.now;
  const deps: ApiDeps = {
    store: o.store,
    zk: o.zk,
    paths: o.paths,
    logger: o.logger,
    throttle: o.throttle ?? new LoginThrottle(),
    metrics: new ConsoleMetrics(o.metrics ?? noopMetrics),
    version: consoleApiVersion,
    startedAt: clock(),
    clock,
  };
  const app = express();
  app.disable('x-powered-by');
  if (o.endpoints) {
    const serve = endpointsHandler(o.endpoints);
    app.use((req, res, next) => {
      if (!serve(req, res)) next();
    });
  }
  app.use(deps.metrics.middleware());
  app.set('trust proxy', o.trustProxy ?? false);
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'same-origin');
    next();
  });

  const api = express.Router();
  // A `__proto__` key is refused, not dropped: the schemas skip it without a word (a job's header
  // or environment variable so named vanished), as the wire codec refuses it (docs/protocol.md).
  api.use(express.json({ limit: '256kb', reviver: refuseProtoKey }));
  api.use(cookieParser());
  api.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  const openapi = openApiDocument(consoleApiVersion);
  api.get('/openapi.json', (_req, res) => void res.json(openapi));
  api.use(healthRoutes(deps));
  api.use(authenticate(o.store));
  api.use(auditWrites(deps));
  api.use(auditRoutes(deps));
  api.use(authRoutes(deps));
  api.use(statsRoutes(deps));
  api.use(nodeRoutes(deps));
  api.use(machineRoutes(deps));
  api.use(settingsRoutes(deps));
  api.use(jobRoutes(deps));
  api.use(historyRoutes(deps));
  api.use(contactRoutes(deps));
  api.use((req) => {
    throw apiError('not_found', `no such endpoint: ${req.method} /api${req.path}`);
  });
  api.use(errorHandler(o.logger));
  app.use('/api', api);

  if (o.webDir && existsSync(path.join(o.webDir, 'index.html'))) {
    const index = path.join(o.webDir, 'index.html');
    app.use(express.static(o.webDir, { index: false, maxAge: '1h' }));
    // Client-side routes: every other GET gets the app.
    app.use((req, res, next) => (req.method === 'GET' || req.method === 'HEAD' ? res.sendFile(index) : next()));
  } else {
    app.get(
      '/',
      (_req, res) => void res.type('text').send('clover console API: the web console is not built (pnpm build); the API is under /api'),
    );
  }
  return app;
}

/** express.json's reviver: a body with a `__proto__` key anywhere is a 400 that says so (errors.ts). */
function refuseProtoKey(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new SyntaxError(protoKeyMessage);
  return value;
}
