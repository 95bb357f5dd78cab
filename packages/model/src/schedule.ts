import { compileCron, type CronRule } from './cron.js';
import { nextCronTime, type CronFireDetail, type DstShift } from './cronTime.js';
import type { Schedule } from './job.js';

const ruleCache = new Map<string, CronRule>();

// Stored rules are compiled without the can-it-ever-fire check, so a rule saved before that
// check existed still yields "no next time" instead of throwing at the leader.
function ruleFor(expr: string): CronRule {
  let rule = ruleCache.get(expr);
  if (!rule) {
    rule = compileCron(expr);
    if (ruleCache.size > 50_000) ruleCache.clear();
    ruleCache.set(expr, rule);
  }
  return rule;
}

/**
 * The first fire time strictly after `after`, or null when the schedule has no more. Cron
 * schedules follow cronie's DST rule (see nextCronTime). `detail`, when given, receives how DST
 * moved the fire (`shifted` stays null for once and interval schedules).
 */
export function nextFireTime(schedule: Schedule, after: Date, detail?: CronFireDetail): Date | null {
  const afterMs = after.getTime();
  if (detail) detail.shifted = null;
  switch (schedule.type) {
    case 'cron': {
      const t = nextCronTime(ruleFor(schedule.expr), schedule.timezone, afterMs, detail);
      return t === null ? null : new Date(t);
    }
    case 'once':
      return schedule.at.getTime() > afterMs ? new Date(schedule.at) : null;
    case 'interval': {
      const anchor = schedule.startAt ? schedule.startAt.getTime() : 0;
      if (afterMs < anchor) return new Date(anchor);
      const n = Math.floor((afterMs - anchor) / schedule.everyMs) + 1;
      return new Date(anchor + n * schedule.everyMs);
    }
  }
}

export function nextFireTimes(schedule: Schedule, after: Date, count: number): Date[] {
  const out: Date[] = [];
  let cursor = after;
  while (out.length < count) {
    const next = nextFireTime(schedule, cursor);
    if (!next) break;
    out.push(next);
    cursor = next;
  }
  return out;
}

export interface FireWindow {
  startAt?: Date;
  endAt?: Date;
}

/** The first fire time strictly after `after` that falls inside a job's start/end window, or null. */
export function nextFireTimeInWindow(schedule: Schedule, window: FireWindow, after: Date, detail?: CronFireDetail): Date | null {
  const start = window.startAt?.getTime();
  const from = start !== undefined && after.getTime() < start - 1 ? new Date(start - 1) : after;
  const next = nextFireTime(schedule, from, detail);
  if (!next) return null;
  const end = window.endAt?.getTime();
  return end !== undefined && next.getTime() > end ? null : next;
}

/** One upcoming fire for display: when, and whether DST moved it (see nextCronTime). */
export interface PreviewFire {
  at: Date;
  /** `gap`: a wall time the clock skipped, fired as the jump lands; `fold`: a wall time that happens twice. */
  shifted: DstShift | null;
}

/**
 * The next `count` fires strictly after `after` inside `window`, each saying whether DST moved
 * it: what a console shows. Not for the hot path (it allocates per fire).
 */
export function previewFireTimes(schedule: Schedule, window: FireWindow, after: Date, count: number): PreviewFire[] {
  const out: PreviewFire[] = [];
  const detail: CronFireDetail = { shifted: null };
  for (
    let t = nextFireTimeInWindow(schedule, window, after, detail);
    t && out.length < count;
    t = nextFireTimeInWindow(schedule, window, t, detail)
  ) {
    out.push({ at: t, shifted: detail.shifted });
  }
  return out;
}
