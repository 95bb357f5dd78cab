import type { RequestHandler } from 'express';
import { secondsBuckets, type Counter, type Histogram, type Metrics } from '@clover/telemetry';

/** The console API's metrics (docs/deploy.md, "Metrics"), on the `Metrics` port. */
export class ConsoleMetrics {
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly latency: Histogram<'method' | 'route'>;
  readonly loginsFailed: Counter;
  readonly loginsThrottled: Counter;

  constructor(m: Metrics) {
    this.requests = m.counter({
      name: 'clover_console_http_requests_total',
      help: 'HTTP requests answered, by method, route template (/api/jobs/:id; "other" for the web app and unknown paths) and status',
      labelNames: ['method', 'route', 'status'],
    });
    this.latency = m.histogram({
      name: 'clover_console_http_request_duration_seconds',
      help: 'From a request arriving to its answer sent, in seconds, by method and route template',
      labelNames: ['method', 'route'],
      buckets: secondsBuckets,
    });
    this.loginsFailed = m.counter({ name: 'clover_console_logins_failed_total', help: 'Logins refused for a wrong user name or password' });
    this.loginsThrottled = m.counter({
      name: 'clover_console_logins_throttled_total',
      help: 'Logins refused unchecked, after too many failures (429)',
    });
  }

  /**
   * Counts and times every request by its route template, never its path: a job id in a label
   * would make a time series per job. Express knows the template once a route matched.
   */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const start = performance.now();
      res.once('finish', () => {
        const template = (req.route as { path?: unknown } | undefined)?.path;
        const route = typeof template === 'string' ? `${req.originalUrl.startsWith('/api/') ? '/api' : ''}${template}` : 'other';
        const method = knownMethods.has(req.method) ? req.method : 'other';
        this.requests.inc({ method, route, status: String(res.statusCode) });
        this.latency.observe((performance.now() - start) / 1000, { method, route });
      });
      next();
    };
  }
}

/** Methods kept as label values; anything else (a scanner's) is "other", so the label stays bounded. */
const knownMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
