import { randomUUID } from 'node:crypto';
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
import type { AnyBulkWriteOperation } from 'mongoose';
import type {
  InsertManyResult,
  Page,
  PartitionFence,
  PartitionToken,
  RunBacklog,
  RunQuery,
  RunRepository,
  RunUpdate,
  RunWriteResults,
  RunWrites,
} from '../interfaces.js';
import { hourOf, pageLimit } from '../cursor.js';
import { DuplicateRunError, FencedRunError } from '../errors.js';
import { partitionRefusals } from '../fence.js';
import type { Models } from './models.js';
import { bulkWriteInChunks } from './chunks.js';
import { jobStateUpdate } from './job-state.js';
import { countedOnce, patchApplies, reopenedCounts } from '../counted-once.js';
import { termAdmits } from '../fence.js';
import { duplicateIndexes, keyset, page, type Filter } from './queries.js';

/*
 * Counts that follow runs, without transactions.
 *
 * A run's move into or out of a terminal status changes two other documents: the hourly counter
 * of (job, hour, status), and (for a final status) the job's counts. MongoDB without a replica
 * set, and FerretDB, have no transaction across documents, so a writer that dies between those
 * writes would leave counts and runs disagreeing for ever. Instead each batch of run writes is a
 * *tally*, written ahead like a log record:
 *
 *   1. the tally (an id, and each run's share of the counter and job changes) is inserted into
 *      `run_tallies`;
 *   2. the runs are written, each carrying the tally's id in its `tally` field (one document
 *      each, so a run and its mark are atomic);
 *   3. the shares are added up per counter and per job, and each sum is applied idempotently: the
 *      counter or job document records the tally id in its `ops` array in the same update, and an
 *      update whose id is there already matches nothing (a counter's upsert then hits the unique
 *      key, which also means "applied");
 *   4. the tally is deleted, then its id pulled from the `ops` arrays.
 *
 * A writer that dies leaves its tally in `run_tallies`: `reconcile()` (at open, and by a new
 * leader) keeps the shares of the runs whose `tally` mark says step 2 reached them, and applies
 * those, which changes only what step 3 had not. One id per batch keeps `ops` arrays short
 * (FerretDB ignores `$slice`), and step 4 travels in the next batch's commands (or a short
 * timer's), so a busy writer sends two more commands a batch, not a write per run. Nothing is
 * written to a run twice: FerretDB 1.x on SQLite scans the whole collection for every update
 * (measured: ~4 ms an update at 1,000 runs, ~20-35 ms at 5,000), so clean-up writes to runs
 * would cost more than the runs themselves. This store's writes are serialised: a transition
 * reads the run before it writes it. Across processes nothing serialises them, which holds while
 * the leading dispatch-server is the one writer of runs (console-api and the monitor only read
 * them; console-api's job delete removes them).
 *
 * Step 4 deletes the tally before it pulls the id: the other order would let a writer killed in
 * between have its tally applied a second time. The cost is that such a death leaves the id in
 * the `ops` arrays for good, a few bytes that no update matches again.
 *
 * A tally can be old and still its writer's: a writer slowed past `reconcileAfterMs` (a stopped
 * process, a server answering in seconds) applies it and sends step 4 while a reconciler has it
 * in hand. Pulled between the reconciler's read and its apply, the ids would let that apply count
 * the batch a second time (the 10-minute MongoDB chaos run: counters one failure above the runs).
 * So `reconcile()` first *claims* a tally (`claimedAt`, in one findOneAndUpdate that only an
 * unclaimed tally, or one whose claim is itself `reconcileAfterMs` old, matches), and step 4
 * deletes only unclaimed tallies and pulls the ids of those it found gone: a claimed tally keeps
 * its ids in `ops`, and the reconciler's apply is a no-op.
 *
 * `reconcile()` never pulls the ids of the tallies it applies: their writer may be stopped, not
 * dead (SIGSTOP, a VM paused, a GC pause past `reconcileAfterMs`), and go on to step 3 when it
 * resumes, which the id still in `ops` makes a no-op. Pulled, the id would let that late step 3
 * count the batch a second time. Those ids stay for good too: one per counter and job a dead
 * writer's batch touched, and counters are hourly.
 */

/** One counted change: `delta` runs of `status` in the job's hour. */
interface CounterChange {
  jobId: string;
  hour: Date;
  status: RunStatus;
  delta: number;
}

/** One run's share of a tally. */
interface Share {
  runId: string;
  /** Its place in the batch: job states are applied in this order (the last status wins). */
  seq: number;
  counters: CounterChange[];
  job: { jobId: string; state: JobRunState } | null;
}

/** A batch's shares, applied under one id (`run_tallies` documents). */
interface Tally {
  _id: string;
  /** When the writer began it (ms): reconcile leaves a live writer's young tallies alone. */
  at: Date;
  shares: Share[];
  /** When a reconciler took it: from then on its writer's step 4 neither deletes it nor pulls its id. */
  claimedAt?: Date;
  /** Applied by reconcile(): step 4 deletes it and leaves its id in the `ops` arrays. Never stored. */
  reconciled?: true;
}

interface RunDoc {
  _id: string;
  jobId: string;
  scheduledAt: Date;
  status: RunStatus;
  tally?: string;
  [field: string]: unknown;
}

const terminal = new Set<RunStatus>(terminalStatuses);
const patchSchema = runSchema.omit({ id: true, jobId: true, scheduledAt: true, leaderTerm: true }).partial();
const patchFields = Object.keys(patchSchema.shape) as Array<keyof RunPatch>;

const runDoc = (r: Run): RunDoc => ({
  _id: r.id,
  jobId: r.jobId,
  scheduledAt: r.scheduledAt,
  dispatchedAt: r.dispatchedAt,
  startedAt: r.startedAt,
  finishedAt: r.finishedAt,
  node: r.node,
  attempt: r.attempt,
  trigger: r.trigger,
  status: r.status,
  exitCode: r.exitCode,
  outputTail: r.outputTail,
  error: r.error,
  leaderTerm: r.leaderTerm,
});
const toRun = (d: RunDoc): Run => runSchema.parse({ ...d, id: d._id });

/** The counter changes of a run moving from one status to another (none unless one is terminal). */
function countsOf(jobId: string, scheduledAt: Date, from: RunStatus | null, to: RunStatus): CounterChange[] {
  if (from === to) return [];
  const hour = new Date(hourOf(scheduledAt.getTime()));
  const out: CounterChange[] = [];
  if (from && terminal.has(from)) out.push({ jobId, hour, status: from, delta: -1 });
  if (terminal.has(to)) out.push({ jobId, hour, status: to, delta: 1 });
  return out;
}

export interface MongoRunsOptions {
  /**
   * How long an applied tally may wait for the next batch to carry its clean-up (step 4) before
   * a timer sends it alone (ms, default 200).
   */
  settleDelayMs?: number;
  /**
   * A tally younger than this (ms, default 30,000) is taken for a live writer's and left alone by
   * `reconcile()`; a dead writer's is at least a ZooKeeper session old when a new leader looks.
   */
  reconcileAfterMs?: number;
  /** Called between steps (`tallied`, `runs-written`, `counted`): fault injection for tests. */
  faultPoint?: (step: 'tallied' | 'runs-written' | 'counted') => void;
  /**
   * Awaited between an update's read of its runs and its write of them: for tests, a second
   * writer changing a run in between (another server recording the same RESULT).
   */
  beforeRunsWritten?: () => Promise<void>;
  /**
   * Awaited by `reconcile()` between claiming a dead writer's tally and applying it: for tests,
   * the tally's own writer sending its clean-up (step 4) in between.
   */
  beforeTallyApplied?: (tallyId: string) => Promise<void>;
}

/** The runs repository of the MongoDB store, with `writeRuns` and `reconcile` (see the top of this file). */
export class MongoRuns implements RunRepository {
  /** Tallies applied whose clean-up (step 4) has not been sent yet. */
  private applied: Tally[] = [];
  private settleTimer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly settleDelayMs: number;
  private readonly reconcileAfterMs: number;

  constructor(
    private readonly m: Models,
    private readonly opts: MongoRunsOptions = {},
  ) {
    this.settleDelayMs = opts.settleDelayMs ?? 200;
    this.reconcileAfterMs = opts.reconcileAfterMs ?? 30_000;
  }

  /** Runs `work` after every write before it: reads-then-writes of one run never interleave. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  insert(input: RunInput): Promise<Run> {
    return this.serial(async () => {
      const out = single(await this.insertNow([input]));
      if (out instanceof DuplicateRunError) throw out;
      return out;
    });
  }

  insertEach(inputs: RunInput[]): Promise<Array<Run | DuplicateRunError>> {
    return this.serial(() => this.insertNow(inputs));
  }

  async insertMany(inputs: RunInput[]): Promise<InsertManyResult> {
    const out = await this.insertEach(inputs);
    const duplicates = out.filter((o): o is DuplicateRunError => o instanceof DuplicateRunError).map((e) => e.runId);
    return { inserted: out.length - duplicates.length, duplicates };
  }

  update(id: string, patch: RunPatch, jobState?: JobRunState): Promise<Run | null> {
    return this.serial(async () => unfenced(single(await this.updateNow([{ id, patch, ...(jobState ? { jobState } : {}) }]))));
  }

  updateEach(items: Array<{ id: string; patch: RunPatch }>): Promise<Array<Run | null>> {
    return this.serial(async () => (await this.updateNow(items)).map(unfenced));
  }

  /**
   * Inserts, then updates, then job states, as one serialised batch; `w.term` fences the
   * updates. `w.partitions` fences the inserts and updates against the partition fences as read
   * at the start of the batch: with no transaction, a fence raised between that read and the
   * writes does not stop them (the new owner raises its fence before it reads the runs it
   * adopts, so such a write lands on a run it may have read already).
   */
  writeRuns(w: RunWrites, recordJobStates: (items: RunWrites['jobStates']) => Promise<void>): Promise<RunWriteResults> {
    return this.serial(async () => {
      const refused = await this.partitionRefusals(w.partitions);
      const admitted = refused ? w.inserts.filter((i) => !refused(i.jobId)) : w.inserts;
      const written = admitted.length ? await this.insertNow(admitted, w.term) : [];
      // The answers in input order: each refused one in its place, the written ones in theirs.
      const answered = written.values();
      const inserted = refused
        ? w.inserts.map((i) => (refused(i.jobId) ? new FencedRunError(i.id) : (answered.next().value ?? new FencedRunError(i.id))))
        : written;
      const answers = w.updates.length ? await this.updateNow(w.updates, w.term, refused) : [];
      if (w.jobStates.length) await recordJobStates(w.jobStates);
      return {
        inserted,
        updated: answers.map((r) => r !== null && r !== 'fenced'),
        fenced: answers.filter((r) => r === 'fenced').length + (w.inserts.length - admitted.length),
      };
    });
  }

  /** The jobs whose writes the batch's partition tokens do not admit (fence.ts), by one read of their fences. */
  private async partitionRefusals(fence: PartitionFence | undefined): Promise<((jobId: string) => boolean) | null> {
    if (!fence?.tokens.length) return null;
    const rows = (await this.m.partitionFences.collection
      .find({ _id: { $in: fence.tokens.map((t) => t.partition) } } as Filter)
      .toArray()) as unknown as Array<{ _id: number; incarnation: number; epoch: number }>;
    return partitionRefusals(fence, new Map(rows.map((r) => [r._id, r])));
  }

  fencePartitions(tokens: PartitionToken[]): Promise<number> {
    return this.serial(async () => {
      let raised = 0;
      for (const t of tokens) {
        // Only upwards: the upsert matches a fence below the token, or none; a fence at or above
        // it makes the upsert try to insert a second document of that _id, refused as a duplicate.
        const below: Filter = {
          _id: t.partition,
          $or: [{ incarnation: { $lt: t.incarnation } }, { incarnation: t.incarnation, epoch: { $lt: t.epoch } }],
        };
        try {
          const r = await this.m.partitionFences.collection.updateOne(
            below,
            { $set: { incarnation: t.incarnation, epoch: t.epoch } },
            { upsert: true },
          );
          raised += r.modifiedCount + r.upsertedCount;
        } catch (err) {
          if ((err as { code?: number }).code !== 11000) throw err;
        }
      }
      return raised;
    });
  }

  async partitionFences(partitions: number[]): Promise<PartitionToken[]> {
    const rows = (await this.m.partitionFences.collection
      .find({ _id: { $in: partitions } } as Filter)
      .sort({ _id: 1 })
      .toArray()) as unknown as Array<{ _id: number; incarnation: number; epoch: number }>;
    return rows.map((r) => ({ partition: r._id, incarnation: r.incarnation, epoch: r.epoch }));
  }

  fence(term: number, runIds?: string[]): Promise<number> {
    return this.serial(async () => {
      if (runIds && !runIds.length) return 0;
      // Only upwards (RunRepository.fence); `leaderTerm: null` matches a run without one too.
      const f: Filter = { status: { $in: [...activeStatuses] }, $or: [{ leaderTerm: null }, { leaderTerm: { $lt: term } }] };
      if (runIds) f._id = { $in: runIds };
      return (await this.m.runs.collection.updateMany(f, { $set: { leaderTerm: term } })).modifiedCount;
    });
  }

  /** New rows in one unordered insert (a duplicate costs only itself), their counts as a tally; `term` stamps each. */
  private async insertNow(inputs: RunInput[], term?: number): Promise<Array<Run | DuplicateRunError>> {
    const runs = inputs.map((i) => runSchema.parse(term === undefined ? i : { ...i, leaderTerm: term }));
    const tally: Tally = { _id: randomUUID(), at: new Date(), shares: [] };
    const docs = runs.map((run, seq) => {
      const doc = runDoc(run);
      const counters = countsOf(run.jobId, run.scheduledAt, null, run.status);
      if (counters.length) {
        doc.tally = tally._id;
        tally.shares.push({ runId: run.id, seq, counters, job: null });
      }
      return doc;
    });
    const begun = tally.shares.length > 0;
    if (begun) await this.begin(tally);
    const dup = new Set<number>();
    try {
      await this.m.runs.collection.insertMany(docs as never[], { ordered: false });
    } catch (err) {
      for (const i of duplicateIndexes(err)) dup.add(i);
    }
    this.opts.faultPoint?.('runs-written');
    // A duplicate was not written: its share is no count of this tally.
    const dupIds = new Set(runs.filter((_, i) => dup.has(i)).map((run) => run.id));
    tally.shares = tally.shares.filter((s) => !dupIds.has(s.runId));
    await this.count(begun ? [tally] : []);
    return runs.map((run, i) => (dup.has(i) ? new DuplicateRunError(run.id) : run));
  }

  /**
   * Every update in order (a run may appear twice), from one read of the runs they name. A patch
   * writes only the fields it gives. With a `term`, a run a later term has is left alone and
   * answered 'fenced', also when that term took it between the read and the write: each
   * replacement matches only a run whose term still admits this one (`termAdmits`), and the runs
   * whose replacement matched nothing are read again, their shares taken out of the tally.
   */
  private async updateNow(
    items: RunUpdate[],
    term?: number,
    refused?: ((jobId: string) => boolean) | null,
    round = 1,
  ): Promise<Array<Run | null | 'fenced'>> {
    const ids = [...new Set(items.map((i) => i.id))];
    const rows = (await this.m.runs.collection
      .find(ids.length === 1 ? { _id: ids[0] } : ({ _id: { $in: ids } } as Filter))
      .toArray()) as unknown as RunDoc[];
    const current = new Map<string, Run>();
    for (const row of rows) current.set(row._id, toRun(row));
    const tally: Tally = { _id: randomUUID(), at: new Date(), shares: [] };
    const fenced = new Set<string>();
    const out = items.map(({ id, patch, jobState }, seq): Run | null | 'fenced' => {
      const cur = current.get(id);
      if (!cur) return null;
      if (fenced.has(id) || !termAdmits(term, cur.leaderTerm) || refused?.(cur.jobId)) {
        fenced.add(id);
        return 'fenced';
      }
      const valid = patchSchema.parse(patch);
      // Final is final (patchApplies, as the embedded store).
      if (!patchApplies(cur, patch)) return cur;
      const changes: Partial<Run> = {};
      // Judged on the patch itself: the parsed one has every absent field filled with its default.
      for (const f of patchFields) if (patch[f] !== undefined) (changes as Record<string, unknown>)[f] = valid[f];
      const next: Run = { ...cur, ...changes, ...(term === undefined ? {} : { leaderTerm: term }) };
      const counters = countsOf(next.jobId, next.scheduledAt, cur.status, next.status);
      // A run's outcome counts for its job once: a second final write (two leaders recording
      // one RESULT) changes the row and its counters, not the job's counts (as the embedded store).
      // A retry that reopens a counted failure takes it off the job's counts (reopenedCounts).
      const reopened = reopenedCounts(cur.status, next.status);
      const job = jobState
        ? { jobId: next.jobId, state: countedOnce(jobState, cur.status, next.status) }
        : reopened
          ? { jobId: next.jobId, state: reopened }
          : null;
      if (counters.length || job) tally.shares.push({ runId: id, seq, counters, job });
      current.set(id, next);
      return next;
    });
    const marked = new Set(tally.shares.map((s) => s.runId));
    const ops: AnyBulkWriteOperation[] = [];
    const written: string[] = [];
    // `leaderTerm: null` matches a run without one too.
    const admits: Filter = term === undefined ? {} : { $or: [{ leaderTerm: null }, { leaderTerm: { $lte: term } }] };
    // Each replacement applies only to the row as read (its `write` mark, or none): another writer
    // that changed it in between (a second server recording the same RESULT after a leader change)
    // is not overwritten, and its change not counted a second time (the 10-min MongoDB chaos run:
    // three failed attempts each counted by two servers). The rows it changed are judged again.
    const write = randomUUID();
    const writeAsRead = new Map(rows.map((r) => [r._id, typeof r.write === 'string' ? r.write : null]));
    for (const id of ids) {
      const run = current.get(id);
      if (!run || fenced.has(id)) continue;
      const doc = runDoc(run);
      doc.write = write;
      if (marked.has(id)) doc.tally = tally._id;
      ops.push({ replaceOne: { filter: { _id: id, ...admits, write: writeAsRead.get(id) ?? null }, replacement: doc } });
      written.push(id);
    }
    const begun = tally.shares.length > 0;
    if (begun) await this.begin(tally);
    await this.opts.beforeRunsWritten?.();
    const { matched } = ops.length ? await bulkWriteInChunks(this.m.runs, ops, true) : { matched: 0 };
    const changed = new Set<string>();
    if (matched < written.length) {
      // Not written: a later term took the row (theirs stands: 'fenced'), or another writer of
      // this term or an earlier one changed it since the read (judged again below). Neither counts here.
      const now = (await this.m.runs.collection
        .find({ _id: { $in: written } } as Filter, { projection: { leaderTerm: 1, write: 1 } })
        .toArray()) as unknown as Array<{ _id: string; leaderTerm?: number | null; write?: string }>;
      const lost = new Set(now.filter((r) => r.write !== write).map((r) => r._id));
      tally.shares = tally.shares.filter((sh) => !lost.has(sh.runId));
      for (const r of now) {
        if (!lost.has(r._id)) continue;
        if (term !== undefined && (r.leaderTerm ?? -Infinity) > term) continue;
        changed.add(r._id);
      }
      for (const [i, item] of items.entries()) if (lost.has(item.id) && !changed.has(item.id) && out[i] !== null) out[i] = 'fenced';
    }
    this.opts.faultPoint?.('runs-written');
    // A tally stored in step 1 is counted and cleaned up even with every share lost to another
    // writer: left in run_tallies, it would wait there for a reconciler to find it.
    await this.count(begun ? [tally] : []);
    if (changed.size) {
      // A few rounds at most: each is lost only to a write that landed between its read and its write.
      const again = items.filter((i) => changed.has(i.id));
      const answers = round < 5 ? await this.updateNow(again, term, refused, round + 1) : again.map(() => 'fenced' as const);
      let k = 0;
      for (const [i, item] of items.entries()) if (changed.has(item.id)) out[i] = answers[k++] ?? null;
    }
    return out;
  }

  /** Step 1. */
  private async begin(tally: Tally): Promise<void> {
    await this.m.tallies.collection.insertOne(tally as never);
    this.opts.faultPoint?.('tallied');
  }

  /**
   * Step 3 for these tallies, with step 4 of the ones before folded into the same commands:
   * their tallies deleted first, then their ids pulled.
   */
  private async count(tallies: Tally[]): Promise<void> {
    const settling = this.applied;
    this.applied = [];
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    const counterOps: AnyBulkWriteOperation[] = [];
    const jobOps: AnyBulkWriteOperation[] = [];
    for (const t of await this.deleteSettled(settling)) {
      for (const c of sumCounters(t.shares))
        counterOps.push({ updateOne: { filter: { jobId: c.jobId, hour: c.hour, status: c.status }, update: { $pull: { ops: t._id } } } });
      for (const jobId of new Set(t.shares.flatMap((s) => (s.job ? [s.job.jobId] : []))))
        jobOps.push({ updateOne: { filter: { _id: jobId }, update: { $pull: { ops: t._id } } } });
    }
    for (const t of tallies) {
      for (const c of sumCounters(t.shares)) if (c.delta) counterOps.push(counterIncrement(t._id, c));
      for (const [jobId, state] of sumJobStates(t.shares)) {
        const update = jobStateUpdate(state);
        // A missing job (deleted since) matches nothing: its counts went with it.
        if (update)
          jobOps.push({ updateOne: { filter: { _id: jobId, ops: { $ne: t._id } }, update: { ...update, $push: { ops: t._id } } } });
      }
    }
    if (counterOps.length) await this.bulkCounters(counterOps);
    if (jobOps.length) await bulkWriteInChunks(this.m.jobs, jobOps, false);
    if (tallies.length) this.opts.faultPoint?.('counted');
    this.applied = tallies;
    if (tallies.length) {
      // A clean-up that fails here is not lost: its tallies stay in run_tallies, and reconcile()
      // deletes them (applying them again changes nothing: their ids are in the `ops` arrays).
      this.settleTimer = setTimeout(() => void this.serial(() => this.count([])).catch(() => undefined), this.settleDelayMs);
      this.settleTimer.unref();
    }
  }

  /**
   * Step 4's delete: a reconciler's own tallies whatever their claim, this writer's only while no
   * reconciler has claimed them. Answers this writer's tallies now gone, whose ids may be pulled.
   */
  private async deleteSettled(settling: Tally[]): Promise<Tally[]> {
    const reconciled = settling.filter((t) => t.reconciled).map((t) => t._id);
    const own = settling.filter((t) => !t.reconciled);
    if (reconciled.length) await this.m.tallies.collection.deleteMany({ _id: { $in: reconciled } } as Filter);
    if (!own.length) return [];
    const ids = own.map((t) => t._id);
    const { deletedCount } = await this.m.tallies.collection.deleteMany({ _id: { $in: ids }, claimedAt: { $exists: false } } as Filter);
    if (deletedCount === own.length) return own;
    // Some were claimed (or already reconciled and deleted): only those gone may lose their ids.
    const kept = new Set(
      (await this.m.tallies.collection.find({ _id: { $in: ids } } as Filter, { projection: { _id: 1 } }).toArray()).map((d) =>
        String(d._id),
      ),
    );
    return own.filter((t) => !kept.has(t._id));
  }

  /**
   * Counter changes, unordered. An upsert that hits the unique key means the tally id is in that
   * counter already (applied before), unless another writer created the counter at that moment:
   * each such op is tried once more without upsert, which tells the two apart.
   */
  private async bulkCounters(ops: AnyBulkWriteOperation[]): Promise<void> {
    try {
      await bulkWriteInChunks(this.m.counters, ops, false);
    } catch (err) {
      const again = duplicateIndexes(err).map((i) => {
        const op = ops[i] as { updateOne: { filter: Filter; update: Filter } };
        return { updateOne: { filter: op.updateOne.filter, update: op.updateOne.update } };
      });
      await bulkWriteInChunks(this.m.counters, again, false);
    }
  }

  /**
   * Applies what dead writers' tallies left undone: for each tally older than
   * `reconcileAfterMs` that it can claim, the shares of the runs its mark reached, then deletes
   * it, leaving its id in the `ops` arrays (see the top of this file: its writer may only be
   * stopped). Answers how many runs' shares it applied.
   */
  reconcile(now = new Date()): Promise<{ runs: number }> {
    return this.serial(async () => {
      if (this.applied.length) await this.count([]);
      // A tally this old is taken for a dead writer's; a claim this old, for a dead reconciler's.
      const cutoff = new Date(now.getTime() - this.reconcileAfterMs);
      const left = (await this.m.tallies.collection.find({ at: { $lt: cutoff } } as Filter).toArray()) as unknown as Tally[];
      let runs = 0;
      for (const found of left) {
        // Claimed first: from here its writer's step 4 leaves its ids in place (top of this file).
        const t = (await this.m.tallies.collection.findOneAndUpdate(
          { _id: found._id, $or: [{ claimedAt: { $exists: false } }, { claimedAt: { $lt: cutoff } }] } as Filter,
          { $set: { claimedAt: now } },
          { returnDocument: 'after' },
        )) as unknown as Tally | null;
        if (!t) continue;
        await this.opts.beforeTallyApplied?.(t._id);
        const ids = [...new Set(t.shares.map((s) => s.runId))];
        const marks = (await this.m.runs.collection
          .find({ _id: { $in: ids } } as Filter, { projection: { tally: 1 } })
          .toArray()) as unknown as Array<{ _id: string; tally?: string }>;
        const reached = new Set(marks.filter((r) => r.tally === t._id).map((r) => r._id));
        const shares = t.shares
          .filter((s) => reached.has(s.runId))
          .map((s) => ({ ...s, counters: s.counters.map((c) => ({ ...c, hour: new Date(c.hour) })) }));
        runs += reached.size;
        await this.count([{ _id: t._id, at: t.at, shares, reconciled: true }]);
      }
      if (this.applied.length) await this.count([]);
      return { runs };
    });
  }

  /** Sends the clean-up of applied tallies now (close). */
  flush(): Promise<void> {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    return this.serial(() => (this.applied.length ? this.count([]) : Promise.resolve()));
  }

  async get(id: string): Promise<Run | null> {
    const d = (await this.m.runs.collection.findOne({ _id: id } as Filter)) as unknown as RunDoc | null;
    return d ? toRun(d) : null;
  }

  async list(q: RunQuery = {}): Promise<Page<Run>> {
    const limit = pageLimit(q.limit);
    const f: Filter = { ...keyset('scheduledAt', q.cursor) };
    if (q.jobId) f.jobId = q.jobId;
    if (q.status) f.status = q.status;
    if (q.node) f.node = q.node;
    if (q.from || q.to) f.scheduledAt = { ...(q.from ? { $gte: q.from } : {}), ...(q.to ? { $lt: q.to } : {}) };
    const rows = (await this.m.runs
      .find(f)
      .sort({ scheduledAt: -1, _id: -1 })
      .limit(limit + 1)
      .lean()) as unknown as RunDoc[];
    return page(rows, limit, (r) => new Date(r.scheduledAt).getTime(), toRun);
  }

  async listActive(filter: { jobId?: string; node?: string } = {}): Promise<Run[]> {
    const f: Filter = { status: { $in: [...activeStatuses] } };
    if (filter.jobId) f.jobId = filter.jobId;
    if (filter.node) f.node = filter.node;
    return ((await this.m.runs.find(f).sort({ scheduledAt: 1 }).lean()) as unknown as RunDoc[]).map(toRun);
  }

  /** Both on the `{ status, scheduledAt, _id }` index: a count of the status's range, and its last entry. */
  async backlog(status: ActiveStatus): Promise<RunBacklog> {
    const [count, oldest] = await Promise.all([
      this.m.runs.collection.countDocuments({ status }),
      this.m.runs.collection.find({ status }).sort({ scheduledAt: 1, _id: 1 }).limit(1).next() as Promise<RunDoc | null>,
    ]);
    return { count, oldest: oldest ? toRun(oldest) : null };
  }

  /** Retention: the runs and the counter hours wholly before the cutoff go together. */
  async deleteOlderThan(cutoff: Date): Promise<number> {
    await this.m.counters.deleteMany({ hour: { $lt: new Date(hourOf(cutoff.getTime())) } });
    return (await this.m.runs.deleteMany({ scheduledAt: { $lt: cutoff } })).deletedCount;
  }
}

/** An unfenced update's answer ('fenced' needs a term, which only writeRuns gives). */
function unfenced(answer: Run | null | 'fenced'): Run | null {
  return answer === 'fenced' ? null : answer;
}

/** The answer for the one item of a one-item batch (insertNow and updateNow answer each item, in order). */
function single<T>(answers: T[]): T {
  const [answer] = answers;
  if (answers.length !== 1 || answer === undefined) throw new Error(`a one-item batch answered ${answers.length} items`);
  return answer;
}

/** Step 2 for one counter: `$inc` and the tally id, unless the id is there already. */
function counterIncrement(op: string, c: CounterChange): AnyBulkWriteOperation {
  return {
    updateOne: {
      filter: { jobId: c.jobId, hour: c.hour, status: c.status, ops: { $ne: op } },
      update: { $inc: { n: c.delta }, $push: { ops: op } },
      upsert: true,
    },
  };
}

/** A tally's counter changes added up per (job, hour, status). */
function sumCounters(shares: Share[]): CounterChange[] {
  const sums = new Map<string, CounterChange>();
  for (const s of shares) {
    for (const c of s.counters) {
      const hour = new Date(c.hour);
      const key = `${c.jobId}|${hour.getTime()}|${c.status}`;
      const sum = sums.get(key);
      if (sum) sum.delta += c.delta;
      else sums.set(key, { jobId: c.jobId, hour, status: c.status, delta: c.delta });
    }
  }
  return [...sums.values()];
}

/** A tally's job states per job, in batch order: counts added up, the last given value of each field kept. */
function sumJobStates(shares: Share[]): Map<string, JobRunState> {
  const out = new Map<string, JobRunState>();
  for (const s of [...shares].sort((a, b) => a.seq - b.seq)) {
    if (!s.job) continue;
    const acc = out.get(s.job.jobId) ?? {};
    const st = s.job.state;
    if (st.lastRunAt !== undefined) acc.lastRunAt = st.lastRunAt;
    if (st.lastStatus !== undefined) acc.lastStatus = st.lastStatus;
    if (st.nextRunAt !== undefined) acc.nextRunAt = st.nextRunAt;
    if (st.runCountDelta) acc.runCountDelta = (acc.runCountDelta ?? 0) + st.runCountDelta;
    if (st.failureCountDelta) acc.failureCountDelta = (acc.failureCountDelta ?? 0) + st.failureCountDelta;
    out.set(s.job.jobId, acc);
  }
  return out;
}
