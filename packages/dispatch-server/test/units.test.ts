import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FireTimer, JobScheduler, LatenessMeter, Router, latestSlotBetween, type AgentInfo } from '../src/index.js';
import { readSettings, SettingError } from '@clover/config';
import { hashRanges, partitionOf } from '@clover/partitions';
import { dispatchSettings } from '../src/main.js';
import { RecentIds } from '../src/recent-ids.js';
import { jobIdOfRun, ShareTable } from '../src/shares.js';
import { AgentDirectory } from '../src/agents.js';
import { WaitingQueue } from '../src/waiting.js';
import { testJob } from './jobs.js';

const job = testJob;

const agent = (id: string, over: Partial<AgentInfo> = {}): AgentInfo => ({
  id,
  handlers: new Set(['h']),
  groups: new Set(),
  tags: new Set(),
  capacity: 4,
  startedAt: null,
  restartedSince: false,
  shell: true,
  http: true,
  inFlight: 0,
  runningForOthers: 0,
  full: false,
  lastHelloAt: 0,
  lastSeenAt: 0,
  lastHeardMs: 0,
  running: new Set(),
  sentSeq: 0,
  answeredSeq: 0,
  ping: null,
  ...over,
});

test('the timer fires keys in due order, once each, skipping re-armed and disarmed keys', async () => {
  const fired: string[] = [];
  const t = new FireTimer((k) => fired.push(k));
  const now = Date.now();
  t.arm('c', now + 30);
  t.arm('a', now + 10);
  t.arm('b', now + 20);
  t.arm('b', now + 40);
  t.arm('d', now + 15);
  t.disarm('d');
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(fired, ['a', 'c', 'b']);
  assert.equal(t.size, 0);
  t.stop();
});

test('routing strategies order the matching agents', () => {
  const agents = [
    agent('a1'),
    agent('a2', { groups: new Set(['g']) }),
    agent('a3', { tags: new Set(['gpu', 'x']), inFlight: 3 }),
    agent('a4', { handlers: new Set() }),
  ];
  const r = new Router(() => 0.99);
  assert.deepEqual(
    r.order(job({ routing: 'first' }), agents).map((a) => a.id),
    ['a1', 'a2', 'a3'],
  );
  const rr = job({ routing: 'round_robin' });
  assert.deepEqual(
    [0, 1, 2, 3].map(() => r.order(rr, agents)[0]!.id),
    ['a1', 'a2', 'a3', 'a1'],
  );
  assert.equal(r.order(job({ routing: 'random' }), agents)[0]!.id, 'a3');
  assert.deepEqual(
    r.order(job({ routing: 'least_busy' }), agents).map((a) => a.id),
    ['a1', 'a2', 'a3'],
  );
  assert.deepEqual(
    r.order(job({ target: { type: 'group', group: 'g' } }), agents).map((a) => a.id),
    ['a2'],
  );
  assert.deepEqual(
    r.order(job({ target: { type: 'tags', tags: ['gpu'] } }), agents).map((a) => a.id),
    ['a3'],
  );
  assert.deepEqual(r.order(job({ target: { type: 'node', nodeId: 'a4' } }), agents), [], 'a4 does not serve the handler');
  // Consistent hashing: the same agent for the same job, and removing another agent does not move it.
  const ch = job({ id: 'stable-job', routing: 'consistent_hash' });
  const owner = r.order(ch, agents)[0]!.id;
  assert.equal(r.order(ch, agents)[0]!.id, owner);
  assert.equal(
    r.order(
      ch,
      agents.filter((a) => a.id === owner || a.id === 'a4'),
    )[0]!.id,
    owner,
  );
});

test('misfire on taking over: fire_once fires the latest missed slot once, skip fires none', () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 10);
  const fired: Array<[string, number, string]> = [];
  const s = new JobScheduler(
    (j, at, trig) => fired.push([j.id, at, trig]),
    () => undefined,
    () => now,
  );
  s.load([
    job({ id: 'once-missed', misfire: 'fire_once', nextRunAt: new Date(now - 5000) }),
    job({ id: 'skip-missed', misfire: 'skip', nextRunAt: new Date(now - 5000) }),
    job({ id: 'on-time', misfire: 'fire_once', nextRunAt: new Date(now + 1000) }),
  ]);
  assert.deepEqual(fired, [['once-missed', now, 'misfire']]);
  assert.equal(s.size, 3);
  s.stop();
  assert.equal(latestSlotBetween(job(), now - 3000, now), now);
  assert.equal(latestSlotBetween(job({ window: { endAt: new Date(now - 2000) } }), now - 3000, now), now - 2000);
});

test('the lateness meter: percentiles of the last full minute and since start', () => {
  let now = 0;
  const m = new LatenessMeter(() => now);
  for (let i = 1; i <= 100; i++) m.record(i);
  assert.deepEqual(m.snapshot().lastMinute, { count: 100, p50: 50, p99: 99, max: 100 }, 'the minute running, before the first is over');
  now = 60_000;
  m.record(5000);
  const s = m.snapshot();
  assert.deepEqual(s.lastMinute, { count: 100, p50: 50, p99: 99, max: 100 }, 'the last full minute');
  assert.equal(s.sinceStart.count, 101);
  assert.equal(s.sinceStart.max, 5000);
  now = 300_000;
  assert.deepEqual(m.snapshot().lastMinute, { count: 0, p50: null, p99: null, max: null }, 'quiet minutes are empty');
});

test('recent ids: the last max added are known, the oldest forgotten first, a repeat added once', () => {
  const ids = new RecentIds(3);
  for (const id of ['a', 'b', 'a', 'c']) ids.add(id);
  assert.deepEqual(
    ['a', 'b', 'c'].map((id) => ids.has(id)),
    [true, true, true],
  );
  ids.add('d');
  assert.deepEqual(
    ['a', 'b', 'c', 'd'].map((id) => ids.has(id)),
    [false, true, true, true],
  );
  for (let i = 0; i < 10_000; i++) ids.add(`x${i}`);
  assert.equal(ids.size, 3);
  assert.deepEqual(
    ['x9997', 'x9998', 'x9999', 'x9996', 'd'].map((id) => ids.has(id)),
    [true, true, true, false, false],
  );
});

test('the agent directory holds reservations of capacity by run: moved, not doubled; released once', () => {
  const agents = new AgentDirectory(() => undefined);
  for (const id of ['a', 'b'])
    agents.hello(
      { agentId: id, version: '1', handlers: ['h'], capacity: 4, running: [], groups: [], tags: [], shell: true, http: true },
      0,
    );
  const inFlight = () => [agents.get('a')!.inFlight, agents.get('b')!.inFlight];
  agents.reserve('r1', 'a');
  agents.reserve('r2', 'a');
  assert.deepEqual(inFlight(), [2, 0]);
  agents.reserve('r1', 'b');
  assert.deepEqual(inFlight(), [1, 1], 'reserving a run again moves it');
  assert.equal(agents.reservedOn('r1'), 'b');
  agents.release('r1');
  agents.release('r1');
  assert.deepEqual(inFlight(), [1, 0], 'released once, however often asked');
  agents.reserve('r3', 'gone');
  assert.equal(agents.reservedOn('r3'), undefined, 'no reservation on an agent not known here');
  agents.release('r2');
  assert.deepEqual(inFlight(), [0, 0]);
});

test('the waiting queue: oldest slot first across lanes, a lane with no room passed over, bounded, removals forgotten', () => {
  const q = new WaitingQueue<string>(4);
  assert.ok(q.add('b-late', 'b', 3000));
  assert.ok(q.add('a-late', 'a', 2000));
  assert.ok(q.add('a-early', 'a', 1000));
  assert.ok(q.add('b-early', 'b', 1500));
  assert.equal(q.add('over', 'a', 500), false, 'full: the fifth is refused');
  assert.deepEqual([q.size, q.peak, q.oldestAt()], [4, 4, 1000]);
  // Lane a has room for one run, lane b for all.
  let roomA = 1;
  const placed: string[] = [];
  const n = q.drain((item) => {
    if (item.startsWith('a') && roomA-- <= 0) return null;
    return () => placed.push(item);
  });
  assert.equal(n, 3);
  assert.deepEqual(placed, ['a-early', 'b-early', 'b-late'], 'oldest first; lane a passed over once full');
  assert.ok(q.delete('a-late'));
  assert.deepEqual([q.size, q.busy('a'), q.oldestAt()], [0, false, undefined]);
  assert.equal(q.peak, 4, 'the peak stays');
  assert.ok(q.add('c', 'a', 10));
  assert.deepEqual([...q.values()], ['c']);
});

test('ShareTable: a job is owned under the term of the grant that brought its partition; lost and won back, under a new one', () => {
  const table = new ShareTable(4);
  const job = 'job_share';
  const p = partitionOf(job, 4);
  assert.equal(table.termOf(job), undefined);
  const first = table.acquire([{ partition: p, epoch: 1, incarnation: 5 }]);
  assert.equal(table.termOf(job), first);
  assert.deepEqual(table.grantOf(job), { partition: p, epoch: 1, incarnation: 5 });
  assert.ok(table.owns(job) && table.holdsPartition(p, first));
  assert.deepEqual(table.revoke([p, (p + 1) % 4]), [p], 'only what was owned is answered');
  assert.ok(!table.owns(job) && !table.holdsPartition(p, first));
  const second = table.acquire([{ partition: p, epoch: 3, incarnation: 5 }]);
  assert.notEqual(second, first, 'work begun under the first term does not go on under the second');
  assert.deepEqual(table.ranges([p]), hashRanges([p], 4));
  assert.equal(jobIdOfRun(`${job}@2026-01-01T00:00:00.000Z#node-1`), job);
});

test('the bin: CLOVER_DISPATCH_SHARES turns sharing on (off by default); CLOVER_PARTITIONS must be a power of two', () => {
  const base = { CLOVER_ZK: 'memory' };
  const off = readSettings(dispatchSettings, base);
  assert.deepEqual([off.shares, off.partitionCount], [false, 1_024]);
  const on = readSettings(dispatchSettings, { ...base, CLOVER_DISPATCH_SHARES: '1', CLOVER_PARTITIONS: '64' });
  assert.deepEqual([on.shares, on.partitionCount], [true, 64]);
  assert.throws(() => readSettings(dispatchSettings, { ...base, CLOVER_PARTITIONS: '100' }), SettingError);
  assert.throws(() => readSettings(dispatchSettings, { ...base, CLOVER_PARTITIONS: '131072' }), SettingError);
});
