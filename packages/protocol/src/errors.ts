export type ProtocolErrorCode = 'frames' | 'version' | 'type' | 'size' | 'json' | 'schema';

/** A frame that is not a clover message: the receiver logs it and drops it. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
