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
