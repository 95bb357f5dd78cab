import { Agent, fetch, type Response } from 'undici';
import { checkUrl, EgressRefused, guardedLookup, type EgressPolicy } from './egress.js';

/** Redirects followed per call, as browsers and undici do by default. */
export const maxRedirects = 20;

/**
 * The HTTP client of an agent's HTTP jobs: undici with a connection pool whose every socket
 * resolves its host through {@link guardedLookup}, and redirects followed here, hop by hop, so that
 * each hop is checked against the policy before it is requested (a public URL that answers 302 to
 * http://169.254.169.254/ gets no further).
 *
 * One per agent; `close()` ends its pooled connections.
 */
export class EgressClient {
  private readonly dispatcher: Agent;

  constructor(private readonly policy: EgressPolicy) {
    this.dispatcher = new Agent({ connect: { lookup: guardedLookup(policy) } });
  }

  /**
   * Calls `url`, following up to {@link maxRedirects} redirects (303, and 301/302 after a POST,
   * become a GET without body, as in the Fetch standard).
   *
   * @throws {EgressRefused} when the URL or a redirect's target is outside the policy (checked
   *   before the request), or its host resolves to a special address (raised by the connection,
   *   found on the error's cause chain by {@link refusedBy}).
   * @throws whatever fetch throws: network errors, the signal's abort.
   */
  async fetch(
    url: string,
    init: { method: string; headers?: Record<string, string>; body?: string; signal: AbortSignal },
  ): Promise<Response> {
    let target = new URL(url);
    let { method, body } = init;
    for (let hop = 0; ; hop++) {
      checkUrl(target, this.policy);
      const res = await fetch(target, {
        method,
        headers: init.headers,
        body,
        signal: init.signal,
        redirect: 'manual',
        dispatcher: this.dispatcher,
      });
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || res.status === 304 || location === null) return res;
      if (hop >= maxRedirects) throw new Error(`more than ${maxRedirects} redirects, the last to ${location}`);
      await res.body?.cancel();
      target = new URL(location, target);
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
      }
    }
  }

  /** Ends the pooled connections; calls after this fail. */
  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/** The EgressRefused somewhere on `err`'s cause chain (a refused lookup arrives wrapped as fetch's "fetch failed"). */
export function refusedBy(err: unknown): EgressRefused | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof EgressRefused) return e;
  }
  return undefined;
}
