/**
 * The console's dashboard over a big embedded store: 1,000,000 runs.
 *
 *   cd bench && node --conditions=source --import tsx dashboard.bench.ts
 *
 * Seeds 1,000 jobs and 1,000,000 finished runs (72 hours of history) with
 * `store.runs.insertMany`, the store's bulk path (one transaction per batch, counters kept on
 * write like every other insert), then times GET /api/stats over HTTP against the real console
 * API (an admin from ensureAdmin, a bearer token from createApiToken; the in-process ZooKeeper
 * tree for the node counts) and, apart, the store reads that endpoint is made of. Target stated
 * by the product: the dashboard answers in under 200 ms.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createApiToken, ensureAdmin, startConsoleServer, type RunningConsole } from '@clover/console-api';
import { jobInputSchema, runId, type Job, type RunInput, type RunStatus } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { cloverPaths, createZkClient, type ZkClient } from '@clover/zk-kit';

const JOBS = 1000;
const RUNS = 1_000_000;
const BATCH = 10_000;
const REPS = 50;
const HOUR = 3600_000;
const TARGET_MS = 200;

/** A terminal status for r in 0..99, in roughly the proportions a healthy cluster sees. */
function outcome(r: number): RunStatus {
  if (r < 90) return 'succeeded';
  if (r < 96) return 'failed';
  if (r < 98) return 'timed_out';
  if (r < 99) return 'lost';
  return 'cancelled';
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

async function timed(reps: number, fn: () => Promise<unknown>): Promise<{ first: number; p50: number; p95: number }> {
  let t = performance.now();
  await fn();
  const first = performance.now() - t;
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { first, p50: quantile(ms, 0.5), p95: quantile(ms, 0.95) };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

const quiet = { error() {}, warn() {}, info() {}, debug() {}, child: () => quiet };

async function main(): Promise<void> {
  const started = performance.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'clover-dashboard-bench-'));
  let store: Store | null = null;
  let zk: ZkClient | null = null;
  let consoleServer: RunningConsole | null = null;
  try {
    store = await openStore({ dataDir: dir });
    const now = Date.now();
    const rows: Array<[string, string]> = [];

    const jobs: Job[] = [];
    for (let j = 0; j < JOBS; j++) {
      jobs.push(
        await store.jobs.create(
          jobInputSchema.parse({
            name: `job-${j}`,
            group: `g${j % 20}`,
            schedule: { type: 'cron', expr: '*/5 * * * *' },
            kind: { type: 'shell', command: 'true' },
          }),
        ),
      );
    }

    // 1,000 runs per job, one every 259 s, the newest at most ~22 minutes ago: 72 hours of
    // history, a third of it inside the dashboard's 24 h window.
    const perJob = RUNS / JOBS;
    const stepMs = Math.round((72 * HOUR) / perJob);
    const nodes = Array.from({ length: 20 }, (_, i) => `agent-${i + 1}`);
    const t = performance.now();
    let batch: RunInput[] = [];
    let i = 0;
    for (let k = 0; k < perJob; k++) {
      for (let j = 0; j < JOBS; j++, i++) {
        const job = jobs[j]!;
        const slot = now - 300_000 - (perJob - 1 - k) * stepMs + j * 250;
        const status = outcome((k * 37 + j * 11) % 100); // every job sees every outcome
        batch.push({
          id: runId(job.id, new Date(slot)),
          jobId: job.id,
          scheduledAt: new Date(slot),
          status,
          node: nodes[i % nodes.length]!,
          dispatchedAt: new Date(slot + 5),
          startedAt: new Date(slot + 20),
          finishedAt: new Date(slot + 1500),
          exitCode: status === 'succeeded' ? 0 : status === 'failed' ? 1 : null,
          outputTail: status === 'succeeded' ? 'ok\n' : 'exit code 1\n',
          error: status === 'succeeded' ? null : status,
        });
        if (batch.length === BATCH) {
          await store.runs.insertMany(batch);
          batch = [];
        }
      }
    }
    if (batch.length) await store.runs.insertMany(batch);
    const seedMs = performance.now() - t;
    rows.push([
      `seed: runs.insertMany, batches of ${fmt(BATCH)}`,
      `${fmt(RUNS / (seedMs / 1000))} runs/s (${fmt(seedMs / 1000, 1)} s for ${fmt(RUNS)})`,
    ]);
    for (let n = 0; n < 5; n++) {
      await store.incidents.open({
        kind: 'job_failed',
        subject: jobs[n]!.id,
        jobId: jobs[n]!.id,
        openedAt: new Date(now - n * HOUR),
        message: 'job failed',
      });
    }

    const window = () => ({ from: new Date(now - 24 * HOUR), to: new Date(now) });
    const summary = await store.counters.summary(window());
    const inWindow = Object.values(summary.totals).reduce((a, b) => a + b, 0);
    assert.ok(inWindow > 300_000 && inWindow < 360_000, `about a third of the runs are in the window, got ${inWindow}`);

    const counters = await timed(REPS, () => store!.counters.summary(window()));
    rows.push([
      `counters.summary, 24 h (${fmt(inWindow)} runs)`,
      `first ${fmt(counters.first, 1)} ms, p50 ${fmt(counters.p50, 1)} ms, p95 ${fmt(counters.p95, 1)} ms`,
    ]);

    // Everything GET /api/stats reads from the store, as its handler does: in parallel.
    const statsWindow = () => {
      const to = new Date(Math.floor(Date.now() / HOUR) * HOUR + HOUR);
      return { from: new Date(to.getTime() - 24 * HOUR), to };
    };
    const reads = await timed(REPS, () =>
      Promise.all([
        store!.counters.summary(statsWindow()),
        store!.jobs.counts(),
        ...(['failed', 'timed_out', 'lost'] as const).map((status) => store!.runs.list({ status, limit: 10 })),
        store!.incidents.list({ open: true, limit: 20 }),
      ]),
    );
    rows.push([
      'store reads behind /api/stats',
      `first ${fmt(reads.first, 1)} ms, p50 ${fmt(reads.p50, 1)} ms, p95 ${fmt(reads.p95, 1)} ms`,
    ]);

    // The endpoint itself, over HTTP, authenticated like a script: a bearer token.
    zk = createZkClient({ connect: `memory:dashboard-bench-${process.pid}` });
    await zk.connect();
    consoleServer = await startConsoleServer({ store, zk, paths: cloverPaths('/clover'), logger: quiet, port: 0 });
    await ensureAdmin(store, 'bench-password');
    const { token } = await createApiToken(store, { name: 'bench', user: 'admin' });
    const url = `${consoleServer.url}/api/stats`;
    const http = await timed(REPS, async () => {
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200, `GET /api/stats answered ${res.status}`);
      const body = (await res.json()) as { runsOverTime: unknown[]; runsByStatus: Record<string, number> };
      assert.equal(body.runsOverTime.length, 24);
    });
    rows.push([
      'GET /api/stats over HTTP (bearer token)',
      `first ${fmt(http.first, 1)} ms, p50 ${fmt(http.p50, 1)} ms, p95 ${fmt(http.p95, 1)} ms`,
    ]);
    await consoleServer.close();
    consoleServer = null;

    const week = await timed(REPS, () => store!.counters.summary({ from: new Date(now - 7 * 24 * HOUR), to: new Date(now) }));
    rows.push([
      'counters.summary, 7 days (all 1,000,000 runs)',
      `first ${fmt(week.first, 1)} ms, p50 ${fmt(week.p50, 1)} ms, p95 ${fmt(week.p95, 1)} ms`,
    ]);

    await store.close();
    store = null;
    const file = path.join(dir, 'clover.db');
    const bytes =
      (await stat(file)).size +
      (await stat(`${file}-wal`).then(
        (s) => s.size,
        () => 0,
      ));
    rows.push(['store file (db + wal)', `${fmt(bytes / 2 ** 20, 0)} MiB`]);

    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(
      `\nclover dashboard: ${fmt(JOBS)} jobs, ${fmt(RUNS)} runs in the embedded store (${os.cpus().length} cores, node ${process.version})\n`,
    );
    for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
    const verdict = http.p95 < TARGET_MS ? 'meets' : 'MISSES';
    console.log(
      `\n  ${verdict} the ${TARGET_MS} ms dashboard target (GET /api/stats p95 ${fmt(http.p95, 1)} ms); total bench time ${fmt((performance.now() - started) / 1000, 0)} s\n`,
    );
  } finally {
    await consoleServer?.close();
    await zk?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
