import type { Translate } from '../i18n';
import type { Job, JobKind, Run, Schedule, Target } from '../api/types';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `2025-01-31 14:05:09` in the browser's time zone; '—' for nothing. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * `2025-01-31 14:05:09` in the IANA zone `timeZone` (the job's own zone, say, beside the viewer's);
 * '—' for nothing; the ISO text back when the zone is unknown to this browser.
 */
export function formatTimeIn(iso: string | null | undefined, timeZone: string): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    const parts = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    }).formatToParts(d);
    const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
    return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')}`;
  } catch {
    return iso;
  }
}

/** The zone a job's times are written in: its cron rule's; null for schedules that have none (once, interval). */
export function jobTimeZone(schedule: Schedule): string | null {
  return schedule.type === 'cron' ? schedule.timezone : null;
}

/** `HH:00` of an hour bucket, local time. */
export function formatHour(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${pad(d.getHours())}:00`;
}

export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** A short duration: 850ms, 12s, 3m 20s, 2h 5m, 4d 3h. */
export function formatDuration(ms: number | null | undefined, t: Translate): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const abs = Math.max(0, ms);
  if (abs < 1000) return t('unit.ms', { n: Math.round(abs) });
  const s = Math.floor(abs / 1000);
  if (s < 60) return t('unit.s', { n: s });
  const m = Math.floor(s / 60);
  if (m < 60) return `${t('unit.m', { n: m })} ${t('unit.s', { n: s % 60 })}`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${t('unit.h', { n: h })} ${t('unit.m', { n: m % 60 })}`;
  const d = Math.floor(h / 24);
  return `${t('unit.d', { n: d })} ${t('unit.h', { n: h % 24 })}`;
}

/** "12s ago" / "in 3m" relative to `now`. */
export function formatRelative(iso: string | null | undefined, now: number, t: Translate): string {
  if (!iso) return '—';
  const at = new Date(iso).getTime();
  if (Number.isNaN(at)) return iso;
  const diff = at - now;
  return diff >= 0 ? t('time.in', { d: formatDuration(diff, t) }) : t('time.ago', { d: formatDuration(-diff, t) });
}

export function runDuration(run: Pick<Run, 'startedAt' | 'finishedAt'>): number | null {
  if (!run.startedAt || !run.finishedAt) return null;
  return new Date(run.finishedAt).getTime() - new Date(run.startedAt).getTime();
}

export function scheduleSummary(s: Schedule, t: Translate): string {
  switch (s.type) {
    case 'cron':
      return `${s.expr} (${s.timezone})`;
    case 'once':
      return t('schedule.summary.once', { at: formatTime(s.at) });
    case 'interval':
      return t('schedule.summary.interval', { d: formatDuration(s.everyMs, t) });
  }
}

export function targetSummary(target: Target, t: Translate): string {
  switch (target.type) {
    case 'any':
      return t('target.any');
    case 'node':
      return `${t('target.node')}: ${target.nodeId}`;
    case 'group':
      return `${t('target.group')}: ${target.group}`;
    case 'tags':
      return `${t('target.tags')}: ${target.tags.join(', ')}`;
  }
}

export function kindSummary(kind: JobKind, t: Translate): string {
  switch (kind.type) {
    case 'handler':
      return `${t('kind.handler')}: ${kind.name}`;
    case 'shell':
      return `$ ${[kind.command, ...kind.args].join(' ')}`;
    case 'http':
      return `${kind.method} ${kind.url}`;
  }
}

export function jobLabel(job: Pick<Job, 'name' | 'id'> | undefined, id: string): string {
  return job ? job.name : id;
}

export function json(value: unknown): string {
  if (value === undefined) return '';
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    // Only a BigInt or a circular object gets here (never anything read from the API's JSON).
    return typeof value === 'bigint' ? value.toString() : Object.prototype.toString.call(value);
  }
}

export function percent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—';
  return `${(rate * 100).toFixed(rate >= 0.999 || rate === 0 ? 0 : 1)}%`;
}

/** The cap of a job's default start deadline (`defaultStartDeadlineMs` of @clover/model). */
const DEFAULT_START_DEADLINE_MS = 60_000;
/** The floor of a job's default start deadline (`minDefaultStartDeadlineMs` of @clover/model). */
const MIN_DEFAULT_START_DEADLINE_MS = 10_000;

/**
 * The start deadline a job that sets none gets, in words: its period, at least 10 s and at most 60 s. This is the
 * rule of `startDeadlineOf` in @clover/model, told rather than imported, since that module would
 * bring zod into the bundle. An interval's value is known here; a cron rule's depends on the slot
 * (the time to its next fire), so it is given as a number only when `fires` (the job's next fire
 * times, ISO) hold two to measure; a one-time job has no period. A form whose once or cron schedule
 * is not complete yet passes its type alone; null: the rule in general.
 */
export function defaultStartDeadlineText(
  schedule: Schedule | { type: 'once' | 'cron' } | null,
  t: Translate,
  fires: readonly string[] = [],
): string {
  const seconds = (ms: number) => Math.min(Math.max(ms, MIN_DEFAULT_START_DEADLINE_MS), DEFAULT_START_DEADLINE_MS) / 1000;
  switch (schedule?.type) {
    case 'interval':
      return t('job.startDeadline.interval', { n: seconds(schedule.everyMs) });
    case 'once':
      return t('job.startDeadline.once');
    case 'cron': {
      const [first, second] = fires.map((f) => new Date(f).getTime());
      return first !== undefined && second !== undefined && second > first
        ? t('job.startDeadline.cronNext', { n: seconds(second - first) })
        : t('job.startDeadline.cron');
    }
    case undefined:
      return t('job.startDeadline.rule');
  }
}
