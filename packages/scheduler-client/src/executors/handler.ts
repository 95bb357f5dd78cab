import type { Exec } from '@clover/protocol';
import type { ExecAbort } from '../abort.js';
import type { Handler } from '../interfaces.js';
import type { OutputTail } from '../output.js';
import type { ExecOutcome } from './shell.js';

/** Runs a registered function; its return value, if any, goes to the output as JSON. */
export async function runHandler(handler: Handler, exec: Exec, abort: ExecAbort, out: OutputTail): Promise<ExecOutcome> {
  try {
    // The context's signal is a getter: an AbortSignal is only made for a handler that reads it.
    const ctx = {
      execId: exec.execId, jobId: exec.jobId, jobName: exec.jobName, attempt: exec.attempt, payload: exec.payload,
      scheduledAt: new Date(exec.scheduledAt), deadline: new Date(exec.deadline), log: (line: string) => out.line(line),
      get signal() {
        return abort.signal;
      },
    };
    const value = await new Promise<unknown>((resolve, reject) => {
      abort.onAbort(() => reject(new Error('aborted')));
      Promise.resolve().then(() => handler(ctx)).then(resolve, reject);
    });
    if (value !== undefined) out.append(typeof value === 'string' ? value : JSON.stringify(value));
    return { exitCode: 0, error: null };
  } catch (err) {
    if (abort.aborted) return { exitCode: null, error: 'aborted' };
    const message = err instanceof Error ? err.message : String(err);
    out.line(err instanceof Error && err.stack ? err.stack : message);
    return { exitCode: 1, error: message };
  }
}
