import Transport from 'winston-transport';
import type { LogEntryInput, LogLevel } from '@clover/model';
import type { Store } from '@clover/store';

const levels = new Set<LogLevel>(['error', 'warn', 'info', 'debug']);

/**
 * Writes warn and above to the store, batched, so the console's Logs page shows the errors of
 * the whole cluster. A store that fails costs the entries, never the caller.
 */
export class StoreTransport extends Transport {
  private queue: LogEntryInput[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<Store, 'logs'>,
    private readonly defaults: { source: string; node?: string },
  ) {
    super({ level: 'warn' });
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const { level, message, service, node, timestamp, ...rest } = info as Record<string, unknown>;
    const lvl = String(level) as LogLevel;
    if (levels.has(lvl)) {
      const context: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(rest)) if (typeof k === 'string') context[k] = v instanceof Error ? v.message : v;
      this.queue.push({
        time: new Date(typeof timestamp === 'string' ? timestamp : Date.now()),
        level: lvl,
        source: typeof service === 'string' ? service : this.defaults.source,
        node: (node as string | undefined) ?? this.defaults.node ?? null,
        message: String(message),
        context,
      });
      if (this.queue.length >= 100) void this.flush();
      else if (!this.timer) this.timer = setTimeout(() => void this.flush(), 200);
    }
    next();
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return this.flushing;
    this.flushing = this.flushing
      .then(() => this.store.logs.write(batch))
      .catch((err: unknown) => {
        process.stderr.write(`clover logging: could not write ${batch.length} entries to the store: ${String(err)}\n`);
      });
    return this.flushing;
  }

  override close(): void {
    void this.flush();
  }
}
