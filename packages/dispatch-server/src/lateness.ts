/** Percentiles of how late scheduled EXECs left, in whole milliseconds. */
export interface LatenessFigures {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

const buckets = 2000;

/**
 * How late scheduled executions leave this server: from the slot to the moment the EXEC was
 * handed to the socket. A histogram of 1 ms buckets (the last one holds everything from 2 s),
 * kept for the last full minute and since start, so the heartbeat can carry the figures at
 * O(buckets) cost whatever the fire rate. Operators see them on the console's Nodes page.
 */
export class LatenessMeter {
  private sinceStart = new Uint32Array(buckets);
  private current = new Uint32Array(buckets);
  private previous = new Uint32Array(buckets);
  private max = { sinceStart: 0, current: 0, previous: 0 };
  private windowStart: number;

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly windowMs = 60_000,
  ) {
    this.windowStart = clock();
  }

  record(lateMs: number): void {
    this.rotate();
    const ms = Math.max(0, Math.round(lateMs));
    const b = Math.min(buckets - 1, ms);
    this.sinceStart[b] = (this.sinceStart[b] ?? 0) + 1;
    this.current[b] = (this.current[b] ?? 0) + 1;
    this.max.sinceStart = Math.max(this.max.sinceStart, ms);
    this.max.current = Math.max(this.max.current, ms);
  }

  /** The last full minute (or the one running, before the first is over) and everything since start. */
  snapshot(): { lastMinute: LatenessFigures; sinceStart: LatenessFigures } {
    this.rotate();
    const minute = this.previous.some((n) => n > 0)
      ? { h: this.previous, max: this.max.previous }
      : { h: this.current, max: this.max.current };
    return { lastMinute: figures(minute.h, minute.max), sinceStart: figures(this.sinceStart, this.max.sinceStart) };
  }

  private rotate(): void {
    const now = this.clock();
    if (now - this.windowStart < this.windowMs) return;
    const skipped = now - this.windowStart >= 2 * this.windowMs;
    this.previous = skipped ? new Uint32Array(buckets) : this.current;
    this.max.previous = skipped ? 0 : this.max.current;
    this.current = new Uint32Array(buckets);
    this.max.current = 0;
    this.windowStart = now - ((now - this.windowStart) % this.windowMs);
  }
}

function figures(h: Uint32Array, max: number): LatenessFigures {
  let count = 0;
  for (const n of h) count += n;
  if (!count) return { count: 0, p50: null, p99: null, max: null };
  const at = (q: number) => {
    const rank = Math.ceil(q * count);
    let seen = 0;
    for (const [i, n] of h.entries()) {
      seen += n;
      if (seen >= rank) return i;
    }
    return h.length - 1;
  };
  return { count, p50: at(0.5), p99: at(0.99), max };
}
