import { runId, type Job, type Run } from '@clover/model';
import { DuplicateRunError, type Store } from '@clover/store';
import type { AgentDirectory } from './agents.js';
import type { DispatchLogger } from './interfaces.js';
import type { Router } from './route.js';
import type { RunTracker } from './track.js';

export type Trigger = Run['trigger'];

export interface FireDeps {
  store: Store;
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
  const runs: Run[] = [];
  for (const node of targets) {
    const run = await insertOnce(d, { id: runId(job.id, scheduledAt, node ?? undefined), jobId: job.id, scheduledAt, trigger, status: 'scheduled' });
    if (run) runs.push(run);
  }
  if (!runs.length) return [];
  if (active.length > 0 && job.concurrency === 'replace') for (const r of active) d.tracker.cancel(r, 'replaced');
  // A broadcast run goes to its own agent only (the tracker reads it from the run id).
  for (const run of runs) d.tracker.dispatch(job, run);
  return runs;
}

async function insertOnce(d: FireDeps, input: Parameters<Store['runs']['insert']>[0]): Promise<Run | null> {
  try {
    return await d.store.runs.insert(input);
  } catch (err) {
    if (err instanceof DuplicateRunError) {
      d.logger.debug('slot already fired', { runId: input.id });
      return null;
    }
    throw err;
  }
}
