/**
 * Cron rules: parsing into lookup tables the engine (cronTime.ts) walks without allocating.
 *
 * Fields: [second] minute hour day-of-month month day-of-week. Five fields mean second 0.
 * Every field takes `*`, lists `a,b`, ranges `a-b`, steps `*\/n`, `a-b/n` and `a/n` (a, a+n, …
 * up to the field's maximum); months take JAN-DEC, weekdays SUN-SAT (0 and 7 are Sunday, and
 * SUN closing a range is 7, so `SAT-SUN` is Saturday and Sunday). Day-of-month and day-of-week
 * combine as in Vixie cron: when both are restricted, a day matching either fires; `*` or `?`
 * leaves a day field unrestricted.
 *
 * Quartz extensions (semantics from Quartz's CronExpression documentation), in the day fields:
 * - day of month `L`: the last day of the month; `L-n`: n days before it (`L-1` the
 *   second-to-last); `nW`: the weekday (Monday-Friday) nearest day n, never leaving the month
 *   (the 1st on a Saturday fires Monday the 3rd; a Sunday on the last day fires the Friday
 *   before); `LW`: the last weekday of the month. A month shorter than n has no `nW` fire.
 * - day of week `nL`: the last weekday n of the month (`5L`, `FRIL`: the last Friday); `n#k`:
 *   the k-th weekday n of the month, k 1-5 (`5#3`, `FRI#3`: the third Friday; a month without a
 *   fifth one has no `#5` fire); `L` alone: Saturday (Quartz: "7 or SAT").
 * - `?` in a day field: no restriction, as `*`.
 * Quartz numbers weekdays 1 (SUN) to 7 (SAT); clover keeps cron's 0/7 (SUN) to 6 (SAT) for
 * every weekday form, so Quartz's `6#3` (third Friday) is clover's `5#3` or `FRI#3`.
 * Items of any kind may share a list (`1,15,L`).
 *
 * Aliases (from Vixie cron): `@yearly` and `@annually` `0 0 0 1 1 *`, `@monthly` `0 0 0 1 * *`,
 * `@weekly` `0 0 0 * * 0`, `@daily` and `@midnight` `0 0 0 * * *`, `@hourly` `0 0 * * * *`.
 */
import { daysFromCivil, daysInMonth, weekdayOf } from './calendar.js';

export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

/** A parsed rule. Treat as opaque: the engine's lookup tables, plus the rule as written. */
export interface CronRule {
  /** The rule as written. */
  readonly source: string;
  /** The six fields after alias expansion and the seconds default. */
  readonly fields: readonly string[];
  /** For each value i, the first allowed value ≥ i, or -1 (one sentinel entry past the maximum). */
  readonly nextSecond: Int8Array;
  readonly nextMinute: Int8Array;
  readonly nextHour: Int8Array;
  /** Bit m set for each allowed month 1-12. */
  readonly months: number;
  /** Bit d set for each listed day of month 1-31. */
  readonly days: number;
  /** `L` (0) and `L-n` (n): days before the month's last. */
  readonly lastDayOffsets: readonly number[];
  /** `nW`: the days whose nearest weekday fires. */
  readonly nearestWeekdays: readonly number[];
  /** `LW`. */
  readonly lastWeekday: boolean;
  /** Bit w set for each listed weekday 0 (SUN) - 6 (SAT). */
  readonly weekdays: number;
  /** `wL`: bit w set for each weekday whose last occurrence in the month fires. */
  readonly lastOfWeekdays: number;
  /** `w#k`, encoded w * 8 + k. */
  readonly nthWeekdays: readonly number[];
  readonly daysRestricted: boolean;
  readonly weekdaysRestricted: boolean;
  /**
   * True when the hour field holds only fixed hours (values, lists, ranges; no `*`, `?` or
   * step): such a rule follows cronie's fixed-time rule across DST changes, else its
   * real-time rhythm (see cronTime.ts).
   */
  readonly fixedHour: boolean;
  /** The day mask of the month last asked for: (year * 16 + month) and its mask. */
  readonly monthCache: { key: number; mask: number };
}

const monthNames = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const dayNames = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const aliases: Record<string, string> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
};

type FieldKind = 'second' | 'minute' | 'hour' | 'day of month' | 'month' | 'day of week';

interface FieldSpec {
  name: FieldKind;
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

function specAt(i: number): FieldSpec {
  const spec = specs[i];
  if (!spec) throw new CronError(`a cron rule has at most ${specs.length} fields`);
  return spec;
}

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

interface Field {
  /** The plain values (weekday 7 folded onto 0). */
  values: Set<number>;
  restricted: boolean;
  /** Any `*`, `?` or step in the field. */
  wild: boolean;
  lastDayOffsets: number[];
  nearestWeekdays: number[];
  lastWeekday: boolean;
  lastOfWeekdays: number;
  nthWeekdays: number[];
}

/** Parses the Quartz day-field items; returns false when `item` is none of them. */
function parseQuartzItem(item: string, spec: FieldSpec, out: Field): boolean {
  const upper = item.toUpperCase();
  if (spec.name === 'day of month') {
    if (upper === 'LW') return (out.lastWeekday = true);
    let m = /^L(?:-(\d+))?$/.exec(upper);
    if (m) {
      const n = m[1] === undefined ? 0 : Number(m[1]);
      if (n > 30) throw new CronError(`day of month: "${item}" reaches before the 1st (L-n takes n 0-30)`);
      out.lastDayOffsets.push(n);
      return true;
    }
    m = /^(\d+)W$/.exec(upper);
    if (m) {
      out.nearestWeekdays.push(parseValue(m[1] ?? '', spec));
      return true;
    }
    if (/[LW]/.test(upper)) throw new CronError(`day of month: "${item}" is not L, L-n, nW or LW`);
  } else if (spec.name === 'day of week') {
    if (upper === 'L') {
      out.values.add(6);
      return true;
    }
    let m = /^(\w+?)L$/.exec(upper);
    if (m) {
      out.lastOfWeekdays |= 1 << (parseValue(m[1] ?? '', spec) % 7);
      return true;
    }
    m = /^(\w+)#(\d+)$/.exec(upper);
    if (m) {
      const k = Number(m[2]);
      if (k < 1 || k > 5) throw new CronError(`day of week: "${item}" asks for occurrence ${k}; a month has occurrences 1-5`);
      out.nthWeekdays.push((parseValue(m[1] ?? '', spec) % 7) * 8 + k);
      return true;
    }
  } else if (/^(L|LW|L-\d+|\d+[LW]|\w+[L#]\d*)$/i.test(item) && !spec.names?.includes(upper)) {
    throw new CronError(`${spec.name}: "${item}": L, W and # are only for the day fields`);
  }
  return false;
}

function parseField(field: string, spec: FieldSpec): Field {
  const out: Field = {
    values: new Set(),
    restricted: true,
    wild: false,
    lastDayOffsets: [],
    nearestWeekdays: [],
    lastWeekday: false,
    lastOfWeekdays: 0,
    nthWeekdays: [],
  };
  const isWeekday = spec.name === 'day of week';
  for (const part of field.split(',')) {
    if (part === '') throw new CronError(`${spec.name}: empty list item in "${field}"`);
    if (parseQuartzItem(part, spec, out)) continue;
    const [rangePart = '', stepPart, extra] = part.split('/');
    if (extra !== undefined) throw new CronError(`${spec.name}: "${part}" has more than one '/'`);
    let step = 1;
    if (stepPart !== undefined) {
      if (!/^\d+$/.test(stepPart) || Number(stepPart) === 0)
        throw new CronError(`${spec.name}: step "${stepPart}" must be a positive number`);
      step = Number(stepPart);
      out.wild = true;
    }
    let lo: number;
    let hi: number;
    if (rangePart === '*' || rangePart === '?') {
      if (rangePart === '?' && !spec.name.startsWith('day')) throw new CronError(`${spec.name}: '?' is only for the day fields`);
      out.wild = true;
      lo = spec.min;
      hi = isWeekday ? 6 : spec.max;
      if (stepPart === undefined && field === rangePart) out.restricted = false;
    } else if (rangePart.includes('-')) {
      const [a, b, more] = rangePart.split('-');
      if (more !== undefined || !a || !b) throw new CronError(`${spec.name}: bad range "${rangePart}"`);
      lo = parseValue(a, spec);
      hi = parseValue(b, spec);
      // Sunday closing a range is day 7 (cronie): SAT-SUN is 6-7, not a range running backwards.
      if (isWeekday && hi === 0 && lo > 0) hi = 7;
      if (lo > hi) throw new CronError(`${spec.name}: range "${rangePart}" runs backwards`);
    } else {
      lo = parseValue(rangePart, spec);
      hi = stepPart === undefined ? lo : isWeekday ? 6 : spec.max;
    }
    for (let v = lo; v <= hi; v += step) out.values.add(isWeekday ? v % 7 : v);
  }
  return out;
}

/** Table t with t[i] = the first value ≥ i in `values`, or -1; one sentinel entry past `max`. */
function nextTable(values: ReadonlySet<number>, max: number): Int8Array {
  const table = new Int8Array(max + 2);
  let next = -1;
  table[max + 1] = -1;
  for (let i = max; i >= 0; i--) {
    if (values.has(i)) next = i;
    table[i] = next;
  }
  return table;
}

/** Bit v set for each value (all below 32). */
function bitsOf(values: ReadonlySet<number>): number {
  let bits = 0;
  for (const v of values) bits |= 1 << v;
  return bits;
}

/** Bits 1..dim of a month. */
function monthDays(dim: number): number {
  return dim === 31 ? -2 : (1 << (dim + 1)) - 2;
}

/**
 * The days of month `month` (1-12) of `year` on which the rule fires, as bit d for day d.
 * Cached per rule for the last month asked, since the engine asks for the same month in a row.
 */
export function dayMask(rule: CronRule, year: number, month: number): number {
  const key = year * 16 + month;
  const cache = rule.monthCache;
  if (cache.key === key) return cache.mask;
  const dim = daysInMonth(year, month);
  const all = monthDays(dim);
  const wdFirst = weekdayOf(daysFromCivil(year, month, 1));
  const wdLast = (wdFirst + dim - 1) % 7;
  let dom = rule.days & all;
  for (const n of rule.lastDayOffsets) if (dim - n >= 1) dom |= 1 << (dim - n);
  for (const n of rule.nearestWeekdays) {
    if (n > dim) continue;
    const wd = (wdFirst + n - 1) % 7;
    let d = n;
    if (wd === 6) d = n === 1 ? 3 : n - 1;
    else if (wd === 0) d = n === dim ? n - 2 : n + 1;
    dom |= 1 << d;
  }
  if (rule.lastWeekday) dom |= 1 << (wdLast === 6 ? dim - 1 : wdLast === 0 ? dim - 2 : dim);
  let dow = 0;
  if (rule.weekdays !== 0) {
    for (let d = 1; d <= dim; d++) if ((rule.weekdays >> ((wdFirst + d - 1) % 7)) & 1) dow |= 1 << d;
  }
  for (let w = 0; w < 7; w++) if ((rule.lastOfWeekdays >> w) & 1) dow |= 1 << (dim - ((wdLast - w + 7) % 7));
  for (const code of rule.nthWeekdays) {
    const d = 1 + (((((code >> 3) - wdFirst) % 7) + 7) % 7) + 7 * ((code & 7) - 1);
    if (d <= dim) dow |= 1 << d;
  }
  let mask: number;
  if (rule.daysRestricted && rule.weekdaysRestricted) mask = dom | dow;
  else if (rule.daysRestricted) mask = dom;
  else if (rule.weekdaysRestricted) mask = dow;
  else mask = all;
  cache.key = key;
  cache.mask = mask;
  return mask;
}

/**
 * Parses a rule without asking whether it can ever fire: what the engine uses for rules already
 * stored. New rules go through `parseCron`. Throws CronError naming the bad field.
 */
export function compileCron(expr: string): CronRule {
  const trimmed = expr.trim();
  let text = trimmed;
  if (trimmed.startsWith('@')) {
    const alias = aliases[trimmed.toLowerCase()];
    if (!alias) throw new CronError(`unknown alias "${trimmed}" (use ${Object.keys(aliases).join(', ')})`);
    text = alias;
  }
  const given = text.split(/\s+/);
  if (given.length !== 5 && given.length !== 6) {
    throw new CronError(
      `a cron rule has 5 fields (minute hour day month weekday) or 6 (with seconds first); "${expr}" has ${given.length}`,
    );
  }
  const fields = given.length === 6 ? given : ['0', ...given];
  const [seconds, minutes, hours, days, months, weekdays] = fields.map((f, i) => parseField(f, specAt(i))) as [
    Field,
    Field,
    Field,
    Field,
    Field,
    Field,
  ];
  return {
    source: expr,
    fields,
    nextSecond: nextTable(seconds.values, 59),
    nextMinute: nextTable(minutes.values, 59),
    nextHour: nextTable(hours.values, 23),
    months: bitsOf(months.values),
    days: bitsOf(days.values),
    lastDayOffsets: days.lastDayOffsets,
    nearestWeekdays: days.nearestWeekdays,
    lastWeekday: days.lastWeekday,
    weekdays: bitsOf(weekdays.values),
    lastOfWeekdays: weekdays.lastOfWeekdays,
    nthWeekdays: weekdays.nthWeekdays,
    daysRestricted: days.restricted,
    weekdaysRestricted: weekdays.restricted,
    fixedHour: !hours.wild,
    monthCache: { key: -1, mask: 0 },
  };
}

/**
 * True when the rule has a day to fire on. The years 2024-2052 hold every pairing of
 * weekday, month length and leap year the Gregorian calendar has between 1901 and 2099
 * (it repeats every 28 years there), so a rule silent in all of them never fires.
 */
export function canEverFire(rule: CronRule): boolean {
  for (let year = 2024; year <= 2052; year++) {
    for (let month = 1; month <= 12; month++) {
      if ((rule.months >> month) & 1 && dayMask(rule, year, month) !== 0) return true;
    }
  }
  return false;
}

/**
 * Parses a cron rule (dialect in this module's header) for a new or changed schedule.
 * Throws CronError naming the bad field, or saying that the rule can never fire (a day that
 * none of its months has, such as `0 0 0 31 4 *`).
 */
export function parseCron(expr: string): CronRule {
  const rule = compileCron(expr);
  if (!canEverFire(rule)) {
    throw new CronError(`the rule can never fire: day of month "${rule.fields[3]}" never falls in month "${rule.fields[4]}"`);
  }
  return rule;
}
