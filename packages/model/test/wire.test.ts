import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { utf8Length } from '../src/bytes.js';
import { ApiError, runStatusSchema, runStatuses, type Run, type Wire } from '../src/index.js';

test('utf8Length counts as Buffer.byteLength does, lone surrogates included', () => {
  const lone = fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF');
  const text = fc.array(fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), lone)).map((parts) => parts.join(''));
  fc.assert(fc.property(text, (s) => utf8Length(s) === Buffer.byteLength(s, 'utf8')));
  for (const s of ['', 'a', 'é', '€', '😀', '\uD83D', 'x\uDE00', '\uDE00\uD83D'])
    assert.equal(utf8Length(s), Buffer.byteLength(s, 'utf8'), s);
});

test('the schemas are built from the zod-free value lists', () => {
  assert.deepEqual(runStatusSchema.options, [...runStatuses]);
});

test('ApiError.fromAnswer reads the API error body, and falls back for any other answer', () => {
  const e = ApiError.fromAnswer(400, 'Bad Request', { error: 'validation_failed', message: 'bad', fields: { name: 'empty' } });
  assert.deepEqual(
    [e.status, e.code, e.message, e.fields, e.retryAfterSec, e.field('name')],
    [400, 'validation_failed', 'bad', { name: 'empty' }, null, 'empty'],
  );
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'ApiError');

  const proxy = ApiError.fromAnswer(502, 'Bad Gateway', undefined);
  assert.deepEqual([proxy.code, proxy.message, proxy.fields], ['http_502', '502 Bad Gateway', {}]);
  assert.equal(ApiError.fromAnswer(429, 'Too Many Requests', {}, '30').retryAfterSec, 30);
  assert.equal(ApiError.fromAnswer(429, 'Too Many Requests', {}, 'soon').retryAfterSec, null);
  assert.deepEqual(ApiError.fromAnswer(400, '', { fields: { a: 1 } }).fields, {}, 'fields that are not text are not the API’s');
});

test('Wire<T> is the JSON form: dates as ISO strings, however deep', () => {
  const run = { scheduledAt: new Date(0), finishedAt: null, node: 'a', attempt: 1 } as const satisfies Partial<Run>;
  const wire: Wire<typeof run> = JSON.parse(JSON.stringify(run)) as Wire<typeof run>;
  const at: string = wire.scheduledAt;
  assert.equal(at, '1970-01-01T00:00:00.000Z');
  const nested: Wire<{ a: Array<{ at: Date | null }>; b?: Date }> = { a: [{ at: 'x' }, { at: null }] };
  assert.equal(nested.a.length, 2);
});
