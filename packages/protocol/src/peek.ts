import type { ProtocolError } from './errors.js';

/** What could still be read from a body dropped as malformed. */
export interface DroppedBody {
  /** Its message type (`RESULT`, `ACK`, ...). */
  type: string;
  /** The execution it names, if it names one as a string of at most 200 characters. */
  execId: string | null;
  /** Its `error` text, if any, cut to `maxErrorChars`: what the agent meant to report. */
  error: string | null;
}

/** Bodies larger than this are not parsed; the id is looked for in their first bytes. */
const parseUpTo = 64 * 1024;
const headBytes = 1024;

/**
 * Reads a dropped body's message type, execution id and error text, so a receiver can still
 * settle the execution a bad answer was about (a RESULT whose `error` broke its limit, say)
 * instead of leaving it to its deadline. Null for errors about a whole message (bad version,
 * type or frame count), which name no body. Never throws. `maxErrorChars` default 1000.
 */
export function peekDropped(err: ProtocolError, maxErrorChars = 1000): DroppedBody | null {
  const d = err.dropped;
  if (!d) return null;
  let execId: string | null = null;
  let error: string | null = null;
  if (d.body.length <= parseUpTo) {
    try {
      const json: unknown = JSON.parse(d.body.toString('utf8'));
      if (json && typeof json === 'object') {
        const o = json as Record<string, unknown>;
        if (typeof o.execId === 'string') execId = o.execId;
        if (typeof o.error === 'string') error = o.error.slice(0, maxErrorChars);
      }
    } catch {
      /* not JSON: the head below may still name it */
    }
  }
  if (execId === null) execId = /"execId"\s*:\s*"([^"\\]{1,200})"/.exec(d.body.toString('utf8', 0, Math.min(d.body.length, headBytes)))?.[1] ?? null;
  if (execId !== null && (execId.length === 0 || execId.length > 200)) execId = null;
  return { type: d.type, execId, error };
}
