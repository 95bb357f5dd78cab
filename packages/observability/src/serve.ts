import { noopMetrics, type Metrics, type ReadinessChecks } from '@clover/telemetry';
import { ObservabilityServer } from './endpoints.js';
import { PrometheusMetrics } from './prometheus.js';

/** What a bin reads to serve its endpoints (`metricsSettings` of @clover/config). */
export interface ServeSettings {
  /** Record metrics (false: `/metrics` answers 404 and the libraries get `noopMetrics`). */
  metrics: boolean;
  metricsPort: number;
  metricsHost: string;
}

/**
 * A bin's first step: `/metrics`, `/healthz` and `/readyz` served before anything else opens, so a
 * probe sees a process alive but not ready while it waits for ZooKeeper or the store. Pushes its
 * close onto `cleanup` and answers the `Metrics` to hand the libraries.
 *
 * @param ready read when probed: a check may look at a part not opened yet, and say false.
 * @throws when the port is taken.
 */
export async function serveObservability(
  s: ServeSettings,
  ready: ReadinessChecks,
  cleanup: { push(name: string, step: () => Promise<void>): unknown },
): Promise<Metrics> {
  const metrics = s.metrics ? new PrometheusMetrics() : null;
  const server = new ObservabilityServer({ port: s.metricsPort, host: s.metricsHost, metrics, ready });
  await server.start();
  cleanup.push('metrics and health endpoints', () => server.close());
  return metrics ?? noopMetrics;
}

/** The parts a server bin is ready with, as they open (structural: this package depends on neither). */
export interface ServerParts {
  zk?: { readonly state: string };
  store?: { jobs: { get(id: string): Promise<unknown> } };
}

/**
 * The readiness of a bin with a ZooKeeper session and a store: `zookeeper` while the session is
 * connected, `store` when a read by key answers (the store has no ping; a missing id is one index
 * lookup). Each is false until its part is set in `parts`.
 */
export function zkAndStoreReady(parts: ServerParts): ReadinessChecks {
  return {
    zookeeper: () => parts.zk?.state === 'connected',
    store: async () => {
      if (!parts.store) return false;
      await parts.store.jobs.get('readiness-probe');
      return true;
    },
  };
}
