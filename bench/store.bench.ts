/**
 * The embedded store under a dispatch-server's write pattern, then under the console's reads.
 *
 *   cd bench && node --conditions=source --import tsx store.bench.ts
 *
 * 200 jobs; 100,000 runs written one at a time through `store.runs.insert` (as the leader does
 * when it fires), then each run walked through its life with `store.runs.update`
 * (dispatched → running → a terminal status), then the dashboard's counter read (runs by status
 * per hour over the last 24 h, as GET /api/stats asks for it) and cursor pages of 50 runs of one
 * job. The store lives in a temp dir that is deleted at the end.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jobInputSchema, runId, type Job, type RunStatus } from '@clover/model';
import { openStore, type Store } from '@clover/store';

const JOBS = 200;
const RUNS = 100_000;
const REPS = 20;
const HOUR = 3600_000;

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

async function timed(reps: number, fn: (rep: number) => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  await fn(-1); // warm-up: prepares statements, pulls pages into the cache
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn(i);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: quantile(ms, 0.5), p95: quantile(ms, 0.95) };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'clover-store-bench-'));
  let store: Store | null = null;
  try {
    store = await openStore({ dataDir: dir });
    const now = Date.now();
    const rows: Array<[string, string]> = [];

    const jobs: Job[] = [];
    for (let j = 0; j < JOBS; j++) {
      jobs.push(await store.jobs.create(jobInputSchema.parse({
        name: `job-${j}`, group: `g${j % 10}`, schedule: { type: 'cron', expr: '*/5 * * * *' }, kind: { type: 'handler', name: 'noop' },
      })));
    }

    // 500 runs per job, one every 216 s, the newest a minute ago: 30 hours of history, so the
    // 24 h window holds ~80% of them and the rest is older.
    const perJob = RUNS / JOBS;
    const stepMs = Math.round((30 * HOUR) / perJob);
    const ids: string[] = new Array(RUNS);
    const nodes = ['agent-1', 'agent-2', 'agent-3', 'agent-4', 'agent-5', 'agent-6', 'agent-7', 'agent-8'];

    let t = performance.now();
    for (let k = 0; k < perJob; k++) {
      for (let j = 0; j < JOBS; j++) {
        const job = jobs[j]!;
        const at = new Date(now - 300_000 - (perJob - 1 - k) * stepMs + j * 1000);
        const run = await store.runs.insert({ id: runId(job.id, at), jobId: job.id, scheduledAt: at, status: 'scheduled' });
        ids[k * JOBS + j] = run.id;
      }
    }
    const insertMs = performance.now() - t;
    rows.push(['runs.insert (one per call)', `${fmt(RUNS / (insertMs / 1000))} runs/s (${fmt(insertMs / 1000, 1)} s for ${fmt(RUNS)})`]);

    t = performance.now();
    for (let i = 0; i < RUNS; i++) {
      const id = ids[i]!;
      const slot = Date.parse(id.slice(id.indexOf('@') + 1));
      const node = nodes[i % nodes.length]!;
      await store.runs.update(id, { status: 'dispatched', node, dispatchedAt: new Date(slot + 5) });
      await store.runs.update(id, { status: 'running', startedAt: new Date(slot + 20) });
      const status = outcome((Math.floor(i / JOBS) * 37 + (i % JOBS) * 11) % 100); // every job sees every outcome
      await store.runs.update(id, {
        status, finishedAt: new Date(slot + 1500), exitCode: status === 'succeeded' ? 0 : status === 'failed' ? 1 : null,
        outputTail: status === 'succeeded' ? 'ok\n' : 'Error: something went wrong\n    at handler (job.js:12:7)\n', error: status === 'succeeded' ? null : status,
      });
    }
    const transitionMs = performance.now() - t;
    rows.push(['runs.update (status transitions)', `${fmt((3 * RUNS) / (transitionMs / 1000))} transitions/s (${fmt(RUNS / (transitionMs / 1000))} runs/s through 3 each)`]);

    // The dashboard read: runs by status per hour over the last 24 h.
    const window = { from: new Date(now - 24 * HOUR), to: new Date(now) };
    const summary = await store.counters.summary(window);
    const inWindow = Object.values(summary.totals).reduce((a, b) => a + (b ?? 0), 0);
    let expected = 0;
    for (let p: string | null = null, first = true; first || p; first = false) {
      const page: Awaited<ReturnType<Store['runs']['list']>> = await store.runs.list({ from: new Date(Math.floor(window.from.getTime() / HOUR) * HOUR), to: window.to, limit: 1000, cursor: p });
      expected += page.items.length;
      p = page.nextCursor;
    }
    assert.equal(inWindow, expected, 'the counters agree with the runs they count');
    const dash = await timed(REPS, () => store!.counters.summary({ from: new Date(now - 24 * HOUR), to: new Date(now) }));
    rows.push([`counters.summary, 24 h (${summary.hours.length} hours, ${fmt(inWindow)} runs)`, `p50 ${fmt(dash.p50, 2)} ms, p95 ${fmt(dash.p95, 2)} ms`]);

    // Runs of one job, newest first: the first page, and page 6 reached through cursors.
    const firstPage = await timed(REPS, (i) => store!.runs.list({ jobId: jobs[(i + JOBS) % JOBS]!.id, limit: 50 }));
    rows.push(['runs.list by job, first page of 50', `p50 ${fmt(firstPage.p50, 2)} ms, p95 ${fmt(firstPage.p95, 2)} ms`]);
    const cursors: string[] = [];
    for (let j = 0; j < JOBS; j++) {
      let cursor: string | null = null;
      for (let p = 0; p < 5; p++) cursor = (await store.runs.list({ jobId: jobs[j]!.id, limit: 50, cursor })).nextCursor;
      cursors.push(cursor!);
    }
    const deepPage = await timed(REPS, async (i) => {
      const j = (i + JOBS) % JOBS;
      const page = await store!.runs.list({ jobId: jobs[j]!.id, limit: 50, cursor: cursors[j] });
      assert.equal(page.items.length, 50);
    });
    rows.push(['runs.list by job, page 6 by cursor', `p50 ${fmt(deepPage.p50, 2)} ms, p95 ${fmt(deepPage.p95, 2)} ms`]);

    await store.close();
    store = null;
    const file = path.join(dir, 'clover.db');
    const bytes = (await stat(file)).size + (await stat(`${file}-wal`).then((s) => s.size, () => 0));
    rows.push(['store file (db + wal)', `${fmt(bytes / 2 ** 20, 1)} MiB`]);

    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(`\nclover embedded store: ${fmt(JOBS)} jobs, ${fmt(RUNS)} runs (${os.cpus().length} cores, node ${process.version})\n`);
    for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
    console.log('');
  } finally {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
