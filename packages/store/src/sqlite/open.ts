import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Store, StoreOptions } from '../interfaces.js';
import { FencedRunError } from '../errors.js';
import { startBackgroundCheckpointer } from './checkpointer.js';
import { SqliteCounters } from './counters.js';
import { SqliteIncidents } from './incidents.js';
import { SqliteJobs } from './jobs.js';
import { SqliteAudit, SqliteLogs, SqliteOutbox } from './logs.js';
import { SqliteContacts, SqliteSessions, SqliteTokens, SqliteUsers } from './people.js';
import { SqliteRuns } from './runs.js';
import { SqliteLiveOutputs } from './live-outputs.js';
import { busyRetryForMs, busyWaitMs, isBusy, promised } from './promised.js';
import { migrate } from './schema.js';

const day = 24 * 3600_000;

/**
 * The schema `migrate()` builds, stamped in the file's `user_version` (SQLite's slot for it):
 * raise it whenever `migrate()` changes, or files stamped already will not get the change.
 */
export const schemaVersion = 1;

/**
 * Brings the file's schema up to `schemaVersion`, once: a file stamped with it (or a later one)
 * is opened without a write. Migrating takes the write lock, and a process starting beside busy
 * writers (a dispatch-server joining a cluster at 100,000 jobs, the bench of 12-01) waited out
 * the 5-s busy timeout and exited, "database is locked". The migration itself is tried again on
 * SQLITE_BUSY for up to `busyRetryForMs` (60 s); its statements are idempotent.
 */
function migrateOnce(db: Database.Database): void {
  const stamped = () => Number(db.pragma('user_version', { simple: true })) >= schemaVersion;
  if (stamped()) return;
  const until = Date.now() + busyRetryForMs;
  for (;;) {
    try {
      db.transaction(() => {
        // Another process may have migrated the file while this one waited for the lock.
        if (stamped()) return;
        migrate(db);
        db.pragma(`user_version = ${schemaVersion}`);
      }).immediate();
      return;
    } catch (err) {
      if (!isBusy(err) || Date.now() >= until) throw err;
    }
  }
}

/**
 * The embedded store: one SQLite file in WAL mode. Several processes on one host may open the
 * same file (the multi-process tests do), so nothing is cached in memory between calls and
 * writers wait on each other: briefly in SQLite's busy timeout, then between event-loop turns (promised.ts).
 */
export function openSqliteStore(opts: StoreOptions): Store {
  const file = opts.file ?? path.join(path.resolve(opts.dataDir ?? '.clover-data'), 'clover.db');
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = OFF');
  // SQLite's default page cache is 2 MiB: a leader's run indexes outgrow it within minutes and
  // every insert and update then reads pages back from the OS. 64 MiB (a ceiling, filled as
  // used) took a dispatch-server from 3,232 to 3,968 recorded executions/s (11-30 VM).
  db.pragma('cache_size = -65536');
  migrateOnce(db);
  // From here a write that meets another process's lock waits in SQLite only briefly, then
  // again from a later turn (promised.ts): the event loop is never held for long.
  db.pragma(`busy_timeout = ${busyWaitMs}`);
  cachePreparedStatements(db);
  let checkpointer: ReturnType<typeof startBackgroundCheckpointer> | null = null;
  if (opts.backgroundCheckpoint) {
    // The worker checkpoints every second: every 250 ms cost the minute bench 4–6 ms of p99
    // lateness (a third busy thread on two cores at the slots) for no more throughput. A log
    // the writer keeps growing is never wholly copied while it writes, so past 10,000 pages a
    // commit here copies the little left, and the log starts over.
    db.pragma('wal_autocheckpoint = 10000');
    checkpointer = startBackgroundCheckpointer(file, 1000, (message) =>
      console.error(`clover store: background checkpoint failed: ${message}`),
    );
  }

  const jobs = new SqliteJobs(db);
  const runs = new SqliteRuns(db, (jobId, state) => jobs.recordRunStatesSync([{ id: jobId, state }]), opts.faultPoint);
  const logs = new SqliteLogs(db);
  const runRetentionMs = opts.runRetentionMs ?? 30 * day;
  const logRetentionMs = opts.logRetentionMs ?? 14 * day;
  const sweep = async (now = new Date()) => ({
    runs: await runs.deleteOlderThan(new Date(now.getTime() - runRetentionMs)),
    logs: await logs.deleteOlderThan(new Date(now.getTime() - logRetentionMs)),
  });
  const sweeper = setInterval(() => void sweep().catch(() => undefined), opts.sweepIntervalMs ?? 10 * 60_000);
  sweeper.unref();
  let closing: Promise<void> | undefined;

  return {
    kind: 'embedded',
    server: `SQLite ${(db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v}`,
    jobs,
    runs,
    liveOutputs: new SqliteLiveOutputs(db),
    counters: new SqliteCounters(db),
    contacts: new SqliteContacts(db),
    users: new SqliteUsers(db),
    sessions: new SqliteSessions(db),
    tokens: new SqliteTokens(db),
    incidents: new SqliteIncidents(db),
    logs,
    outbox: new SqliteOutbox(db),
    audit: new SqliteAudit(db),
    writeRuns: (w) =>
      promised(() =>
        db
          .transaction(() => {
            const refused = runs.partitionRefusalsSync(w.partitions);
            const inserted = runs.insertEachSync(w.inserts, w.term, refused);
            const { updated, fenced } = runs.updateFoundEachSync(w.updates, w.term, refused);
            jobs.recordRunStatesSync(w.jobStates);
            return { inserted, updated, fenced: fenced + inserted.filter((r) => r instanceof FencedRunError).length };
          })
          .immediate(),
      ),
    // One transaction holds a run's status and its job's counts: nothing is ever left half done.
    reconcile: () => Promise.resolve({ runs: 0 }),
    sweep,
    // The close rule: a second close, concurrent or later, waits for the same one.
    close: () =>
      (closing ??= (async () => {
        clearInterval(sweeper);
        try {
          await checkpointer?.stop();
        } finally {
          db.close();
        }
      })()),
  };
}

/**
 * Compiling SQL is a good share of a small query's cost (a dispatch-server spent ~9% of its CPU
 * re-preparing the same few statements), so each distinct SQL text is prepared once per
 * connection. Statements hold no data, so this is no cache that can go stale across processes;
 * none of them is used with iterate(), pluck() or raw(), which would make sharing unsafe.
 */
function cachePreparedStatements(db: Database.Database): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = prepare(sql);
      // Dynamic filters make a bounded number of texts; the bound guards against surprises.
      if (cache.size < 1000) cache.set(sql, stmt);
    }
    return stmt;
  }) as typeof db.prepare;
}
