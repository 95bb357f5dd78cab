import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeKind, NodeRecord } from '@clover/zk-kit';
import { DeathDetector } from '../src/detect.js';

const deadTimeoutMs: Record<NodeKind, number> = { servers: 4000, clients: 4000, monitors: 4000 };
const stat = { version: 0, cversion: 0, ctime: 0, mtime: 0, ephemeralOwner: '1', numChildren: 0, dataLength: 0 };
const beat = (seq: number): NodeRecord[] => [
  { kind: 'servers', id: 'dispatch-1', path: '/clover/nodes/servers/dispatch-1', data: { seq }, stat },
];

// Issue 16's partition runs: ZooKeeper's host cut off for 2 s, the monitor with it; back, the
// monitor called a server dead after 4.06 s of silence, 130 ms before its next beat arrived.
test('no node is silent while the monitor cannot see ZooKeeper, and silence counts from when it sees again', () => {
  const d = new DeathDetector();
  d.update('servers', beat(1), 0);
  d.lostSight();
  assert.deepEqual(d.check(10_000, deadTimeoutMs), [], 'blind: nobody judged');
  d.regainedSight(10_000);
  assert.deepEqual(d.check(13_000, deadTimeoutMs), [], 'back 3 s ago, no beat yet: not dead');
  d.update('servers', beat(2), 13_100);
  assert.deepEqual(d.check(17_000, deadTimeoutMs), []);
  const dead = d.check(17_200, deadTimeoutMs);
  assert.deepEqual(
    dead.map((x) => [x.type, x.type === 'dead' && x.reason, x.type === 'dead' && x.silentForMs]),
    [['dead', 'silent', 4100]],
    'silent for the dead timeout after its last beat',
  );
});

test('a node silent for the dead timeout while the monitor sees ZooKeeper is dead', () => {
  const d = new DeathDetector();
  d.update('servers', beat(1), 0);
  d.lostSight();
  d.regainedSight(100);
  assert.equal(d.check(4200, deadTimeoutMs).length, 1);
});
