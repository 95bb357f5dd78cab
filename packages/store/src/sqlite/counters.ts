import type Database from 'better-sqlite3';
import type { RunStatus } from '@clover/model';
import type { CounterRepository, CounterSummary, StatusCounts } from '../interfaces.js';
import { hourOf } from '../cursor.js';

export class SqliteCounters implements CounterRepository {
  constructor(private readonly db: Database.Database) {}

  async summary(query: { from: Date; to: Date; jobId?: string }): Promise<CounterSummary> {
    const params: Record<string, unknown> = { from: hourOf(query.from.getTime()), to: query.to.getTime() };
    let sql = 'SELECT hour, status, SUM(n) AS n FROM run_counters WHERE hour >= @from AND hour < @to';
    if (query.jobId) ((sql += ' AND job_id = @jobId'), (params.jobId = query.jobId));
    sql += ' GROUP BY hour, status ORDER BY hour';
    const rows = this.db.prepare(sql).all(params) as Array<{ hour: number; status: RunStatus; n: number }>;
    const byHour = new Map<number, StatusCounts>();
    const totals: StatusCounts = {};
    for (const r of rows) {
      if (r.n === 0) continue;
      let h = byHour.get(r.hour);
      if (!h) byHour.set(r.hour, (h = {}));
      h[r.status] = (h[r.status] ?? 0) + r.n;
      totals[r.status] = (totals[r.status] ?? 0) + r.n;
    }
    return { hours: [...byHour].map(([hour, counts]) => ({ hour: new Date(hour), counts })), totals };
  }
}
