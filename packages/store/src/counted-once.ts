import { failureStatuses, terminalStatuses, type JobRunState, type RunStatus } from '@clover/model';

const terminal = new Set<RunStatus>(terminalStatuses);
const failing = new Set<RunStatus>(failureStatuses);

/**
 * A final status's job state as it applies to a run whose status was `before`: a run counts for
 * its job's runs once, and for its failures once. Written again final (two leaders recording one
 * RESULT), its run count does not move, and its failure count moves only if it was not a failure
 * already; what the state says of the job's last run still holds.
 */
export function countedOnce(state: JobRunState, before: RunStatus): JobRunState {
  if (!terminal.has(before)) return state;
  const rest = { ...state };
  delete rest.runCountDelta;
  if (failing.has(before)) delete rest.failureCountDelta;
  return rest;
}
