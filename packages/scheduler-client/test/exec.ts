import type { Exec } from '@clover/protocol';

let seq = 0;

/**
 * An EXEC of `kind` as a leader sends one: job `jobId`, execution id `<jobId>@<n>` (new each call),
 * due `timeoutMs` from now; `over` replaces any field.
 */
export function execOf(jobId: string, kind: Exec['kind'], over: Partial<Exec> = {}, timeoutMs = 10_000): Exec {
  const now = Date.now();
  return {
    execId: `${jobId}@${++seq}`,
    jobId,
    jobName: jobId,
    attempt: 1,
    kind,
    payload: {},
    timeoutMs,
    deadline: now + timeoutMs,
    scheduledAt: now,
    ...over,
  };
}
