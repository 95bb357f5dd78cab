import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { truncateOutput } from '@clover/model';
import * as zmq from 'zeromq';
import { cleanUp, freePort, waitFor } from '@clover/testkit';
import {
  LIMITS,
  ProtocolError,
  RouterTransport,
  decode,
  encode,
  helloSchema,
  peekExecutionId,
  resultSchema,
  truncateField,
  type Message,
} from '../src/index.js';

const result = (over: Partial<Extract<Message, { type: 'RESULT' }>['body']> = {}): Message => ({
  type: 'RESULT',
  body: { execId: 'j@1', status: 'failed', exitCode: 1, startedAt: 1, finishedAt: 2, outputTail: '', error: null, ...over },
});

test('truncateField: a 4,097-char error becomes 4,096 chars that keep its start and say how much was cut', () => {
  const error = `E${'x'.repeat(4095)}Z`;
  assert.equal(error.length, 4097);
  const bounded = truncateField(error, LIMITS.errorChars);
  assert.equal(bounded.length, 4096);
  assert.ok(bounded.startsWith('Exxx'));
  assert.equal(bounded.slice(-30), `${'x'.repeat(9)}…[truncated 22 chars]`);
  assert.equal(bounded.length - '…[truncated 22 chars]'.length + 22, 4097, 'kept + cut = the whole');
  assert.equal(truncateField('short', LIMITS.errorChars), 'short', 'what fits is returned as is');
  assert.equal(truncateField('abcdef', 3), 'abc', 'a bound too small for the marker: a plain cut');
  // A surrogate pair at the cut is kept whole or dropped whole, never halved.
  const emoji = `${'a'.repeat(99)}😀${'b'.repeat(200)}`;
  const cut = truncateField(emoji, 120);
  assert.ok(cut.length <= 120);
  assert.ok(!/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(cut), 'no lone high surrogate');
});

test('property: for any string, the bounded error and output tail pass the RESULT schema', () => {
  const anyText = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 10_000 }),
    fc.string({ unit: 'grapheme', maxLength: 3000 }),
    fc.string({ maxLength: 20_000 }),
    fc.string({ unit: 'binary', minLength: 4000, maxLength: 9000 }),
  );
  fc.assert(
    fc.property(anyText, anyText, fc.integer({ min: 0, max: LIMITS.errorChars }), (error, output, max) => {
      const body = {
        execId: 'j@1',
        status: 'failed',
        exitCode: null,
        startedAt: 1,
        finishedAt: 2,
        outputTail: truncateOutput(output, LIMITS.outputTailBytes),
        error: truncateField(error, LIMITS.errorChars),
      };
      assert.ok(resultSchema.safeParse(body).success, `error of ${error.length} chars`);
      // Through the wire too: JSON and back keeps the bound (lone surrogates are escaped, not lost).
      assert.equal(
        (decode(encode({ type: 'RESULT', body: body as Extract<Message, { type: 'RESULT' }>['body'] })).body as { error: string }).error,
        body.error,
      );
      const small = truncateField(error, max);
      assert.ok(small.length <= max);
      assert.ok(error.startsWith(small) || small.includes('…[truncated '), 'a prefix, or a prefix and the marker');
    }),
    { numRuns: 500 },
  );
});

test('the schemas are built from LIMITS', () => {
  assert.equal(resultSchema.safeParse((result({ error: 'x'.repeat(LIMITS.errorChars) }) as { body: unknown }).body).success, true);
  assert.equal(resultSchema.safeParse((result({ error: 'x'.repeat(LIMITS.errorChars + 1) }) as { body: unknown }).body).success, false);
  assert.equal(
    resultSchema.safeParse((result({ outputTail: 'é'.repeat(LIMITS.outputTailBytes / 2) }) as { body: unknown }).body).success,
    true,
  );
  assert.equal(
    resultSchema.safeParse((result({ outputTail: `${'é'.repeat(LIMITS.outputTailBytes / 2)}x` }) as { body: unknown }).body).success,
    false,
  );
  const hello = {
    agentId: 'a',
    version: 'v'.repeat(LIMITS.versionChars),
    handlers: ['h'.repeat(LIMITS.nameChars)],
    capacity: LIMITS.capacity,
    running: [],
    groups: [],
    tags: [],
    shell: true,
    http: true,
  };
  assert.equal(helloSchema.safeParse(hello).success, true);
  assert.equal(helloSchema.safeParse({ ...hello, version: `${hello.version}v` }).success, false);
  assert.equal(helloSchema.safeParse({ ...hello, capacity: LIMITS.capacity + 1 }).success, false);
  assert.equal(helloSchema.safeParse({ ...hello, orphansKilled: ['j@1'] }).success, true);
});

test('peekExecutionId reads the exec id of a body that fails its schema, and nothing else', () => {
  const tooLong = JSON.stringify({ execId: 'job@2026-11-30T10:00:00.000Z', status: 'failed', error: 'x'.repeat(4097) });
  assert.equal(peekExecutionId(Buffer.from(tooLong)), 'job@2026-11-30T10:00:00.000Z');
  assert.equal(peekExecutionId(tooLong), 'job@2026-11-30T10:00:00.000Z');
  assert.equal(peekExecutionId({ execId: 'j@2' }), 'j@2');
  for (const bad of [
    '{"execId":',
    '"{\\"execId\\":\\"x\\"}"',
    '[1]',
    'null',
    '{"execId":""}',
    '{"execId":5}',
    JSON.stringify({ execId: 'x'.repeat(LIMITS.idChars + 1) }),
  ]) {
    assert.equal(peekExecutionId(Buffer.from(bad)), null, bad);
  }
  assert.equal(peekExecutionId(undefined), null);
  assert.throws(
    () => decode([Buffer.from('1'), Buffer.from('RESULT'), Buffer.from(tooLong)]),
    (e: unknown) =>
      e instanceof ProtocolError && e.code === 'schema' && e.messageType === 'RESULT' && e.execId === 'job@2026-11-30T10:00:00.000Z',
  );
});

const closers: Array<() => unknown> = [];
after(() => cleanUp(closers.map((c, i) => [`closer ${i}`, c] as const)));

test('the router hands a RESULT that failed validation, with the exec id it names, to onInvalid', async () => {
  const port = await freePort();
  const invalid: Array<[string, ProtocolError]> = [];
  const router = new RouterTransport({
    bind: `tcp://127.0.0.1:${port}`,
    onMessage: () => undefined,
    onInvalid: (peer, err) => {
      invalid.push([peer, err]);
      if (invalid.length === 1) throw new Error('a throwing hook is logged, never fatal');
    },
  });
  await router.start();
  closers.push(() => router.close());
  const raw = new zmq.Dealer({ routingId: 'agent-x', linger: 0, sendTimeout: 10_000 });
  closers.push(() => raw.close());
  raw.connect(`tcp://127.0.0.1:${port}`);
  const body = JSON.stringify({
    execId: 'job@1',
    status: 'failed',
    exitCode: 1,
    startedAt: 1,
    finishedAt: 2,
    outputTail: '',
    error: 'x'.repeat(4097),
  });
  await raw.send([Buffer.from('1'), Buffer.from('RESULT'), Buffer.from(body)]);
  await raw.send([Buffer.from('1'), Buffer.from('RESULT'), Buffer.from(body.replace('job@1', 'job@2'))]);
  await waitFor(() => invalid.length === 2, { message: 'two invalid RESULTs reported' });
  assert.deepEqual(
    invalid.map(([p, e]) => [p, e.code, e.messageType, e.execId]),
    [
      ['agent-x', 'schema', 'RESULT', 'job@1'],
      ['agent-x', 'schema', 'RESULT', 'job@2'],
    ],
  );
  assert.match(invalid[0]![1].message, /^RESULT body for job@1 does not match its schema: error: .*4096/);
  assert.equal(router.dropped.get('schema'), 2);
});
