import { runId, type Job, type Run, type RunInput } from '@clover/model';
import { DuplicateRunError } from '@clover/store';
import type { AgentDirectory } from './agents.js';
import type { DispatchLogger } from './interfaces.js';
import type { Router } from './route.js';
import type { RunTracker } from './track.js';

export type Trigger = Run['trigger'];

export interface FireDeps {
  /** Writes one run row; the server batches these (StoreWriteBatch). */
  insertRun(input: RunInput): Promise<Run>;
  tracker: RunTracker;
  agents: AgentDirectory;
  router: Router;
  logger: DispatchLogger;
}

/**
 * One firing of a job: the run row is written first, under the slot's unique key, so a second
 * leader firing the same slot after a failover hits the key and stops there. Then the job's
 * concurrency policy, then dispatch.
 */
export async function fireJob(d: FireDeps, job: Job, slotMs: number, trigger: Trigger): Promise<Run[]> {
  const scheduledAt = new Date(slotMs);
  const active = d.tracker.activeRuns(job.id);
  if (active.length > 0 && job.concurrency === 'forbid') {
    await insertOnce(d, { id: runId(job.id, scheduledAt), jobId: job.id, scheduledAt, trigger, status: 'skipped', error: `skipped: ${active.length} run(s) of this job still running (concurrency forbid)` });
    return [];
  }
  const targets = job.routing === 'broadcast' ? d.router.order(job, d.agents.usable()).map((a) => a.id) : [null];
  const runs: Array<{ run: Run; order: string[] }> = [];
  for (const node of targets) {
    // Routed before it is written: the row goes in as dispatched to its first agent (the store
    // knows where before the EXEC leaves, in one write), or as scheduled when no agent is usable.
    const id = runId(job.id, scheduledAt, node ?? undefined);
    const order = d.tracker.route(job, id);
    const first = order[0];
    const run = await insertOnce(d, first
      ? { id, jobId: job.id, scheduledAt, trigger, status: 'dispatched', node: first, dispatchedAt: new Date(d.tracker.now()) }
      : { id, jobId: job.id, scheduledAt, trigger, status: 'scheduled' });
    if (run) runs.push({ run, order });
  }
  if (!runs.length) return [];
  if (active.length > 0 && job.concurrency === 'replace') for (const r of active) d.tracker.cancel(r, 'replaced');
  for (const { run, order } of runs) d.tracker.dispatch(job, run, order.length ? order : undefined, [], true);
  return runs.map((r) => r.run);
}

async function insertOnce(d: FireDeps, input: RunInput): Promise<Run | null> {
  try {
    return await d.insertRun(input);
  } catch (err) {
    if (err instanceof DuplicateRunError) {
      d.logger.debug('slot already fired', { runId: input.id });
      return null;
    }
    throw err;
  }
}
