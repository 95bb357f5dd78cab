import type { JobRunState } from '@clover/model';

/**
 * A job's run state as an in-place update of its document (`$set` the given fields, `$inc` the
 * counts), where `writeJob` keeps them (dates as ISO text, like the rest of `doc`): in place,
 * because a read-modify-replace would undo an edit made in between, bring back a job deleted in
 * between, and lose the increments of two writers at once. Null when the state changes nothing.
 */
export function jobStateUpdate(s: JobRunState): { $set?: Record<string, unknown>; $inc?: Record<string, number> } | null {
  const $set: Record<string, unknown> = {};
  const $inc: Record<string, number> = {};
  if (s.lastRunAt !== undefined) $set['doc.lastRunAt'] = s.lastRunAt ? new Date(s.lastRunAt).toISOString() : null;
  if (s.lastStatus !== undefined) $set['doc.lastStatus'] = s.lastStatus;
  if (s.nextRunAt !== undefined) $set['doc.nextRunAt'] = s.nextRunAt ? new Date(s.nextRunAt).toISOString() : null;
  if (s.runCountDelta) $inc['doc.runCount'] = s.runCountDelta;
  if (s.failureCountDelta) $inc['doc.failureCount'] = s.failureCountDelta;
  const update = { ...(Object.keys($set).length ? { $set } : {}), ...(Object.keys($inc).length ? { $inc } : {}) };
  return Object.keys(update).length ? update : null;
}
