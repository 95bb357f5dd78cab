export type ProtocolErrorCode = 'frames' | 'version' | 'type' | 'size' | 'json' | 'schema';

/**
 * A frame that is not a clover message: the receiver logs it and drops it. For a body that was
 * JSON of a known type but failed its schema, `messageType` and `execId` (when the body holds a
 * readable one, see peekExecutionId) say which execution it was about, so a server can still
 * resolve that run instead of waiting for its deadline; `reportedError` keeps the start of the
 * body's own `error` text (what the agent meant to report, cut by codec.ts to REPORTED_ERROR_CHARS)
 * so the run's failure can still say it.
 */
export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    readonly messageType?: string,
    readonly execId?: string,
    readonly reportedError?: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
