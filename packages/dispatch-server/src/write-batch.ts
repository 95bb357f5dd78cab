import type { JobRunState, Run, RunInput, RunPatch } from '@clover/model';
import type { PartitionToken, RunUpdate, Store } from '@clover/store';
import type { DispatchMetrics } from './metrics.js';
import { jobIdOfRun } from './shares.js';

/**
 * Where the servers share the jobs out: the cluster's partition count and the token (zk-kit
 * PartitionGrant) this server holds now for a job's partition, undefined when it holds none.
 */
export interface PartitionTokens {
  count: number;
  tokenOf(jobId: string): PartitionToken | undefined;
}

interface Pending<I, O> {
  input: I;
  resolve(out: O): void;
  reject(err: unknown): void;
}

/** What each pending list holds, and what its callers are answered. */
interface Lists {
  inserts: { input: RunInput; output: Run };
  updates: { input: RunUpdate; output: boolean };
  states: { input: { id: string; state: JobRunState }; output: undefined };
}
type PendingInput<K extends keyof Lists> = Lists[K]['input'];
type PendingOutput<K extends keyof Lists> = Lists[K]['output'];

/** Job run states written per transaction at most (5,000: ~120 ms on the embedded store). */
const maxStatesPerFlush = 5000;

/**
 * Collects the store writes of one turn of the event loop (new run rows, run transitions, job
 * run states) and sends them to the store as one call, one transaction on SQLite. A busy
 * second fires its slots in one timer tick and their results come back close together: a
 * commit per turn instead of one per write took a leader on two cores from ~2,300 to ~5,400
 * recorded executions/s (bench/dispatch-throughput.bench.ts, 11-24 VM). Each caller still
 * gets its own answer, in order.
 */
export class StoreWriteBatch {
  private inserts: Array<Pending<RunInput, Run>> = [];
  private updates: Array<Pending<RunUpdate, boolean>> = [];
  private states: Array<Pending<{ id: string; state: JobRunState }, undefined>> = [];
  private scheduled = false;
  /** The leader term the pending writes were queued in: one batch, one term. */
  private pendingTerm: number | undefined;
  /** The partition tokens the pending writes were queued under, one per partition. */
  private pendingTokens = new Map<number, PartitionToken>();

  /**
   * @param metrics told of each batch: its size and time, and the runs and final statuses it recorded.
   * @param term the writer's leader term when a write is queued (`RunWrites.term`, the store's
   *   fence); undefined (the default) writes unfenced. A write belongs to the term it was queued in.
   * @param partitions where the servers share the jobs out: each run write carries the token of
   *   its job's partition as held when it was queued (`RunWrites.partitions`), so the store refuses
   *   it once a later owner has raised that partition's fence. Default: none.
   */
  constructor(
    private readonly store: Pick<Store, 'writeRuns'>,
    private readonly metrics?: Pick<DispatchMetrics, 'written' | 'writeFailed'>,
    private readonly term: () => number | undefined = () => undefined,
    private readonly partitions?: PartitionTokens,
  ) {}

  /** Rejects with DuplicateRunError when the slot exists. */
  insertRun(input: RunInput): Promise<Run> {
    return this.queue('inserts', input);
  }

  /**
   * Resolves false when the run is not in the store. `jobState` (a final status's counts) is
   * written with the run, both or neither (see `RunUpdate.jobState` in @clover/store).
   */
  updateRun(id: string, patch: RunPatch, jobState?: JobRunState): Promise<boolean> {
    return this.queue('updates', jobState ? { id, patch, jobState } : { id, patch });
  }

  async recordRunState(id: string, state: JobRunState): Promise<void> {
    await this.queue('states', { id, state });
  }

  private queue<K extends 'inserts' | 'updates' | 'states'>(kind: K, input: PendingInput<K>): Promise<PendingOutput<K>> {
    const term = this.term();
    const token = this.tokenOf(kind, input);
    const held = token && this.pendingTokens.get(token.partition);
    const pending = this.inserts.length + this.updates.length + this.states.length > 0;
    // Writes of an earlier term (or partition token) go first, in a batch of their own (flush takes them at once).
    if (pending && (term !== this.pendingTerm || (held && (held.epoch !== token.epoch || held.incarnation !== token.incarnation))))
      void this.flush();
    this.pendingTerm = term;
    if (token) this.pendingTokens.set(token.partition, token);
    return new Promise((resolve, reject) => {
      // The list read after any flush above: it took the arrays it found.
      (this[kind] as Array<Pending<PendingInput<K>, PendingOutput<K>>>).push({ input, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** The token a run write goes under (none for a job state, or where the jobs are not shared out). */
  private tokenOf<K extends keyof Lists>(kind: K, input: PendingInput<K>): PartitionToken | undefined {
    if (!this.partitions || kind === 'states') return undefined;
    const jobId = kind === 'inserts' ? (input as RunInput).jobId : jobIdOfRun((input as RunUpdate).id);
    return this.partitions.tokenOf(jobId);
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    // A turn's flush that a term change ran early left nothing for the one scheduled.
    if (!this.inserts.length && !this.updates.length && !this.states.length) return;
    const term = this.pendingTerm;
    const tokens = [...this.pendingTokens.values()];
    this.pendingTokens = new Map();
    const [inserts, updates] = [this.inserts, this.updates];
    this.inserts = [];
    this.updates = [];
    // A new leader arming 100,000 jobs queues 100,000 next run times in one turn: one
    // transaction of them held the event loop 1.5 s. The rest go in the following turns, in order.
    const states = this.states.splice(0, maxStatesPerFlush);
    if (this.states.length) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
    // Rows before their transitions: a run inserted and updated in one turn needs that order.
    const startedAt = performance.now();
    const writes = inserts.length + updates.length + states.length;
    try {
      const out = await this.store.writeRuns({
        inserts: inserts.map((p) => p.input),
        updates: updates.map((p) => p.input),
        jobStates: states.map((p) => p.input),
        ...(term === undefined ? {} : { term }),
        ...(this.partitions && tokens.length ? { partitions: { count: this.partitions.count, tokens } } : {}),
      });
      // One answer per write, in order (Store.writeRuns); a store that answered fewer fails the rest.
      for (const [i, p] of inserts.entries()) {
        const r = out.inserted[i];
        if (r === undefined) p.reject(missingAnswer('insert', i));
        else if (r instanceof Error) p.reject(r);
        else p.resolve(r);
      }
      for (const [i, p] of updates.entries()) {
        const r = out.updated[i];
        if (r === undefined) p.reject(missingAnswer('update', i));
        else p.resolve(r);
      }
      for (const p of states) p.resolve(undefined);
      this.metrics?.written(
        writes,
        (performance.now() - startedAt) / 1000,
        inserts.map((p, i) => ({ input: p.input, ok: !(out.inserted[i] instanceof Error) && out.inserted[i] !== undefined })),
        updates.map((p, i) => ({ patch: p.input.patch, ok: out.updated[i] === true })),
        out.fenced,
      );
    } catch (err) {
      this.metrics?.writeFailed(writes, (performance.now() - startedAt) / 1000);
      for (const p of [...inserts, ...updates, ...states]) p.reject(err);
    }
  }
}

function missingAnswer(what: string, i: number): Error {
  return new Error(`the store's writeRuns gave no answer for ${what} #${i}`);
}
