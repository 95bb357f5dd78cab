import type { JobRunState } from '@clover/model';

/**
 * A final status's job state as it applies to a run that was final already: what it says of the
 * job's last run still holds, its counts do not (a run's outcome counts once).
 */
export function countedOnce(state: JobRunState, wasFinal: boolean): JobRunState {
  if (!wasFinal) return state;
  const rest = { ...state };
  delete rest.runCountDelta;
  delete rest.failureCountDelta;
  return rest;
}
