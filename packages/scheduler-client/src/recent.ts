import type { Result } from '@clover/protocol';

export type ExecState = { phase: 'running'; controller: AbortController; cancelReason?: string } | { phase: 'finished'; result: Result; finishedAt: number };

/**
 * Executions this agent has seen, bounded: a re-delivered EXEC (a lost ACK, a new leader) is
 * recognised by its id and never runs twice.
 */
export class RecentExecutions {
  private readonly map = new Map<string, ExecState>();

  constructor(private readonly max = 10_000) {}

  get(execId: string): ExecState | undefined {
    return this.map.get(execId);
  }

  set(execId: string, state: ExecState): void {
    this.map.delete(execId);
    this.map.set(execId, state);
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next().value as string;
      if (this.map.get(oldest)?.phase === 'running') {
        // Never forget a running execution; move it to the young end.
        const s = this.map.get(oldest)!;
        this.map.delete(oldest);
        this.map.set(oldest, s);
        if ([...this.map.values()].every((v) => v.phase === 'running')) break;
        continue;
      }
      this.map.delete(oldest);
    }
  }

  running(): Array<[string, Extract<ExecState, { phase: 'running' }>]> {
    return [...this.map].filter((e): e is [string, Extract<ExecState, { phase: 'running' }>] => e[1].phase === 'running');
  }

  finishedSince(ms: number): Result[] {
    const out: Result[] = [];
    for (const s of this.map.values()) if (s.phase === 'finished' && s.finishedAt >= ms) out.push(s.result);
    return out;
  }
}
