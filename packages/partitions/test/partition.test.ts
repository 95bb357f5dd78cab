import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hashRange, hashRanges, jobHash, partitionOf, partitionOfHash } from '../src/index.js';

const counts = fc.integer({ min: 0, max: 16 }).map((k) => 2 ** k);

test("a job's partition is the range its hash falls in", () => {
  fc.assert(
    fc.property(fc.string(), counts, (id, count) => {
      const h = jobHash(id);
      const p = partitionOf(id, count);
      assert.ok(p >= 0 && p < count);
      const { from, to } = hashRange(p, count);
      assert.ok(from <= h && h < to);
      assert.equal(partitionOfHash(h, count), p);
    }),
  );
});

test('partition ranges tile the hash space, and merged ranges cover exactly the partitions asked', () => {
  fc.assert(
    fc.property(counts, fc.array(fc.nat()), (count, picks) => {
      const ps = new Set(picks.map((n) => n % count));
      const ranges = hashRanges(ps, count);
      const covered = new Set<number>();
      for (const r of ranges) for (let h = r.from; h < r.to; h += 0x1_0000_0000 / count) covered.add(partitionOfHash(h, count));
      assert.deepEqual(
        [...covered].sort((a, b) => a - b),
        [...ps].sort((a, b) => a - b),
      );
      for (let i = 1; i < ranges.length; i++) assert.ok((ranges[i - 1]?.to ?? 0) < (ranges[i]?.from ?? 0), 'adjacent ranges are merged');
    }),
  );
  assert.deepEqual(hashRange(0, 1), { from: 0, to: 0x1_0000_0000 });
});

test('the hash is pinned (a change would move every job of a running cluster) and spreads time-ordered ids', () => {
  assert.equal(jobHash('job_00mf1a2b3c0123456789ab'), jobHash('job_00mf1a2b3c0123456789ab'));
  assert.equal(jobHash(''), 0xe3b0c442);
  const buckets = new Array<number>(16).fill(0);
  for (let i = 0; i < 16_000; i++) {
    const p = partitionOf(`job_${(1_700_000_000_000 + i).toString(36)}000000000000`, 16);
    buckets[p] = (buckets[p] ?? 0) + 1;
  }
  // 1,000 expected in each; binomial sd ≈ 31.
  for (const b of buckets) assert.ok(Math.abs(b - 1000) < 200, `bucket of ${b}`);
});

test('bad partitions and hashes are refused', () => {
  assert.throws(() => partitionOfHash(-1, 16), RangeError);
  assert.throws(() => partitionOfHash(2 ** 32, 16), RangeError);
  assert.throws(() => hashRange(16, 16), RangeError);
  assert.throws(() => partitionOf('x', 6), RangeError);
});
