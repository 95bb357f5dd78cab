/**
 * The store under a dispatch-server's write pattern, then under the console's reads, on the
 * embedded SQLite store, on MongoDB (FerretDB 1.24 on SQLite, started by `startMongo()`), or both
 * side by side in one run.
 *
 *   cd bench && node --conditions=source --import tsx store.bench.ts
 *   STORE=sqlite|mongo|both (default sqlite); RUNS (default 100,000 on SQLite, 1,000 on MongoDB)
 *
 * RUNS / 500 jobs (200 at 100,000), 500 runs each; the runs written one at a time through
 * `store.runs.insert` (as the leader does when it fires), then each run walked through its life
 * with `store.runs.update` (dispatched → running → a terminal status), then the dashboard's
 * counter read (runs by status per hour over the last 24 h, as GET /api/stats asks for it) and
 * cursor pages of 50 runs of one job. SQLite lives in a temp dir, FerretDB in its own temp dir;
 * both are deleted at the end. On MongoDB the store counts the commands it sends (the driver's
 * command monitoring) and the bench prints them per write.
 *
 * FerretDB-on-SQLite is not MongoDB's speed: FerretDB 1.x scans the whole collection for every
 * update by _id (~4 ms an update at 1,000 runs, ~20-35 ms at 5,000), which is why its default
 * RUNS is small. Its figures say what the store's MongoDB path costs in commands and that it
 * works, not what a MongoDB server would do.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jobInputSchema, runId, type Job, type RunStatus } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { startMongo, tempDir, type MongoHandle } from '@clover/testkit';

type Kind = 'sqlite' | 'mongo';
const kinds: Kind[] =
  ({ sqlite: ['sqlite'], mongo: ['mongo'], both: ['sqlite', 'mongo'] } as Record<string, Kind[]>)[process.env.STORE ?? 'sqlite'] ?? [];
if (kinds.length === 0) throw new Error(`STORE must be sqlite, mongo or both, not ${process.env.STORE}`);
const runsOf = (kind: Kind) => Number(process.env.RUNS ?? (kind === 'sqlite' ? 100_000 : 1_000));
const PER_JOB = 500;
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One measurement: a row's label and its figure on this store. */
type Rows = Map<string, string>;

/**
 * Commands the store has sent so far, from its count file. The store rewrites the file once a
 * second, so this waits a little over a second for the figure to catch up with the last call.
 */
async function commandsSent(file: string): Promise<number> {
  await sleep(1200);
  return (JSON.parse(await readFile(file, 'utf8')) as { total: number }).total;
}

async function measure(kind: Kind): Promise<{ rows: Rows; title: string }> {
  const RUNS = runsOf(kind);
  const JOBS = Math.max(1, Math.round(RUNS / PER_JOB));
  const dir = await tempDir('clover-store-bench-');
  const countFile = path.join(dir.path, 'commands.json');
  let mongo: MongoHandle | null = null;
  let store: Store | null = null;
  const rows: Rows = new Map();
  try {
    if (kind === 'mongo') {
      mongo = await startMongo();
      store = await openStore({ mongoUrl: mongo.databaseUrl('store_bench'), commandCountFile: countFile });
    } else {
      store = await openStore({ dataDir: dir.path });
    }
    const title = kind === 'mongo' ? `MongoDB via ${mongo!.server}` : 'embedded SQLite';
    rows.set('jobs, runs', `${fmt(JOBS)}, ${fmt(RUNS)}`);
    const now = Date.now();

    const jobs: Job[] = [];
    for (let j = 0; j < JOBS; j++) {
      jobs.push(
        await store.jobs.create(
          jobInputSchema.parse({
            name: `job-${j}`,
            group: `g${j % 10}`,
            schedule: { type: 'cron', expr: '*/5 * * * *' },
            kind: { type: 'handler', name: 'noop' },
          }),
        ),
      );
    }

    // 500 runs per job (fewer when RUNS is small), one every 216 s, the newest a minute ago: 30 hours
    // of history, so the 24 h window holds ~80% of them and the rest is older.
    const perJob = Math.floor(RUNS / JOBS);
    const total = perJob * JOBS;
    const stepMs = Math.round((30 * HOUR) / perJob);
    const ids = new Array<string>(total);
    const nodes = ['agent-1', 'agent-2', 'agent-3', 'agent-4', 'agent-5', 'agent-6', 'agent-7', 'agent-8'];

    const commands0 = kind === 'mongo' ? await commandsSent(countFile) : 0;
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
    rows.set('runs.insert (one per call)', `${fmt(total / (insertMs / 1000))} runs/s (${fmt(insertMs / 1000, 1)} s)`);
    const commands1 = kind === 'mongo' ? await commandsSent(countFile) : 0;
    rows.set('  commands sent per insert', kind === 'mongo' ? fmt((commands1 - commands0) / total, 2) : '-');

    t = performance.now();
    for (let i = 0; i < total; i++) {
      const id = ids[i]!;
      const slot = Date.parse(id.slice(id.indexOf('@') + 1));
      const node = nodes[i % nodes.length]!;
      await store.runs.update(id, { status: 'dispatched', node, dispatchedAt: new Date(slot + 5) });
      await store.runs.update(id, { status: 'running', startedAt: new Date(slot + 20) });
      const status = outcome((Math.floor(i / JOBS) * 37 + (i % JOBS) * 11) % 100); // every job sees every outcome
      await store.runs.update(id, {
        status,
        finishedAt: new Date(slot + 1500),
        exitCode: status === 'succeeded' ? 0 : status === 'failed' ? 1 : null,
        outputTail: status === 'succeeded' ? 'ok\n' : 'Error: something went wrong\n    at handler (job.js:12:7)\n',
        error: status === 'succeeded' ? null : status,
      });
    }
    const transitionMs = performance.now() - t;
    rows.set(
      'runs.update (status transitions)',
      `${fmt((3 * total) / (transitionMs / 1000))}/s (${fmt(total / (transitionMs / 1000))} runs/s through 3 each)`,
    );
    rows.set(
      '  commands sent per transition',
      kind === 'mongo' ? fmt(((await commandsSent(countFile)) - commands1) / (3 * total), 2) : '-',
    );

    // The dashboard read: runs by status per hour over the last 24 h.
    const window = { from: new Date(now - 24 * HOUR), to: new Date(now) };
    const summary = await store.counters.summary(window);
    const inWindow = Object.values(summary.totals).reduce((a, b) => a + b, 0);
    let expected = 0;
    for (let p: string | null = null, first = true; first || p; first = false) {
      const page: Awaited<ReturnType<Store['runs']['list']>> = await store.runs.list({
        from: new Date(Math.floor(window.from.getTime() / HOUR) * HOUR),
        to: window.to,
        limit: 1000,
        cursor: p,
      });
      expected += page.items.length;
      p = page.nextCursor;
    }
    assert.equal(inWindow, expected, 'the counters agree with the runs they count');
    const dash = await timed(REPS, () => store!.counters.summary({ from: new Date(now - 24 * HOUR), to: new Date(now) }));
    rows.set(
      'counters.summary, 24 h',
      `p50 ${fmt(dash.p50, 2)} ms, p95 ${fmt(dash.p95, 2)} ms (${summary.hours.length} h, ${fmt(inWindow)} runs)`,
    );

    // Runs of one job, newest first: the first page, and page 6 reached through cursors.
    const firstPage = await timed(REPS, (i) => store!.runs.list({ jobId: jobs[(i + JOBS) % JOBS]!.id, limit: 50 }));
    rows.set('runs.list by job, first page of 50', `p50 ${fmt(firstPage.p50, 2)} ms, p95 ${fmt(firstPage.p95, 2)} ms`);
    if (perJob >= 300) {
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
      rows.set('runs.list by job, page 6 by cursor', `p50 ${fmt(deepPage.p50, 2)} ms, p95 ${fmt(deepPage.p95, 2)} ms`);
    }

    await store.close();
    store = null;
    if (kind === 'sqlite') {
      const file = path.join(dir.path, 'clover.db');
      const bytes =
        (await stat(file)).size +
        (await stat(`${file}-wal`).then(
          (s) => s.size,
          () => 0,
        ));
      rows.set('store file (db + wal)', `${fmt(bytes / 2 ** 20, 1)} MiB`);
    } else {
      rows.set('store file (db + wal)', '-');
      rows.set('commands sent in all', fmt((JSON.parse(await readFile(countFile, 'utf8')) as { total: number }).total));
    }
    return { rows, title };
  } finally {
    await store?.close();
    await mongo?.stop();
    await dir.cleanup();
  }
}

const results: Array<{ rows: Rows; title: string }> = [];
for (const kind of kinds) results.push(await measure(kind));

const labels = [...new Set(results.flatMap((r) => [...r.rows.keys()]))];
const table = [['', ...results.map((r) => r.title)], ...labels.map((l) => [l, ...results.map((r) => r.rows.get(l) ?? '-')])];
const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
console.log(
  `\nclover store bench (${os.cpus().length} cores, node ${process.version}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')})\n`,
);
for (const row of table) console.log(`  ${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}`.trimEnd());
if (kinds.includes('mongo')) {
  console.log(`
  FerretDB-on-SQLite is not MongoDB's speed: FerretDB 1.x scans the whole collection for every
  update by _id (~4 ms an update at 1,000 runs, ~20-35 ms at 5,000), so its figures fall as the
  runs collection grows. They show the MongoDB path works and what it sends, not what MongoDB does.`);
}
console.log('');
