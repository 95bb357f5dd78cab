import type { JobRunState, Run, RunInput, RunPatch } from '@clover/model';
import type { RunUpdate, Store } from '@clover/store';
import type { DispatchMetrics } from './metrics.js';

interface Pending<I, O> {
  input: I;
  resolve(out: O): void;
  reject(err: unknown): void;
}

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
  private states: Array<Pending<{ id: string; state: JobRunState }, void>> = [];
  private scheduled = false;

  /** @param metrics told of each batch: its size and time, and the runs and final statuses it recorded. */
  constructor(
    private readonly store: Pick<Store, 'writeRuns'>,
    private readonly metrics?: Pick<DispatchMetrics, 'written' | 'writeFailed'>,
  ) {}

  /** Rejects with DuplicateRunError when the slot exists. */
  insertRun(input: RunInput): Promise<Run> {
    return this.queue(this.inserts, input);
  }

  /**
   * Resolves false when the run is not in the store. `jobState` (a final status's counts) is
   * written with the run, both or neither (see `RunUpdate.jobState` in @clover/store).
   */
  updateRun(id: string, patch: RunPatch, jobState?: JobRunState): Promise<boolean> {
    return this.queue(this.updates, jobState ? { id, patch, jobState } : { id, patch });
  }

  recordRunState(id: string, state: JobRunState): Promise<void> {
    return this.queue(this.states, { id, state });
  }

  private queue<I, O>(list: Array<Pending<I, O>>, input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      list.push({ input, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
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
      for (const p of states) p.resolve();
      this.metrics?.written(
        writes,
        (performance.now() - startedAt) / 1000,
        inserts.map((p, i) => ({ input: p.input, ok: !(out.inserted[i] instanceof Error) && out.inserted[i] !== undefined })),
        updates.map((p, i) => ({ patch: p.input.patch, ok: out.updated[i] === true })),
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
