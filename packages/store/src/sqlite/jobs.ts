import type Database from 'better-sqlite3';
import { jobFromStored, jobSchema, newId, type Job, type JobRunState, type JobSpec } from '@clover/model';
import { jobHash } from '@clover/partitions';
import type { HashRange, JobHashQuery, JobQuery, JobRepository, Page } from '../interfaces.js';
import { decodeCursor, pageLimit, pageOf } from '../cursor.js';
import { pageByHash, type HashPosition } from '../job-hash.js';
import { promised } from './promised.js';
import { likeContaining, Where } from './where.js';

interface JobRow {
  id: string;
  doc: string;
  last_run_at: string | null;
  last_status: string | null;
  next_run_at: string | null;
  run_count: number;
  failure_count: number;
}

interface HashedJobRow extends JobRow {
  job_hash: number;
}

/** Every read of a job takes its run state from the columns (see schema.ts), not the document. */
const jobColumns = 'id, doc, last_run_at, last_status, next_run_at, run_count, failure_count';

/** The store wrote the document through `jobSchema` itself: `jobFromStored` maps it without parsing it again. */
const toJob = (row: JobRow): Job =>
  jobFromStored(
    Object.assign(JSON.parse(row.doc) as Record<string, unknown>, {
      lastRunAt: row.last_run_at,
      lastStatus: row.last_status,
      nextRunAt: row.next_run_at,
      runCount: row.run_count,
      failureCount: row.failure_count,
    }),
  );

export class SqliteJobs implements JobRepository {
  constructor(private readonly db: Database.Database) {}

  private write(job: Job): void {
    // The run state is kept in its columns only: a copy in the document would go stale at the first run.
    const { lastRunAt, lastStatus, nextRunAt, runCount, failureCount, ...doc } = job;
    this.db
      .prepare(
        `INSERT INTO jobs (id, name, description, grp, enabled, created_at, doc, last_run_at, last_status, next_run_at, run_count, failure_count, job_hash)
        VALUES (@id, @name, @description, @grp, @enabled, @createdAt, @doc, @lastRunAt, @lastStatus, @nextRunAt, @runCount, @failureCount, @jobHash)
        ON CONFLICT (id) DO UPDATE SET name=@name, description=@description, grp=@grp, enabled=@enabled, doc=@doc, last_run_at=@lastRunAt,
        last_status=@lastStatus, next_run_at=@nextRunAt, run_count=@runCount, failure_count=@failureCount`,
      )
      .run({
        id: job.id,
        name: job.name,
        description: job.description,
        grp: job.group,
        enabled: job.enabled ? 1 : 0,
        createdAt: job.createdAt.getTime(),
        doc: JSON.stringify(doc),
        lastRunAt: lastRunAt?.toISOString() ?? null,
        lastStatus,
        nextRunAt: nextRunAt?.toISOString() ?? null,
        runCount,
        failureCount,
        jobHash: jobHash(job.id),
      });
  }

  create(spec: JobSpec): Promise<Job> {
    return promised(() => {
      const now = new Date();
      const job = jobSchema.parse({ ...spec, id: newId('job'), createdAt: now, updatedAt: now });
      this.write(job);
      return job;
    });
  }

  get(id: string): Promise<Job | null> {
    return promised(() => this.getSync(id));
  }

  list(query: JobQuery = {}): Promise<Page<Job>> {
    return promised(() => {
      const limit = pageLimit(query.limit);
      const where = new Where();
      if (query.q) where.and("(name LIKE @q ESCAPE '\\' OR description LIKE @q ESCAPE '\\')", { q: likeContaining(query.q) });
      if (query.group) where.and('grp = @grp', { grp: query.group });
      if (query.enabled !== undefined) where.and('enabled = @enabled', { enabled: query.enabled ? 1 : 0 });
      if (query.cursor) where.and('id < @after', { after: decodeCursor(query.cursor).id });
      const rows = this.db
        .prepare(`SELECT ${jobColumns} FROM jobs ${where.sql} ORDER BY id DESC LIMIT @limit`)
        .all({ ...where.params, limit: limit + 1 }) as JobRow[];
      return pageOf(rows, limit, (last) => [0, last.id], toJob);
    });
  }

  listEnabled(): Promise<Job[]> {
    return promised(() => (this.db.prepare(`SELECT ${jobColumns} FROM jobs WHERE enabled = 1`).all() as JobRow[]).map(toJob));
  }

  listByHash(query: JobHashQuery): Promise<Page<Job>> {
    const read = (range: HashRange, after: HashPosition | null, n: number): HashedJobRow[] => {
      const where = new Where();
      where.and('job_hash >= @from AND job_hash < @to', { from: range.from, to: range.to });
      if (after) where.and('(job_hash, id) > (@afterHash, @afterId)', { afterHash: after.hash, afterId: after.id });
      if (query.enabled !== undefined) where.and('enabled = @enabled', { enabled: query.enabled ? 1 : 0 });
      return (
        this.db
          // INDEXED BY: with `enabled = 1` beside the range the planner took jobs_enabled (nearly
          // every row), a scan of the table per range: 23 s to load 2,000 jobs of 1,600 partitions.
          .prepare(`SELECT ${jobColumns}, job_hash FROM jobs INDEXED BY jobs_hash ${where.sql} ORDER BY job_hash, id LIMIT @n`)
          .all({ ...where.params, n }) as HashedJobRow[]
      );
    };
    return pageByHash(query, read, (row) => ({ hash: row.job_hash, id: row.id }), toJob);
  }

  replace(id: string, spec: JobSpec): Promise<Job | null> {
    return promised(() =>
      this.db
        .transaction(() => {
          const current = this.getSync(id);
          if (!current) return null;
          const job = jobSchema.parse({
            ...spec,
            id,
            createdAt: current.createdAt,
            updatedAt: new Date(),
            lastRunAt: current.lastRunAt,
            lastStatus: current.lastStatus,
            nextRunAt: null,
            runCount: current.runCount,
            failureCount: current.failureCount,
          });
          this.write(job);
          return job;
        })
        .immediate(),
    );
  }

  private getSync(id: string): Job | null {
    const row = this.db.prepare(`SELECT ${jobColumns} FROM jobs WHERE id = ?`).get(id) as JobRow | undefined;
    return row ? toJob(row) : null;
  }

  setEnabled(id: string, enabled: boolean): Promise<Job | null> {
    return promised(() =>
      this.db
        .transaction(() => {
          const current = this.getSync(id);
          if (!current) return null;
          const job = { ...current, enabled, updatedAt: new Date() };
          this.write(job);
          return job;
        })
        .immediate(),
    );
  }

  recordRunState(id: string, state: JobRunState): Promise<void> {
    return promised(() => {
      this.db.transaction(() => this.recordRunStateSync(id, state)).immediate();
    });
  }

  recordRunStates(items: Array<{ id: string; state: JobRunState }>): Promise<void> {
    return promised(() => {
      this.db.transaction(() => this.recordRunStatesSync(items)).immediate();
    });
  }

  /** Inside the caller's transaction (the store's writeRuns). */
  recordRunStatesSync(items: Array<{ id: string; state: JobRunState }>): void {
    for (const i of items) this.recordRunStateSync(i.id, i.state);
  }

  /** Only the given fields, in the run-state columns; the counts by adding the deltas. */
  private recordRunStateSync(id: string, state: JobRunState): void {
    const sets: string[] = [];
    const params: Record<string, unknown> = { id };
    const set = (column: string, value: unknown) => {
      sets.push(`${column} = @${column}`);
      params[column] = value;
    };
    if (state.lastRunAt !== undefined) set('last_run_at', state.lastRunAt?.toISOString() ?? null);
    if (state.lastStatus !== undefined) set('last_status', state.lastStatus);
    if (state.nextRunAt !== undefined) set('next_run_at', state.nextRunAt?.toISOString() ?? null);
    for (const [column, delta] of [
      ['run_count', state.runCountDelta],
      ['failure_count', state.failureCountDelta],
    ] as const) {
      if (!delta) continue;
      sets.push(`${column} = ${column} + @${column}`);
      params[column] = delta;
    }
    if (sets.length) this.db.prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE id = @id`).run(params);
  }

  delete(id: string): Promise<boolean> {
    return promised(() =>
      this.db
        .transaction(() => {
          const gone = this.db.prepare('DELETE FROM jobs WHERE id = ?').run(id).changes > 0;
          this.db.prepare('DELETE FROM runs WHERE job_id = ?').run(id);
          this.db.prepare('DELETE FROM run_outputs WHERE job_id = ?').run(id);
          this.db.prepare('DELETE FROM run_counters WHERE job_id = ?').run(id);
          return gone;
        })
        .immediate(),
    );
  }

  counts(): Promise<{ total: number; enabled: number }> {
    return promised(() => {
      const row = this.db.prepare('SELECT COUNT(*) AS total, COALESCE(SUM(enabled), 0) AS enabled FROM jobs').get() as {
        total: number;
        enabled: number;
      };
      return { total: row.total, enabled: row.enabled };
    });
  }
}
