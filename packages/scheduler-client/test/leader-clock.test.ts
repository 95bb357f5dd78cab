import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderClock } from '../src/leader-clock.js';

// An EXEC's deadline is on the leader's clock: the time an execution gets must not depend on
// how far this host's clock is from the leader's (docs/architecture.md, "Clock trouble").

const tenMinutesMs = 600_000;

for (const [side, skewMs] of [
  ['ahead of', tenMinutesMs],
  ['behind', -tenMinutesMs],
  ['with', 0],
] as const) {
  test(`an agent ${side} its leader's clock${skewMs ? ' by ten minutes' : ''} gives an execution what is left of it on the leader's clock`, () => {
    const leaderNow = 1_800_000_000_000;
    let agentNow = leaderNow + skewMs;
    const clock = new LeaderClock(() => agentNow);
    // A first send, before any PING from this leader: the whole timeout.
    const fresh = { deadline: leaderNow + 5000, timeoutMs: 5000 };
    assert.equal(clock.timeLeftMs(fresh), 5000);
    // A PING, then an EXEC sent again two seconds after it was dispatched: three seconds left.
    clock.sampled(leaderNow);
    assert.equal(clock.offset, 0 - skewMs);
    agentNow += 2000;
    const resent = { deadline: leaderNow + 5000, timeoutMs: 5000 };
    assert.equal(clock.timeLeftMs(resent), 3000);
    agentNow += 4000;
    assert.equal(clock.timeLeftMs(resent), 0, 'past the deadline: none, never negative');
    // Another leader: its clock is its own; until its first PING, the EXEC's dispatch stands for it.
    clock.reset();
    assert.equal(clock.offset, null);
    assert.equal(clock.timeLeftMs({ deadline: 42_000, timeoutMs: 1000 }), 1000);
  });
}

test('PINGs that arrive late (held through a partition) do not make the leader seem behind: the offset is the sample that waited least', () => {
  // Issue 16's partition runs: PINGs held ten seconds in the connection made the agent think its
  // leader ten seconds behind; it ran past the leader's deadline, and the leader's retry ran beside it.
  const leaderNow = 1_800_000_000_000;
  let agentNow = leaderNow;
  const clock = new LeaderClock(() => agentNow);
  clock.sampled(leaderNow - 1);
  agentNow += 12_000;
  // Sent 2 s after the last, delivered 10 s late.
  clock.sampled(leaderNow + 2000);
  assert.equal(clock.offset, -1, 'the late sample does not count');
  assert.equal(clock.timeLeftMs({ deadline: agentNow + 3000, timeoutMs: 10_000 }), 3001);
  // A leader whose clock steps back is followed once the samples from before the step are gone.
  for (let i = 0; i < 8; i++) {
    agentNow += 2000;
    clock.sampled(agentNow - 60_000);
  }
  assert.equal(clock.offset, -60_000);
});
