import { jobHash } from './hash.js';

/**
 * The number of partitions a cluster divides its jobs into unless configured otherwise: 1,024.
 * The assignment gives each of N servers floor or ceil(P/N) partitions (assign: rendezvous with
 * bounded loads), so the shares of jobs differ by the jobs per partition alone: at 1,000,000 jobs
 * about 977 ± 31 each, a server's share within 1% of the mean at 10 servers
 * (bench/partition-balance.bench.ts). Fewer partitions make hand-overs quicker: each moved
 * partition is a few ZooKeeper round trips and a write, and a server that dies leaves P/N of them
 * to claim (at 16,384, the earlier default that plain rendezvous needed for balance, a dead
 * server's 5,400 took 12-15 s in the chaos run, past the session + 1 s issue 17 allows).
 */
export const defaultPartitionCount = 1_024;

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
