import { wallCheckMs } from './timer.js';

interface Waiting {
  timer: NodeJS.Timeout;
  release: Array<() => void>;
}

/**
 * Holds fires claimed ahead of their slot until the slot comes. One timer per distinct slot
 * time, however many jobs share it: a second's 167 claimed runs are let go in one turn.
 */
export class SlotGate {
  private readonly waiting = new Map<number, Waiting>();

  constructor(private readonly clock: () => number = Date.now) {}

  get size(): number {
    return this.waiting.size;
  }

  /** Resolves at `atMs` on the clock, at once if that has passed. */
  until(atMs: number): Promise<void> {
    if (atMs <= this.clock()) return Promise.resolve();
    return new Promise((resolve) => {
      let w = this.waiting.get(atMs);
      if (!w) {
        w = { timer: this.arm(atMs), release: [] };
        this.waiting.set(atMs, w);
      }
      w.release.push(resolve);
    });
  }

  /** Lets every waiter go now (leadership lost, shutting down): each looks at why itself. */
  openAll(): void {
    for (const at of [...this.waiting.keys()]) this.open(at);
  }

  private arm(atMs: number): NodeJS.Timeout {
    return setTimeout(
      () => {
        // Timers run on the monotonic clock, slots on the wall clock: never let a run go early.
        const w = this.waiting.get(atMs);
        if (w && atMs > this.clock()) w.timer = this.arm(atMs);
        else this.open(atMs);
      },
      // Looked at again at least every wallCheckMs: a wall clock stepped forward lets it go then.
      Math.min(Math.max(0, atMs - this.clock()), wallCheckMs),
    );
  }

  private open(atMs: number): void {
    const w = this.waiting.get(atMs);
    if (!w) return;
    this.waiting.delete(atMs);
    clearTimeout(w.timer);
    for (const release of w.release) release();
  }
}
