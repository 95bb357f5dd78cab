import type { Result } from '@clover/protocol';

export type ExecState = { phase: 'running'; controller: AbortController; cancelReason?: string } | { phase: 'finished'; result: Result; finishedAt: number };
type Running = Extract<ExecState, { phase: 'running' }>;
type Finished = Extract<ExecState, { phase: 'finished' }>;

/**
 * Executions this agent has seen, so a re-delivered EXEC (a lost ACK, a new leader) is
 * recognised by its id and never runs twice. Running ones are all kept; finished ones are kept
 * up to `max`, oldest forgotten first. Two maps, so every call is O(1) whatever the backlog.
 */
export class RecentExecutions {
  private readonly active = new Map<string, Running>();
  private readonly done = new Map<string, Finished>();

  constructor(private readonly max = 10_000) {}

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
    while (this.done.size > this.max) this.done.delete(this.done.keys().next().value as string);
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
