import type Database from 'better-sqlite3';
import {
  activeStatuses,
  runSchema,
  terminalStatuses,
  type ActiveStatus,
  type JobRunState,
  type Run,
  type RunInput,
  type RunPatch,
  type RunStatus,
} from '@clover/model';
import type {
  InsertManyResult,
  Page,
  PartitionFence,
  PartitionToken,
  RunBacklog,
  RunQuery,
  RunRepository,
  RunUpdate,
  StoreOptions,
} from '../interfaces.js';
import { hourOf, pageLimit, pageOf } from '../cursor.js';
import { DuplicateRunError, FencedRunError } from '../errors.js';
import { unsucceeded } from './schema.js';
import { promised } from './promised.js';
import { Where } from './where.js';
import { countedOnce, patchApplies, reopenedCounts } from '../counted-once.js';
import { partitionRefusals, termAdmits } from '../fence.js';

interface RunRow {
  id: string;
  job_id: string;
  scheduled_at: number;
  dispatched_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  node: string | null;
  attempt: number;
  trigger: Run['trigger'];
  status: RunStatus;
  exit_code: number | null;
  output_tail: string;
  error: string | null;
  leader_term: number | null;
}

const date = (ms: number | null) => (ms === null ? null : new Date(ms));
const ms = (d: Date | null) => (d === null ? null : d.getTime());
const terminal = new Set<RunStatus>(terminalStatuses);

/** A row of `partition_fences`: the highest token seen for the partition (`RunRepository.fencePartitions`). */
interface FenceRow {
  part: number;
  incarnation: number;
  epoch: number;
}

/** `status IN ('scheduled', 'waiting', ...)`: the statuses are fixed words, so they go in the text. */
const active = `status IN (${activeStatuses.map((s) => `'${s}'`).join(', ')})`;

/** A patch can never move a run to another slot, so those fields are not even read from it. */
const patchSchema = runSchema.omit({ id: true, jobId: true, scheduledAt: true, leaderTerm: true }).partial();

/**
 * A bit for each, in this fixed order: a set of patched fields is a number, and one SQL text.
 * `satisfies` makes a field added to the run model fail to compile here rather than go unwritten.
 */
const patchColumns = Object.entries({
  dispatchedAt: 'dispatched_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  node: 'node',
  attempt: 'attempt',
  trigger: 'trigger',
  status: 'status',
  exitCode: 'exit_code',
  outputTail: 'output_tail',
  error: 'error',
} satisfies Record<keyof RunPatch, keyof RunRow>) as Array<[keyof RunPatch, keyof RunRow]>;

const updateTexts = new Map<number, string>();
/** The bit after the patch's: the write stamps the run with its leader term (`RunWrites.term`). */
const termBit = 1 << patchColumns.length;

/** Built once per set: building and hashing a fresh text on every call cost about 1 µs, as much as validating the patch. */
function updateSql(given: number): string {
  let sql = updateTexts.get(given);
  if (!sql) {
    const set = patchColumns.filter((_, i) => given & (1 << i)).map(([, c]) => `${c} = @${c}`);
    if (given & termBit) set.push('leader_term = @leader_term');
    updateTexts.set(given, (sql = `UPDATE runs SET ${set.join(', ')} WHERE id = @id`));
  }
  return sql;
}

function toRun(r: RunRow): Run {
  return {
    id: r.id,
    jobId: r.job_id,
    scheduledAt: new Date(r.scheduled_at),
    dispatchedAt: date(r.dispatched_at),
    startedAt: date(r.started_at),
    finishedAt: date(r.finished_at),
    node: r.node,
    attempt: r.attempt,
    trigger: r.trigger,
    status: r.status,
    exitCode: r.exit_code,
    outputTail: r.output_tail,
    error: r.error,
    leaderTerm: r.leader_term,
  };
}

function toRow(run: Run): RunRow {
  return {
    id: run.id,
    job_id: run.jobId,
    scheduled_at: run.scheduledAt.getTime(),
    dispatched_at: ms(run.dispatchedAt),
    started_at: ms(run.startedAt),
    finished_at: ms(run.finishedAt),
    node: run.node,
    attempt: run.attempt,
    trigger: run.trigger,
    status: run.status,
    exit_code: run.exitCode,
    output_tail: run.outputTail,
    error: run.error,
    leader_term: run.leaderTerm,
  };
}

export class SqliteRuns implements RunRepository {
  private readonly insertStmt: Database.Statement;
  private readonly bumpStmt: Database.Statement;

  /**
   * @param recordJobState applies a transition's job state inside the caller's transaction (the
   *   jobs repository's), so a run's final status and its job's counts commit together.
   */
  constructor(
    private readonly db: Database.Database,
    private readonly recordJobState: (jobId: string, state: JobRunState) => void,
    private readonly faultPoint?: StoreOptions['faultPoint'],
  ) {
    this.insertStmt =
      db.prepare(`INSERT INTO runs (id, job_id, scheduled_at, dispatched_at, started_at, finished_at, node, attempt, trigger, status, exit_code, output_tail, error, leader_term)
      VALUES (@id, @job_id, @scheduled_at, @dispatched_at, @started_at, @finished_at, @node, @attempt, @trigger, @status, @exit_code, @output_tail, @error, @leader_term)`);
    this.bumpStmt = db.prepare(
      'INSERT INTO run_counters (job_id, hour, status, n) VALUES (?, ?, ?, ?) ON CONFLICT (job_id, hour, status) DO UPDATE SET n = n + excluded.n',
    );
  }

  /** Counters follow runs into and out of terminal statuses, keyed by the slot's hour. */
  private count(jobId: string, scheduledAt: number, status: RunStatus, delta: number): void {
    if (terminal.has(status)) this.bumpStmt.run(jobId, hourOf(scheduledAt), status, delta);
  }

  private insertSync(input: RunInput, term?: number): Run {
    const run = runSchema.parse(term === undefined ? input : { ...input, leaderTerm: term });
    try {
      this.insertStmt.run(toRow(run));
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DuplicateRunError(run.id);
      throw err;
    }
    this.count(run.jobId, run.scheduledAt.getTime(), run.status, 1);
    return run;
  }

  insert(input: RunInput): Promise<Run> {
    return promised(() => this.db.transaction(() => this.insertSync(input)).immediate());
  }

  insertMany(inputs: RunInput[]): Promise<InsertManyResult> {
    return promised(() =>
      this.db
        .transaction(() => {
          const duplicates: string[] = [];
          for (const out of this.insertEachSync(inputs)) if (out instanceof DuplicateRunError) duplicates.push(out.runId);
          return { inserted: inputs.length - duplicates.length, duplicates };
        })
        .immediate(),
    );
  }

  insertEach(inputs: RunInput[]): Promise<Array<Run | DuplicateRunError>> {
    return promised(() => this.db.transaction(() => this.insertEachSync(inputs)).immediate());
  }

  /**
   * Inside the caller's transaction (insertEach, the store's writeRuns); `term` stamps each
   * (`RunWrites.term`); `refused` picks the jobs whose partition's fence refuses the writer
   * (`partitionRefusalsSync`): their inserts are answered FencedRunError.
   */
  insertEachSync(inputs: RunInput[], term?: number, refused?: ((jobId: string) => boolean) | null): Array<Run | DuplicateRunError> {
    return inputs.map((input) => {
      if (refused?.(input.jobId)) return new FencedRunError(input.id);
      try {
        return this.insertSync(input, term);
      } catch (err) {
        if (err instanceof DuplicateRunError) return err;
        throw err;
      }
    });
  }

  private getSync(id: string): Run | null {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row ? toRun(row) : null;
  }

  update(id: string, patch: RunPatch, jobState?: JobRunState): Promise<Run | null> {
    return promised(() =>
      this.db
        .transaction(() => {
          const out = this.patchSync(id, patch, '*');
          if (out === 'fenced') return null; // never without a term
          this.faultPoint?.('runs-written');
          if (out && jobState) this.recordJobState(out.row.job_id, countedOnce(jobState, out.before, out.row.status));
          return out ? toRun(out.row) : null;
        })
        .immediate(),
    );
  }

  updateEach(items: Array<{ id: string; patch: RunPatch }>): Promise<Array<Run | null>> {
    return promised(() => this.db.transaction(() => this.updateEachSync(items)).immediate());
  }

  /** Inside the caller's transaction (updateEach, the store's writeRuns). */
  updateEachSync(items: Array<{ id: string; patch: RunPatch }>): Array<Run | null> {
    return items.map((i) => this.updateSync(i.id, i.patch));
  }

  private updateSync(id: string, patch: RunPatch): Run | null {
    const out = this.patchSync(id, patch, '*');
    return out && out !== 'fenced' ? toRun(out.row) : null;
  }

  /**
   * For the store's writeRuns, whose caller only needs to know the run was there and the patch
   * applied: reading the whole row back and building it (~7 µs of an update's ~25) is left out.
   * A run a later term has is left alone and answered false (`RunWrites.term`), and counted in
   * `fenced`.
   */
  updateFoundEachSync(
    items: RunUpdate[],
    term?: number,
    refused?: ((jobId: string) => boolean) | null,
  ): { updated: boolean[]; fenced: number } {
    let fenced = 0;
    const updated = items.map((i) => {
      const out = this.patchSync(i.id, i.patch, 'id, job_id, scheduled_at, status, attempt, leader_term', term, refused);
      if (out === 'fenced') {
        fenced++;
        return false;
      }
      if (out && i.jobState) {
        // Inside the transaction: a writer killed here leaves neither write.
        this.faultPoint?.('runs-written');
        this.recordJobState(out.row.job_id, countedOnce(i.jobState, out.before, out.row.status));
      }
      return out !== null;
    });
    return { updated, fenced };
  }

  /**
   * The row after the patch (whole with '*', else just the columns read), and the status it had
   * before, by which its job's counts apply (countedOnce): a run's outcome counts once, so a second
   * final write (two leaders recording one RESULT, issue 16's chaos run: a job's runCount one over
   * its runs) moves the row and its hourly counters but not the job's run count.
   */
  private patchSync(
    id: string,
    patch: RunPatch,
    columns: '*' | 'id, job_id, scheduled_at, status, attempt, leader_term',
    term?: number,
    refused?: ((jobId: string) => boolean) | null,
  ): { row: RunRow; before: RunStatus } | 'fenced' | null {
    const row = this.db.prepare(`SELECT ${columns} FROM runs WHERE id = ?`).get(id) as RunRow | undefined;
    if (!row) return null;
    if (!termAdmits(term, row.leader_term) || refused?.(row.job_id)) return 'fenced';
    // Final is final (patchApplies): a stale leader's 'dispatched' once reopened a finished run,
    // which a later leader then finished and counted again (issue 16's chaos run).
    if (!patchApplies(row, patch)) return { row, before: row.status };
    const valid = patchSchema.parse(patch);
    const changes: Partial<Record<keyof RunRow, unknown>> = {};
    let given = 0;
    patchColumns.forEach(([field, column], i) => {
      // Judged on the patch itself: the parsed one has every absent field filled with its default.
      if (patch[field] === undefined) return;
      const value = valid[field];
      changes[column] = value instanceof Date ? value.getTime() : value;
      given |= 1 << i;
    });
    if (!given) return { row, before: row.status };
    if (term !== undefined && row.leader_term !== term) {
      changes.leader_term = term;
      given |= termBit;
    }
    // The old row plus the changes is what gets written, so it is what is returned: reading it
    // back (UPDATE ... RETURNING) measured slower than this.
    const next = { ...row, ...changes } as RunRow;
    this.db.prepare(updateSql(given)).run(next);
    if (next.status !== row.status) {
      this.count(row.job_id, row.scheduled_at, row.status, -1);
      this.count(row.job_id, row.scheduled_at, next.status, 1);
      const reopened = reopenedCounts(row.status, next.status);
      if (reopened) this.recordJobState(row.job_id, reopened);
    }
    return { row: next, before: row.status };
  }

  get(id: string): Promise<Run | null> {
    return promised(() => this.getSync(id));
  }

  list(query: RunQuery = {}): Promise<Page<Run>> {
    return promised(() => {
      const limit = pageLimit(query.limit);
      const where = new Where();
      if (query.jobId) where.and('job_id = @jobId', { jobId: query.jobId });
      if (query.status) {
        where.and('status = @status', { status: query.status });
        if (query.status !== 'succeeded') where.and(unsucceeded);
      }
      if (query.node) where.and('node = @node', { node: query.node });
      if (query.from) where.and('scheduled_at >= @from', { from: query.from.getTime() });
      if (query.to) where.and('scheduled_at < @to', { to: query.to.getTime() });
      where.after('scheduled_at', query.cursor);
      const rows = this.db
        .prepare(`SELECT * FROM runs ${where.sql} ORDER BY scheduled_at DESC, id DESC LIMIT @limit`)
        .all({ ...where.params, limit: limit + 1 }) as RunRow[];
      return pageOf(rows, limit, (last) => [last.scheduled_at, last.id], toRun);
    });
  }

  listActive(filter: { jobId?: string; node?: string } = {}): Promise<Run[]> {
    return promised(() => {
      const where = new Where(active, unsucceeded);
      // Open runs are few, so they are found through the status index; the unary + keeps SQLite
      // from walking every run of the job or node instead (it cannot know how few are open).
      if (filter.jobId) where.and('+job_id = @jobId', { jobId: filter.jobId });
      if (filter.node) where.and('+node = @node', { node: filter.node });
      return (this.db.prepare(`SELECT * FROM runs ${where.sql} ORDER BY scheduled_at`).all(where.params) as RunRow[]).map(toRun);
    });
  }

  backlog(status: ActiveStatus): Promise<RunBacklog> {
    return promised(() => {
      // Both read runs_unsucceeded_time, which carries only the unsucceeded rows: the count is
      // over the status's range of it, the oldest is that range's last entry (read backwards).
      const where = new Where(unsucceeded);
      where.and('status = @status', { status });
      const { n } = this.db.prepare(`SELECT COUNT(*) AS n FROM runs ${where.sql}`).get(where.params) as { n: number };
      const row = n
        ? (this.db.prepare(`SELECT * FROM runs ${where.sql} ORDER BY scheduled_at, id LIMIT 1`).get(where.params) as RunRow | undefined)
        : undefined;
      return { count: n, oldest: row ? toRun(row) : null };
    });
  }

  fence(term: number, runIds?: string[]): Promise<number> {
    return promised(() => {
      // Through the status index, as listActive; an id list is short (an orphan sweep's finds).
      const where = new Where(active, unsucceeded);
      // Only upwards (RunRepository.fence).
      where.and('(leader_term IS NULL OR leader_term < @term)', { term });
      if (runIds) {
        if (!runIds.length) return 0;
        where.and('id IN (SELECT value FROM json_each(@ids))', { ids: JSON.stringify(runIds) });
      }
      return this.db.prepare(`UPDATE runs SET leader_term = @term ${where.sql}`).run(where.params).changes;
    });
  }

  /**
   * Inside the caller's transaction (the store's writeRuns): which jobs' writes the batch's
   * partition tokens do not admit, read from `partition_fences` in that same transaction, so no
   * fence raised after this check can let an earlier owner's write in. Null: none refused.
   */
  partitionRefusalsSync(fence: PartitionFence | undefined): ((jobId: string) => boolean) | null {
    if (!fence?.tokens.length) return null;
    const rows = this.db
      .prepare('SELECT part, incarnation, epoch FROM partition_fences WHERE part IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(fence.tokens.map((t) => t.partition))) as FenceRow[];
    return partitionRefusals(fence, new Map(rows.map((r) => [r.part, r])));
  }

  fencePartitions(tokens: PartitionToken[]): Promise<number> {
    return promised(() =>
      this.db
        .transaction(() => {
          // Only upwards: a row value compares (incarnation, epoch) in that order.
          const raise = this.db.prepare(`INSERT INTO partition_fences (part, incarnation, epoch) VALUES (@part, @incarnation, @epoch)
            ON CONFLICT (part) DO UPDATE SET incarnation = excluded.incarnation, epoch = excluded.epoch
            WHERE (excluded.incarnation, excluded.epoch) > (partition_fences.incarnation, partition_fences.epoch)`);
          let raised = 0;
          for (const t of tokens) raised += raise.run({ part: t.partition, incarnation: t.incarnation, epoch: t.epoch }).changes;
          return raised;
        })
        .immediate(),
    );
  }

  partitionFences(partitions: number[]): Promise<PartitionToken[]> {
    return promised(() =>
      (
        this.db
          .prepare('SELECT part, incarnation, epoch FROM partition_fences WHERE part IN (SELECT value FROM json_each(?)) ORDER BY part')
          .all(JSON.stringify(partitions)) as FenceRow[]
      ).map((r) => ({ partition: r.part, incarnation: r.incarnation, epoch: r.epoch })),
    );
  }

  /** Retention: the runs, the counter hours wholly before the cutoff and the live outputs last written before it go together. */
  deleteOlderThan(cutoff: Date): Promise<number> {
    return promised(() => {
      return this.db.transaction(() => {
        this.db.prepare('DELETE FROM run_counters WHERE hour < ?').run(hourOf(cutoff.getTime()));
        this.db.prepare('DELETE FROM run_outputs WHERE updated_at < ?').run(cutoff.getTime());
        return this.db.prepare('DELETE FROM runs WHERE scheduled_at < ?').run(cutoff.getTime()).changes;
      })();
    });
  }
}
