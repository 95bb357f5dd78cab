import type { Logger } from '@clover/telemetry';
import { ProtocolError } from './errors.js';

export interface DropLogOptions {
  logger: Logger;
  /** The warning each dropped frame is logged under, e.g. `dropped a malformed frame`. */
  message: string;
  /** Drops logged one by one per window; the rest of the window's are counted. Default 10. */
  perWindow?: number;
  /** The window, in ms. Default 10,000. */
  windowMs?: number;
  /** The clock, in epoch ms; a test passes its own. Default Date.now. */
  now?: () => number;
}

/**
 * The log of the frames a receive loop drops, rate-limited: the first `perWindow` drops of each
 * window are logged one by one (with their reason), the others are counted by ProtocolError code
 * and logged as one summary line when the window ends (at the next drop after it, by a timer at
 * its end, or at close). So every bad frame is logged once, alone or in a summary, and a peer
 * that sends garbage as fast as it can (10,000 frames in a second) costs a few lines, not 10,000.
 */
export class DropLog {
  private readonly perWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private windowStart = Number.NEGATIVE_INFINITY;
  private loggedInWindow = 0;
  /** Drops of the current window not logged one by one, by ProtocolError code. */
  private readonly unlogged = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: DropLogOptions) {
    this.perWindow = opts.perWindow ?? 10;
    this.windowMs = opts.windowMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Logs (or counts) one dropped frame; `context` goes with its line when it is logged alone. */
  drop(err: unknown, context: Record<string, unknown> = {}): void {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = now;
      this.loggedInWindow = 0;
    }
    if (this.loggedInWindow < this.perWindow) {
      this.loggedInWindow++;
      this.opts.logger.warn(this.opts.message, { ...context, reason: err instanceof Error ? err.message : String(err) });
      return;
    }
    const code = err instanceof ProtocolError ? err.code : 'unknown';
    this.unlogged.set(code, (this.unlogged.get(code) ?? 0) + 1);
    // The summary goes out at the window's end even when no drop follows to trigger it.
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.windowStart + this.windowMs - now)).unref();
  }

  /** Logs the summary of the drops not yet logged, if any. Called at close; safe at any time. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.unlogged.size === 0) return;
    const byReason = Object.fromEntries(this.unlogged);
    const count = [...this.unlogged.values()].reduce((a, b) => a + b, 0);
    this.unlogged.clear();
    this.opts.logger.warn(`${this.opts.message}: ${count} more not logged one by one`, { count, byReason, windowMs: this.windowMs });
  }
}
