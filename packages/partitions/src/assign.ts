import { fmix32, memberSeeds } from './hash.js';
import { assertPartitionCount } from './partition.js';

/** Which member owns each partition: `owners[p]` is the id of partition p's owner. */
export interface Assignment {
  /** The number of partitions (a power of two). */
  readonly count: number;
  /** The members it was computed over, deduplicated and sorted. */
  readonly members: readonly string[];
  /** `owners[p]`: the member that owns partition p; empty when there are no members. */
  readonly owners: readonly string[];
}

/** One partition changing hands between two assignments. */
export interface Move {
  partition: number;
  /** The owner before (null: there was none, the cluster had no member). */
  from: string | null;
  /** The owner after (null: none is left). */
  to: string | null;
}

/**
 * A member's rendezvous weight for a partition: a 32-bit pseudo-random number that depends on
 * the member's id and the partition alone (so every process computes the same one). Two rounds
 * of fmix32 keyed by the member's two seeds.
 */
function weight(seedA: number, seedB: number, partition: number): number {
  return fmix32(fmix32((partition ^ seedA) >>> 0) ^ seedB);
}

/**
 * Rendezvous, or highest-random-weight, hashing (Thaler & Ravishankar, "Using Name-Based
 * Mappings to Increase Hit Rates", IEEE/ACM ToN 1998): each partition goes to the member with
 * the highest weight for it, ties to the smaller id. Properties the scale-out design rests on
 * (docs/architecture.md, "Scale-out: partitions"; test/assign.test.ts checks each):
 * - deterministic: the owners depend only on the set of member ids and the count, not on
 *   their order, the process or the time, so every server computes the same map from the same
 *   ZooKeeper membership, with no coordinator;
 * - minimal movement: when a member joins, only partitions it now wins move, each to it; when
 *   one leaves, only its own partitions move, each to the member that was second for it; about
 *   1/N of the partitions either way;
 * - balance: each member's share is binomial(count, 1/N).
 * Cost: count × N weights (16,384 × 10 in about 5 ms); a server computes it on each change
 * of the membership, not per job.
 * @param members member ids (the dispatch-servers' configured ids); duplicates count once.
 * @param count the number of partitions, a power of two (assertPartitionCount; RangeError else).
 */
export function assign(members: Iterable<string>, count: number): Assignment {
  assertPartitionCount(count);
  const ids = [...new Set(members)].sort();
  const owners: string[] = [];
  if (ids.length === 0) return { count, members: ids, owners };
  const seedA = new Uint32Array(ids.length);
  const seedB = new Uint32Array(ids.length);
  ids.forEach((id, i) => ([seedA[i], seedB[i]] = memberSeeds(id)));
  for (let p = 0; p < count; p++) {
    let best = 0;
    let bestWeight = -1;
    for (let i = 0; i < ids.length; i++) {
      const w = weight(seedA[i] ?? 0, seedB[i] ?? 0, p);
      // Strictly greater: on a tie the first, i.e. the smaller id, keeps it.
      if (w > bestWeight) {
        best = i;
        bestWeight = w;
      }
    }
    owners.push(ids[best] as string);
  }
  return { count, members: ids, owners };
}

/** The partitions a member owns in an assignment, ascending (empty for a non-member). */
export function partitionsOf(assignment: Assignment, member: string): number[] {
  const mine: number[] = [];
  assignment.owners.forEach((owner, p) => owner === member && mine.push(p));
  return mine;
}

/** How many partitions each member owns (members with none included, at 0). */
export function shares(assignment: Assignment): Map<string, number> {
  const counts = new Map<string, number>(assignment.members.map((m) => [m, 0]));
  for (const owner of assignment.owners) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return counts;
}

/**
 * The partitions whose owner differs between two assignments of the same count, ascending.
 * Throws RangeError when the counts differ (a count change is a migration, not a move).
 */
export function moves(before: Assignment, after: Assignment): Move[] {
  if (before.count !== after.count) throw new RangeError(`cannot compare assignments of ${before.count} and ${after.count} partitions`);
  const out: Move[] = [];
  for (let p = 0; p < after.count; p++) {
    const from = before.owners[p] ?? null;
    const to = after.owners[p] ?? null;
    if (from !== to) out.push({ partition: p, from, to });
  }
  return out;
}
