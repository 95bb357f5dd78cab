import type Database from 'better-sqlite3';
import {
  auditEntrySchema,
  logEntrySchema,
  logLevelRank,
  newId,
  outboxMailSchema,
  type AuditEntry,
  type AuditEntryInput,
  type LogEntry,
  type LogEntryInput,
  type OutboxMail,
  type OutboxMailInput,
} from '@clover/model';
import type { AuditQuery, AuditRepository, LogQuery, LogRepository, OutboxRepository, Page, PageQuery } from '../interfaces.js';
import { pageLimit, pageOf } from '../cursor.js';
import { promised } from './promised.js';
import { likeContaining, Where } from './where.js';
import {
  entryMatches,
  jobIdWordsFor,
  logEntryWords,
  mayMatch,
  probedRows as defaultProbedRows,
  queryWords,
  type QueryTerm,
} from '../log-words.js';

interface LogRow {
  id: string;
  time: number;
  level: LogEntry['level'];
  source: string;
  node: string | null;
  message: string;
  context: string;
}

/**
 * Log entries, searched through `logs_words` (schema.ts): an FTS5 table of each entry's words
 * (log-words.ts), under the entry's rowid. A search the newest rows do not settle reads the
 * matching rowids from it and only those rows of `logs`: its cost follows the number of matches,
 * not the table's size.
 */
export class SqliteLogs implements LogRepository {
  private readonly insert: Database.Statement;
  private readonly insertWords: Database.Statement;

  /**
   * @param probedRows newest rows a search tests before it asks the index (log-words.ts; default
   * `probedRows`); 0 asks the index straight away.
   */
  constructor(
    private readonly db: Database.Database,
    private readonly probedRows = defaultProbedRows,
  ) {
    this.insert = db.prepare(
      'INSERT INTO logs (id, time, level, level_rank, source, node, message, context) VALUES (@id, @time, @level, @rank, @source, @node, @message, @context)',
    );
    this.insertWords = db.prepare('INSERT INTO logs_words (rowid, words) VALUES (?, ?)');
  }

  write(entries: LogEntryInput[]): Promise<void> {
    return promised(() => {
      this.db
        .transaction(() => {
          for (const input of entries) {
            const e = logEntrySchema.parse({ ...input, id: newId('log') });
            const { lastInsertRowid } = this.insert.run({
              id: e.id,
              time: e.time.getTime(),
              level: e.level,
              rank: logLevelRank[e.level],
              source: e.source,
              node: e.node,
              message: e.message,
              context: JSON.stringify(e.context),
            });
            this.insertWords.run(lastInsertRowid, logEntryWords(e).join(' '));
          }
        })
        .immediate();
    });
  }

  list(query: LogQuery = {}): Promise<Page<LogEntry>> {
    return promised(() => {
      const limit = pageLimit(query.limit);
      const read = (terms: QueryTerm[], rows: number) => {
        const { sql, params } = this.select(query, terms, rows);
        return this.db.prepare(sql).all(params) as LogRow[];
      };
      const terms = this.termsOf(query.q);
      let rows: LogRow[] | null = null;
      if (!terms.length) rows = read([], limit + 1);
      else if (this.probedRows > 0) {
        // log-words.ts: the newest rows first, the index only when they do not settle it.
        // Read as tested: a frequent word stops after a page of matches, not probedRows rows.
        const { sql, params } = this.select(query, [], this.probedRows);
        const hits: LogRow[] = [];
        let probed = 0;
        for (const r of this.db.prepare(sql).iterate(params) as IterableIterator<LogRow>) {
          probed++;
          if (!mayMatch(`${r.message}\n${r.source}\n${r.context}`.toLowerCase(), terms)) continue;
          if (entryMatches(logEntryWords({ ...r, context: JSON.parse(r.context) as unknown }), terms)) hits.push(r);
          if (hits.length > limit) break;
        }
        if (hits.length > limit || probed < this.probedRows) rows = hits;
      }
      rows ??= read(terms, limit + 1);
      return pageOf(
        rows,
        limit,
        (last) => [last.time, last.id],
        (r) => ({
          id: r.id,
          time: new Date(r.time),
          level: r.level,
          source: r.source,
          node: r.node,
          message: r.message,
          context: JSON.parse(r.context) as Record<string, unknown>,
        }),
      );
    });
  }

  /** `q`'s words (log-words.ts), each with the ids of the jobs whose name it stands for. */
  termsOf(q: string | undefined): QueryTerm[] {
    return queryWords(q).map((word) => ({ word, jobIds: this.jobsNamed(word) }));
  }

  /**
   * A statement `list` runs for `query`, newest first, at most `rows` rows, and its parameters (a
   * test asks SQLite for its plan): with `terms`, the rows the word index finds; without, the
   * rows of the other filters. With terms, CROSS JOIN keeps the word index the outer loop: the
   * planner could otherwise walk logs_time newest first and test every row, the full scan the
   * index is here to avoid; the matching rows are then sorted by time.
   */
  select(query: LogQuery, terms: QueryTerm[], rows: number): { sql: string; params: Record<string, unknown> } {
    const where = new Where();
    if (query.level) where.and('level_rank <= @rank', { rank: logLevelRank[query.level] });
    if (query.source) where.and("source LIKE @source ESCAPE '\\'", { source: likeContaining(query.source) });
    if (query.node) where.and('node = @node', { node: query.node });
    if (query.from) where.and('time >= @from', { from: query.from.getTime() });
    if (query.to) where.and('time < @to', { to: query.to.getTime() });
    let from = 'logs';
    if (terms.length) {
      from = 'logs_words CROSS JOIN logs ON logs.rowid = logs_words.rowid';
      where.and('logs_words MATCH @match', { match: matchOf(terms) });
    }
    where.after('time', query.cursor);
    return {
      sql: `SELECT logs.* FROM ${from} ${where.sql} ORDER BY time DESC, id DESC LIMIT @limit`,
      params: { ...where.params, limit: rows },
    };
  }

  /**
   * The job ids `word` stands for (log-words.ts `jobIdWordsFor`), jobs taken by id. LIKE narrows
   * them first for an ASCII word; it folds ASCII case only, so a word with other letters (`ärger`,
   * of a job named `Ärger`) reads every job's name instead.
   */
  private jobsNamed(word: string): string[] {
    const ascii = /^[a-z0-9_]*$/.test(word);
    const named = (
      ascii
        ? this.db.prepare("SELECT id, name FROM jobs WHERE name LIKE ? ESCAPE '\\' ORDER BY id").all(likeContaining(word))
        : this.db.prepare('SELECT id, name FROM jobs ORDER BY id').all()
    ) as Array<{ id: string; name: string }>;
    return jobIdWordsFor(word, named);
  }

  /** Removes the entries before `cutoff`; a trigger on `logs` (schema.ts) takes their words out of the index. */
  deleteOlderThan(cutoff: Date): Promise<number> {
    return promised(() => this.db.prepare('DELETE FROM logs WHERE time < ?').run(cutoff.getTime()).changes);
  }
}

/**
 * The FTS5 query for `terms` (log-words.ts's rule): each word as a prefix, or the ids of the jobs
 * it stands for. Words hold only letters, digits and `_`, so quoting them is enough.
 */
function matchOf(terms: QueryTerm[]): string {
  return terms.map((t) => `("${t.word}"*${t.jobIds.map((id) => ` OR "${id}"`).join('')})`).join(' AND ');
}

export class SqliteOutbox implements OutboxRepository {
  constructor(private readonly db: Database.Database) {}

  add(input: OutboxMailInput): Promise<OutboxMail> {
    return promised(() => {
      const mail = outboxMailSchema.parse({ ...input, id: newId('mail'), createdAt: new Date() });
      this.db
        .prepare('INSERT INTO outbox (id, created_at, doc) VALUES (?, ?, ?)')
        .run(mail.id, mail.createdAt.getTime(), JSON.stringify(mail));
      return mail;
    });
  }

  list(query: PageQuery = {}): Promise<Page<OutboxMail>> {
    return promised(() => {
      const limit = pageLimit(query.limit);
      const where = new Where();
      where.after('created_at', query.cursor);
      const rows = this.db
        .prepare(`SELECT id, created_at, doc FROM outbox ${where.sql} ORDER BY created_at DESC, id DESC LIMIT @limit`)
        .all({ ...where.params, limit: limit + 1 }) as Array<{ id: string; created_at: number; doc: string }>;
      return pageOf(
        rows,
        limit,
        (last) => [last.created_at, last.id],
        (r) => outboxMailSchema.parse(JSON.parse(r.doc)),
      );
    });
  }
}

export class SqliteAudit implements AuditRepository {
  constructor(private readonly db: Database.Database) {}

  add(input: AuditEntryInput): Promise<AuditEntry> {
    return promised(() => {
      const entry = auditEntrySchema.parse({ ...input, id: newId('audit') });
      this.db
        .prepare('INSERT INTO audit (id, at, user, method, path, target, doc) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(entry.id, entry.at.getTime(), entry.user, entry.method, entry.path, entry.target, JSON.stringify(entry));
      return entry;
    });
  }

  list(query: AuditQuery = {}): Promise<Page<AuditEntry>> {
    return promised(() => {
      const limit = pageLimit(query.limit);
      const where = new Where();
      if (query.user) where.and('user = @user', { user: query.user });
      if (query.method) where.and('method = @method', { method: query.method.toUpperCase() });
      if (query.from) where.and('at >= @from', { from: query.from.getTime() });
      if (query.to) where.and('at < @to', { to: query.to.getTime() });
      if (query.q) where.and("(path LIKE @q ESCAPE '\\' OR target LIKE @q ESCAPE '\\')", { q: likeContaining(query.q) });
      where.after('at', query.cursor);
      const rows = this.db
        .prepare(`SELECT id, at, doc FROM audit ${where.sql} ORDER BY at DESC, id DESC LIMIT @limit`)
        .all({ ...where.params, limit: limit + 1 }) as Array<{ id: string; at: number; doc: string }>;
      return pageOf(
        rows,
        limit,
        (last) => [last.at, last.id],
        (r) => auditEntrySchema.parse(JSON.parse(r.doc)),
      );
    });
  }
}
