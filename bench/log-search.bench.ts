/**
 * The console's log search (GET /api/logs?q=) before and after its index, on the embedded store.
 *
 *   cd bench && node --conditions=source --import tsx log-search.bench.ts
 *   ROWS (default 1,000,000), JOBS (1,000), REPS (5, the p50 of which is printed);
 *   STORE=sqlite|mongo|both (default sqlite): mongo is the MongoDB store on FerretDB at MONGO_ROWS (default 5,000)
 *
 * ROWS entries written through `store.logs.write` in batches of 5,000 (the path that also fills
 * the word index), a dispatch-server's and an agent's lines over the last ROWS seconds: each names
 * one of JOBS jobs by id in its context; one in 100,000 carries an `ECONNRESET` error. Then each
 * query is run as main (08a899c) ran it, `LIKE '%q%'` over message, source and the context's JSON
 * (and, for a job's name, over the ids of the jobs whose name holds it), read from the same file
 * through better-sqlite3, and through `store.logs.list` (newest rows probed, then the FTS5 index):
 * the first page of 50, p50 of REPS, the ratio, and that both found the same first page; beside
 * them the FTS5 query alone, to show what the probe saves on a frequent word. Then how long a file of ROWS
 * entries from before the index takes to open (the index filled at open), and the file's size.
 *
 * On FerretDB 1.24 the words index is not used (FerretDB pushes no filter down), so its figures
 * say only that the MongoDB path works and what a scan of MONGO_ROWS costs there.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { jobInputSchema, type LogEntryInput } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { startMongo, tempDir } from '@clover/testkit';

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const JOBS = Number(process.env.JOBS ?? 1_000);
const REPS = Number(process.env.REPS ?? 5);
const MONGO_ROWS = Number(process.env.MONGO_ROWS ?? 5_000);
const BATCH = 5_000;
const PAGE = 50;

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function p50(fn: () => unknown): Promise<number> {
  await fn(); // warm-up: prepares statements, pulls pages into the cache
  const ms: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[Math.floor((ms.length - 1) / 2)]!;
}

/** A word of three letters for i (< 17,576): none is the beginning of another, so each names one job. */
const code = (i: number) => [676, 26, 1].map((d) => String.fromCharCode(97 + (Math.floor(i / d) % 26))).join('');
const jobSpec = (i: number) =>
  jobInputSchema.parse({
    name: `nightly report ${code(i)}`,
    schedule: { type: 'cron', expr: '0 0 3 * * *' },
    kind: { type: 'handler', name: 'noop' },
  });

/** The i-th entry: a dispatch-server's or an agent's line about one job's run, newest last. */
function entry(i: number, jobIds: string[], t0: number): LogEntryInput {
  const jobId = jobIds[i % jobIds.length]!;
  const time = new Date(t0 + i * 1000);
  if (i % 100_000 === 99_999) {
    return {
      time,
      level: 'error',
      source: 'dispatch-server',
      node: 'server-1',
      message: 'run failed',
      context: { jobId, error: 'read ECONNRESET' },
    };
  }
  switch (i % 4) {
    case 0:
      return {
        time,
        level: 'info',
        source: 'dispatch-server',
        node: 'server-1',
        message: 'run dispatched',
        context: { jobId, agent: 'agent-2', attempt: 1 },
      };
    case 1:
      return {
        time,
        level: 'debug',
        source: 'scheduler-client',
        node: 'agent-2',
        message: 'execution started',
        context: { jobId, pid: 4000 + (i % 5000) },
      };
    case 2:
      return {
        time,
        level: 'info',
        source: 'scheduler-client',
        node: 'agent-2',
        message: 'execution finished',
        context: { jobId, exitCode: 0, ms: i % 977 },
      };
    default:
      return {
        time,
        level: 'warn',
        source: 'dispatch-server',
        node: 'server-1',
        message: 'run late',
        context: { jobId, lateMs: i % 1500 },
      };
  }
}

/** main's query (packages/store/src/sqlite/logs.ts at 08a899c): LIKE over message, source and context, job names as extra context texts. */
function likeSearch(db: Database.Database, q: string): string[] {
  const like = (t: string) => `%${t.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const also = (
    db
      .prepare("SELECT id FROM jobs WHERE name LIKE ? ESCAPE '\\' OR description LIKE ? ESCAPE '\\' LIMIT 50")
      .all(like(q), like(q)) as Array<{ id: string }>
  ).map((j) => j.id);
  const alsoSql = also.map((_, i) => ` OR context LIKE @qa${i} ESCAPE '\\'`).join('');
  const rows = db
    .prepare(
      `SELECT id FROM logs WHERE (message LIKE @q ESCAPE '\\' OR source LIKE @q ESCAPE '\\' OR context LIKE @q ESCAPE '\\'${alsoSql}) ORDER BY time DESC, id DESC LIMIT @limit`,
    )
    .all({ q: like(q), limit: PAGE + 1, ...Object.fromEntries(also.map((t, i) => [`qa${i}`, like(t)])) }) as Array<{ id: string }>;
  return rows.slice(0, PAGE).map((r) => r.id);
}

/** The word index alone, without the store's newest-rows probe: the FTS5 query the store would fall back to. */
function indexAlone(db: Database.Database, match: string): string[] {
  const rows = db
    .prepare(
      'SELECT logs.id FROM logs_words CROSS JOIN logs ON logs.rowid = logs_words.rowid WHERE logs_words MATCH ? ORDER BY time DESC, id DESC LIMIT ?',
    )
    .all(match, PAGE + 1) as Array<{ id: string }>;
  return rows.slice(0, PAGE).map((r) => r.id);
}

async function indexSearch(store: Store, q: string): Promise<string[]> {
  return (await store.logs.list({ q, limit: PAGE })).items.map((l) => l.id);
}

async function seed(store: Store, rows: number): Promise<{ jobIds: string[]; perSecond: number }> {
  const jobIds: string[] = [];
  for (let i = 0; i < JOBS; i++) jobIds.push((await store.jobs.create(jobSpec(i))).id);
  const t0 = Date.now() - rows * 1000;
  const started = performance.now();
  for (let from = 0; from < rows; from += BATCH) {
    await store.logs.write(Array.from({ length: Math.min(BATCH, rows - from) }, (_, k) => entry(from + k, jobIds, t0)));
  }
  return { jobIds, perSecond: rows / ((performance.now() - started) / 1000) };
}

/** The searches timed: what each stands for, its text, and its FTS5 query (the store's, log-words.ts). */
const searches = (jobIds: string[]) => [
  ['an error text in the context (10 per million)', 'ECONNRESET', '("econnreset"*)'],
  ["a job's id (1 entry in JOBS)", jobIds[7]!, `("${jobIds[7]!}"*)`],
  ["a word of a job's name (the same job)", code(7), `("${code(7)}"* OR "${jobIds[7]!}")`],
  ['a source, by its beginning (half the entries)', 'dispatch', '("dispatch"*)'],
  ['no match', 'zzqx', '("zzqx"*)'],
];

async function sqlite(): Promise<void> {
  const dir = await tempDir('clover-bench-logs-');
  try {
    const file = path.join(dir.path, 'clover.db');
    let store = await openStore({ file });
    let jobIds: string[];
    try {
      const seeded = await seed(store, ROWS);
      jobIds = seeded.jobIds;
      console.log(
        `SQLite: ${fmt(ROWS)} entries written through store.logs.write (index filled as they go): ${fmt(seeded.perSecond)} entries/s`,
      );
      const db = new Database(file, { readonly: true });
      try {
        console.log('| search | q | LIKE (main) p50 | store.logs.list p50 | ratio | the FTS5 query alone p50 |');
        console.log('| --- | --- | --- | --- | --- | --- |');
        for (const [what, q, match] of searches(jobIds)) {
          const a = likeSearch(db, q!);
          assert.deepEqual(await indexSearch(store, q!), a, `${q}: the store finds main's first page`);
          assert.deepEqual(indexAlone(db, match!), a, `${q}: the index alone too`);
          const before = await p50(() => likeSearch(db, q!));
          const after = await p50(() => indexSearch(store, q!));
          const alone = await p50(() => indexAlone(db, match!));
          const shown = q!.length > 14 ? `${q!.slice(0, 14)}…` : q!;
          console.log(
            `| ${what} | \`${shown}\` | ${fmt(before, 1)} ms | ${fmt(after, 1)} ms | ${fmt(before / after, 1)}× | ${fmt(alone, 1)} ms |`,
          );
        }
      } finally {
        db.close();
      }
    } finally {
      await store.close();
    }
    const size = (await stat(file)).size;
    // The same file as a release before the index left it: the index dropped, then the store opened.
    const old = new Database(file);
    old.exec('DROP TRIGGER logs_words_delete; DROP TABLE logs_words; PRAGMA user_version = 0; VACUUM;'); // a file from before: no schema stamp
    old.close();
    const before = (await stat(file)).size;
    const opening = performance.now();
    store = await openStore({ file });
    const openMs = performance.now() - opening;
    try {
      assert.equal((await store.logs.list({ q: 'ECONNRESET', limit: PAGE })).items.length, Math.floor(ROWS / 100_000));
    } finally {
      await store.close();
    }
    console.log(`file: ${fmt(size / 2 ** 20)} MiB with the index, ${fmt(before / 2 ** 20)} MiB without (vacuumed)`);
    console.log(`a file of ${fmt(ROWS)} entries from before the index: opened (index filled) in ${fmt(openMs / 1000, 1)} s`);
  } finally {
    await dir.cleanup();
  }
}

async function mongo(): Promise<void> {
  const server = await startMongo();
  try {
    const store = await openStore({ mongoUrl: server.databaseUrl('bench_logs') });
    try {
      const seeded = await seed(store, MONGO_ROWS);
      console.log(`\n${server.server}: ${fmt(MONGO_ROWS)} entries written: ${fmt(seeded.perSecond)} entries/s`);
      console.log('| search | q | words p50 |');
      console.log('| --- | --- | --- |');
      for (const [what, q] of searches(seeded.jobIds)) {
        console.log(`| ${what} | \`${q!.slice(0, 14)}\` | ${fmt(await p50(() => indexSearch(store, q!)), 1)} ms |`);
      }
    } finally {
      await store.close();
    }
  } finally {
    await server.stop();
  }
}

const only = process.env.STORE ?? 'sqlite';
if (!['sqlite', 'mongo', 'both'].includes(only)) throw new Error(`STORE must be sqlite, mongo or both, not ${only}`);
if (only !== 'mongo') await sqlite();
if (only !== 'sqlite') await mongo();
