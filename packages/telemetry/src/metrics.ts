/**
 * The metrics port every clover library records into (as Temporal's SDK passes a `MetricMeter`),
 * so a library never imports prom-client: a bin hands it the Prometheus adapter
 * (`@clover/observability`), a test `noopMetrics` or its own.
 *
 * Names follow Prometheus' conventions (prometheus.io/docs/practices/naming): a `clover_` prefix,
 * the unit in the name in base units (`_seconds`, `_bytes`), `_total` on counters. Label values
 * come from small fixed sets (a status, a trigger, a kind): never a run id or a job id, since
 * every distinct value is a time series kept for ever.
 */

/** Label values by label name; a missing label is the empty string. */
export type Labels<L extends string> = Partial<Record<L, string>>;

export interface MetricDefinition<L extends string> {
  /** Full name, `clover_` prefix and unit included (`clover_dispatch_fires_total`). */
  name: string;
  /** One line saying what is counted or measured, and in which unit. */
  help: string;
  /** The labels, each with a bounded set of values. */
  labelNames?: readonly L[];
}

/** Only goes up; reset by a restart (Prometheus' `rate()` copes). */
export interface Counter<L extends string = never> {
  /** Adds `value` (default 1, never negative). */
  inc(labels?: Labels<L>, value?: number): void;
}

/** A value that goes up and down: set, or sampled when scraped (`GaugeDefinition.collect`). */
export interface Gauge<L extends string = never> {
  set(value: number, labels?: Labels<L>): void;
  inc(labels?: Labels<L>, value?: number): void;
  dec(labels?: Labels<L>, value?: number): void;
}

/** Counts observations into buckets: latencies, sizes. */
export interface Histogram<L extends string = never> {
  observe(value: number, labels?: Labels<L>): void;
}

export interface GaugeDefinition<L extends string> extends MetricDefinition<L> {
  /**
   * Called before each scrape to set the gauge from the live state (runs in flight, agents'
   * capacity), so the hot path pays nothing for it. Keep it cheap and non-throwing.
   */
  collect?: (gauge: Gauge<L>) => void;
}

export interface HistogramDefinition<L extends string> extends MetricDefinition<L> {
  /** Upper bounds of the buckets, ascending, in the metric's unit (default: `secondsBuckets`). */
  buckets?: readonly number[];
}

/**
 * Makes metrics. Asking twice for one name returns the same metric (two parts of one process, as in
 * `clover standalone`, may share one); asking for a name already taken by another kind throws.
 */
export interface Metrics {
  counter<L extends string = never>(def: MetricDefinition<L>): Counter<L>;
  gauge<L extends string = never>(def: GaugeDefinition<L>): Gauge<L>;
  histogram<L extends string = never>(def: HistogramDefinition<L>): Histogram<L>;
}

/**
 * Latency buckets in seconds, 1 ms to 60 s: the scheduler's own delays (lateness, detection) are
 * milliseconds when all is well and seconds when not, and an alert on p99 needs both ends.
 */
export const secondsBuckets: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Buckets for job durations in seconds, 10 ms to 6 h. */
export const durationBuckets: readonly number[] = [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 21_600];

/** Buckets for counts (batch sizes): powers of 2 up to 4096. */
export const countBuckets: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

const noop = { inc() {}, dec() {}, set() {}, observe() {} };

/** Records nothing: the default of every library, and what `CLOVER_METRICS=false` gives a bin. */
export const noopMetrics: Metrics = {
  counter: () => noop,
  gauge: () => noop,
  histogram: () => noop,
};
