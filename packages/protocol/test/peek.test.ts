import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS, ProtocolError, decode, decodeAll, encode } from '../src/index.js';

const result = (error: string) =>
  encode({
    type: 'RESULT',
    body: { execId: 'job@1~2', status: 'failed', exitCode: 1, startedAt: 1, finishedAt: 2, outputTail: '', error },
  });

test("a RESULT dropped for its schema still names its execution and keeps the start of the agent's own error", () => {
  const { messages, dropped } = decodeAll(result(`Error: ${'e'.repeat(4993)}`));
  assert.equal(messages.length, 0);
  const err = dropped[0]!;
  assert.deepEqual([err.code, err.messageType, err.execId], ['schema', 'RESULT', 'job@1~2']);
  assert.ok(err.reportedError!.startsWith(`Error: ${'e'.repeat(100)}`), err.reportedError);
  assert.ok(err.reportedError!.length <= 1000, `reportedError bounded: ${err.reportedError!.length}`);
  assert.match(err.reportedError!, /…\[truncated \d+ chars\]$/);
});

test('reportedError: the error text whole when short, absent when the body has none; whole-message errors name nothing', () => {
  const bad = result('short').slice();
  const body = JSON.parse(bad[2]!.toString('utf8')) as Record<string, unknown>;
  body.exitCode = 'one';
  bad[2] = Buffer.from(JSON.stringify(body));
  assert.throws(
    () => decode(bad),
    (e: unknown) => e instanceof ProtocolError && e.execId === 'job@1~2' && e.reportedError === 'short',
  );
  const noError = decodeAll([bad[0]!, bad[1]!, Buffer.from(JSON.stringify({ execId: 'job@1~2' }))]).dropped[0]!;
  assert.deepEqual([noError.code, noError.execId, noError.reportedError], ['schema', 'job@1~2', undefined]);
  const notJson = decodeAll([bad[0]!, bad[1]!, Buffer.from('{"execId":')]).dropped[0]!;
  assert.deepEqual([notJson.code, notJson.execId, notJson.reportedError], ['json', undefined, undefined]);
  const e = new ProtocolError('version', 'bad version');
  assert.deepEqual([e.messageType, e.execId, e.reportedError], [undefined, undefined, undefined]);
  assert.equal(LIMITS.errorChars, 4096);
});
