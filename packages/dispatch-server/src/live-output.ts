import { settleWithin } from '@clover/lifecycle';
import { MAX_LIVE_OUTPUT_BYTES, truncateOutput, type LiveOutput } from '@clover/model';
import { DropLog, type Output } from '@clover/protocol';
import type { Store } from '@clover/store';
import type { Logger } from '@clover/telemetry';
import type { Clock } from './interfaces.js';

/** What the live output needs to know of an execution in flight on this leader. */
export interface FlightOfExec {
  runId: string;
  jobId: string;
  /** The agent it was sent to; an OUTPUT from another is not its. */
  agentId: string | null;
}

export interface LiveOutputsOptions {
  /** Where the tails go (`store.liveOutputs`), for the console-api to read. */
  store: Pick<Store, 'liveOutputs'>;
  /** The execution in flight on this leader under that exec id, if any (the tracker's flights). */
  flightOf: (execId: string) => FlightOfExec | undefined;
  logger: Logger;
  /** The time now, epoch ms. */
  clock: Clock;
  /** The least time between two writes of one run's output, in ms (default 500). */
  writeEveryMs?: number;
  /** How much of a run's output is kept and written, in bytes of UTF-8 (default MAX_LIVE_OUTPUT_BYTES, 64 KiB). */
  maxBytes?: number;
  /** The most runs whose output is held at once (default 1,000: 64 MiB at the most); OUTPUT for more is dropped. */
  maxRuns?: number;
}

interface Tail {
  flight: FlightOfExec;
  execId: string;
  text: string;
  /** Characters seen since the execution began (LiveOutput.end). */
  end: number;
  /** The last frame's seq: a repeat or an older frame is dropped. */
  seq: number;
  /** Whether text changed since the last write. */
  dirty: boolean;
  lastWriteAt: number;
  timer: NodeJS.Timeout | null;
  /** The write under way, or the read of what an earlier leader wrote. */
  busy: Promise<void> | null;
}

/** Tails whose execution is no longer in flight are let go this often, in ms. */
const forgetEveryMs = 5000;

/**
 * The leader's view of running executions' output (OUTPUT frames, docs/protocol.md): a tail of
 * at most `maxBytes` per run, written to the store at most every `writeEveryMs` per run, so the
 * console-api (another process in a cluster) serves it from there and it outlives a leader
 * change: the first OUTPUT a new leader gets for a run it took over continues what the store
 * holds for that execution. An OUTPUT for an execution not in flight here, from an agent it was
 * not sent to, or past `maxRuns` is dropped and logged through a DropLog (rate-limited).
 * A write that fails is logged and retried with the next chunk; the output is a view, not a
 * record, so nothing waits on it.
 */
export class LiveOutputs {
  private readonly tails = new Map<string, Tail>();
  private readonly drops: DropLog;
  private readonly writeEveryMs: number;
  private readonly maxBytes: number;
  private readonly maxRuns: number;
  private forgetTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly opts: LiveOutputsOptions) {
    this.drops = new DropLog({ logger: opts.logger, message: 'dropped an OUTPUT frame' });
    this.writeEveryMs = opts.writeEveryMs ?? 500;
    this.maxBytes = opts.maxBytes ?? MAX_LIVE_OUTPUT_BYTES;
    this.maxRuns = opts.maxRuns ?? 1000;
  }

  /** Runs whose output is held now. */
  get size(): number {
    return this.tails.size;
  }

  /** An OUTPUT frame from `peer`. */
  onOutput(peer: string, o: Output): void {
    if (this.closed) return;
    const flight = this.opts.flightOf(o.execId);
    const why = !flight
      ? 'no execution in flight here has that id'
      : flight.agentId !== peer
        ? 'the execution was sent to another agent'
        : !this.tails.has(o.execId) && this.tails.size >= this.maxRuns
          ? `the output of ${this.maxRuns} runs is held already`
          : null;
    if (why !== null || !flight) {
      this.drops.drop(new Error(why ?? 'unknown execution'), { peer, execId: o.execId });
      return;
    }
    const tail = this.tails.get(o.execId) ?? this.open(o.execId, flight);
    if (o.seq <= tail.seq) return;
    tail.seq = o.seq;
    tail.text += o.chunk;
    tail.end += o.chunk.length;
    // Cut in batches: re-cutting 64 KiB on every chunk would cost more than the chunks.
    if (tail.text.length > 2 * this.maxBytes) tail.text = truncateOutput(tail.text, this.maxBytes);
    tail.dirty = true;
    this.schedule(tail);
  }

  /** Writes what is not written yet (bounded by `timeoutMs`) and stops. Safe twice. */
  async close(timeoutMs = 2000): Promise<void> {
    this.closed = true;
    if (this.forgetTimer) clearInterval(this.forgetTimer);
    this.forgetTimer = null;
    const writes: Array<Promise<void>> = [];
    for (const tail of this.tails.values()) {
      if (tail.timer) clearTimeout(tail.timer);
      tail.timer = null;
      writes.push((tail.busy ?? Promise.resolve()).then(() => (tail.dirty ? this.write(tail) : undefined)));
    }
    this.tails.clear();
    this.drops.flush();
    await settleWithin(Promise.allSettled(writes), timeoutMs);
  }

  private open(execId: string, flight: FlightOfExec): Tail {
    const tail: Tail = { flight, execId, text: '', end: 0, seq: 0, dirty: false, lastWriteAt: 0, timer: null, busy: null };
    this.tails.set(execId, tail);
    // An earlier leader may have written this execution's output: continue it, not replace it.
    tail.busy = this.opts.store.liveOutputs
      .get(flight.runId)
      .then(
        (stored) => {
          if (stored?.execId !== execId) return;
          tail.text = stored.text + tail.text;
          tail.end += stored.end;
        },
        (err: unknown) => this.opts.logger.warn('could not read the live output an earlier leader wrote', { runId: flight.runId, err }),
      )
      .finally(() => {
        tail.busy = null;
        this.schedule(tail);
      });
    this.forgetTimer ??= setInterval(() => this.forgetEnded(), forgetEveryMs).unref();
    return tail;
  }

  /** Arms the tail's next write: at once if the last was `writeEveryMs` ago, else when it will be. */
  private schedule(tail: Tail): void {
    if (!tail.dirty || tail.timer || tail.busy || this.closed) return;
    const waitMs = Math.max(0, tail.lastWriteAt + this.writeEveryMs - this.opts.clock());
    tail.timer = setTimeout(() => {
      tail.timer = null;
      tail.busy = this.write(tail).finally(() => {
        tail.busy = null;
        this.schedule(tail);
      });
    }, waitMs);
  }

  private async write(tail: Tail): Promise<void> {
    tail.dirty = false;
    tail.lastWriteAt = this.opts.clock();
    tail.text = truncateOutput(tail.text, this.maxBytes);
    const record: LiveOutput = {
      runId: tail.flight.runId,
      jobId: tail.flight.jobId,
      execId: tail.execId,
      text: tail.text,
      end: tail.end,
      updatedAt: new Date(tail.lastWriteAt),
    };
    try {
      await this.opts.store.liveOutputs.put(record);
    } catch (err) {
      this.opts.logger.warn('could not write live output', { runId: record.runId, err });
    }
  }

  /** Lets go of the tails of executions no longer in flight here, once nothing of them is left to write. */
  private forgetEnded(): void {
    for (const [execId, tail] of this.tails) {
      if (!this.opts.flightOf(execId) && !tail.timer && !tail.busy && !tail.dirty) this.tails.delete(execId);
    }
    if (this.tails.size === 0 && this.forgetTimer) {
      clearInterval(this.forgetTimer);
      this.forgetTimer = null;
    }
  }
}
