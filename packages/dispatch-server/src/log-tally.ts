import type { Logger } from '@clover/telemetry';

/**
 * Many events of one kind as one info line per window: `note()` counts an event, and the first
 * `note()` of a window logs, `windowMs` later, `message` with `{ count, examples }` (the first
 * three ids noted). A takeover at 100,000 jobs redelivered thousands of adopted runs at once, and
 * a line for each flooded the log in the second the loop was busiest. Each event still goes to
 * the debug level, with its own fields.
 */
export class LogTally {
  private count = 0;
  private examples: string[] = [];
  private timer: NodeJS.Timeout | null = null;

  /** `windowMs`: how long the counting runs from its first event (ms, default 1,000). */
  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly windowMs = 1000,
  ) {}

  /** Counts one event; `fields` go to its own debug line, `example` (a run id) into the summary. */
  note(example: string, fields: Record<string, unknown>): void {
    this.logger.debug(this.message, fields);
    this.count++;
    if (this.examples.length < 3) this.examples.push(example);
    // Unref'd: a summary never holds a process that is otherwise done.
    this.timer ??= setTimeout(() => this.flush(), this.windowMs).unref();
  }

  /** Logs what was counted so far (nothing when nothing was) and starts a new window. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.count) return;
    this.logger.info(this.message, { count: this.count, examples: this.examples });
    this.count = 0;
    this.examples = [];
  }
}
