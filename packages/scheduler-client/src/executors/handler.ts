import type { Exec } from '@clover/protocol';
import type { ExecAbort } from '../abort.js';
import type { Handler } from '../interfaces.js';
import type { OutputTail } from '../output.js';
import { describeError, describeStack, failed, succeeded, type ExecOutcome } from './outcome.js';

/** JSON.stringify, typed as it behaves: undefined for a function, a symbol or undefined. */
function toJson(value: unknown): string | undefined {
  return JSON.stringify(value);
}

/** Runs a registered function; its return value, if any, goes to the output as JSON. */
export async function runHandler(handler: Handler, exec: Exec, abort: ExecAbort, out: OutputTail): Promise<ExecOutcome> {
  try {
    // The context's signal is a getter: an AbortSignal is only made for a handler that reads it.
    const ctx = {
      execId: exec.execId,
      jobId: exec.jobId,
      jobName: exec.jobName,
      attempt: exec.attempt,
      payload: exec.payload,
      scheduledAt: new Date(exec.scheduledAt),
      deadline: new Date(exec.deadline),
      // Typed string, but a handler in JavaScript may log anything.
      log: (line: unknown) => out.line(String(line)),
      get signal() {
        return abort.signal;
      },
    };
    const value = await new Promise<unknown>((resolve, reject) => {
      abort.onAbort(() => reject(new Error('aborted')));
      Promise.resolve()
        .then(() => handler(ctx))
        .then(resolve, reject);
    });
    if (value !== undefined) out.append(typeof value === 'string' ? value : (toJson(value) ?? 'undefined'));
    return succeeded;
  } catch (err) {
    if (abort.aborted) return { exitCode: null, error: 'aborted' };
    out.line(describeStack(err));
    // A handler's message may be any length; the RESULT's error field is bounded.
    return failed(1, describeError(err));
  }
}
