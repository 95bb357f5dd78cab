import { nextFireTimeInWindow, startDeadlineOf, type Job } from '@clover/model';
import type { Clock } from './interfaces.js';
import { FireTimer } from './timer.js';

export type FireTrigger = 'schedule' | 'misfire';

/** The first slot strictly after `afterMs` inside the job's window, or null. */
export function nextSlot(job: Job, afterMs: number): number | null {
  return nextFireTimeInWindow(job.schedule, job.window, new Date(afterMs))?.getTime() ?? null;
}

/**
 * The latest slot in (fromMs, toMs], or null if none. It looks back from `toMs` over a span that
 * doubles (1 s, 2 s, 4 s, ...) until a slot lies in it, then walks forward to the last one, so the
 * cost grows with the log of the gap, not with the slots in it: walking forward from `fromMs`
 * slot by slot took 13 ms per job for an hour of an every-second job (3,600 slots), 13 s for
 * 1,000 such jobs after a one-hour clock step. `cap` bounds that final walk, in slots.
 */
export function latestSlotBetween(job: Job, fromMs: number, toMs: number, cap = 100_000): number | null {
  if (!(toMs > fromMs)) return null;
  for (let spanMs = 1000; ; spanMs *= 2) {
    const cursor = Math.max(fromMs, toMs - spanMs);
    let latest = nextSlot(job, cursor);
    if (latest !== null && latest <= toMs) {
      for (let i = 0; i < cap; i++) {
        const s = nextSlot(job, latest);
        if (s === null || s > toMs) break;
        latest = s;
      }
      return latest;
    }
    if (cursor === fromMs) return null;
  }
}

/** The least and the most a slot may be late before it counts as missed (misfireThresholdMs). */
export const misfireThresholdBoundsMs = { min: 10_000, max: 60_000 } as const;

/**
 * How late (ms after the slot, on the wall clock) a running leader may still hand a slot out as
 * on time; later, the slot is missed, and the job's misfire policy decides what fires
 * (JobScheduler). It is the job's start deadline at that slot (`startDeadlineOf`: how late a run
 * may start by the job's own rule, Kubernetes CronJob's `startingDeadlineSeconds`), kept within
 * 10 s, so that timer jitter and a busy event loop never make a misfire, and 60 s, Quartz's
 * default `misfireThreshold`, so that a clock stepped forward costs an every-second job at most
 * a minute's catch-up fires even when its start deadline is a day. docs/architecture.md, "Clock trouble".
 */
export function misfireThresholdMs(job: Job, slotMs: number): number {
  return Math.min(Math.max(startDeadlineOf(job, slotMs), misfireThresholdBoundsMs.min), misfireThresholdBoundsMs.max);
}

/**
 * The leader's job table: each enabled job armed at its next slot. On taking over it applies
 * each job's misfire policy to the slots nobody fired while no leader was up, and so it does to
 * a slot that comes later than its misfire threshold (misfireThresholdMs) while it leads.
 * Slots are wall-clock instants, each handed out at most once: after the wall clock steps back,
 * a job waits for it to pass the last slot handed out (docs/architecture.md, "Clock trouble").
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
    return this.add(jobs);
  }

  /**
   * Arms these jobs beside those armed already, as a new leader arms its table (`load`): the
   * slots missed since each job's `nextRunAt` go by its misfire policy. For a server that takes
   * some partitions over (DispatchServerOptions.shares). Returns the misfired slots it fired.
   */
  add(jobs: Job[]): number {
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
    const now = this.clock();
    if (now - at > misfireThresholdMs(job, at)) {
      this.missed(job, at, now);
      return;
    }
    this.handedOut.set(jobId, at);
    this.armAfter(job, at, true);
    this.onFire(job, at, 'schedule');
  }

  /**
   * The slot `at` came too late (the wall clock stepped forward, or the process stood still):
   * it and every slot after it up to now are missed. As on taking over (load), `fire_once`
   * fires the latest of them once, trigger 'misfire', and `skip` none; the job is armed at its
   * first slot after now. Without this the timer handed out every missed slot at once: 3,600
   * fires of an every-second job after a one-hour step (test/clock.test.ts).
   */
  private missed(job: Job, at: number, now: number): void {
    const latest = latestSlotBetween(job, at - 1, now) ?? at;
    const fires = job.misfire === 'fire_once';
    // A slot declared missed is as spent as one fired: a step back never hands it out again.
    this.handedOut.set(job.id, latest);
    this.armAfter(job, now, fires);
    if (fires) this.onFire(job, latest, 'misfire');
  }
}
