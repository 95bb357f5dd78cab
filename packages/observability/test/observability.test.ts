import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scrapeMetrics } from '@clover/testkit';
import { ObservabilityServer, PrometheusMetrics } from '../src/index.js';

async function serve(opts: ConstructorParameters<typeof ObservabilityServer>[0]): Promise<{ url: string; server: ObservabilityServer }> {
  const server = new ObservabilityServer(opts);
  await server.start();
  return { url: `http://127.0.0.1:${server.port}`, server };
}

test('counters, gauges (set and sampled at scrape) and histograms come out as valid exposition, with process metrics', async () => {
  const metrics = new PrometheusMetrics();
  const fires = metrics.counter<'trigger'>({ name: 'clover_test_fires_total', help: 'fires', labelNames: ['trigger'] });
  fires.inc({ trigger: 'schedule' });
  fires.inc({ trigger: 'schedule' }, 2);
  fires.inc({ trigger: 'manual' });
  let inFlight = 7;
  metrics.gauge({ name: 'clover_test_in_flight', help: 'sampled', collect: (g) => g.set(inFlight) });
  const lateness = metrics.histogram({ name: 'clover_test_lateness_seconds', help: 'late' });
  lateness.observe(0.003);
  lateness.observe(0.2);
  // Asked again (a second role of one process): the same metric, not a clash.
  metrics.counter<'trigger'>({ name: 'clover_test_fires_total', help: 'fires', labelNames: ['trigger'] }).inc({ trigger: 'manual' });
  assert.throws(() => metrics.gauge({ name: 'clover_test_fires_total', help: 'x' }), /already a counter/);

  const { url, server } = await serve({ port: 0, host: '127.0.0.1', metrics, ready: {} });
  try {
    let scrape = await scrapeMetrics(`${url}/metrics`);
    assert.equal(scrape.total('clover_test_fires_total', { trigger: 'schedule' }), 3);
    assert.equal(scrape.total('clover_test_fires_total'), 5);
    assert.equal(scrape.families.get('clover_test_fires_total')?.type, 'COUNTER');
    assert.equal(scrape.total('clover_test_in_flight'), 7);
    const h = scrape.families.get('clover_test_lateness_seconds')?.samples.at(0);
    assert.equal(h?.count, 2);
    assert.equal(h.buckets?.['0.005'], 1);
    assert.ok(scrape.total('process_cpu_user_seconds_total') > 0, 'the default process metrics');
    inFlight = 2;
    scrape = await scrapeMetrics(`${url}/metrics`);
    assert.equal(scrape.total('clover_test_in_flight'), 2, 'sampled again at the next scrape');
  } finally {
    await server.close();
  }
});

test('/healthz answers while /readyz says which check fails: false, a throw, or one that hangs past its bound', async () => {
  let zkUp = true;
  const { url, server } = await serve({
    port: 0,
    host: '127.0.0.1',
    metrics: null,
    checkTimeoutMs: 200,
    ready: { zookeeper: () => zkUp, store: () => Promise.resolve(true) },
  });
  try {
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    let res = await fetch(`${url}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ready: true, checks: { zookeeper: 'ok', store: 'ok' } });
    zkUp = false;
    res = await fetch(`${url}/readyz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { ready: false, checks: { zookeeper: 'not ready', store: 'ok' } });
    const metricsOff = await fetch(`${url}/metrics`);
    assert.equal(metricsOff.status, 404);
    assert.match(await metricsOff.text(), /metrics are off/);
    assert.equal((await fetch(`${url}/other`)).status, 404);
    assert.equal((await fetch(`${url}/healthz`, { method: 'POST' })).status, 405);
  } finally {
    await server.close();
  }
  const broken = await serve({
    port: 0,
    host: '127.0.0.1',
    metrics: null,
    checkTimeoutMs: 200,
    ready: { store: () => Promise.reject(new Error('database is locked')), leader: () => new Promise<boolean>(() => {}) },
  });
  try {
    const res = await fetch(`${broken.url}/readyz`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { checks: Record<string, string> };
    assert.equal(body.checks.store, 'database is locked');
    assert.match(body.checks.leader ?? '', /timed out|readiness check leader/);
  } finally {
    await broken.server.close();
  }
});

test('close() is one drain however often it is called, even with a keep-alive scraper connected', async () => {
  const { url, server } = await serve({ port: 0, host: '127.0.0.1', metrics: new PrometheusMetrics({ defaultMetrics: false }), ready: {} });
  await fetch(`${url}/metrics`, { keepalive: true });
  const first = server.close();
  assert.equal(server.close(), first);
  await first;
  await assert.rejects(fetch(`${url}/healthz`));
});
