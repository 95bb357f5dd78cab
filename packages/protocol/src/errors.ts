export type ProtocolErrorCode = 'frames' | 'version' | 'type' | 'size' | 'json' | 'schema';

/** A frame that is not a clover message: the receiver logs it and drops it. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    /**
     * For one body of a known type that failed (`size`, `json`, `schema`): its type and raw
     * bytes, so a receiver can still tell which execution it was about (see peek.ts).
     */
    readonly dropped?: { type: string; body: Buffer },
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
