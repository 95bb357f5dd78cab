import { partitionOf } from '@clover/partitions';
import type { PartitionFence, PartitionToken } from './interfaces.js';

/**
 * Whether a run write of leader term `term` may change a run that term `held` wrote last: the
 * fencing-token rule (Kleppmann, "How to do distributed locking"): a token lower than one the
 * store has seen for that run is refused. `term` undefined is a write outside any leader (an
 * import, a test), never fenced; `held` null is a run no leader has stamped.
 */
export function termAdmits(term: number | undefined, held: number | null | undefined): boolean {
  return term === undefined || held === null || held === undefined || held <= term;
}

/** Whether partition token `a` is below `b`: (incarnation, epoch) compared in that order. */
export function tokenBelow(a: Omit<PartitionToken, 'partition'>, b: Omit<PartitionToken, 'partition'>): boolean {
  return a.incarnation < b.incarnation || (a.incarnation === b.incarnation && a.epoch < b.epoch);
}

/**
 * Which jobs' writes a batch's partition tokens do not admit (`RunWrites.partitions`): those of
 * a partition whose token is below its fence, as `fences` (the store's, by partition) say. Null
 * when none is refused, so a writer pays nothing more in the common case.
 */
export function partitionRefusals(
  fence: PartitionFence | undefined,
  fences: ReadonlyMap<number, Omit<PartitionToken, 'partition'>>,
): ((jobId: string) => boolean) | null {
  if (!fence) return null;
  const refused = new Set<number>();
  for (const t of fence.tokens) {
    const f = fences.get(t.partition);
    if (f && tokenBelow(t, f)) refused.add(t.partition);
  }
  if (!refused.size) return null;
  return (jobId) => refused.has(partitionOf(jobId, fence.count));
}
