import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimeSlice } from '../src/time-slice.js';

/** Busy for `ms` of this thread, as a step of real work is. */
const spin = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

test('a time slice yields to the event loop only once it is spent, and lets what waits run then', async () => {
  let immediates = 0;
  const tick = () => {
    immediates++;
    if (immediates < 1000) setImmediate(tick);
  };
  setImmediate(tick);
  // Short steps within one slice: no turn given up, so what waits on the loop has not run.
  const long = new TimeSlice(60_000);
  for (let i = 0; i < 5; i++) await long.yieldIfSpent();
  assert.equal(long.yields, 0);
  assert.equal(immediates, 0);
  // Steps of 8 ms or more (a busy machine makes them longer): a slice holds at most three of
  // them, so 10 steps give up 3 turns at the least; and the waiting callbacks run in each.
  const slice = new TimeSlice(20);
  for (let i = 0; i < 10; i++) {
    spin(8);
    await slice.yieldIfSpent();
  }
  assert.ok(slice.yields >= 3 && slice.yields <= 10, `yields ${slice.yields}`);
  assert.ok(immediates >= slice.yields, `immediates ${immediates}`);
});
