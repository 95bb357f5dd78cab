import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { assign, moves, partitionsOf, shares } from '../src/index.js';

/** Small counts keep a run quick; the properties do not depend on the count. */
const count = 1024;
const memberId = fc.string({ minLength: 1, maxLength: 24 });
const memberSet = (min: number, max: number) => fc.uniqueArray(memberId, { minLength: min, maxLength: max });

test('every partition has exactly one owner, and it is a member', () => {
  fc.assert(
    fc.property(memberSet(1, 30), (members) => {
      const a = assign(members, count);
      assert.equal(a.owners.length, count);
      const set = new Set(members);
      for (const owner of a.owners) assert.ok(set.has(owner), `${owner} is not a member`);
      // Each partition is in exactly one member's list.
      const seen = new Array<number>(count).fill(0);
      for (const m of members) for (const p of partitionsOf(a, m)) seen[p] = (seen[p] ?? 0) + 1;
      assert.ok(seen.every((n) => n === 1));
    }),
  );
});

test('no members: no owners; the count must be a power of two', () => {
  assert.deepEqual(assign([], count).owners, []);
  for (const bad of [0, 3, 1000, 131_072, 1.5]) assert.throws(() => assign(['a'], bad), RangeError);
});

test('the order of the members and repeated ids do not change the assignment', () => {
  fc.assert(
    fc.property(
      memberSet(1, 20).chain((members) => fc.tuple(fc.constant(members), fc.shuffledSubarray(members, { minLength: members.length }))),
      ([members, shuffled]) => {
        assert.deepEqual(assign([...shuffled, ...shuffled], count).owners, assign(members, count).owners);
      },
    ),
  );
});

/**
 * Bounded-load rendezvous moves about 1/N of the partitions on a join or a leave, plus a few
 * between other members as the cap shifts; at most twice the ideal here (the worst of 200 random
 * sets of 3 to 21 members at 1,024 was 1.76 times; at 10 members, 1.35), and never fewer than
 * the joiner must take or the leaver must give up.
 */
const movedBound = (ideal: number) => 2 * ideal;

test('a member joining takes its exact share, and about 1/(N+1) of the partitions move', () => {
  fc.assert(
    fc.property(memberSet(2, 21), (all) => {
      const joiner = all[0] as string;
      const before = assign(all.slice(1), count);
      const after = assign(all, count);
      const moved = moves(before, after);
      const ideal = count / all.length;
      const taken = partitionsOf(after, joiner).length;
      assert.ok(taken === Math.floor(ideal) || taken === Math.ceil(ideal), `the joiner holds ${taken}, not about ${ideal.toFixed(1)}`);
      assert.equal(moved.filter((m) => m.to === joiner).length, taken, 'every partition of the joiner moved to it');
      assert.ok(moved.length <= movedBound(ideal), `${moved.length} moved, ideal ${ideal.toFixed(0)}`);
    }),
  );
});

test('a member leaving gives up all its partitions, and about 1/N of the partitions move', () => {
  fc.assert(
    fc.property(memberSet(2, 21), fc.nat(), (all, pick) => {
      const leaver = all[pick % all.length] as string;
      const before = assign(all, count);
      const after = assign(
        all.filter((m) => m !== leaver),
        count,
      );
      const moved = moves(before, after);
      assert.equal(moved.filter((m) => m.from === leaver).length, partitionsOf(before, leaver).length);
      assert.ok(moved.length <= movedBound(count / all.length), `${moved.length} moved, ideal ${(count / all.length).toFixed(0)}`);
    }),
  );
});

test('shares are exact: every member holds floor or ceil(P/N) partitions, at any count', () => {
  fc.assert(
    fc.property(memberSet(1, 30), fc.constantFrom(1, 2, 64, 1024, 16_384), (members, p) => {
      const s = [...shares(assign(members, p)).values()];
      assert.equal(
        s.reduce((a, b) => a + b, 0),
        p,
      );
      assert.ok(Math.max(...s) <= Math.ceil(p / members.length) && Math.min(...s) >= Math.floor(p / members.length), JSON.stringify(s));
    }),
    { numRuns: 60 },
  );
});

test('ten members of the default 1,024: a join and a leave each move at most 15% (issue 17)', () => {
  fc.assert(
    fc.property(memberSet(11, 11), (all) => {
      const ten = all.slice(1);
      const base = assign(ten, 1024);
      assert.ok(moves(base, assign(all, 1024)).length <= 0.15 * 1024);
      assert.ok(moves(base, assign(ten.slice(1), 1024)).length <= 0.15 * 1024);
    }),
    // Measured worst of 200 random sets: 12.4% (join), 12.8% (leave); a fixed seed keeps CI's draw the same.
    { numRuns: 50, seed: 17 },
  );
});

test('the same members give the same owners in another process', () => {
  const members = ['dispatch-1', 'dispatch-2', 'dispatch-3', 'zürich', 'a/b'];
  const here = assign(members, count).owners.join(',');
  // A fresh Node process (another heap, another hash seed for its Maps and strings) agrees.
  const script = `import { assign } from './src/index.ts'; process.stdout.write(assign(${JSON.stringify(members)}, ${count}).owners.join(','));`;
  const there = execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
  });
  assert.equal(there, here);
  // And the values are pinned: a change to the hash would move every job of a running cluster.
  assert.deepEqual(assign(members, count).owners.slice(0, 8), [
    'a/b',
    'dispatch-2',
    'a/b',
    'a/b',
    'dispatch-1',
    'zürich',
    'dispatch-3',
    'dispatch-1',
  ]);
});
