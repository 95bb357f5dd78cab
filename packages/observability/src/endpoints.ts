import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { settleWithin, within } from '@clover/lifecycle';
import type { ReadinessChecks } from '@clover/telemetry';
import type { PrometheusMetrics } from './prometheus.js';

export interface EndpointsOptions {
  /** What `/metrics` serves; null: metrics are off, and `/metrics` answers 404 saying so. */
  metrics: PrometheusMetrics | null;
  /** What `/readyz` runs, by name: every one must say true. */
  ready: ReadinessChecks;
  /** How long one readiness check may take before it counts as failing (ms, default 2000). */
  checkTimeoutMs?: number;
}

/** What `/readyz` answers: each check's verdict by name, `ok` or why not. */
export interface ReadyReport {
  ready: boolean;
  checks: Record<string, string>;
}

/** Runs every check at once, each bounded; a throw or a timeout is a failed check, not a failed probe. */
export async function readiness(ready: ReadinessChecks, checkTimeoutMs = 2000): Promise<ReadyReport> {
  const entries = await Promise.all(
    Object.entries(ready).map(async ([name, check]): Promise<[string, string]> => {
      try {
        const ok = await within(Promise.resolve().then(check), checkTimeoutMs, `readiness check ${name}`);
        return [name, ok ? 'ok' : 'not ready'];
      } catch (err) {
        return [name, err instanceof Error ? err.message : String(err)];
      }
    }),
  );
  return { ready: entries.every(([, v]) => v === 'ok'), checks: Object.fromEntries(entries) };
}

/**
 * A request handler for `GET /metrics`, `/healthz` and `/readyz` (Kubernetes' names), for a
 * bin's own HTTP server or console-api's: answers and returns true for those paths, returns
 * false (answering nothing) for any other.
 *
 * - `/healthz`: 200 while the process can answer at all (a liveness probe restarts it otherwise).
 * - `/readyz`: 200 when every readiness check passes, else 503; the body names each check.
 * - `/metrics`: the Prometheus text exposition, or 404 when metrics are off.
 */
export function endpointsHandler(opts: EndpointsOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('only GET and HEAD\n');
      return true;
    }
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
    };
    const json = (status: number, body: unknown) => send(status, 'application/json', `${JSON.stringify(body)}\n`);
    const fail = (err: unknown) => send(500, 'text/plain', `${err instanceof Error ? err.message : String(err)}\n`);
    if (path === '/healthz') json(200, { status: 'ok' });
    else if (path === '/readyz') readiness(opts.ready, opts.checkTimeoutMs).then((r) => json(r.ready ? 200 : 503, r), fail);
    else if (!opts.metrics) send(404, 'text/plain', 'metrics are off (CLOVER_METRICS=false)\n');
    else {
      const m = opts.metrics;
      m.text().then((text) => send(200, m.contentType, text), fail);
    }
    return true;
  };
}

export interface ObservabilityServerOptions extends EndpointsOptions {
  /** TCP port; 0 picks a free one (see `port` after start). */
  port: number;
  /** Interface to listen on (default 0.0.0.0: Prometheus and a container's probes reach it from outside). */
  host?: string;
}

/**
 * A bin's own small HTTP server for `/metrics`, `/healthz` and `/readyz` (anything else is 404), on
 * its own port so a busy or blocked API never hides the health of the process behind it.
 */
export class ObservabilityServer {
  private server: http.Server | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: ObservabilityServerOptions) {}

  /** Listens; throws when the port is taken. */
  async start(): Promise<void> {
    const handle = endpointsHandler(this.opts);
    const server = http.createServer((req, res) => {
      if (!handle(req, res)) res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** The port listened on, once started. */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.opts.port;
  }

  close(): Promise<void> {
    this.closing ??= this.drain();
    return this.closing;
  }

  private async drain(): Promise<void> {
    const server = this.server;
    if (!server?.listening) return;
    // A scraper's keep-alive connection would hold close() open for ever.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await settleWithin(closed, 2000);
  }
}
