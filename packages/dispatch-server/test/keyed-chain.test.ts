import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedChain } from '../src/keyed-chain.js';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};
const turn = () => new Promise((r) => setImmediate(r));

test('runUnless: with nothing going under the key the task runs at once, and giveUp is never asked', async () => {
  const chain = new KeyedChain();
  let asked = 0;
  const got = await chain.runUnless(
    'k',
    () => Promise.resolve('task'),
    () => {
      asked++;
      return new Promise(() => undefined);
    },
    () => Promise.resolve('instead'),
  );
  assert.equal(got, 'task');
  assert.equal(asked, 0);
});

/** Task 'a' going under 'k' until `first.resolve()`, then `b` given, then a task 'c'. */
function lineUp(b: (chain: KeyedChain, order: string[]) => Promise<string>) {
  const chain = new KeyedChain();
  const order: string[] = [];
  const first = deferred();
  const a = chain.run('k', async () => {
    await first.promise;
    order.push('a');
  });
  const second = b(chain, order);
  const c = chain.run('k', () => {
    order.push('c');
    return Promise.resolve();
  });
  return { order, first, a, b: second, c };
}

test('runUnless: given up while the task before is still going, runs instead at once; the next waits for the one before only', async () => {
  const giveUp = deferred();
  const { order, first, a, b, c } = lineUp((chain, order) =>
    chain.runUnless(
      'k',
      () => {
        order.push('b task');
        return Promise.resolve('task');
      },
      () => giveUp.promise,
      () => {
        order.push('b instead');
        return Promise.resolve('instead');
      },
    ),
  );
  await turn();
  assert.deepEqual(order, []);
  giveUp.resolve();
  assert.equal(await b, 'instead');
  assert.deepEqual(order, ['b instead'], 'not waiting for a');
  await turn();
  assert.deepEqual(order, ['b instead'], 'c still waits for a');
  first.resolve();
  await Promise.all([a, c]);
  assert.deepEqual(order, ['b instead', 'a', 'c']);
});

test('runUnless: the task before ends first: the task runs in its turn, and the next waits for it', async () => {
  const giveUp = deferred();
  const slow = deferred();
  const { order, first, a, b, c } = lineUp((chain, order) =>
    chain.runUnless(
      'k',
      async () => {
        await slow.promise;
        order.push('b task');
        return 'task';
      },
      () => giveUp.promise,
      () => Promise.resolve('instead'),
    ),
  );
  first.resolve();
  await a;
  // Giving up now, once the task has begun, changes nothing.
  giveUp.resolve();
  await turn();
  assert.deepEqual(order, ['a']);
  slow.resolve();
  assert.equal(await b, 'task');
  await c;
  assert.deepEqual(order, ['a', 'b task', 'c']);
});
