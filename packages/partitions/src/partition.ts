import { jobHash } from './hash.js';

/**
 * The number of partitions a cluster divides its jobs into unless configured otherwise: 16,384.
 * Rendezvous hashing gives each of N servers a binomial share of the partitions, so the largest
 * share exceeds the mean by about 1.5·sqrt((N-1)/P) at N = 10 (the expected maximum of ten
 * draws): +15% at 1,024 partitions, +7% at 4,096, +3.6% at 16,384. issue 17 asks for the largest
 * share within 10% of the mean; 16,384 keeps it there with margin (measured in
 * bench/partition-balance.bench.ts) while staying small for ZooKeeper: one small znode per
 * partition, about 1.5 MB in all, and about P/N claims by each server when a cluster starts.
 */
export const defaultPartitionCount = 16_384;

/** The most partitions a cluster may have: 2^16 (each is a znode and a hash range). */
export const maxPartitionCount = 65_536;

/**
 * Checks a partition count: a power of two from 1 to `maxPartitionCount`. A power of two so
 * that partition p is the hash range [p·2^32/P, (p+1)·2^32/P): the store answers "the jobs of
 * partition p" from its index on the job hash, and a count changed later (doubled, halved) needs
 * no job rewritten. Throws RangeError otherwise.
 */
export function assertPartitionCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > maxPartitionCount || (count & (count - 1)) !== 0) {
    throw new RangeError(`partition count must be a power of two from 1 to ${maxPartitionCount}, got ${count}`);
  }
}

/** The partition (0 ≤ p < count) of a 32-bit job hash: its top log2(count) bits. */
export function partitionOfHash(hash: number, count: number): number {
  assertPartitionCount(count);
  if (!Number.isInteger(hash) || hash < 0 || hash > 0xffffffff)
    throw new RangeError(`job hash must be a 32-bit unsigned integer, got ${hash}`);
  // Division rather than a shift: `>>>` by 32 (count 1) would be a shift by 0.
  return Math.floor(hash / (0x1_0000_0000 / count));
}

/**
 * The partition of a job: `partitionOfHash(jobHash(jobId), count)`. Stable: the same id gives
 * the same partition in every process and release, for as long as the count stays.
 * @param count a power of two (assertPartitionCount); default `defaultPartitionCount`.
 */
export function partitionOf(jobId: string, count = defaultPartitionCount): number {
  return partitionOfHash(jobHash(jobId), count);
}

/** The job hashes of partition p, as the half-open range [from, to) (to is at most 2^32). */
export function hashRange(partition: number, count: number): { from: number; to: number } {
  assertPartitionCount(count);
  if (!Number.isInteger(partition) || partition < 0 || partition >= count)
    throw new RangeError(`partition must be from 0 to ${count - 1}, got ${partition}`);
  const width = 0x1_0000_0000 / count;
  return { from: partition * width, to: (partition + 1) * width };
}

/**
 * The hash ranges of a set of partitions, adjacent ones merged and in ascending order: what a
 * server asks the store for to load its share (one indexed range scan per run of partitions).
 */
export function hashRanges(partitions: Iterable<number>, count: number): Array<{ from: number; to: number }> {
  const sorted = [...new Set(partitions)].sort((a, b) => a - b);
  const ranges: Array<{ from: number; to: number }> = [];
  for (const p of sorted) {
    const r = hashRange(p, count);
    const last = ranges.at(-1);
    if (last && last.to === r.from) last.to = r.to;
    else ranges.push(r);
  }
  return ranges;
}
