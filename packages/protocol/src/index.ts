export * from './messages.js';
export { LIMITS, truncateField } from './limits.js';
export { peekExecutionId } from './peek.js';
export { encode, encodeBatch, decode, decodeAll } from './codec.js';
export { ProtocolError, type ProtocolErrorCode } from './errors.js';
export { DropLog, type DropLogOptions } from './drop-log.js';
export { RouterTransport, type RouterTransportOptions, type ServerCurve } from './router.js';
export { DealerTransport, type DealerTransportOptions, type ClientCurve } from './dealer.js';
export { z85Encode } from './z85.js';
import { curveKeyPair } from 'zeromq';

/** A new CURVE key pair, Z85 text. */
export function generateCurveKeyPair(): { publicKey: string; secretKey: string } {
  return curveKeyPair();
}
export { isLocalEndpoint } from './endpoint.js';
