// Property-based tests of the wire codec and every message schema (issue 16, Fuzzing): any valid
// message survives encode/decode unchanged, and any byte string or mutated frame decodes to a
// valid message or fails with a ProtocolError, never with anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  LIMITS,
  MAX_BODIES,
  MAX_BODY_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  decode,
  decodeAll,
  encode,
  encodeBatch,
  messageSchemas,
  peekExecutionId,
  type Hello,
  type Message,
} from '../src/index.js';
import { bodyDeliverer } from '../src/deliver.js';
import { anyFrame, bodies, hasProtoKey, jsonText, jsonValue, messageOf, messageTypes, wireGarbage } from './arbitraries.js';

/** Runs per property: enough to reach every branch of the codec, small enough for 2 shared cores. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** What every decoded message must be: of a known type, and its body what its schema accepts unchanged. */
function assertValid(msg: Message): void {
  assert.ok(Object.hasOwn(messageSchemas, msg.type), `decoded an unknown type ${msg.type}`);
  const again = messageSchemas[msg.type].safeParse(msg.body);
  assert.ok(again.success, `decoded a ${msg.type} its own schema refuses`);
}

/** decodeAll's contract on any frames: messages that are valid, drops that are ProtocolErrors, or a ProtocolError thrown. */
function decodeAllTyped(frames: Buffer[]): Message[] {
  let out: ReturnType<typeof decodeAll>;
  try {
    out = decodeAll(frames);
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `decodeAll threw ${String(err)}, not a ProtocolError`);
    return [];
  }
  for (const dropped of out.dropped) assert.ok(dropped instanceof ProtocolError);
  assert.ok(out.messages.length + out.dropped.length === frames.length - 2, 'every body is kept or dropped');
  out.messages.forEach(assertValid);
  return out.messages;
}

function decodeTyped(frames: Buffer[]): void {
  try {
    assertValid(decode(frames));
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof ProtocolError, `decode threw ${String(err)}, not a ProtocolError`);
  }
}

test('every message type has an arbitrary (a new type must get one here)', () => {
  assert.deepEqual(Object.keys(bodies).sort(), [...messageTypes].sort());
});

test('the payload arbitrary makes no `__proto__` key, which the codec refuses, though fast-check makes some', () => {
  // Before the filter, a CI run's batch property drew `payload: {"__proto__": false}` (seed 1741699076).
  const raw = fc.sample(fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }), { numRuns: 5000, seed: 16 });
  assert.ok(raw.map((v) => JSON.parse(JSON.stringify(v)) as unknown).some(hasProtoKey), 'fast-check makes them in 5,000 values');
  assert.equal(fc.sample(jsonValue, { numRuns: 5000, seed: 16 }).filter(hasProtoKey).length, 0);
});

for (const type of messageTypes) {
  test(`${type}: encode then decode gives back the same message, at and under every bound`, () => {
    fc.assert(
      fc.property(messageOf(type), (msg) => {
        assert.deepEqual(decode(encode(msg)), msg);
      }),
      { numRuns: RUNS },
    );
  });
}

test('a batch of one type decodes to the same messages in order, up to MAX_BODIES', () => {
  const batch = fc.constantFrom(...messageTypes).chain((type) => fc.array(messageOf(type), { minLength: 1, maxLength: 12 }));
  fc.assert(
    fc.property(batch, (msgs) => {
      const { messages, dropped } = decodeAll(encodeBatch(msgs));
      assert.deepEqual(dropped, []);
      assert.deepEqual(messages, msgs);
    }),
    { numRuns: RUNS },
  );
  const full = Array.from({ length: MAX_BODIES }, (_, i): Message => ({ type: 'START', body: { execId: `e${i}`, startedAt: i } }));
  assert.equal(decodeAll(encodeBatch(full)).messages.length, MAX_BODIES);
  assert.throws(() => decodeAll(encodeBatch(full).concat(Buffer.from('{}'))), ProtocolError);
});

test('one over any bound is refused by its schema with a typed error', () => {
  const over = (n: number) => 'x'.repeat(n + 1);
  const hello = (over: Partial<Hello>): Message => ({
    type: 'HELLO',
    body: { agentId: 'a', version: '1', handlers: [], capacity: 1, running: [], groups: [], tags: [], shell: false, http: false, ...over },
  });
  const cases: Message[] = [
    { type: 'START', body: { execId: over(LIMITS.idChars), startedAt: 1 } },
    { type: 'START', body: { execId: '', startedAt: 1 } },
    { type: 'START', body: { execId: 'e', startedAt: -1 } },
    { type: 'START', body: { execId: 'e', startedAt: 1.5 } },
    { type: 'START', body: { execId: 'e', startedAt: Number.MAX_SAFE_INTEGER + 2 } },
    { type: 'PING', body: { nonce: over(LIMITS.nonceChars), sentAt: 1 } },
    { type: 'BYE', body: { reason: over(LIMITS.reasonChars) } },
    { type: 'OUTPUT', body: { execId: 'e', seq: 0, chunk: '' } },
    { type: 'OUTPUT', body: { execId: 'e', seq: LIMITS.outputSeqMax + 1, chunk: '' } },
    { type: 'OUTPUT', body: { execId: 'e', seq: 1, chunk: 'a'.repeat(LIMITS.outputChunkBytes + 1) } },
    { type: 'OUTPUT', body: { execId: 'e', seq: 1, chunk: '€'.repeat(Math.floor(LIMITS.outputChunkBytes / 3) + 1) } },
    {
      type: 'RESULT',
      body: {
        execId: 'e',
        status: 'failed',
        exitCode: 1,
        startedAt: 1,
        finishedAt: 2,
        outputTail: over(LIMITS.outputTailBytes),
        error: null,
      },
    },
    {
      type: 'RESULT',
      body: { execId: 'e', status: 'failed', exitCode: 1, startedAt: 1, finishedAt: 2, outputTail: '', error: over(LIMITS.errorChars) },
    },
    hello({ version: over(LIMITS.versionChars) }),
    hello({ capacity: LIMITS.capacity + 1 }),
    hello({ groups: Array<string>(LIMITS.labels + 1).fill('g') }),
  ];
  for (const msg of cases) {
    assert.throws(
      () => decode(encode(msg)),
      (err) => err instanceof ProtocolError && err.code === 'schema',
      JSON.stringify(msg).slice(0, 120),
    );
  }
  const big = [Buffer.from(PROTOCOL_VERSION), Buffer.from('BYE'), Buffer.alloc(MAX_BODY_BYTES + 1, 0x20)];
  assert.throws(
    () => decode(big),
    (err) => err instanceof ProtocolError && err.code === 'size',
  );
});

test('any byte strings as frames decode to valid messages or fail with a ProtocolError', () => {
  fc.assert(
    fc.property(fc.array(anyFrame, { maxLength: 8 }), (frames) => {
      decodeAllTyped(frames);
      decodeTyped(frames);
      assert.doesNotThrow(() => frames.forEach((f) => peekExecutionId(f)));
    }),
    { numRuns: RUNS * 4 },
  );
});

test('any header with a random body of any known type: a valid message or a ProtocolError', () => {
  const framesArb = fc.tuple(fc.constantFrom(...messageTypes), fc.array(jsonText, { minLength: 1, maxLength: 4 }));
  fc.assert(
    fc.property(framesArb, ([type, jsons]) => {
      decodeAllTyped([Buffer.from(PROTOCOL_VERSION), Buffer.from(type), ...jsons.map((j) => Buffer.from(j))]);
    }),
    { numRuns: RUNS * 4 },
  );
});

test('random and mutated frames of valid messages decode to valid messages or fail with a ProtocolError', () => {
  fc.assert(
    fc.property(wireGarbage, (frames) => {
      decodeAllTyped(frames);
      decodeTyped(frames);
    }),
    { numRuns: RUNS * 4 },
  );
});

test('a receive loop fed any frames hands on only valid messages and reports the rest as dropped, never throwing', () => {
  fc.assert(
    fc.property(fc.array(fc.array(anyFrame, { maxLength: 6 }), { maxLength: 20 }), (messages) => {
      const deliver = bodyDeliverer({ messages: 0, bodies: 0 });
      let handed = 0;
      for (const frames of messages) {
        assert.doesNotThrow(() =>
          deliver(frames, {
            dropped: (err) => assert.ok(err instanceof ProtocolError),
            message: (msg) => {
              assertValid(msg);
              handed++;
              // A throwing handler is reported, not thrown out of the loop.
              throw new Error('handler failure');
            },
            threw: (_msg, err) => assert.equal((err as Error).message, 'handler failure'),
          }),
        );
      }
      assert.ok(handed >= 0);
    }),
    { numRuns: RUNS },
  );
});
