import type Database from 'better-sqlite3';
import { incidentSchema, newId, type Incident, type IncidentInput } from '@clover/model';
import type { IncidentQuery, IncidentRepository, Page } from '../interfaces.js';
import { pageLimit, pageOf } from '../cursor.js';
import { promised } from './promised.js';
import { Where } from './where.js';

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

  open(input: Omit<IncidentInput, 'id'>): Promise<Incident> {
    return promised(() => {
      const incident = incidentSchema.parse({ ...input, id: newId('inc') });
      this.write(incident);
      return incident;
    });
  }

  get(id: string): Promise<Incident | null> {
    return promised(() => {
      const row = this.db.prepare('SELECT doc FROM incidents WHERE id = ?').get(id);
      return row ? parse(row) : null;
    });
  }

  findOpen(kind: Incident['kind'], subject: string): Promise<Incident | null> {
    return promised(() => {
      const row = this.db
        .prepare('SELECT doc FROM incidents WHERE kind = ? AND subject = ? AND closed_at IS NULL ORDER BY opened_at DESC LIMIT 1')
        .get(kind, subject);
      return row ? parse(row) : null;
    });
  }

  list(query: IncidentQuery = {}): Promise<Page<Incident>> {
    return promised(() => {
      const limit = pageLimit(query.limit);
      const where = new Where();
      if (query.open !== undefined) where.and(query.open ? 'closed_at IS NULL' : 'closed_at IS NOT NULL');
      if (query.kind) where.and('kind = @kind', { kind: query.kind });
      where.after('opened_at', query.cursor);
      const rows = this.db
        .prepare(`SELECT opened_at, id, doc FROM incidents ${where.sql} ORDER BY opened_at DESC, id DESC LIMIT @limit`)
        .all({ ...where.params, limit: limit + 1 }) as Array<{ opened_at: number; id: string; doc: string }>;
      return pageOf(rows, limit, (last) => [last.opened_at, last.id], parse);
    });
  }

  listUnnotified(): Promise<Incident[]> {
    return promised(() => this.db.prepare('SELECT doc FROM incidents WHERE notified_at IS NULL ORDER BY opened_at').all().map(parse));
  }

  listRecoveryUnnotified(): Promise<Incident[]> {
    return promised(() =>
      this.db
        .prepare(
          'SELECT doc FROM incidents WHERE closed_at IS NOT NULL AND notified_at IS NOT NULL AND recovery_notified_at IS NULL ORDER BY closed_at',
        )
        .all()
        .map(parse),
    );
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

  markNotified(id: string, contacts: string[], at: Date): Promise<void> {
    return promised(() => {
      this.mutate(id, (i) => ({ ...i, notifiedAt: at, notifiedContacts: [...new Set([...i.notifiedContacts, ...contacts])] }));
    });
  }

  markRecoveryNotified(id: string, at: Date): Promise<void> {
    return promised(() => {
      this.mutate(id, (i) => ({ ...i, recoveryNotifiedAt: at }));
    });
  }

  close(id: string, at: Date, by?: string): Promise<Incident | null> {
    return promised(() => this.mutate(id, (i) => (i.closedAt ? i : { ...i, closedAt: at, closedBy: by ?? null })));
  }

  acknowledge(id: string, by: string, at: Date): Promise<Incident | null> {
    return promised(() => this.mutate(id, (i) => (i.acknowledgedAt ? i : { ...i, acknowledgedAt: at, acknowledgedBy: by })));
  }
}
