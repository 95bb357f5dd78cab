import type { Result } from '@clover/protocol';
import type { ExecAbort } from './abort.js';

export type ExecState =
  { phase: 'running'; abort: ExecAbort; cancelReason?: string } | { phase: 'finished'; result: Result; finishedAt: number };
type Running = Extract<ExecState, { phase: 'running' }>;
type Finished = Extract<ExecState, { phase: 'finished' }>;

/**
 * Executions this agent has seen, so a re-delivered EXEC (a lost ACK, a new leader) is
 * recognised by its id and never runs twice. Running ones are all kept. Finished ones are kept
 * while younger than `keepMs`, and the newest `keep` of them whatever their age, oldest
 * forgotten first, never more than `max`. A new leader sends an adopted run that its agent
 * neither runs nor reports if it was dispatched under a minute ago (dispatch-server's
 * redeliverWithinMs): the agent must still know every id it finished in that time, however
 * many it runs a second. Every call is O(1) amortised whatever the backlog: the finished ones
 * are forgotten from a queue in the order they finished, not by iterating the map from its
 * oldest key, which V8 makes walk every entry deleted before it (~50 µs a call at 100,000).
 */
export class RecentExecutions {
  private readonly active = new Map<string, Running>();
  private readonly done = new Map<string, Finished>();
  /** The finished ones in the order they finished; an id finished again is met twice, the first time stale. */
  private order: Array<[string, Finished]> = [];
  private head = 0;

  constructor(
    private readonly keep = 10_000,
    private readonly keepMs = 120_000,
    private readonly max = 500_000,
    private readonly clock: () => number = Date.now,
  ) {}

  get(execId: string): ExecState | undefined {
    return this.active.get(execId) ?? this.done.get(execId);
  }

  set(execId: string, state: ExecState): void {
    if (state.phase === 'running') {
      this.done.delete(execId);
      this.active.set(execId, state);
      return;
    }
    this.active.delete(execId);
    this.done.set(execId, state);
    this.order.push([execId, state]);
    const old = this.clock() - this.keepMs;
    for (let front = this.order[this.head]; front; front = this.order[this.head]) {
      const [id, d] = front;
      const current = this.done.get(id) === d;
      if (current && (this.done.size <= this.keep || (this.done.size <= this.max && d.finishedAt >= old))) break;
      if (current) this.done.delete(id);
      this.head++;
    }
    // Drop the forgotten front now and then, in one copy, rather than shift() at every call.
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }

  get runningCount(): number {
    return this.active.size;
  }

  running(): Array<[string, Running]> {
    return [...this.active];
  }

  finishedSince(ms: number): Result[] {
    const out: Result[] = [];
    for (const s of this.done.values()) if (s.finishedAt >= ms) out.push(s.result);
    return out;
  }
}
