import { MAX_OUTPUT_BYTES } from '@clover/model';

/**
 * The bounds of every field a peer fills, the one source of truth: the schemas in messages.ts
 * are built from them, and the agent bounds what it sends with them (truncateField, and the
 * output tail to `outputTailBytes`). A string's `Chars` bound counts what zod's `.max()` counts:
 * UTF-16 code units (`String.prototype.length`), so an emoji counts 2. Documented field by field
 * in docs/protocol.md.
 */
export const LIMITS = {
  /** Ids: exec, job and agent ids (`id` in docs/protocol.md). */
  idChars: 512,
  /** An agent id is also its ZeroMQ routing id, which libzmq caps at 255 bytes (ZMQ_ROUTING_ID). */
  routingIdBytes: 255,
  /** HELLO `version`. */
  versionChars: 64,
  /** One handler name, group or tag in HELLO; EXEC `jobName`. */
  nameChars: 200,
  /** HELLO `handlers`. */
  handlers: 10_000,
  /** HELLO `groups` and `tags`, each. */
  labels: 1000,
  /** HELLO `capacity`, and so `running`. */
  capacity: 100_000,
  /** RESULT `error`. */
  errorChars: 4096,
  /** RESULT `outputTail`, in bytes of its UTF-8 form (the model's MAX_OUTPUT_BYTES, the run's own bound). */
  outputTailBytes: MAX_OUTPUT_BYTES,
  /**
   * OUTPUT `chunk`, in bytes of its UTF-8 form: twice the run's output tail, so a chunk sent every
   * 250 ms carries 64 KiB a second, more than a job's log is worth reading live.
   */
  outputChunkBytes: 2 * MAX_OUTPUT_BYTES,
  /** OUTPUT `seq`: a frame counter per execution, far above what 250 ms frames reach in a year. */
  outputSeqMax: 2 ** 31 - 1,
  /** PING/PONG `nonce`. */
  nonceChars: 64,
  /** BYE `reason`. */
  reasonChars: 200,
  /** HELLO `orphansKilled`. */
  orphansKilled: 1000,
} as const;

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * `text` cut to at most `maxChars` UTF-16 code units (the unit LIMITS and the schemas count),
 * keeping its start, where a message says what went wrong, and ending with a marker
 * `…[truncated N chars]` that says how many code units were cut. Never splits a surrogate pair.
 * Returns `text` itself when it fits. A bound too small for the marker gets a plain cut.
 * Throws nothing; `maxChars` below 0 is read as 0.
 */
export function truncateField(text: string, maxChars: number): string {
  const max = Math.max(0, Math.floor(maxChars));
  if (text.length <= max) return text;
  const cut = (end: number) => (end > 0 && isHighSurrogate(text.charCodeAt(end - 1)) ? end - 1 : end);
  let keep = max;
  for (;;) {
    const marker = `…[truncated ${text.length - keep} chars]`;
    if (marker.length > max) return text.slice(0, cut(max));
    if (keep + marker.length <= max) {
      const end = cut(keep);
      return `${text.slice(0, end)}…[truncated ${text.length - end} chars]`;
    }
    keep = max - marker.length;
  }
}
