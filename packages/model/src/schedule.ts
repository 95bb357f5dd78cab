import { nextCronTime, parseCron, type CronRule } from './cron.js';
import type { Schedule } from './job.js';

const ruleCache = new Map<string, CronRule>();

function ruleFor(expr: string): CronRule {
  let rule = ruleCache.get(expr);
  if (!rule) {
    rule = parseCron(expr);
    if (ruleCache.size > 50_000) ruleCache.clear();
    ruleCache.set(expr, rule);
  }
  return rule;
}

/** The first fire time strictly after `after`, or null when the schedule has no more. */
export function nextFireTime(schedule: Schedule, after: Date): Date | null {
  const afterMs = after.getTime();
  switch (schedule.type) {
    case 'cron': {
      const t = nextCronTime(ruleFor(schedule.expr), schedule.timezone, afterMs);
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
export function nextFireTimeInWindow(schedule: Schedule, window: FireWindow, after: Date): Date | null {
  const start = window.startAt?.getTime();
  const from = start !== undefined && after.getTime() < start - 1 ? new Date(start - 1) : after;
  const next = nextFireTime(schedule, from);
  if (!next) return null;
  const end = window.endAt?.getTime();
  return end !== undefined && next.getTime() > end ? null : next;
}
