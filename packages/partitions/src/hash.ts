import { createHash } from 'node:crypto';

/**
 * A job id's 32-bit hash: the first four bytes of its SHA-256, big-endian, as an unsigned
 * integer (0 ≤ h < 2^32). SHA-256 because it is the same in every process, every Node version
 * and every language (a Python tool can compute it), and spreads ids that share a time-ordered
 * prefix (`newId`'s `job_<base36 ms>`) as evenly as random ones; about 1 µs a job, paid once
 * when the store writes the job (it keeps the hash in a column), never on the firing path.
 */
export function jobHash(jobId: string): number {
  return createHash('sha256').update(jobId, 'utf8').digest().readUInt32BE(0);
}

/**
 * MurmurHash3's 32-bit finalizer (fmix32, Appleby): a bijection on 32-bit integers in which
 * every input bit flips each output bit with probability about one half. Rendezvous weights
 * are built from it, so the weights of one partition under different members behave as
 * independent draws (what HRW's balance and minimal movement rest on).
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A member's two 32-bit seeds, from the SHA-256 of its id: its weights depend on its id alone. */
export function memberSeeds(memberId: string): [number, number] {
  const digest = createHash('sha256').update(memberId, 'utf8').digest();
  return [digest.readUInt32BE(0), digest.readUInt32BE(4)];
}
