import { nextFireTimeInWindow, type Job } from '@clover/model';
import type { Clock } from './interfaces.js';
import { FireTimer } from './timer.js';

export type FireTrigger = 'schedule' | 'misfire';

/** The first slot strictly after `afterMs` inside the job's window, or null. */
export function nextSlot(job: Job, afterMs: number): number | null {
  return nextFireTimeInWindow(job.schedule, job.window, new Date(afterMs))?.getTime() ?? null;
}

/** The latest slot in (fromMs, toMs], walking at most `cap` slots; null if none. */
export function latestSlotBetween(job: Job, fromMs: number, toMs: number, cap = 100_000): number | null {
  let latest: number | null = null;
  let cursor = fromMs;
  for (let i = 0; i < cap; i++) {
    const s = nextSlot(job, cursor);
    if (s === null || s > toMs) break;
    latest = s;
    cursor = s;
  }
  return latest;
}

/**
 * The leader's job table: each enabled job armed at its next slot. On taking over it applies
 * each job's misfire policy to the slots nobody fired while no leader was up.
 *
 * A slot is handed to `onFire` `leadMs` before its time, so its run can be claimed in the store
 * ahead and only the EXEC is left for the moment itself.
 */
export class JobScheduler {
  private readonly jobs = new Map<string, Job>();
  private readonly timer: FireTimer;
  /** The latest slot handed out per job: a job re-armed inside the lead never gets it twice. */
  private readonly handedOut = new Map<string, number>();

  constructor(
    private readonly onFire: (job: Job, slotMs: number, trigger: FireTrigger) => void,
    /** `firing`: the job fires at this moment too (its run's outcome can carry the next time). */
    private readonly onArmed: (job: Job, nextMs: number | null, firing: boolean) => void,
    private readonly clock: Clock,
    leadMs = 0,
  ) {
    this.timer = new FireTimer((jobId, at) => this.due(jobId, at), clock, leadMs);
  }

  get size(): number {
    return this.jobs.size;
  }

  job(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** The ids of the jobs armed now. */
  ids(): string[] {
    return [...this.jobs.keys()];
  }

  /** Arms every job as a new leader; returns the misfired slots it fired. */
  load(jobs: Job[]): number {
    this.clear();
    const now = this.clock();
    let misfired = 0;
    for (const job of jobs) {
      if (!job.enabled) continue;
      this.jobs.set(job.id, job);
      // The slot this job expected next: what the last leader armed, else the first after it was made.
      const expected = job.nextRunAt?.getTime() ?? nextSlot(job, job.createdAt.getTime() - 1);
      if (expected !== null && expected <= now && job.misfire === 'fire_once') {
        const latest = latestSlotBetween(job, expected - 1, now);
        if (latest !== null) {
          misfired++;
          this.onFire(job, latest, 'misfire');
        }
      }
      this.armAfter(job, now);
    }
    return misfired;
  }

  /** A job was created or changed: re-arm just that job from now. */
  upsert(job: Job): void {
    if (!job.enabled) {
      this.remove(job.id);
      return;
    }
    this.jobs.set(job.id, job);
    const now = this.clock();
    // A one-shot whose time is already past when it arrives is a misfire of its only slot.
    if (job.schedule.type === 'once' && job.schedule.at.getTime() <= now && job.lastRunAt === null) {
      if (job.misfire === 'fire_once') this.onFire(job, job.schedule.at.getTime(), 'misfire');
      this.timer.disarm(job.id);
      this.onArmed(job, null, false);
      return;
    }
    this.armAfter(job, Math.max(now, this.handedOut.get(job.id) ?? now));
  }

  remove(jobId: string): void {
    this.jobs.delete(jobId);
    this.handedOut.delete(jobId);
    this.timer.disarm(jobId);
  }

  clear(): void {
    this.jobs.clear();
    this.handedOut.clear();
    this.timer.clear();
  }

  /** No more slots are handed out; the job table stays for the fires already under way. */
  stop(): void {
    this.timer.stop();
  }

  /** The slot the job is armed at, if any. */
  nextAt(jobId: string): number | undefined {
    return this.timer.armedAt(jobId);
  }

  private armAfter(job: Job, afterMs: number, firing = false): void {
    const next = nextSlot(job, afterMs);
    if (next === null) this.timer.disarm(job.id);
    else this.timer.arm(job.id, next);
    this.onArmed(job, next, firing);
  }

  private due(jobId: string, at: number): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    this.handedOut.set(jobId, at);
    this.armAfter(job, at, true);
    this.onFire(job, at, 'schedule');
  }
}
