import { ProtocolError } from './errors.js';
import { MAX_BODY_BYTES, PROTOCOL_VERSION, messageSchemas, type Message, type MessageType } from './messages.js';

const versionFrame = Buffer.from(PROTOCOL_VERSION);
const typeFrames = new Map<string, Buffer>(Object.keys(messageSchemas).map((t) => [t, Buffer.from(t)]));

/** `[version, type, JSON body]`. */
export function encode(msg: Message): Buffer[] {
  return [versionFrame, typeFrames.get(msg.type)!, Buffer.from(JSON.stringify(msg.body), 'utf8')];
}

/** Checks every frame and the body's schema; throws ProtocolError for anything else. */
export function decode(frames: Buffer[]): Message {
  if (frames.length !== 3) throw new ProtocolError('frames', `expected 3 frames, got ${frames.length}`);
  const [version, type, body] = frames as [Buffer, Buffer, Buffer];
  if (!version.equals(versionFrame)) throw new ProtocolError('version', `unsupported protocol version "${version.toString('utf8', 0, 16)}"`);
  const typeName = type.toString('utf8');
  if (!Object.hasOwn(messageSchemas, typeName)) throw new ProtocolError('type', `unknown message type "${typeName.slice(0, 32)}"`);
  if (body.length > MAX_BODY_BYTES) throw new ProtocolError('size', `body of ${body.length} bytes exceeds ${MAX_BODY_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ProtocolError('json', `${typeName} body is not JSON`);
  }
  const schema = messageSchemas[typeName as MessageType];
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const detail = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new ProtocolError('schema', `${typeName} body does not match its schema: ${detail}`);
  }
  return { type: typeName, body: parsed.data } as Message;
}
