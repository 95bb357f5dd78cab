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

test('a member joining takes only partitions for itself, about 1/(N+1) of them', () => {
  fc.assert(
    fc.property(memberSet(2, 21), (all) => {
      const joiner = all[0] as string;
      const before = assign(all.slice(1), count);
      const after = assign(all, count);
      const moved = moves(before, after);
      for (const m of moved) assert.equal(m.to, joiner, `partition ${m.partition} moved to ${m.to}, not to the joiner`);
      assert.equal(moved.length, partitionsOf(after, joiner).length);
      // Binomial(count, 1/N): within 6 standard deviations of the mean (a failure would be a bug, not chance).
      const n = all.length;
      const mean = count / n;
      const sd = Math.sqrt((count * (n - 1)) / (n * n));
      assert.ok(Math.abs(moved.length - mean) <= 6 * sd, `${moved.length} moved, expected about ${mean.toFixed(0)}`);
    }),
  );
});

test('a member leaving gives up only its own partitions, about 1/N of them', () => {
  fc.assert(
    fc.property(memberSet(2, 21), fc.nat(), (all, pick) => {
      const leaver = all[pick % all.length] as string;
      const before = assign(all, count);
      const after = assign(
        all.filter((m) => m !== leaver),
        count,
      );
      const moved = moves(before, after);
      for (const m of moved) assert.equal(m.from, leaver, `partition ${m.partition} moved from ${m.from}, not from the leaver`);
      assert.equal(moved.length, partitionsOf(before, leaver).length);
      const n = all.length;
      const sd = Math.sqrt((count * (n - 1)) / (n * n));
      assert.ok(Math.abs(moved.length - count / n) <= 6 * sd);
    }),
  );
});

test('shares are balanced: ten members of 16,384 partitions, the largest within 10% of the mean', () => {
  fc.assert(
    fc.property(memberSet(10, 10), (members) => {
      const s = [...shares(assign(members, 16_384)).values()];
      assert.equal(
        s.reduce((a, b) => a + b, 0),
        16_384,
      );
      assert.ok(Math.max(...s) <= 1.1 * 1638.4, `largest share ${Math.max(...s)}`);
    }),
    // A fixed seed: with random members the largest share passes 10% about once in 10^4 sets
    // (4.3 standard deviations at 16,384 partitions), which would fail a CI run now and then.
    { numRuns: 30, seed: 17 },
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
