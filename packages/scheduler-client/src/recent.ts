import type { Result } from '@clover/protocol';

export type ExecState = { phase: 'running'; controller: AbortController; cancelReason?: string } | { phase: 'finished'; result: Result; finishedAt: number };
type Running = Extract<ExecState, { phase: 'running' }>;
type Finished = Extract<ExecState, { phase: 'finished' }>;

/**
 * Executions this agent has seen, so a re-delivered EXEC (a lost ACK, a new leader) is
 * recognised by its id and never runs twice. Running ones are all kept. Finished ones are kept
 * while younger than `keepMs`, and the newest `keep` of them whatever their age, oldest
 * forgotten first, never more than `max`. A new leader sends an adopted run that its agent
 * neither runs nor reports if it was dispatched under a minute ago (dispatch-server's
 * redeliverWithinMs): the agent must still know every id it finished in that time, however
 * many it runs a second. Two maps, so every call is O(1) amortised whatever the backlog.
 */
export class RecentExecutions {
  private readonly active = new Map<string, Running>();
  private readonly done = new Map<string, Finished>();

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
    this.done.delete(execId);
    this.done.set(execId, state);
    const old = this.clock() - this.keepMs;
    for (const [id, d] of this.done) {
      if (this.done.size <= this.keep || (this.done.size <= this.max && d.finishedAt >= old)) break;
      this.done.delete(id);
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
