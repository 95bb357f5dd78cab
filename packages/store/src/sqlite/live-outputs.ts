import type Database from 'better-sqlite3';
import type { LiveOutput } from '@clover/model';
import type { LiveOutputRepository } from '../interfaces.js';
import { promised } from './promised.js';

interface LiveOutputRow {
  run_id: string;
  job_id: string;
  exec_id: string;
  text: string;
  end_at: number;
  updated_at: number;
}

/** Live outputs in `run_outputs`, one row per run (`end` is `end_at`: END is an SQL word). */
export class SqliteLiveOutputs implements LiveOutputRepository {
  constructor(private readonly db: Database.Database) {}

  put(o: LiveOutput): Promise<void> {
    return promised(() => {
      this.db
        .prepare(
          `INSERT INTO run_outputs (run_id, job_id, exec_id, text, end_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id) DO UPDATE SET job_id = excluded.job_id, exec_id = excluded.exec_id, text = excluded.text,
             end_at = excluded.end_at, updated_at = excluded.updated_at`,
        )
        .run(o.runId, o.jobId, o.execId, o.text, o.end, o.updatedAt.getTime());
    });
  }

  get(runId: string): Promise<LiveOutput | null> {
    return promised(() => {
      const r = this.db.prepare('SELECT * FROM run_outputs WHERE run_id = ?').get(runId) as LiveOutputRow | undefined;
      return r
        ? { runId: r.run_id, jobId: r.job_id, execId: r.exec_id, text: r.text, end: r.end_at, updatedAt: new Date(r.updated_at) }
        : null;
    });
  }
}
