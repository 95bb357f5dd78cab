/** Lets the event loop run what waits (ZooKeeper pings, agents' frames, timers) before going on. */
export const nextTurn = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

/**
 * Cuts a long piece of work on the event loop into slices of at most about `sliceMs` of this
 * thread's time each: call `yieldIfSpent()` between small steps; it resolves at once while the
 * slice lasts, and after a turn of the event loop (`setImmediate`) once the slice is spent, and
 * a new slice starts. A fixed count of items per turn is too much on a slow machine and too
 * little on a fast one; a slice of time costs every machine the same (React's scheduler yields
 * so, every 5 ms, for the same reason).
 */
export class TimeSlice {
  private began = performance.now();
  /** Turns of the event loop given up so far. */
  yields = 0;

  /** @param sliceMs work between two turns of the event loop, in ms (> 0). */
  constructor(private readonly sliceMs: number) {}

  /** Resolves at once within the slice; after a turn of the event loop once it is spent. */
  async yieldIfSpent(): Promise<void> {
    if (performance.now() - this.began < this.sliceMs) return;
    this.yields++;
    await nextTurn();
    this.began = performance.now();
  }
}
