import type { Exec } from '@clover/protocol';
import { LIMITS } from '@clover/protocol';
import { statusExpected } from '@clover/model';
import type { OutputTail } from '../output.js';
import { refusedBy, type EgressClient } from './egress-client.js';
import { describeError, failed, succeeded, type ExecOutcome } from './outcome.js';

type HttpKind = Extract<Exec['kind'], { type: 'http' }>;

/**
 * One HTTP call, through the agent's {@link EgressClient} (its address and URL policy). A status
 * the job does not expect (`kind.expectStatus`, by default any below 400: model's statusExpected)
 * is a failure whose error is the status line and the start of the body (a server
 * usually says why there), bounded to LIMITS.errorChars; the output is the status line and the end
 * of the body. The body is read as a stream, so a huge one costs at most the two bounds in memory,
 * not its size. A call the policy refuses fails with the refusal as its error, and no request.
 */
export async function runHttp(kind: HttpKind, signal: AbortSignal, out: OutputTail, egress: EgressClient): Promise<ExecOutcome> {
  try {
    const res = await egress.fetch(kind.url, { method: kind.method, headers: kind.headers, body: kind.body, signal });
    const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    out.line(status);
    let head = '';
    if (res.body) {
      const decoder = new TextDecoder();
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true });
        if (head.length <= LIMITS.errorChars) head += text.slice(0, LIMITS.errorChars + 1 - head.length);
        out.append(text);
      }
      const rest = decoder.decode();
      if (head.length <= LIMITS.errorChars) head += rest;
      out.append(rest);
    }
    if (statusExpected(res.status, kind.expectStatus)) return succeeded;
    const said = head.trim();
    return failed(res.status, said ? `${status}: ${said}` : status);
  } catch (err) {
    if (signal.aborted) return { exitCode: null, error: 'aborted' };
    const refused = refusedBy(err);
    if (refused) return failed(null, `refused: ${refused.message}`);
    const cause = err instanceof Error && err.cause !== undefined ? ` (${describeError(err.cause)})` : '';
    return failed(null, `request failed: ${describeError(err)}${cause}`);
  }
}
