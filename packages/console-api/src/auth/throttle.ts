/**
 * Failed logins per (username, address): after `maxFailures` within `windowMs` the pair is
 * refused until the oldest failure leaves the window. Kept in memory: each console process
 * throttles on its own, which still bounds a guesser to maxFailures × consoles per window.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures = 5,
    private readonly windowMs = 15 * 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Milliseconds until this key may try again, or 0. */
  retryAfterMs(key: string): number {
    const recent = this.recent(key);
    // The oldest of the last maxFailures failures decides when the window lets the key in again.
    const oldest = recent.length < this.maxFailures ? undefined : recent.at(-this.maxFailures);
    return oldest === undefined ? 0 : oldest + this.windowMs - this.clock();
  }

  fail(key: string): void {
    const recent = this.recent(key);
    recent.push(this.clock());
    this.failures.set(key, recent);
    if (this.failures.size > 10_000) this.prune();
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string): number[] {
    const since = this.clock() - this.windowMs;
    return (this.failures.get(key) ?? []).filter((t) => t > since);
  }

  private prune(): void {
    for (const key of [...this.failures.keys()]) {
      if (!this.recent(key).length) this.failures.delete(key);
    }
  }
}
