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
  metrics: Array<{ labels?: Record<string, string>; value?: string }>;
}

/**
 * Parses a Prometheus text exposition with `parse-prometheus-text-format` (the Python client's
 * parser, ported): the check that what a bin serves is valid exposition, not just text.
 *
 * That parser folds every sample of a histogram family into one, dropping its labels (it was
 * written for unlabelled ones), so histograms are handed to it as untyped series (`_bucket`,
 * `_count`, `_sum`, each keeping its labels) and put back together here by label set.
 */
export function parseMetrics(text: string): Scrape {
  const histograms = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) histogram$/gm)) histograms.set(m[1] ?? '', '');
  for (const m of text.matchAll(/^# HELP (\S+) (.*)$/gm)) if (histograms.has(m[1] ?? '')) histograms.set(m[1] ?? '', m[2] ?? '');
  // Without their HELP and TYPE lines, a histogram's series are three untyped families.
  const asSeries = text.replace(/^# (HELP|TYPE) (\S+) .*$/gm, (line, _what: string, name: string) => (histograms.has(name) ? '' : line));
  const families = new Map<string, MetricFamily>();
  for (const f of parsePrometheusTextFormat(asSeries) as Parsed[]) {
    const samples = f.metrics.map((m) => ({ labels: m.labels ?? {}, ...(m.value !== undefined ? { value: Number(m.value) } : {}) }));
    // Untyped series interleaved (a histogram's, by label set) come back as several families of one name.
    const known = families.get(f.name);
    if (known) known.samples.push(...samples);
    else families.set(f.name, { name: f.name, type: f.type, help: f.help, samples });
  }
  for (const name of histograms.keys()) {
    const byLabels = new Map<string, MetricSample & { buckets: Record<string, number> }>();
    const sampleOf = (labels: Record<string, string>) => {
      const rest = Object.fromEntries(Object.entries(labels).filter(([k]) => k !== 'le'));
      const key = JSON.stringify(Object.entries(rest).sort());
      let s = byLabels.get(key);
      if (!s) byLabels.set(key, (s = { labels: rest, buckets: {}, count: 0, sum: 0 }));
      return s;
    };
    for (const b of families.get(`${name}_bucket`)?.samples ?? []) sampleOf(b.labels).buckets[b.labels.le ?? '+Inf'] = b.value ?? 0;
    for (const c of families.get(`${name}_count`)?.samples ?? []) sampleOf(c.labels).count = c.value ?? 0;
    for (const c of families.get(`${name}_sum`)?.samples ?? []) sampleOf(c.labels).sum = c.value ?? 0;
    const help = histograms.get(name) ?? '';
    for (const suffix of ['', '_bucket', '_count', '_sum']) families.delete(`${name}${suffix}`);
    families.set(name, { name, type: 'HISTOGRAM', help, samples: [...byLabels.values()] });
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

/**
 * GETs `url` (a bin's `/metrics`) and parses it; throws on a status other than 200, or when no
 * answer came within `timeoutMs` (default 10 s).
 */
export async function scrapeMetrics(url: string, timeoutMs = 10_000): Promise<Scrape> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  return parseMetrics(text);
}
