import { createRequire } from 'node:module';

// The package ships no types: it returns an array of metric families (`Parsed` below).
const parsePrometheusTextFormat = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => unknown[];

/** One sample of a metric family: a counter's or gauge's value, or a histogram's buckets, count and sum. */
export interface MetricSample {
  labels: Record<string, string>;
  /** Counters, gauges, untyped. */
  value?: number;
  /** Histograms: cumulative count by upper bound (`le`, `+Inf` included). */
  buckets?: Record<string, number>;
  count?: number;
  sum?: number;
}

/** A metric family as scraped: its name, type and help, and its samples. */
export interface MetricFamily {
  name: string;
  type: string;
  help: string;
  samples: MetricSample[];
}

/** A parsed scrape: families by name, and the sum of one family's values or counts over the samples whose labels match. */
export interface Scrape {
  families: Map<string, MetricFamily>;
  /**
   * The sum over the samples of `name` whose labels include `labels`: a counter's or gauge's
   * values, or a histogram's counts. Throws when there is no such family (a missing metric
   * fails the test that asked for it, rather than reading as 0).
   */
  total(name: string, labels?: Record<string, string>): number;
  /** The raw text, for a failure message. */
  text: string;
}

interface Parsed {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string; sum?: string }>;
}

/**
 * Parses a Prometheus text exposition with `parse-prometheus-text-format` (the Python client's
 * parser, ported): the check that what a bin serves is valid exposition, not just text.
 */
export function parseMetrics(text: string): Scrape {
  const families = new Map<string, MetricFamily>();
  for (const f of parsePrometheusTextFormat(text) as Parsed[]) {
    families.set(f.name, {
      name: f.name,
      type: f.type,
      help: f.help,
      samples: f.metrics.map((m) => ({
        labels: m.labels ?? {},
        ...(m.value !== undefined ? { value: Number(m.value) } : {}),
        ...(m.buckets ? { buckets: Object.fromEntries(Object.entries(m.buckets).map(([k, v]) => [k, Number(v)])) } : {}),
        ...(m.count !== undefined ? { count: Number(m.count) } : {}),
        ...(m.sum !== undefined ? { sum: Number(m.sum) } : {}),
      })),
    });
  }
  return {
    families,
    text,
    total(name, labels = {}) {
      const f = families.get(name);
      if (!f) throw new Error(`no metric ${name} in the scrape`);
      let sum = 0;
      for (const s of f.samples) if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value ?? s.count ?? 0;
      return sum;
    },
  };
}

/** GETs `url` (a bin's `/metrics`) and parses it; throws on a status other than 200. */
export async function scrapeMetrics(url: string): Promise<Scrape> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  return parseMetrics(text);
}
