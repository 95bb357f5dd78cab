import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Result } from '@clover/protocol';
import { RecentExecutions } from '../src/recent.js';
import { ExecAbort } from '../src/abort.js';

const result = (execId: string, finishedAt: number): Result => ({
  execId,
  status: 'succeeded',
  exitCode: 0,
  startedAt: finishedAt - 1,
  finishedAt,
  outputTail: '',
  error: null,
});

test('finished executions are kept up to the bound, oldest forgotten; running ones never', () => {
  const recent = new RecentExecutions(3);
  recent.set('long', { phase: 'running', abort: new ExecAbort() });
  for (let i = 0; i < 5; i++) recent.set(`e${i}`, { phase: 'finished', result: result(`e${i}`, i), finishedAt: i });
  assert.equal(recent.get('e0'), undefined);
  assert.equal(recent.get('e1'), undefined);
  assert.equal(recent.get('e4')?.phase, 'finished');
  assert.equal(recent.get('long')?.phase, 'running', 'a running execution outlives the bound');
  assert.equal(recent.runningCount, 1);
  assert.deepEqual(
    recent.finishedSince(3).map((r) => r.execId),
    ['e3', 'e4'],
  );
  recent.set('long', { phase: 'finished', result: result('long', 9), finishedAt: 9 });
  assert.equal(recent.runningCount, 0);
  assert.equal(recent.get('long')?.phase, 'finished');
  assert.equal(recent.get('e2'), undefined, 'finishing pushed the oldest out');
});

test('every execution finished within keepMs is remembered however many there were, up to max', () => {
  let now = 1_000_000;
  const recent = new RecentExecutions(3, 60_000, 8, () => now);
  for (let i = 0; i < 6; i++) recent.set(`b${i}`, { phase: 'finished', result: result(`b${i}`, now), finishedAt: now });
  assert.ok(
    [0, 1, 2, 3, 4, 5].every((i) => recent.get(`b${i}`)?.phase === 'finished'),
    'a burst beyond keep, all young: all kept',
  );
  for (let i = 6; i < 10; i++) recent.set(`b${i}`, { phase: 'finished', result: result(`b${i}`, now), finishedAt: now });
  assert.equal(recent.get('b1'), undefined, 'but never more than max');
  assert.equal(recent.get('b2')?.phase, 'finished');
  now += 61_000;
  recent.set('late', { phase: 'finished', result: result('late', now), finishedAt: now });
  assert.equal(recent.get('b6'), undefined, 'once old, only the newest keep stay');
  assert.deepEqual(
    ['b8', 'b9', 'late'].map((id) => recent.get(id)?.phase),
    ['finished', 'finished', 'finished'],
  );
});

test('an execution finished again counts from its latest finish; thousands forgotten in turn keep the bound', () => {
  const recent = new RecentExecutions(2);
  recent.set('a', { phase: 'finished', result: result('a', 1), finishedAt: 1 });
  recent.set('b', { phase: 'finished', result: result('b', 2), finishedAt: 2 });
  recent.set('a', { phase: 'finished', result: result('a', 3), finishedAt: 3 });
  recent.set('c', { phase: 'finished', result: result('c', 4), finishedAt: 4 });
  assert.deepEqual(
    ['a', 'b', 'c'].map((id) => recent.get(id)?.phase),
    ['finished', undefined, 'finished'],
    'b is the oldest now, not a',
  );
  for (let i = 0; i < 5000; i++) recent.set(`x${i}`, { phase: 'finished', result: result(`x${i}`, 10 + i), finishedAt: 10 + i });
  assert.deepEqual(
    ['x4998', 'x4999', 'x4997', 'c'].map((id) => recent.get(id)?.phase),
    ['finished', 'finished', undefined, undefined],
  );
  assert.deepEqual(
    recent.finishedSince(0).map((r) => r.execId),
    ['x4998', 'x4999'],
  );
});
