import type Database from 'better-sqlite3';
import { incidentSchema, newId, type Incident, type IncidentInput } from '@clover/model';
import type { IncidentQuery, IncidentRepository, Page } from '../interfaces.js';
import { decodeCursor, encodeCursor, pageLimit } from '../cursor.js';

const parse = (row: unknown): Incident => incidentSchema.parse(JSON.parse((row as { doc: string }).doc));

export class SqliteIncidents implements IncidentRepository {
  constructor(private readonly db: Database.Database) {}

  private write(i: Incident): void {
    this.db
      .prepare(
        `INSERT INTO incidents (id, kind, subject, opened_at, closed_at, notified_at, recovery_notified_at, doc)
      VALUES (@id, @kind, @subject, @openedAt, @closedAt, @notifiedAt, @recoveryNotifiedAt, @doc)
      ON CONFLICT (id) DO UPDATE SET closed_at=@closedAt, notified_at=@notifiedAt, recovery_notified_at=@recoveryNotifiedAt, doc=@doc`,
      )
      .run({
        id: i.id,
        kind: i.kind,
        subject: i.subject,
        openedAt: i.openedAt.getTime(),
        closedAt: i.closedAt?.getTime() ?? null,
        notifiedAt: i.notifiedAt?.getTime() ?? null,
        recoveryNotifiedAt: i.recoveryNotifiedAt?.getTime() ?? null,
        doc: JSON.stringify(i),
      });
  }

  async open(input: Omit<IncidentInput, 'id'>): Promise<Incident> {
    const incident = incidentSchema.parse({ ...input, id: newId('inc') });
    this.write(incident);
    return incident;
  }

  async get(id: string): Promise<Incident | null> {
    const row = this.db.prepare('SELECT doc FROM incidents WHERE id = ?').get(id);
    return row ? parse(row) : null;
  }

  async findOpen(kind: Incident['kind'], subject: string): Promise<Incident | null> {
    const row = this.db
      .prepare('SELECT doc FROM incidents WHERE kind = ? AND subject = ? AND closed_at IS NULL ORDER BY opened_at DESC LIMIT 1')
      .get(kind, subject);
    return row ? parse(row) : null;
  }

  async list(query: IncidentQuery = {}): Promise<Page<Incident>> {
    const limit = pageLimit(query.limit);
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: limit + 1 };
    if (query.open !== undefined) where.push(query.open ? 'closed_at IS NULL' : 'closed_at IS NOT NULL');
    if (query.kind) (where.push('kind = @kind'), (params.kind = query.kind));
    if (query.cursor) {
      const c = decodeCursor(query.cursor);
      where.push('(opened_at < @cAt OR (opened_at = @cAt AND id < @cId))');
      params.cAt = c.sortValue;
      params.cId = c.id;
    }
    const rows = this.db
      .prepare(
        `SELECT opened_at, id, doc FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY opened_at DESC, id DESC LIMIT @limit`,
      )
      .all(params) as Array<{ opened_at: number; id: string; doc: string }>;
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return { items: page.map(parse), nextCursor: more && last ? encodeCursor(last.opened_at, last.id) : null };
  }

  async listUnnotified(): Promise<Incident[]> {
    return this.db.prepare('SELECT doc FROM incidents WHERE notified_at IS NULL ORDER BY opened_at').all().map(parse);
  }

  async listRecoveryUnnotified(): Promise<Incident[]> {
    return this.db
      .prepare(
        'SELECT doc FROM incidents WHERE closed_at IS NOT NULL AND notified_at IS NOT NULL AND recovery_notified_at IS NULL ORDER BY closed_at',
      )
      .all()
      .map(parse);
  }

  private mutate(id: string, fn: (i: Incident) => Incident): Incident | null {
    return this.db
      .transaction(() => {
        const row = this.db.prepare('SELECT doc FROM incidents WHERE id = ?').get(id);
        if (!row) return null;
        const next = fn(parse(row));
        this.write(next);
        return next;
      })
      .immediate();
  }

  async markNotified(id: string, contacts: string[], at: Date): Promise<void> {
    this.mutate(id, (i) => ({ ...i, notifiedAt: at, notifiedContacts: [...new Set([...i.notifiedContacts, ...contacts])] }));
  }

  async markRecoveryNotified(id: string, at: Date): Promise<void> {
    this.mutate(id, (i) => ({ ...i, recoveryNotifiedAt: at }));
  }

  async close(id: string, at: Date): Promise<Incident | null> {
    return this.mutate(id, (i) => (i.closedAt ? i : { ...i, closedAt: at }));
  }
}
