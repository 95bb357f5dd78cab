import type Database from 'better-sqlite3';
import type { RunStatus } from '@clover/model';
import type { CounterRepository, CounterSummary, StatusCounts } from '../interfaces.js';
import { hourOf } from '../cursor.js';
import { promised } from './promised.js';
import { Where } from './where.js';

export class SqliteCounters implements CounterRepository {
  constructor(private readonly db: Database.Database) {}

  summary(query: { from: Date; to: Date; jobId?: string }): Promise<CounterSummary> {
    return promised(() => {
      const where = new Where('hour >= @from', 'hour < @to');
      if (query.jobId) where.and('job_id = @jobId', { jobId: query.jobId });
      const rows = this.db
        .prepare(`SELECT hour, status, SUM(n) AS n FROM run_counters ${where.sql} GROUP BY hour, status ORDER BY hour`)
        .all({ ...where.params, from: hourOf(query.from.getTime()), to: query.to.getTime() }) as Array<{
        hour: number;
        status: RunStatus;
        n: number;
      }>;
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
    });
  }
}
