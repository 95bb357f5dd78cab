import { MinHeap } from './heap.js';

/** A key's due time in the heap. */
interface HeapEntry {
  at: number;
  key: string;
}

/**
 * The longest the fire timer sleeps without reading the wall clock, in ms: how late a slot may
 * be seen after the wall clock steps forward. One wake-up a second, whatever the jobs.
 */
export const wallCheckMs = 1000;

/**
 * One timer for every armed job: a min-heap of due times driven by a single setTimeout aligned
 * to the earliest. node-cron keeps a timer (and a once-a-second check) per task; with 10,000
 * jobs that is 10,000 wake-ups a second, while this wakes once per due slot.
 *
 * With a lead, a key is handed out `leadMs` before its time (with the time itself), for work
 * that must be done by then.
 */
export class FireTimer {
  private readonly heap = new MinHeap<HeapEntry>((a, b) => a.at < b.at);
  private readonly armed = new Map<string, number>();
  private timeout: NodeJS.Timeout | null = null;
  private timeoutAt = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly onDue: (key: string, at: number) => void,
    private readonly now: () => number = Date.now,
    private readonly leadMs = 0,
  ) {}

  /** Arms (or re-arms) `key` at `at`; one pending time per key. */
  arm(key: string, at: number): void {
    this.armed.set(key, at);
    this.heap.push({ at, key });
    this.schedule();
  }

  disarm(key: string): void {
    this.armed.delete(key);
  }

  armedAt(key: string): number | undefined {
    return this.armed.get(key);
  }

  get size(): number {
    return this.armed.size;
  }

  clear(): void {
    this.armed.clear();
    this.heap.clear();
    if (this.timeout) clearTimeout(this.timeout);
    this.timeout = null;
    this.timeoutAt = Number.POSITIVE_INFINITY;
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }

  private schedule(): void {
    if (this.stopped) return;
    const top = this.heap.peek();
    if (!top) return;
    if (this.timeout && top.at >= this.timeoutAt) return;
    if (this.timeout) clearTimeout(this.timeout);
    this.timeoutAt = top.at;
    // setTimeout counts on the monotonic clock, slots are on the wall clock: a step forward of
    // the wall clock (NTP, an operator, a resumed VM) would leave every slot due meanwhile
    // waiting out the old delay, a daily job firing an hour late after a one-hour step. Looking
    // at the wall clock at least every wallCheckMs sees such a step within that time.
    const delay = Math.min(Math.max(0, top.at - this.leadMs - this.now()), wallCheckMs);
    this.timeout = setTimeout(() => this.tick(), delay);
  }

  private tick(): void {
    this.timeout = null;
    this.timeoutAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    for (;;) {
      const top = this.heap.peek();
      if (!top || top.at - this.leadMs > now) break;
      this.heap.pop();
      // Stale entries (re-armed or disarmed since) are skipped here rather than searched out.
      if (this.armed.get(top.key) !== top.at) continue;
      this.armed.delete(top.key);
      this.onDue(top.key, top.at);
    }
    this.schedule();
  }
}
