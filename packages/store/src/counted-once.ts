import { failureStatuses, terminalStatuses, type JobRunState, type RunStatus } from '@clover/model';

const terminal = new Set<RunStatus>(terminalStatuses);
const failing = new Set<RunStatus>(failureStatuses);

/**
 * A final status's job state as it applies to a run whose status goes from `before` to `after`:
 * a run counts for its job's runs once, and for its failures once, and only while its final
 * status is one. Written again final (two leaders recording one RESULT), its run count does not
 * move; its failure count moves only if it turns from a success into a failure (+1) or from a
 * failure into a success (−1: a leader's `timed_out` after which the agent's own RESULT came,
 * issue 16's chaos run); what the state says of the job's last run still holds.
 */
export function countedOnce(state: JobRunState, before: RunStatus, after: RunStatus): JobRunState {
  if (!terminal.has(before)) return state;
  const rest = { ...state };
  delete rest.runCountDelta;
  const was = failing.has(before);
  const is = failing.has(after);
  if (was === is) delete rest.failureCountDelta;
  else rest.failureCountDelta = is ? 1 : -1;
  return rest;
}

/**
 * Whether a patch applies to a run now at `cur`. Final is final: only a retry (a higher attempt)
 * takes a run out of a final status, and only out of a failure (failed, timed_out, lost). A run
 * that succeeded, was skipped or was cancelled is never reopened: a leader that judged it lost
 * while another recorded its RESULT would run it once more (issue 16's chaos run).
 */
export function patchApplies(cur: { status: RunStatus; attempt: number }, patch: { status?: RunStatus; attempt?: number }): boolean {
  if (!terminal.has(cur.status) || patch.status === undefined || terminal.has(patch.status)) return true;
  return failing.has(cur.status) && (patch.attempt ?? 0) > cur.attempt;
}

/**
 * What a retry that reopens a counted failure takes off its job's counts, so that the run counts
 * once more only when its new attempt ends (null when `before` → `after` reopens nothing): the
 * job's counts stay those of its runs' final statuses (issue 16's chaos run: a failure recorded
 * by one leader, retried by another, counted twice).
 */
export function reopenedCounts(before: RunStatus, after: RunStatus): JobRunState | null {
  if (!terminal.has(before) || terminal.has(after)) return null;
  return { runCountDelta: -1, failureCountDelta: failing.has(before) ? -1 : 0 };
}
