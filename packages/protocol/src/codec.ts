import { ProtocolError } from './errors.js';
import { peekExecutionId } from './peek.js';
import { truncateField } from './limits.js';
import { MAX_BODY_BYTES, MAX_BODIES, PROTOCOL_VERSION, messageSchemas, type Message, type MessageType } from './messages.js';

const versionFrame = Buffer.from(PROTOCOL_VERSION);
/**
 * How much of a schema-refused body's own `error` text its ProtocolError keeps (`reportedError`):
 * enough for a person to see what failed, bounded so one bad answer cannot grow a run's record.
 */
const REPORTED_ERROR_CHARS = 1000;
const typeFrames = new Map<string, Buffer>(Object.keys(messageSchemas).map((t) => [t, Buffer.from(t)]));

function typeFrame(type: MessageType): Buffer {
  const frame = typeFrames.get(type);
  if (!frame) throw new Error(`no frame for message type "${type}"`);
  return frame;
}

/** `[version, type, JSON body]`. */
export function encode(msg: Message): Buffer[] {
  return [versionFrame, typeFrame(msg.type), Buffer.from(JSON.stringify(msg.body), 'utf8')];
}

/**
 * Messages of one type as one ZeroMQ message, `[version, type, body, body, …]`, for a peer
 * that reads them (see docs/protocol.md, Several bodies). At most MAX_BODIES.
 */
export function encodeBatch(msgs: Message[]): Buffer[] {
  const first = msgs[0];
  if (!first || msgs.length > MAX_BODIES || msgs.some((m) => m.type !== first.type))
    throw new Error(`a batch is 1 to ${MAX_BODIES} messages of one type`);
  return [versionFrame, typeFrame(first.type), ...msgs.map((m) => Buffer.from(JSON.stringify(m.body), 'utf8'))];
}

/**
 * Consecutive items of one message type, at most MAX_BODIES a group: what a peer that reads
 * several bodies gets as one message each, in the order given.
 */
export function batchesOf<T>(items: T[], typeOf: (item: T) => string): Array<[T, ...T[]]> {
  const groups: Array<[T, ...T[]]> = [];
  for (const item of items) {
    const last = groups.at(-1);
    if (last && last.length < MAX_BODIES && typeOf(last[0]) === typeOf(item)) last.push(item);
    else groups.push([item]);
  }
  return groups;
}

/** Exactly one message, `[version, type, body]`; throws ProtocolError for anything else. */
export function decode(frames: Buffer[]): Message {
  if (frames.length !== 3) throw new ProtocolError('frames', `expected 3 frames, got ${frames.length}`);
  const { messages, dropped } = decodeAll(frames);
  const [message] = messages;
  const [error] = dropped;
  if (error) throw error;
  // Three frames are one body: it is either kept or dropped.
  if (!message) throw new ProtocolError('frames', 'no body');
  return message;
}

/**
 * Every body of a message of one or several bodies. A bad version, type or frame count drops
 * the whole message (one error); a bad body drops only itself, the others are kept.
 */
export function decodeAll(frames: Buffer[]): { messages: Message[]; dropped: ProtocolError[] } {
  if (frames.length < 3 || frames.length > MAX_BODIES + 2)
    throw new ProtocolError('frames', `expected 3 to ${MAX_BODIES + 2} frames, got ${frames.length}`);
  const [version, type] = frames as [Buffer, Buffer];
  if (!version.equals(versionFrame))
    throw new ProtocolError('version', `unsupported protocol version "${version.toString('utf8', 0, 16)}"`);
  const typeName = type.toString('utf8');
  if (!Object.hasOwn(messageSchemas, typeName)) throw new ProtocolError('type', `unknown message type "${typeName.slice(0, 32)}"`);
  const schema = messageSchemas[typeName as MessageType];
  const messages: Message[] = [];
  const dropped: ProtocolError[] = [];
  for (const body of frames.slice(2)) {
    if (body.length > MAX_BODY_BYTES) {
      dropped.push(new ProtocolError('size', `body of ${body.length} bytes exceeds ${MAX_BODY_BYTES}`));
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      dropped.push(new ProtocolError('json', `${typeName} body is not JSON`));
      continue;
    }
    if (body.includes(protoKey) && hasProtoKey(json)) {
      dropped.push(new ProtocolError('schema', `${typeName} body has a "__proto__" key`, typeName, peekExecutionId(json) ?? undefined));
      continue;
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const detail = parsed.error.issues
        .slice(0, 3)
        .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
        .join('; ');
      const execId = peekExecutionId(json) ?? undefined;
      const ownError = (json as { error?: unknown } | null)?.error;
      const reportedError = typeof ownError === 'string' ? truncateField(ownError, REPORTED_ERROR_CHARS) : undefined;
      dropped.push(
        new ProtocolError(
          'schema',
          `${typeName} body${execId ? ` for ${execId}` : ''} does not match its schema: ${detail}`,
          typeName,
          execId,
          reportedError,
        ),
      );
      continue;
    }
    messages.push({ type: typeName, body: parsed.data } as Message);
  }
  return { messages, dropped };
}

const protoKey = Buffer.from('"__proto__"');

/**
 * Whether a parsed body has an own `__proto__` key at any depth. JSON.parse keeps one as a plain
 * key, but the schemas drop it without a word (zod skips it; a plain object assigning it would set
 * its prototype): a header or env var so named vanished from an EXEC (a fast-check round trip
 * found it). Refused instead; looked for only when the raw text holds the quoted word.
 */
function hasProtoKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasProtoKey);
  if (typeof v !== 'object' || v === null) return false;
  if (Object.hasOwn(v, '__proto__')) return true;
  return Object.values(v).some(hasProtoKey);
}
