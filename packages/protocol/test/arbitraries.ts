// fast-check arbitraries of clover's wire messages and of what a broken or hostile peer sends
// instead: shared by the codec's property tests and the live socket barrages.
import fc from 'fast-check';
import { httpMethods } from '@clover/model';
import { LIMITS, PROTOCOL_VERSION, encodeBatch, messageSchemas, type Message, type MessageType } from '../src/index.js';

// Arbitraries built from the schemas' own bounds (LIMITS), up to and including each bound. They
// answer canonical bodies: what the schema answers for them is themselves (defaults filled in,
// trimmed strings where the schema trims), so a round trip must give back the very same value.
// fast-check counts code points and the schemas UTF-16 code units: cut to the bound in code units.
export const text = (maxLength: number, minLength = 0) =>
  fc.string({ unit: 'binary', minLength, maxLength }).map((s) => s.slice(0, maxLength));
export const atBound = (maxLength: number, minLength = 0) => fc.oneof(text(Math.min(maxLength, 40), minLength), text(maxLength, maxLength));
export const id = atBound(LIMITS.idChars, 1);
export const name = atBound(LIMITS.nameChars);
export const epochMs = fc.oneof(fc.nat({ max: 4_102_444_800_000 }), fc.constant(Number.MAX_SAFE_INTEGER));
export const trimmedNonEmpty = text(60, 1)
  .map((s) => s.trim())
  .filter((s) => s.length > 0);
// `__proto__` is no valid name in an env or headers map (model: stringMap).
export const stringRecord = fc.dictionary(
  text(20).filter((k) => k !== '__proto__'),
  text(40),
  { maxKeys: 4, noNullPrototype: true },
);
/** Whether `v` has an own `__proto__` key at any depth. */
export function hasProtoKey(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (Object.hasOwn(v, '__proto__')) return true;
  return Object.values(v).some(hasProtoKey);
}
// A body with a `__proto__` key anywhere is refused by the codec (codec.ts), so a valid payload
// has none; fast-check makes such keys on purpose, about once in a few hundred values.
export const jsonValue = fc
  .jsonValue({ maxDepth: 3, stringUnit: 'binary' })
  .map((v) => JSON.parse(JSON.stringify(v)) as unknown)
  .filter((v) => !hasProtoKey(v));

export const jobKind = fc.oneof(
  fc.record({ type: fc.constant('handler' as const), name: trimmedNonEmpty }, { noNullPrototype: true }),
  fc.record(
    {
      type: fc.constant('shell' as const),
      command: trimmedNonEmpty,
      args: fc.array(text(30), { maxLength: 5 }),
      env: stringRecord,
      cwd: text(40),
    },
    { noNullPrototype: true, requiredKeys: ['type', 'command', 'args', 'env'] },
  ),
  fc.record(
    {
      type: fc.constant('http' as const),
      method: fc.constantFrom(...httpMethods),
      url: fc.webUrl({ validSchemes: ['http', 'https'] }),
      headers: stringRecord,
      body: text(100),
    },
    { noNullPrototype: true, requiredKeys: ['type', 'method', 'url', 'headers'] },
  ),
);

export const bodies: { [K in MessageType]: fc.Arbitrary<Extract<Message, { type: K }>['body']> } = {
  HELLO: fc.record(
    {
      agentId: id,
      version: atBound(LIMITS.versionChars),
      handlers: fc.oneof(
        fc.array(name, { maxLength: 5 }),
        fc.array(fc.constant('h'), { minLength: LIMITS.handlers, maxLength: LIMITS.handlers }),
      ),
      capacity: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constant(LIMITS.capacity)),
      running: fc.array(id, { maxLength: 5 }),
      groups: fc.array(name, { maxLength: 5 }),
      tags: fc.oneof(fc.array(name, { maxLength: 5 }), fc.array(fc.constant('t'), { minLength: LIMITS.labels, maxLength: LIMITS.labels })),
      shell: fc.boolean(),
      http: fc.boolean(),
      batch: fc.boolean(),
      orphansKilled: fc.array(id, { maxLength: 5 }),
    },
    { noNullPrototype: true, requiredKeys: ['agentId', 'version', 'handlers', 'capacity', 'running', 'groups', 'tags', 'shell', 'http'] },
  ),
  EXEC: fc.record(
    {
      execId: id,
      jobId: id,
      jobName: name,
      attempt: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      kind: jobKind,
      payload: jsonValue,
      timeoutMs: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      deadline: epochMs,
      scheduledAt: epochMs,
    },
    { noNullPrototype: true },
  ),
  ACK: fc.record(
    {
      execId: id,
      accepted: fc.boolean(),
      reason: fc.constantFrom('duplicate', 'no_handler', 'at_capacity', 'unsupported', 'draining'),
      startedAt: epochMs,
    },
    { noNullPrototype: true, requiredKeys: ['execId', 'accepted'] },
  ),
  START: fc.record({ execId: id, startedAt: epochMs }, { noNullPrototype: true }),
  RESULT: fc.record(
    {
      execId: id,
      status: fc.constantFrom('succeeded', 'failed', 'timed_out', 'cancelled'),
      exitCode: fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
      startedAt: epochMs,
      finishedAt: epochMs,
      // The bound is in UTF-8 bytes: ASCII at the bound, and 3-byte characters just under it.
      outputTail: fc.oneof(
        text(200),
        fc.string({ unit: fc.constant('a'), minLength: LIMITS.outputTailBytes, maxLength: LIMITS.outputTailBytes }),
        fc.string({ unit: fc.constant('€'), maxLength: Math.floor(LIMITS.outputTailBytes / 3) }),
      ),
      error: fc.option(atBound(LIMITS.errorChars)),
    },
    { noNullPrototype: true },
  ),
  OUTPUT: fc.record(
    {
      execId: id,
      seq: fc.integer({ min: 1, max: LIMITS.outputSeqMax }),
      // The bound is in UTF-8 bytes, as for RESULT's outputTail.
      chunk: fc.oneof(
        text(200),
        fc.string({ unit: fc.constant('a'), minLength: LIMITS.outputChunkBytes, maxLength: LIMITS.outputChunkBytes }),
        fc.string({ unit: fc.constant('€'), maxLength: Math.floor(LIMITS.outputChunkBytes / 3) }),
      ),
    },
    { noNullPrototype: true },
  ),
  CANCEL: fc.record({ execId: id, reason: fc.constantFrom('timeout', 'replaced', 'requested', 'shutdown') }, { noNullPrototype: true }),
  PING: fc.record({ nonce: atBound(LIMITS.nonceChars), sentAt: epochMs }, { noNullPrototype: true }),
  PONG: fc.record({ nonce: atBound(LIMITS.nonceChars), sentAt: epochMs }, { noNullPrototype: true }),
  BYE: fc.record({ reason: atBound(LIMITS.reasonChars) }, { noNullPrototype: true }),
};

export const messageTypes = Object.keys(messageSchemas) as MessageType[];
export const messageOf = (type: MessageType): fc.Arbitrary<Message> => bodies[type].map((body) => ({ type, body }) as Message);

export const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
export const jsonText = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);
/** A frame a peer could send: random bytes, random JSON, or a known version or type. */
export const anyFrame = fc.oneof(
  bytes,
  jsonText.map((s) => Buffer.from(s)),
  fc
    .constantFrom(PROTOCOL_VERSION, '0', '2', '', ...messageTypes, 'hello', '__proto__', 'constructor', 'toString')
    .map((s) => Buffer.from(s)),
);

/** A mutation of a valid frame set, as a fault on the wire or a hostile peer would make it. */
export type Mutation = (frames: Buffer[]) => Buffer[];
export const byteMutation: fc.Arbitrary<Mutation> = fc.oneof(
  // flip, set or delete one byte of one frame, insert random bytes, or cut a frame short
  fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([f, i, x]): Mutation => (frames) => {
    const at = f % frames.length;
    const copy = Buffer.from(frames[at] ?? []);
    if (copy.length > 0) copy[i % copy.length] = (copy[i % copy.length] ?? 0) ^ x;
    return frames.map((fr, j) => (j === at ? copy : fr));
  }),
  fc.tuple(fc.nat(), fc.nat()).map(
    ([f, cut]): Mutation =>
      (frames) =>
        frames.map((fr, j) => (j === f % frames.length ? fr.subarray(0, cut % (fr.length + 1)) : fr)),
  ),
  fc.tuple(fc.nat(), fc.nat(), bytes).map(
    ([f, i, ins]): Mutation =>
      (frames) =>
        frames.map((fr, j) =>
          j === f % frames.length ? Buffer.concat([fr.subarray(0, i % (fr.length + 1)), ins, fr.subarray(i % (fr.length + 1))]) : fr,
        ),
  ),
  // frame-level: drop, duplicate, swap or replace a frame
  fc.nat().map(
    (f): Mutation =>
      (frames) =>
        frames.filter((_, j) => j !== f % frames.length),
  ),
  fc.nat().map(
    (f): Mutation =>
      (frames) =>
        frames.flatMap((fr, j) => (j === f % frames.length ? [fr, fr] : [fr])),
  ),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]): Mutation => (frames) => {
    const copy = [...frames];
    const [i, j] = [a % copy.length, b % copy.length];
    [copy[i], copy[j]] = [copy[j] as Buffer, copy[i] as Buffer];
    return copy;
  }),
  fc.tuple(fc.nat(), anyFrame).map(
    ([f, fr]): Mutation =>
      (frames) =>
        frames.map((old, j) => (j === f % frames.length ? fr : old)),
  ),
);

/** A mutation of a body's JSON: a key removed, a value replaced by any JSON, a key added, a field made too long. */
export const jsonMutation: fc.Arbitrary<Mutation> = fc
  .tuple(fc.nat(), fc.nat(), fc.jsonValue({ maxDepth: 2 }), text(12), fc.nat({ max: 3 }))
  .map(
    ([k, f, value, key, how]): Mutation =>
      (frames) =>
        frames.map((fr, j) => {
          if (j < 2 || j !== 2 + (f % Math.max(1, frames.length - 2))) return fr;
          let parsed: unknown;
          try {
            parsed = JSON.parse(fr.toString('utf8'));
          } catch {
            return fr;
          }
          if (typeof parsed !== 'object' || parsed === null) return fr;
          const body = parsed as Record<string, unknown>;
          const keys = Object.keys(body);
          const target = keys[k % Math.max(1, keys.length)] ?? key;
          if (how === 0) Reflect.deleteProperty(body, target);
          else if (how === 1) body[target] = value;
          else if (how === 2) body[key] = value;
          else body[target] = 'x'.repeat(LIMITS.errorChars + LIMITS.idChars);
          return Buffer.from(JSON.stringify(body));
        }),
  );

/**
 * One multipart message as a broken or hostile peer sends it, at least one frame: random frames,
 * or a valid batch under one to four mutations.
 */
export const wireGarbage: fc.Arbitrary<Buffer[]> = fc.oneof(
  fc.array(anyFrame, { minLength: 1, maxLength: 6 }),
  fc
    .tuple(
      fc.constantFrom(...messageTypes).chain((type) => fc.array(messageOf(type), { minLength: 1, maxLength: 3 })),
      fc.array(fc.oneof(byteMutation, jsonMutation), { minLength: 1, maxLength: 4 }),
    )
    .map(([msgs, mutations]) => mutations.reduce((acc, mutate) => (acc.length === 0 ? acc : mutate(acc)), encodeBatch(msgs)))
    .filter((frames) => frames.length > 0),
);
