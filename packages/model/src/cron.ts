/**
 * Cron rules with seconds and per-rule IANA timezones, evaluated without a library so the
 * dispatch-server can compute next fire times for tens of thousands of jobs cheaply.
 *
 * Fields: [second] minute hour day-of-month month day-of-week. Five fields mean second 0.
 * Each field takes `*`, `?` (day fields), lists `a,b`, ranges `a-b`, steps `*\/n` or `a-b/n`,
 * and names (JAN-DEC, SUN-SAT). Day-of-month and day-of-week combine as in Vixie cron: when
 * both are restricted, a day matching either fires.
 */

export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

export interface CronRule {
  seconds: ReadonlySet<number>;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
  daysRestricted: boolean;
  weekdaysRestricted: boolean;
  source: string;
}

const monthNames = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const dayNames = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  namesBase?: number;
}

const specs: FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: monthNames, namesBase: 1 },
  { name: 'day of week', min: 0, max: 7, names: dayNames, namesBase: 0 },
];

function parseValue(raw: string, spec: FieldSpec): number {
  const upper = raw.toUpperCase();
  if (spec.names) {
    const i = spec.names.indexOf(upper);
    if (i >= 0) return i + (spec.namesBase ?? 0);
  }
  if (!/^\d+$/.test(raw)) throw new CronError(`${spec.name}: "${raw}" is not a number${spec.names ? ' or a name' : ''}`);
  const n = Number(raw);
  if (n < spec.min || n > spec.max) throw new CronError(`${spec.name}: ${n} is outside ${spec.min}-${spec.max}`);
  return n;
}

function parseField(field: string, spec: FieldSpec): { values: Set<number>; restricted: boolean } {
  const values = new Set<number>();
  let restricted = true;
  for (const part of field.split(',')) {
    if (part === '') throw new CronError(`${spec.name}: empty list item in "${field}"`);
    const [rangePart, stepPart, extra] = part.split('/');
    if (extra !== undefined) throw new CronError(`${spec.name}: "${part}" has more than one '/'`);
    let step = 1;
    if (stepPart !== undefined) {
      if (!/^\d+$/.test(stepPart) || Number(stepPart) === 0) throw new CronError(`${spec.name}: step "${stepPart}" must be a positive number`);
      step = Number(stepPart);
    }
    let lo: number;
    let hi: number;
    if (rangePart === '*' || rangePart === '?') {
      if (rangePart === '?' && !spec.name.startsWith('day')) throw new CronError(`${spec.name}: '?' is only for the day fields`);
      lo = spec.min;
      hi = spec.name === 'day of week' ? 6 : spec.max;
      if (stepPart === undefined && field === rangePart) restricted = false;
    } else if (rangePart!.includes('-')) {
      const [a, b, more] = rangePart!.split('-');
      if (more !== undefined || !a || !b) throw new CronError(`${spec.name}: bad range "${rangePart}"`);
      lo = parseValue(a, spec);
      hi = parseValue(b, spec);
      if (lo > hi) throw new CronError(`${spec.name}: range "${rangePart}" runs backwards`);
    } else {
      lo = parseValue(rangePart!, spec);
      hi = stepPart === undefined ? lo : spec.name === 'day of week' ? 6 : spec.max;
    }
    for (let v = lo; v <= hi; v += step) values.add(spec.name === 'day of week' && v === 7 ? 0 : v);
  }
  return { values, restricted };
}

export function parseCron(expr: string): CronRule {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new CronError(`a cron rule has 5 fields (minute hour day month weekday) or 6 (with seconds first); "${expr}" has ${fields.length}`);
  }
  const all = fields.length === 6 ? fields : ['0', ...fields];
  const parsed = all.map((f, i) => parseField(f, specs[i]!));
  const [seconds, minutes, hours, days, months, weekdays] = parsed as [typeof parsed[0], typeof parsed[0], typeof parsed[0], typeof parsed[0], typeof parsed[0], typeof parsed[0]];
  return {
    seconds: seconds.values,
    minutes: minutes.values,
    hours: hours.values,
    days: days.values,
    months: months.values,
    weekdays: weekdays.values,
    daysRestricted: days.restricted,
    weekdaysRestricted: weekdays.restricted,
    source: expr,
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

export function isValidTimezone(tz: string): boolean {
  try {
    formatterFor(tz);
    return true;
  } catch {
    return false;
  }
}

function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallTime(epochMs: number, tz: string): Wall {
  if (tz === 'UTC' || tz === 'Etc/UTC') {
    const d = new Date(epochMs);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
  }
  const parts = formatterFor(tz).formatToParts(new Date(epochMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** UTC offset (ms) of a zone at an instant. */
function offsetAt(epochMs: number, tz: string): number {
  const w = wallTime(epochMs, tz);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(epochMs / 1000) * 1000;
}

/** The instants at which a wall-clock time happens in a zone (none in a spring-forward gap, two in a fall-back). */
function instantsOf(w: Wall, tz: string): number[] {
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  if (tz === 'UTC' || tz === 'Etc/UTC') return [asUtc];
  const candidates = new Set<number>();
  for (const probe of [asUtc - 14 * 3600_000, asUtc, asUtc + 14 * 3600_000]) candidates.add(asUtc - offsetAt(probe, tz));
  const result: number[] = [];
  for (const c of candidates) {
    const back = wallTime(c, tz);
    if (back.year === w.year && back.month === w.month && back.day === w.day && back.hour === w.hour && back.minute === w.minute && back.second === w.second) result.push(c);
  }
  return result.sort((a, b) => a - b);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function dayMatches(rule: CronRule, year: number, month: number, day: number): boolean {
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  const dom = rule.days.has(day);
  const dow = rule.weekdays.has(weekday);
  if (rule.daysRestricted && rule.weekdaysRestricted) return dom || dow;
  if (rule.daysRestricted) return dom;
  if (rule.weekdaysRestricted) return dow;
  return true;
}

// A parsed rule's sets never change, and a busy leader asks for thousands of next times a second.
const sortedOf = new WeakMap<ReadonlySet<number>, number[]>();

function sorted(set: ReadonlySet<number>): number[] {
  let values = sortedOf.get(set);
  if (!values) sortedOf.set(set, (values = [...set].sort((a, b) => a - b)));
  return values;
}

/**
 * The first instant strictly after `afterMs` that the rule matches in the zone, or null if
 * none within ~5 years (e.g. Feb 30). Walks the calendar field by field, so a rule firing
 * once a year costs about as much as one firing every second.
 */
export function nextCronTime(rule: CronRule, tz: string, afterMs: number): number | null {
  const secs = sorted(rule.seconds);
  const mins = sorted(rule.minutes);
  const hrs = sorted(rule.hours);
  const start = wallTime(afterMs, tz);
  const limitYear = start.year + 5;
  let first = true;
  for (let year = start.year; year <= limitYear; year++) {
    for (let month = first ? start.month : 1; month <= 12; month++) {
      if (!rule.months.has(month)) {
        first = false;
        continue;
      }
      const onStartMonth = first && year === start.year && month === start.month;
      const dim = daysInMonth(year, month);
      for (let day = onStartMonth ? start.day : 1; day <= dim; day++) {
        if (!dayMatches(rule, year, month, day)) continue;
        const onStartDay = onStartMonth && day === start.day;
        for (const hour of hrs) {
          if (onStartDay && hour < start.hour) continue;
          const onStartHour = onStartDay && hour === start.hour;
          for (const minute of mins) {
            if (onStartHour && minute < start.minute) continue;
            const onStartMinute = onStartHour && minute === start.minute;
            for (const second of secs) {
              if (onStartMinute && second < start.second) continue;
              // A wall time repeated by a fall-back transition fires once, at its first instant.
              const t = instantsOf({ year, month, day, hour, minute, second }, tz)[0];
              if (t !== undefined && t > afterMs) return t;
            }
          }
        }
      }
      first = false;
    }
  }
  return null;
}
