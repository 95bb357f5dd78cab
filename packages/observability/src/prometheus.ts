import client from 'prom-client';
import {
  secondsBuckets,
  type Counter,
  type Gauge,
  type GaugeDefinition,
  type Histogram,
  type HistogramDefinition,
  type Labels,
  type MetricDefinition,
  type Metrics,
} from '@clover/telemetry';

export interface PrometheusMetricsOptions {
  /**
   * Node's process metrics too (`process_cpu_seconds_total`, `nodejs_eventloop_lag_seconds`, heap,
   * GC...: prom-client's `collectDefaultMetrics`). Default true; a test that builds several in
   * one process may turn them off.
   */
  defaultMetrics?: boolean;
}

type Made = { kind: 'counter' | 'gauge' | 'histogram'; port: unknown };

/**
 * The `Metrics` port on prom-client, with a registry of its own (never prom-client's global one),
 * so two in one process (tests, two servers) do not collide and `clover standalone` shares one
 * among its roles. `text()` is the exposition `/metrics` serves.
 */
export class PrometheusMetrics implements Metrics {
  readonly registry = new client.Registry();
  private readonly made = new Map<string, Made>();

  constructor(opts: PrometheusMetricsOptions = {}) {
    if (opts.defaultMetrics ?? true) client.collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition (format 0.0.4) of every metric, gauges' `collect` run first. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of `text()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  counter<L extends string = never>(def: MetricDefinition<L>): Counter<L> {
    return this.once(def.name, 'counter', () => {
      const c = new client.Counter({ name: def.name, help: def.help, labelNames: def.labelNames ?? [], registers: [this.registry] });
      return { inc: (labels?: Labels<L>, value = 1) => (labels ? c.inc(labels as client.LabelValues<string>, value) : c.inc(value)) };
    });
  }

  gauge<L extends string = never>(def: GaugeDefinition<L>): Gauge<L> {
    return this.once(def.name, 'gauge', () => {
      let port: Gauge<L> | null = null;
      const collect = def.collect;
      const g = new client.Gauge({
        name: def.name,
        help: def.help,
        labelNames: def.labelNames ?? [],
        registers: [this.registry],
        ...(collect
          ? {
              collect: () => {
                if (port) collect(port);
              },
            }
          : {}),
      });
      port = {
        set: (value: number, labels?: Labels<L>) => (labels ? g.set(labels as client.LabelValues<string>, value) : g.set(value)),
        inc: (labels?: Labels<L>, value = 1) => (labels ? g.inc(labels as client.LabelValues<string>, value) : g.inc(value)),
        dec: (labels?: Labels<L>, value = 1) => (labels ? g.dec(labels as client.LabelValues<string>, value) : g.dec(value)),
      };
      return port;
    });
  }

  histogram<L extends string = never>(def: HistogramDefinition<L>): Histogram<L> {
    return this.once(def.name, 'histogram', () => {
      const h = new client.Histogram({
        name: def.name,
        help: def.help,
        labelNames: def.labelNames ?? [],
        buckets: [...(def.buckets ?? secondsBuckets)],
        registers: [this.registry],
      });
      return {
        observe: (value: number, labels?: Labels<L>) =>
          labels ? h.observe(labels as client.LabelValues<string>, value) : h.observe(value),
      };
    });
  }

  private once<T>(name: string, kind: Made['kind'], make: () => T): T {
    const known = this.made.get(name);
    if (known) {
      if (known.kind !== kind) throw new Error(`metric ${name} is already a ${known.kind}, not a ${kind}`);
      return known.port as T;
    }
    const port = make();
    this.made.set(name, { kind, port });
    return port;
  }
}
