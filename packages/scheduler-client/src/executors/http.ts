import type { Exec } from '@clover/protocol';
import type { OutputTail } from '../output.js';
import type { ExecOutcome } from './shell.js';

type HttpKind = Extract<Exec['kind'], { type: 'http' }>;

/** One HTTP call; a status of 400 or more is a failure, the body tail is the output. */
export async function runHttp(kind: HttpKind, signal: AbortSignal, out: OutputTail): Promise<ExecOutcome> {
  try {
    const res = await fetch(kind.url, { method: kind.method, headers: kind.headers, body: kind.body, signal });
    out.line(`HTTP ${res.status} ${res.statusText}`);
    out.append(await res.text());
    return res.status >= 400 ? { exitCode: res.status, error: `HTTP ${res.status}` } : { exitCode: 0, error: null };
  } catch (err) {
    if (signal.aborted) return { exitCode: null, error: 'aborted' };
    return { exitCode: null, error: `request failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}
