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

interface LogRow {
  id: string;
  time: number;
  level: LogEntry['level'];
  source: string;
  node: string | null;
  message: string;
  context: string;
}

export class SqliteLogs implements LogRepository {
  private readonly insert: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare(
      'INSERT INTO logs (id, time, level, level_rank, source, node, message, context) VALUES (@id, @time, @level, @rank, @source, @node, @message, @context)',
    );
  }

  write(entries: LogEntryInput[]): Promise<void> {
    return promised(() => {
      this.db
        .transaction(() => {
          for (const input of entries) {
            const e = logEntrySchema.parse({ ...input, id: newId('log') });
            this.insert.run({
              id: e.id,
              time: e.time.getTime(),
              level: e.level,
              rank: logLevelRank[e.level],
              source: e.source,
              node: e.node,
              message: e.message,
              context: JSON.stringify(e.context),
            });
          }
        })
        .immediate();
    });
  }

  list(query: LogQuery = {}): Promise<Page<LogEntry>> {
    return promised(() => {
      const limit = pageLimit(query.limit);
      const where = new Where();
      if (query.level) where.and('level_rank <= @rank', { rank: logLevelRank[query.level] });
      if (query.source) where.and("source LIKE @source ESCAPE '\\'", { source: likeContaining(query.source) });
      if (query.node) where.and('node = @node', { node: query.node });
      if (query.from) where.and('time >= @from', { from: query.from.getTime() });
      if (query.to) where.and('time < @to', { to: query.to.getTime() });
      if (query.q) {
        // A scan of the time range (LIKE '%…%' uses no index): the time index bounds it, newest first.
        const also = (query.qAlso ?? []).slice(0, 50);
        const alsoSql = also.map((_, i) => ` OR context LIKE @qa${i} ESCAPE '\\'`).join('');
        where.and(`(message LIKE @q ESCAPE '\\' OR source LIKE @q ESCAPE '\\' OR context LIKE @q ESCAPE '\\'${alsoSql})`, {
          q: likeContaining(query.q),
          ...Object.fromEntries(also.map((t, i) => [`qa${i}`, likeContaining(t)])),
        });
      }
      where.after('time', query.cursor);
      const rows = this.db
        .prepare(`SELECT * FROM logs ${where.sql} ORDER BY time DESC, id DESC LIMIT @limit`)
        .all({ ...where.params, limit: limit + 1 }) as LogRow[];
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

  deleteOlderThan(cutoff: Date): Promise<number> {
    return promised(() => this.db.prepare('DELETE FROM logs WHERE time < ?').run(cutoff.getTime()).changes);
  }
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
