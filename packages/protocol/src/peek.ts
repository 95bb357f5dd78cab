import { LIMITS } from './limits.js';
import { MAX_BODY_BYTES } from './messages.js';

/**
 * The `execId` of a body that may not pass its schema (a RESULT with an error over
 * LIMITS.errorChars, say), so the run it names can still be resolved. `body` is the raw body
 * frame (a Buffer or string of JSON, at most MAX_BODY_BYTES) or already-parsed JSON. Returns the
 * `execId` when the body is a JSON object whose `execId` is a string of 1 to LIMITS.idChars
 * code units (the schema's own id rule), else null. Never throws.
 */
export function peekExecutionId(body: unknown): string | null {
  let json: unknown = body;
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    if (Buffer.byteLength(body) > MAX_BODY_BYTES) return null;
    try {
      json = JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : body);
    } catch {
      return null;
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return null;
  const execId = (json as { execId?: unknown }).execId;
  return typeof execId === 'string' && execId.length >= 1 && execId.length <= LIMITS.idChars ? execId : null;
}
