import { LIMITS, truncateField } from '@clover/protocol';

/** How an execution ended, as an executor sees it; the agent adds status and times. */
export interface ExecOutcome {
  exitCode: number | null;
  /** Null on success; else a short reason, already within LIMITS.errorChars. */
  error: string | null;
}

export const succeeded: ExecOutcome = { exitCode: 0, error: null };

/**
 * A failure whose reason is bounded where it is made: cut to the RESULT's `error` bound
 * (LIMITS.errorChars, UTF-16 code units as the schema counts), keeping its start and saying
 * how much was cut (truncateField), so the RESULT always passes the protocol's validation.
 */
export function failed(exitCode: number | null, error: string): ExecOutcome {
  return { exitCode, error: truncateField(error, LIMITS.errorChars) };
}

/**
 * A thrown value's message as a string, whatever was thrown: an Error's `message` (coerced if
 * a handler set it to something else), a string as is, anything else through String(), and a
 * fixed text for a value String() itself throws on (an object without a prototype).
 */
export function describeError(err: unknown): string {
  try {
    if (err instanceof Error) return typeof err.message === 'string' ? err.message : String(err.message);
    return String(err);
  } catch {
    return 'a value that cannot be turned into text was thrown';
  }
}

/** The stack of a thrown Error, or its description; for the output, never throws. */
export function describeStack(err: unknown): string {
  try {
    if (err instanceof Error && typeof err.stack === 'string') return err.stack;
  } catch {
    /* a throwing stack getter */
  }
  return describeError(err);
}
