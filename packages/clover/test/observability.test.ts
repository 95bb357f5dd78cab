import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Job, Run } from '@clover/model';
import { cleanUp, freePort, scrapeMetrics, tempDir, waitFor, type Scrape, type TempDir } from '@clover/testkit';
import { ApiClient, tokenFileName } from '../src/api-client.js';
import { readStandaloneSettings } from '../src/settings.js';
import { startStandalone, type RunningStandalone } from '../src/standalone.js';

/*
 * One running standalone (every role in one process, one /metrics for all of them) after some
 * runs: its metrics parsed by a Prometheus text parser and held against what the store recorded,
 * its health endpoints, the dashboards' and alert rules' metric names, and the run trace in the
 * log files.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const terminal = new Set(['succeeded', 'failed', 'timed_out', 'lost', 'skipped', 'cancelled']);

let dir: TempDir | undefined;
let running: RunningStandalone | undefined;
let base = '';
let api: ApiClient;
/** The scrape taken once every run had ended, and the runs the store had then. */
let scrape: Scrape;
let runs: Run[] = [];
let armedWhileEnabled = 0;

before(async () => {
  dir = await tempDir('clover-observability-');
  const httpPort = await freePort();
  const settings = readStandaloneSettings({
    CLOVER_DATA_DIR: dir.path,
    CLOVER_HTTP_PORT: String(httpPort),
    CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}`,
    CLOVER_ADMIN_PASSWORD: 'observability-test-pw',
  });
  running = await startStandalone(settings);
  base = `http://127.0.0.1:${httpPort}`;
  api = new ApiClient({ baseUrl: base, token: readFileSync(path.join(dir.path, tokenFileName), 'utf8').trim() });

  const every = { type: 'interval', everyMs: 1000 };
  const ok = await api.request<Job>('POST', '/api/jobs', { name: 'ok', schedule: every, kind: { type: 'handler', name: 'noop' } });
  // Fired by hand only (its hourly slot never comes during the test): no retry of it is cut short by disabling it.
  const bad = await api.request<Job>('POST', '/api/jobs', {
    name: 'bad',
    schedule: { type: 'interval', everyMs: 3_600_000 },
    kind: { type: 'handler', name: 'fail' },
    retries: { max: 1, backoffMs: 100, factor: 1, maxBackoffMs: 100 },
  });
  await api.request('POST', `/api/jobs/${ok.id}/trigger`);
  const byStatus = async (jobId: string, status: string) =>
    (await api.listAll<Run>('/api/runs', { jobId })).filter((r) => r.status === status && r.attempt === (status === 'failed' ? 2 : 1))
      .length;
  for (const n of [1, 2]) {
    await api.request('POST', `/api/jobs/${bad.id}/trigger`);
    await waitFor(async () => (await byStatus(bad.id, 'failed')) >= n, {
      timeoutMs: 30_000,
      message: `bad run ${n} failed after its retry`,
    });
  }
  await waitFor(async () => (await byStatus(ok.id, 'succeeded')) >= 3, {
    timeoutMs: 30_000,
    message: 'three runs of the ok job succeeded',
  });
  armedWhileEnabled = (await scrapeMetrics(`${base}/metrics`)).total('clover_dispatch_jobs_armed');
  // A failed login (and enough of them to be throttled), counted by the console.
  for (let i = 0; i < 6; i++)
    await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'wrong' }),
    });
  // Stopped, so nothing fires between the scrape and the store's count.
  for (const job of [ok, bad]) await api.request('PUT', `/api/jobs/${job.id}`, { enabled: false });
  await waitFor(
    async () => {
      const s = await scrapeMetrics(`${base}/metrics`);
      const all = await api.listAll<Run>('/api/runs', {});
      if (s.total('clover_dispatch_runs_in_flight') || s.total('clover_dispatch_waiting_runs') || !all.every((r) => terminal.has(r.status)))
        return false;
      // Both read once nothing moves: the last final status is in the store and counted.
      const settled = await scrapeMetrics(`${base}/metrics`);
      if (settled.total('clover_dispatch_runs_finished_total') !== all.length) return false;
      scrape = settled;
      runs = all;
      return true;
    },
    { timeoutMs: 30_000, message: 'every run ended and counted' },
  );
});

after(() =>
  cleanUp([
    ['standalone', () => running?.close()],
    ['temp dir', () => dir?.cleanup()],
  ]),
);

test('dispatch-server: fires counted equal the runs recorded, by trigger; final statuses equal the store, by status', () => {
  // A retried run keeps its row (attempt 2, its trigger now retry): a fire of its own, not a run of its own.
  const retried = runs.filter((r) => r.attempt > 1);
  assert.equal(retried.length, 2);
  assert.ok(retried.every((r) => r.trigger === 'retry'));
  assert.equal(scrape.total('clover_dispatch_fires_total', { trigger: 'retry' }), retried.length);
  assert.equal(scrape.total('clover_dispatch_fires_total') - retried.length, runs.length, 'fires (retries aside) = runs recorded');
  // Three by hand: the ok job's, and the bad job's two (whose rows now say retry).
  assert.equal(scrape.total('clover_dispatch_fires_total', { trigger: 'manual' }), 3);
  assert.equal(
    scrape.total('clover_dispatch_fires_total', { trigger: 'schedule' }) +
      scrape.total('clover_dispatch_fires_total', { trigger: 'misfire' }),
    runs.filter((r) => r.trigger === 'schedule' || r.trigger === 'misfire').length,
  );
  for (const status of terminal)
    assert.equal(scrape.total('clover_dispatch_runs_finished_total', { status }), runs.filter((r) => r.status === status).length, status);
  const succeeded = runs.filter((r) => r.status === 'succeeded').length;
  // Each scheduled run's first EXEC is timed, slot → sent (a manual run or a retry has no slot to be
  // late for). A slot claimed ahead and skipped at its time, the job disabled meanwhile (as this
  // test does at its end), sent none: 2 timed of 3 in a CI run.
  const scheduledFirsts = runs.filter(
    (r) => r.trigger === 'schedule' && r.attempt === 1 && !(r.status === 'skipped' && (r.error ?? '').startsWith('skipped:')),
  ).length;
  assert.ok(scheduledFirsts >= 1);
  assert.equal(scrape.total('clover_dispatch_exec_lateness_seconds'), scheduledFirsts, 'each scheduled first EXEC timed');
  assert.equal(scrape.total('clover_dispatch_start_lateness_seconds'), runs.filter((r) => r.startedAt).length);
  assert.ok(succeeded >= 3);
  assert.equal(scrape.total('clover_dispatch_leader'), 1);
  assert.equal(armedWhileEnabled, 2, 'both jobs armed while enabled');
  assert.equal(scrape.total('clover_dispatch_jobs_armed'), 0, 'none once disabled');
  assert.equal(scrape.total('clover_dispatch_runs_in_flight'), 0);
  assert.equal(scrape.total('clover_zookeeper_session_state', { state: 'connected' }), 1);
  assert.equal(scrape.total('clover_zookeeper_session_state'), 1, 'one state at a time');
  assert.ok(scrape.total('clover_store_write_batch_size') > 0);
  assert.ok(scrape.total('clover_store_write_batch_duration_seconds') > 0);
  for (const name of [
    'clover_dispatch_exec_resends_total',
    'clover_dispatch_ack_timeouts_total',
    'clover_dispatch_waiting_runs',
    'clover_dispatch_wait_duration_seconds',
    'clover_store_write_batch_failures_total',
  ])
    assert.ok(scrape.families.has(name), name);
});

test('agent: executions started and finished by status match the runs; duration, capacity, leader connection', () => {
  // A run that never started (claimed, then skipped when its job was disabled) never reached the agent.
  const executions = runs.filter((r) => r.startedAt).reduce((n, r) => n + r.attempt, 0);
  assert.equal(scrape.total('clover_agent_executions_started_total', { kind: 'handler' }), executions);
  assert.equal(scrape.total('clover_agent_executions_finished_total'), executions);
  assert.equal(
    scrape.total('clover_agent_executions_finished_total', { status: 'failed' }),
    2 * runs.filter((r) => r.status === 'failed').length,
  );
  assert.equal(scrape.total('clover_agent_execution_duration_seconds'), executions);
  assert.equal(scrape.total('clover_agent_executions_running'), 0);
  assert.equal(scrape.total('clover_agent_capacity'), 64);
  assert.equal(scrape.total('clover_agent_leader_connected'), 1);
  assert.equal(scrape.total('clover_agent_reconnects_total'), 0);
});

test('monitor and console: nodes by kind and state, mails; requests by route template, logins refused', () => {
  for (const kind of ['servers', 'clients', 'monitors'])
    assert.equal(scrape.total('clover_monitor_nodes', { kind, state: 'alive' }), 1, kind);
  assert.equal(scrape.total('clover_monitor_nodes', { state: 'dead' }), 0);
  assert.equal(scrape.total('clover_monitor_active'), 1);
  for (const name of [
    'clover_monitor_deaths_total',
    'clover_monitor_detection_delay_seconds',
    'clover_monitor_mails_sent_total',
    'clover_monitor_mails_failed_total',
  ])
    assert.ok(scrape.families.has(name), name);
  // The bad job's failure incident: mailed already, or waiting out the digest window.
  const queued = scrape.total('clover_monitor_mails_queued');
  assert.ok(Number.isInteger(queued) && queued >= 0 && queued <= runs.filter((r) => r.status === 'failed').length, `queued ${queued}`);
  assert.equal(scrape.total('clover_console_http_requests_total', { method: 'POST', route: '/api/jobs', status: '201' }), 2);
  assert.equal(scrape.total('clover_console_http_requests_total', { method: 'PUT', route: '/api/jobs/:id' }), 2);
  assert.ok(scrape.total('clover_console_http_request_duration_seconds', { route: '/api/runs' }) > 0);
  // Never a job id in a label: every route label is a template.
  for (const s of scrape.families.get('clover_console_http_requests_total')?.samples ?? [])
    assert.doesNotMatch(s.labels.route ?? '', /job_/);
  assert.equal(scrape.total('clover_console_logins_failed_total'), 5);
  assert.equal(scrape.total('clover_console_logins_throttled_total'), 1);
  assert.ok(scrape.total('process_cpu_user_seconds_total') > 0, "Node's process metrics");
});

test('/healthz and /readyz of the standalone: alive, and ready with each check named', async () => {
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  const res = await fetch(`${base}/readyz`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ready: true, checks: { zookeeper: 'ok', store: 'ok', leader: 'ok' } });
});

test('every metric the Grafana dashboard and the Prometheus alert rules name exists on the running standalone', () => {
  const files = ['deploy/grafana', 'deploy/prometheus'].flatMap((d) =>
    readdirSync(path.join(repoRoot, d))
      .filter((f) => /\.(json|ya?ml)$/.test(f))
      .map((f) => path.join(d, f)),
  );
  assert.ok(files.some((f) => f.endsWith('.json')) && files.some((f) => f.endsWith('.yml')));
  const named = new Set<string>();
  for (const f of files) for (const m of readFileSync(path.join(repoRoot, f), 'utf8').matchAll(/\bclover_[a-z_]+\b/g)) named.add(m[0]);
  assert.ok(named.size >= 10, `the dashboards name ${named.size} metrics`);
  // A histogram is queried by its series (_bucket, _count, _sum), exposed under its family's name.
  const family = (n: string) => (scrape.families.has(n) ? n : n.replace(/_(bucket|count|sum)$/, ''));
  const missing = [...named].filter((n) => !scrape.families.has(family(n)));
  assert.deepEqual(missing, [], 'metrics named in deploy/ that the standalone does not expose');
});

test('one grep follows a run: its log lines carry jobId, runId and attempt in the server and the agent files', () => {
  const logDir = path.join(dir!.path, 'logs');
  const lines = readdirSync(logDir)
    .filter((f) => f.endsWith('.log'))
    .flatMap((f) =>
      readFileSync(path.join(logDir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    );
  const failed = runs.find((r) => r.status === 'failed');
  assert.ok(failed);
  const trace = lines.filter((l) => l.runId === failed.id);
  const services = new Set(trace.map((l) => l.service));
  assert.ok(services.has('dispatch-server') && services.has('agent'), `the run is traced in ${[...services].join(', ')}`);
  for (const l of trace) {
    assert.equal(l.jobId, failed.jobId, String(l.message));
    assert.equal(typeof l.attempt, 'number', String(l.message));
  }
  assert.deepEqual(
    [...new Set(trace.filter((l) => l.service === 'agent').map((l) => l.attempt))].sort(),
    [1, 2],
    'both attempts on the agent',
  );
});
