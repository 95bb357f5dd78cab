import type Database from 'better-sqlite3';
import { jobHash } from '@clover/partitions';
import { logEntryWords } from '../log-words.js';

/** The embedded store's tables. Dates are epoch milliseconds; nested values are JSON text. */
export function migrate(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS jobs (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL, grp TEXT NOT NULL,
      enabled INTEGER NOT NULL, created_at INTEGER NOT NULL, doc TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS jobs_enabled ON jobs (enabled);
    CREATE INDEX IF NOT EXISTS jobs_group ON jobs (grp, id);

    CREATE TABLE IF NOT EXISTS runs (
      id TEXT PRIMARY KEY, job_id TEXT NOT NULL, scheduled_at INTEGER NOT NULL,
      dispatched_at INTEGER, started_at INTEGER, finished_at INTEGER, node TEXT,
      attempt INTEGER NOT NULL, trigger TEXT NOT NULL, status TEXT NOT NULL,
      exit_code INTEGER, output_tail TEXT NOT NULL, error TEXT
    );
    CREATE INDEX IF NOT EXISTS runs_job_time ON runs (job_id, scheduled_at DESC, id DESC);
    CREATE INDEX IF NOT EXISTS runs_time ON runs (scheduled_at DESC, id DESC);

    CREATE TABLE IF NOT EXISTS run_outputs (
      run_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, exec_id TEXT NOT NULL, text TEXT NOT NULL,
      end_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS run_outputs_job ON run_outputs (job_id);
    CREATE INDEX IF NOT EXISTS run_outputs_updated ON run_outputs (updated_at);

    CREATE TABLE IF NOT EXISTS partition_fences (
      part INTEGER PRIMARY KEY, incarnation INTEGER NOT NULL, epoch INTEGER NOT NULL
    );

    CREATE TABLE IF NOT EXISTS run_counters (
      job_id TEXT NOT NULL, hour INTEGER NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL,
      PRIMARY KEY (job_id, hour, status)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS run_counters_hour ON run_counters (hour);

    CREATE TABLE IF NOT EXISTS contacts (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, doc TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);

    CREATE TABLE IF NOT EXISTS incidents (
      id TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, opened_at INTEGER NOT NULL,
      closed_at INTEGER, notified_at INTEGER, recovery_notified_at INTEGER, doc TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS incidents_open ON incidents (kind, subject, closed_at);
    CREATE INDEX IF NOT EXISTS incidents_time ON incidents (opened_at DESC, id DESC);
    CREATE INDEX IF NOT EXISTS incidents_unnotified ON incidents (notified_at) WHERE notified_at IS NULL;

    CREATE TABLE IF NOT EXISTS logs (
      id TEXT PRIMARY KEY, time INTEGER NOT NULL, level TEXT NOT NULL, level_rank INTEGER NOT NULL,
      source TEXT NOT NULL, node TEXT, message TEXT NOT NULL, context TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS logs_time ON logs (time DESC, id DESC);
    CREATE INDEX IF NOT EXISTS logs_level_time ON logs (level_rank, time DESC);

    CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, doc TEXT NOT NULL);

    CREATE TABLE IF NOT EXISTS audit (
      id TEXT PRIMARY KEY, at INTEGER NOT NULL, user TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
      target TEXT, doc TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS audit_at ON audit (at DESC, id DESC);
    CREATE INDEX IF NOT EXISTS audit_user_at ON audit (user, at DESC, id DESC);
  `);
  addJobRunStateColumns(db);
  indexRunsForCheapStatusChanges(db);
  addJobHashColumn(db);
  addRunLeaderTermColumn(db);
  indexLogWords(db);
}

/**
 * Log search's index: `logs_words`, an FTS5 table of each entry's words (log-words.ts) under the
 * entry's rowid in `logs`. Contentless (the words are in `logs` already, the index is all it
 * keeps) with `contentless_delete` (SQLite >= 3.43) so a row can leave it; `detail=none` (no
 * positions: search asks for words and word beginnings only, never phrases) keeps it small. The
 * `ascii` tokenizer with `_` as a word character cuts the stored words, already lower-cased and
 * joined by spaces, exactly where log-words.ts did. The write path adds the words (SqliteLogs.write);
 * a trigger takes them out with the row, whatever deletes it (the retention sweep). A file from
 * before gets the table filled from its entries when it is opened, once, through a SQL function:
 * 17.5 s a million entries on the shared 2-core VM (bench/log-search.bench.ts), with the write lock
 * held. A process of an older release writing to the same file adds no words: its entries are
 * found only by the look at the newest rows (log-words.ts) until they age out.
 */
function indexLogWords(db: Database.Database): void {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'logs_words'").get();
  if (!exists) {
    db.function('clover_log_words', { deterministic: true }, (message: unknown, source: unknown, context: unknown) =>
      logEntryWords({ message: String(message), source: String(source), context: JSON.parse(String(context)) as unknown }).join(' '),
    );
    db.transaction(() => {
      db.exec(`
        CREATE VIRTUAL TABLE logs_words USING fts5(words, content='', contentless_delete=1, detail=none, tokenize="ascii tokenchars '_'");
        INSERT INTO logs_words (rowid, words) SELECT rowid, clover_log_words(message, source, context) FROM logs;
      `);
    })();
  }
  db.exec('CREATE TRIGGER IF NOT EXISTS logs_words_delete AFTER DELETE ON logs BEGIN DELETE FROM logs_words WHERE rowid = old.rowid; END');
}

/** `Run.leaderTerm`, the fencing token of the leader that wrote the run last; null in a file from before. */
function addRunLeaderTermColumn(db: Database.Database): void {
  const have = new Set((db.prepare('PRAGMA table_info(runs)').all() as Array<{ name: string }>).map((c) => c.name));
  if (!have.has('leader_term')) db.exec('ALTER TABLE runs ADD COLUMN leader_term INTEGER');
}

/**
 * Each job's 32-bit hash (@clover/partitions `jobHash`), in a column with an index on (hash, id):
 * a dispatch-server loads the jobs of its partitions as hash ranges (`listByHash`), one index
 * scan each, not the whole table. A file from before gets the column, computed for every job
 * through a SQL function, when it is opened (about 2 s a million jobs).
 */
function addJobHashColumn(db: Database.Database): void {
  const have = new Set((db.prepare('PRAGMA table_info(jobs)').all() as Array<{ name: string }>).map((c) => c.name));
  if (!have.has('job_hash')) {
    db.function('clover_job_hash', { deterministic: true }, (id: unknown) => jobHash(String(id)));
    db.exec(`
      ALTER TABLE jobs ADD COLUMN job_hash INTEGER;
      UPDATE jobs SET job_hash = clover_job_hash(id);
    `);
  }
  db.exec('CREATE INDEX IF NOT EXISTS jobs_hash ON jobs (job_hash, id)');
}

/**
 * Every run changes status once or twice, so the indexes that hold its status are the ones a busy
 * leader pays for on every update. Finished runs are nearly all 'succeeded': the status index
 * leaves them out (a filter on 'succeeded' reads runs_time, where they are most rows anyway), so
 * a run that succeeds is only taken out of it. Listing by node keys on time instead of status,
 * so a status change never moves a run there. A file from before gets its indexes rebuilt when
 * it is opened, once; on a large store that takes a while.
 */
function indexRunsForCheapStatusChanges(db: Database.Database): void {
  db.exec(`
    DROP INDEX IF EXISTS runs_status_time;
    DROP INDEX IF EXISTS runs_node_status;
    CREATE INDEX IF NOT EXISTS runs_unsucceeded_time ON runs (status, scheduled_at DESC, id DESC) WHERE ${unsucceeded};
    CREATE INDEX IF NOT EXISTS runs_node_time ON runs (node, scheduled_at DESC, id DESC);
  `);
}

/**
 * The partial status index's condition. SQLite uses a partial index only for a query whose WHERE
 * carries this very term, so the queries that can use it add it (see runs.ts).
 */
export const unsucceeded = "status <> 'succeeded'";

/**
 * What the scheduler writes at every run (last run, status, next run, counts) lives in columns
 * beside the job's document, which holds what users edit: a busy leader updates thousands of
 * jobs a second, and editing the JSON in place (json_set) cost twice a column update. A file
 * from before them gets the columns, filled from the documents, when it is opened.
 */
function addJobRunStateColumns(db: Database.Database): void {
  const have = new Set((db.prepare('PRAGMA table_info(jobs)').all() as Array<{ name: string }>).map((c) => c.name));
  if (have.has('run_count')) return;
  db.exec(`
    ALTER TABLE jobs ADD COLUMN last_run_at TEXT;
    ALTER TABLE jobs ADD COLUMN last_status TEXT;
    ALTER TABLE jobs ADD COLUMN next_run_at TEXT;
    ALTER TABLE jobs ADD COLUMN run_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN failure_count INTEGER NOT NULL DEFAULT 0;
    UPDATE jobs SET last_run_at = json_extract(doc, '$.lastRunAt'), last_status = json_extract(doc, '$.lastStatus'),
      next_run_at = json_extract(doc, '$.nextRunAt'), run_count = COALESCE(json_extract(doc, '$.runCount'), 0),
      failure_count = COALESCE(json_extract(doc, '$.failureCount'), 0);
  `);
}
