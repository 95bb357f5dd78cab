import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CleanupError, CleanupStack, cleanUp, runSteps, settleWithin, TimeoutError, within } from '../src/index.js';

const never = new Promise<never>(() => undefined);

test('within: the value when work settles first, a TimeoutError naming the wait when it does not', async () => {
  assert.equal(await within(Promise.resolve(7), 1000, 'seven'), 7);
  assert.equal(await within(() => 8, 1000, 'eight'), 8);
  await assert.rejects(
    within(
      () => {
        throw new Error('sync throw');
      },
      1000,
      'a throw',
    ),
    /sync throw/,
  );
  const err = await within(never, 20, 'an ACK from agent-1').catch((e: unknown) => e);
  assert.ok(err instanceof TimeoutError);
  assert.equal(err.message, 'timed out after 20 ms waiting for an ACK from agent-1');
  assert.equal(err.what, 'an ACK from agent-1');
});

test('settleWithin: settled for a fulfilled or rejected promise, timeout for one that never settles; never throws', async () => {
  assert.equal(await settleWithin(Promise.resolve(1), 1000), 'settled');
  assert.equal(await settleWithin(Promise.reject(new Error('x')), 1000), 'settled');
  assert.equal(await settleWithin(never, 20), 'timeout');
});

test('runSteps: a step that throws or hangs does not stop the next; the failures are named', async () => {
  const ran: string[] = [];
  const failed = await runSteps(
    [
      ['server', () => ran.push('server')],
      [
        'zookeeper',
        () => {
          ran.push('zookeeper');
          throw new Error('session gone');
        },
      ],
      ['logger', () => (ran.push('logger'), never)],
      ['store', () => Promise.resolve().then(() => void ran.push('store'))],
    ],
    { timeoutMs: 50 },
  );
  assert.deepEqual(ran, ['server', 'zookeeper', 'logger', 'store']);
  assert.deepEqual(
    failed.map((f) => f.name),
    ['zookeeper', 'logger'],
  );
  assert.ok(failed[1]?.error instanceof TimeoutError);
  const err = await cleanUp([['a', () => Promise.reject(new Error('boom'))]]).catch((e: unknown) => e);
  assert.ok(err instanceof CleanupError);
  assert.equal(err.message, 'clean-up failed in 1 step(s):\na: boom');
});

test('CleanupStack: newest first; a second close, concurrent or later, returns the same promise and runs nothing twice', async () => {
  const ran: string[] = [];
  let release!: () => void;
  const slow = new Promise<void>((r) => (release = r));
  const stack = new CleanupStack({ timeoutMs: 1000 });
  stack.push('store', () => ran.push('store'));
  stack.push('zookeeper', () => {
    throw new Error('already closed');
  });
  stack.push('server', async () => {
    ran.push('server');
    await slow;
  });
  const first = stack.close();
  const second = stack.close();
  assert.equal(first, second);
  let secondDone = false;
  void second.then(() => (secondDone = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(secondDone, false, 'the second close waits for the first');
  release();
  const failed = await second;
  assert.deepEqual(ran, ['server', 'store']);
  assert.deepEqual(
    failed.map((f) => f.name),
    ['zookeeper'],
  );
  assert.equal(await stack.close(), failed);
  assert.throws(() => stack.push('late', () => undefined), /already closing/);
});
