import { within } from './wait.js';

/** One clean-up step: a name for the report, and what it does (sync or async). */
export type CleanupStep = readonly [name: string, run: () => unknown];

/** A step that threw, rejected or ran past its bound, with what it raised. */
export interface FailedStep {
  name: string;
  error: unknown;
}

/** Raised when one or more clean-up steps failed; every other step still ran. */
export class CleanupError extends Error {
  override readonly name = 'CleanupError';
  constructor(readonly failed: readonly FailedStep[]) {
    super(
      `clean-up failed in ${failed.length} step(s):\n` +
        failed.map((f) => `${f.name}: ${f.error instanceof Error ? f.error.message : String(f.error)}`).join('\n'),
    );
  }
}

/** Default bound on one clean-up step, in milliseconds. */
export const defaultStepTimeoutMs = 30_000;

/**
 * Runs every step in the order given, each bounded by `timeoutMs` (default 30 000 ms), and goes
 * on past a step that throws or hangs: one broken close must not leave the sockets, sessions and
 * files after it open. The rule is BullMQ's `Worker.close()` and Go's deferred calls: every
 * clean-up runs, and the failures are reported together at the end.
 *
 * @returns the steps that failed (empty when all succeeded); never throws.
 */
export async function runSteps(steps: Iterable<CleanupStep>, opts: { timeoutMs?: number } = {}): Promise<FailedStep[]> {
  const timeoutMs = opts.timeoutMs ?? defaultStepTimeoutMs;
  const failed: FailedStep[] = [];
  for (const [name, run] of steps) {
    try {
      await within(run, timeoutMs, `clean-up step "${name}"`);
    } catch (error) {
      failed.push({ name, error });
    }
  }
  return failed;
}

/**
 * Like {@link runSteps}, and throws at the end when any step failed.
 *
 * @throws {CleanupError} naming every step that failed, after all have run.
 */
export async function cleanUp(steps: Iterable<CleanupStep>, opts: { timeoutMs?: number } = {}): Promise<void> {
  const failed = await runSteps(steps, opts);
  if (failed.length) throw new CleanupError(failed);
}

/**
 * The clean-ups of something being built step by step (a bin's store, logger, ZooKeeper session,
 * server): each part pushes its close as it comes up, and {@link CleanupStack.close} runs them last
 * in, first out, so a part closes before what it was built on. A start that fails half way closes
 * exactly what it had opened.
 *
 * `close()` runs the stack once; a second call, concurrent or later, returns the same promise.
 */
export class CleanupStack {
  private readonly steps: CleanupStep[] = [];
  private closing: Promise<FailedStep[]> | undefined;

  /** @param opts.timeoutMs bound on each step in ms (default 30 000). */
  constructor(private readonly opts: { timeoutMs?: number } = {}) {}

  /**
   * Adds a step, to run before every step pushed earlier.
   * @throws {Error} when the stack is already closing: what is opened after that would leak.
   */
  push(name: string, run: () => unknown): void {
    if (this.closing) throw new Error(`clean-up stack already closing; "${name}" would not be closed`);
    this.steps.push([name, run]);
  }

  /**
   * Runs every step, newest first, each bounded; never throws.
   * @returns the steps that failed, empty when all succeeded.
   */
  close(): Promise<FailedStep[]> {
    this.closing ??= runSteps([...this.steps].reverse(), this.opts);
    return this.closing;
  }
}
