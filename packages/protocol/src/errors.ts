export type ProtocolErrorCode = 'frames' | 'version' | 'type' | 'size' | 'json' | 'schema';

/**
 * A frame that is not a clover message: the receiver logs it and drops it. For a body that was
 * JSON of a known type but failed its schema, `messageType` and `execId` (when the body holds a
 * readable one, see peekExecutionId) say which execution it was about, so a server can still
 * resolve that run instead of waiting for its deadline.
 */
export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    readonly messageType?: string,
    readonly execId?: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
