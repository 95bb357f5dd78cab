import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SightProbe } from '../src/sight.js';

// The rule on its own, on a clock of the test's: the round trip is a promise the test answers.
function probeWith() {
  let now = 0;
  const out: string[] = [];
  const pending: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  const probe = new SightProbe({
    roundTrip: () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject })),
    monotonic: () => now,
    blindAfterMs: 1000,
    onBlind: () => out.push(`blind@${now}`),
    onSight: (at) => out.push(`sight@${at}`),
  });
  const flush = () => new Promise((r) => setImmediate(r));
  return { probe, out, pending, flush, at: (ms: number) => (now = ms) };
}

test('a probe answered in time changes nothing; one late past blindAfterMs makes the monitor blind once, until its answer', async () => {
  const { probe, out, pending, flush, at } = probeWith();
  probe.tick();
  assert.equal(pending.length, 1, 'a probe went out');
  at(400);
  pending[0]!.resolve();
  await flush();
  probe.tick();
  assert.equal(pending.length, 2, 'answered: the next one goes out');
  assert.deepEqual(out, []);
  // A 2-s stall (issue 16's ZooKeeper host cut): blind from 1 s into it until the answer.
  at(900);
  probe.tick();
  at(1500);
  probe.tick();
  assert.deepEqual(out, ['blind@1500']);
  at(2000);
  probe.tick();
  assert.equal(pending.length, 2, 'no second probe while one is out');
  assert.deepEqual(out, ['blind@1500'], 'blind once');
  at(2600);
  pending[1]!.resolve();
  await flush();
  assert.deepEqual(out, ['blind@1500', 'sight@2600'], 'silence counts from the answer');
});

test('a probe that fails (connection loss) is sent again at the next tick; the client state speaks for the loss', async () => {
  const { probe, out, pending, flush, at } = probeWith();
  probe.tick();
  pending[0]!.reject(new Error('connection loss'));
  await flush();
  at(300);
  probe.tick();
  assert.equal(pending.length, 2);
  assert.deepEqual(out, []);
});
