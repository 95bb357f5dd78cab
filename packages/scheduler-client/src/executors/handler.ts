import type { Exec } from '@clover/protocol';
import type { Handler } from '../interfaces.js';
import type { OutputTail } from '../output.js';
import type { ExecOutcome } from './shell.js';

/** Runs a registered function; its return value, if any, goes to the output as JSON. */
export async function runHandler(handler: Handler, exec: Exec, signal: AbortSignal, out: OutputTail): Promise<ExecOutcome> {
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(new Error('aborted'));
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });
  aborted.catch(() => undefined);
  try {
    const value = await Promise.race([
      Promise.resolve().then(() =>
        handler({
          execId: exec.execId, jobId: exec.jobId, jobName: exec.jobName, attempt: exec.attempt, payload: exec.payload,
          scheduledAt: new Date(exec.scheduledAt), deadline: new Date(exec.deadline), signal, log: (line) => out.line(line),
        }),
      ),
      aborted,
    ]);
    if (value !== undefined) out.append(typeof value === 'string' ? value : JSON.stringify(value));
    return { exitCode: 0, error: null };
  } catch (err) {
    if (signal.aborted) return { exitCode: null, error: 'aborted' };
    const message = err instanceof Error ? err.message : String(err);
    out.line(err instanceof Error && err.stack ? err.stack : message);
    return { exitCode: 1, error: message };
  }
}
