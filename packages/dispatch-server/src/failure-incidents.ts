import { failureStatuses, type Job, type Run, type RunPatch, type RunStatus } from '@clover/model';
import type { Store } from '@clover/store';
import type { Clock } from './interfaces.js';

const failed = new Set<RunStatus>(failureStatuses);

/** How long the jobs known to have an open incident are trusted before the store is asked again. */
const reloadEveryMs = 10_000;

/**
 * One open `job_failed` incident per failing job, not one per failed run: a job failing every
 * second would otherwise bury the incident list. Its next success closes it, which the monitor
 * turns into one "succeeded again" mail.
 *
 * Every success has to know whether its job has an incident open, and asking the store each
 * time cost a leader recording thousands of runs a second ~5% of its CPU. So the jobs with one
 * open are kept here, read again from the store every 10 s: an incident opened elsewhere (a
 * retiring leader's last results) is closed by a success at most that much later. Failures,
 * which are few, still ask the store, the one source of truth.
 */
export class FailureIncidents {
  private openJobs = new Set<string>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | null = null;
  /** Jobs opened while a reload was reading, which its result must not drop. */
  private openedDuringLoad = new Set<string>();

  constructor(
    private readonly store: Pick<Store, 'incidents'>,
    private readonly clock: Clock,
  ) {}

  /**
   * `open`, when given, overrides whether this outcome opens an incident (a run that missed its
   * start deadline opens one only if its job asks: Job.incidentOnStartDeadline).
   */
  async record(job: Job, run: Run, status: RunStatus, details: RunPatch, at: Date, open?: boolean): Promise<void> {
    if (status === 'succeeded') return this.succeeded(job.id, at);
    if (!(open ?? failed.has(status))) return;
    const already = await this.store.incidents.findOpen('job_failed', job.id);
    this.markOpen(job.id);
    if (already) return;
    await this.store.incidents.open({
      kind: 'job_failed',
      subject: job.id,
      jobId: job.id,
      runId: run.id,
      openedAt: at,
      message: `job "${job.name}" ${status.replace('_', ' ')} on ${run.node ?? 'no agent'} after ${run.attempt} attempt(s): ${details.error ?? 'no error text'}`,
      details: {
        node: run.node,
        attempt: run.attempt,
        exitCode: details.exitCode ?? null,
        outputTail: (details.outputTail ?? '').slice(-2000),
      },
    });
  }

  private async succeeded(jobId: string, at: Date): Promise<void> {
    if (this.clock() - this.loadedAt >= reloadEveryMs) await (this.loading ??= this.reload());
    if (!this.openJobs.has(jobId)) return;
    this.openJobs.delete(jobId);
    const open = await this.store.incidents.findOpen('job_failed', jobId);
    if (open) await this.store.incidents.close(open.id, at);
  }

  private markOpen(jobId: string): void {
    this.openJobs.add(jobId);
    if (this.loading) this.openedDuringLoad.add(jobId);
  }

  private async reload(): Promise<void> {
    try {
      const jobs = new Set<string>();
      let cursor: string | null = null;
      do {
        const page = await this.store.incidents.list({ kind: 'job_failed', open: true, limit: 1000, cursor });
        for (const i of page.items) jobs.add(i.subject);
        cursor = page.nextCursor;
      } while (cursor);
      for (const id of this.openedDuringLoad) jobs.add(id);
      this.openJobs = jobs;
      this.loadedAt = this.clock();
    } finally {
      this.openedDuringLoad = new Set();
      this.loading = null;
    }
  }
}
