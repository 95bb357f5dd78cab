import { test } from 'node:test';
import assert from 'node:assert/strict';
import { machineOf } from '../src/routes/machines.js';

// The machine list's share of a server (issue 17), from the dispatch-server's heartbeat data.
test('machineOf: a sharing server has its share and jobs; a single-leader server has jobs and no share; an agent neither', () => {
  const now = 10_000;
  const sharing = machineOf(
    'servers',
    'dispatch-1',
    { beatAt: 9_000, leader: true, jobs: 3333, shares: { partitions: 5461, of: 16384 } },
    now,
  );
  assert.deepEqual([sharing.jobs, sharing.share, sharing.leader, sharing.ageMs], [3333, { partitions: 5461, of: 16384 }, true, 1000]);
  const single = machineOf('servers', 'dispatch-2', { beatAt: 9_000, leader: false, jobs: 0 }, now);
  assert.deepEqual([single.jobs, single.share], [0, null]);
  const agent = machineOf('clients', 'agent-1', { beatAt: 9_000, jobs: 7, shares: { partitions: 1, of: 2 } }, now);
  assert.deepEqual([agent.jobs, agent.share], [null, null], "a server's alone");
  // A znode another tool wrote: no share from what is not one.
  for (const shares of [null, 'x', { partitions: '1', of: 2 }, { partitions: 1 }, [1, 2]])
    assert.equal(machineOf('servers', 'd', { shares }, now).share, null, JSON.stringify(shares));
});
