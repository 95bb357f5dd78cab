import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError, decodeAll, encode, peekDropped } from '../src/index.js';

const result = (error: string) => encode({ type: 'RESULT', body: { execId: 'job@1~2', status: 'failed', exitCode: 1, startedAt: 1, finishedAt: 2, outputTail: '', error } });

test('a RESULT dropped for its schema still says which execution it was about, and how its error began', () => {
  const { messages, dropped } = decodeAll(result('e'.repeat(5000)));
  assert.equal(messages.length, 0);
  assert.equal(dropped[0]!.code, 'schema');
  const peeked = peekDropped(dropped[0]!, 10);
  assert.deepEqual(peeked, { type: 'RESULT', execId: 'job@1~2', error: 'eeeeeeeeee' });
});

test('peekDropped: a body too large to parse is read for its id in its head; whole-message errors and non-JSON name nothing', () => {
  const frames = result('e'.repeat(2 * 1024 * 1024));
  const big = decodeAll(frames).dropped[0]!;
  assert.equal(big.code, 'size');
  assert.deepEqual(peekDropped(big), { type: 'RESULT', execId: 'job@1~2', error: null });
  const notJson = decodeAll([frames[0]!, frames[1]!, Buffer.from('{"execId":')]).dropped[0]!;
  assert.deepEqual(peekDropped(notJson), { type: 'RESULT', execId: null, error: null });
  assert.equal(peekDropped(new ProtocolError('version', 'bad version')), null);
});
