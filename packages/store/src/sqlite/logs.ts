import type Database from 'better-sqlite3';
import {
  logEntrySchema,
  logLevelRank,
  newId,
  outboxMailSchema,
  type LogEntry,
  type LogEntryInput,
  type OutboxMail,
  type OutboxMailInput,
} from '@clover/model';
import type { LogQuery, LogRepository, OutboxRepository, Page, PageQuery } from '../interfaces.js';
import { decodeCursor, encodeCursor, pageLimit } from '../cursor.js';

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

  async write(entries: LogEntryInput[]): Promise<void> {
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
  }

  async list(query: LogQuery = {}): Promise<Page<LogEntry>> {
    const limit = pageLimit(query.limit);
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: limit + 1 };
    if (query.level) (where.push('level_rank <= @rank'), (params.rank = logLevelRank[query.level]));
    if (query.source) (where.push('source = @source'), (params.source = query.source));
    if (query.node) (where.push('node = @node'), (params.node = query.node));
    if (query.from) (where.push('time >= @from'), (params.from = query.from.getTime()));
    if (query.to) (where.push('time < @to'), (params.to = query.to.getTime()));
    if (query.q) (where.push("message LIKE @q ESCAPE '\\'"), (params.q = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
    if (query.cursor) {
      const c = decodeCursor(query.cursor);
      where.push('(time < @cAt OR (time = @cAt AND id < @cId))');
      params.cAt = c.sortValue;
      params.cId = c.id;
    }
    const rows = this.db
      .prepare(`SELECT * FROM logs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC, id DESC LIMIT @limit`)
      .all(params) as LogRow[];
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => ({
        id: r.id,
        time: new Date(r.time),
        level: r.level,
        source: r.source,
        node: r.node,
        message: r.message,
        context: JSON.parse(r.context) as Record<string, unknown>,
      })),
      nextCursor: more && last ? encodeCursor(last.time, last.id) : null,
    };
  }

  async deleteOlderThan(cutoff: Date): Promise<number> {
    return this.db.prepare('DELETE FROM logs WHERE time < ?').run(cutoff.getTime()).changes;
  }
}

export class SqliteOutbox implements OutboxRepository {
  constructor(private readonly db: Database.Database) {}

  async add(input: OutboxMailInput): Promise<OutboxMail> {
    const mail = outboxMailSchema.parse({ ...input, id: newId('mail'), createdAt: new Date() });
    this.db
      .prepare('INSERT INTO outbox (id, created_at, doc) VALUES (?, ?, ?)')
      .run(mail.id, mail.createdAt.getTime(), JSON.stringify(mail));
    return mail;
  }

  async list(query: PageQuery = {}): Promise<Page<OutboxMail>> {
    const limit = pageLimit(query.limit);
    const params: Record<string, unknown> = { limit: limit + 1 };
    let where = '';
    if (query.cursor) {
      const c = decodeCursor(query.cursor);
      where = 'WHERE (created_at < @cAt OR (created_at = @cAt AND id < @cId))';
      params.cAt = c.sortValue;
      params.cId = c.id;
    }
    const rows = this.db
      .prepare(`SELECT id, created_at, doc FROM outbox ${where} ORDER BY created_at DESC, id DESC LIMIT @limit`)
      .all(params) as Array<{ id: string; created_at: number; doc: string }>;
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => outboxMailSchema.parse(JSON.parse(r.doc))),
      nextCursor: more && last ? encodeCursor(last.created_at, last.id) : null,
    };
  }
}
