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
 * Rendezvous (highest-random-weight) hashing with bounded loads: each partition, in index order,
 * goes to the member with the highest weight for it among those with room left, ties to the
 * smaller id; room is floor(count / N) partitions, and one more for the first count mod N
 * members that fill their floor and win again. Rendezvous hashing is Thaler &
 * Ravishankar, "Using Name-Based Mappings to Increase Hit Rates" (IEEE/ACM ToN 1998); the cap is
 * the bounded-loads rule of Mirrokni, Thorup & Zadimoghaddam, "Consistent Hashing with Bounded
 * Loads" (SODA 2018), at its tightest (no slack). Properties the scale-out design rests on
 * (docs/architecture.md, "Scale-out: partitions"; test/assign.test.ts checks each):
 * - deterministic: the owners depend only on the set of member ids and the count, not on
 *   their order, the process or the time, so every server computes the same map from the same
 *   ZooKeeper membership, with no coordinator;
 * - balance: every member holds floor(count/N) or ceil(count/N) partitions. Plain rendezvous
 *   gives binomial(count, 1/N) shares, whose largest at 10 members is 9% over the mean at 1,024
 *   partitions and needed 16,384 to stay within 10%; a hand-over costs ZooKeeper writes per
 *   partition moved (a dead server's 5,400 of 16,384 took 12-15 s to claim in the chaos run),
 *   so an exact share at 1,024 partitions is what lets the default be 1,024;
 * - little movement: a join or a leave moves about 1/N of the partitions; the cap moves a few
 *   more between the other members (worst of 200 random 10-member sets at 1,024: 12.4% on a
 *   join for the ideal 9.1%, 12.8% on a leave for 10%; bench/README, "Scale-out").
 * Cost: count × N weights (1,024 × 10 in well under a millisecond); a server computes it on each
 * change of the membership, not per job.
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
  // floor(P/N) each, and one more for the first P mod N members to reach floor(P/N) and win again.
  const floor = Math.floor(count / ids.length);
  let extra = count % ids.length;
  const load = new Uint32Array(ids.length);
  for (let p = 0; p < count; p++) {
    let best = -1;
    let bestWeight = -1;
    for (let i = 0; i < ids.length; i++) {
      const held = load[i] ?? 0;
      if (held > floor || (held === floor && extra === 0)) continue;
      const w = weight(seedA[i] ?? 0, seedB[i] ?? 0, p);
      // Strictly greater: on a tie the first, i.e. the smaller id, keeps it.
      if (w > bestWeight) {
        best = i;
        bestWeight = w;
      }
    }
    // N × floor + (P mod N) = P: some member always has room.
    if (load[best] === floor) extra--;
    load[best] = (load[best] ?? 0) + 1;
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
