/**
 * Next fire times of a cron rule in an IANA timezone, on a leader's hot path: no `Intl` call per
 * candidate (the zone's offsets come from zone.ts's cached transitions) and no allocation per call.
 *
 * Daylight saving time follows cronie (cron.c's handling of a clock that jumps, after Vixie
 * cron 4.1), with the fixed/interval split made on the hour field:
 * - A rule with fixed hours (values, lists, ranges: `0 30 2 * * *`, `0 0 1-3 * * *`):
 *   a wall time that a spring-forward gap skips fires once, at the first instant after the gap
 *   (several skipped times of one gap fire once together); a wall time that a fall-back change
 *   repeats fires once, at its first pass. No day is lost, no fixed-time job runs twice.
 * - A rule whose hour is `*`, `?` or a step (`0 *\/30 * * * *`, `0 0 *\/2 * * *`) keeps its
 *   real-time rhythm: skipped wall times do not fire, repeated ones fire in both passes.
 * cronie makes the split on "minute or hour field starts with `*`"; clover looks at the hour
 * alone, so that `0 *\/5 2 * * *` still fires on the day 02:00-03:00 is skipped.
 */
import { civil, daysFromCivil, toCivil } from './calendar.js';
import { dayMask, type CronRule } from './cron.js';
import { zoneOffsets } from './zone.js';

/** How far ahead a search looks, in years: past any gap between two fires of a rule that fires at all. */
const HORIZON_YEARS = 100;

/** How DST moved a fire: `gap` fires at the end of a skipped span, `fold` is a wall time that happens twice. */
export type DstShift = 'gap' | 'fold';

/** Written by nextCronTime when given: how DST moved the fire it returns (null: not at all). */
export interface CronFireDetail {
  shifted: DstShift | null;
}

function lowestBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * The first wall time (local ms, i.e. the wall clock read as if it were UTC) at or after
 * `fromLocal`, on a whole second, that the rule matches; -1 if none by the end of `lastYear`.
 */
function nextWallSlot(rule: CronRule, fromLocal: number, lastYear: number): number {
  const secs = Math.ceil(fromLocal / 1000);
  const days = Math.floor(secs / 86400);
  const sod = secs - days * 86400;
  toCivil(days);
  let y = civil.year;
  let mo = civil.month;
  let d = civil.day;
  let h = Math.floor(sod / 3600);
  let mi = Math.floor((sod % 3600) / 60);
  let s = sod % 60;
  const months = rule.months;
  const nextHour = rule.nextHour;
  const nextMinute = rule.nextMinute;
  const nextSecond = rule.nextSecond;
  for (;;) {
    if (y > lastYear) return -1;
    if (((months >> mo) & 1) === 0) {
      const later = months & ~((2 << mo) - 1);
      if (later !== 0) mo = lowestBit(later);
      else {
        y++;
        mo = lowestBit(months);
      }
      d = 1;
      h = mi = s = 0;
      continue;
    }
    const rest = d > 31 ? 0 : dayMask(rule, y, mo) & ~((1 << d) - 1);
    if (rest === 0) {
      if (mo === 12) {
        y++;
        mo = 1;
      } else mo++;
      d = 1;
      h = mi = s = 0;
      continue;
    }
    const day = lowestBit(rest);
    if (day !== d) {
      d = day;
      h = mi = s = 0;
    }
    const hour = nextHour[h] ?? -1; // -1: no allowed hour left today (the table's own sentinel)
    if (hour < 0) {
      d++;
      h = mi = s = 0;
      continue;
    }
    if (hour !== h) {
      h = hour;
      mi = s = 0;
    }
    const minute = nextMinute[mi] ?? -1;
    if (minute < 0) {
      h++;
      mi = s = 0;
      continue;
    }
    if (minute !== mi) {
      mi = minute;
      s = 0;
    }
    const second = nextSecond[s] ?? -1;
    if (second < 0) {
      mi++;
      s = 0;
      continue;
    }
    return (daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + second) * 1000;
  }
}

/**
 * The first instant (epoch ms) strictly after `afterMs` at which `rule` fires in zone `tz`,
 * or null if none within 100 years. DST changes follow cronie's rule (this module's header);
 * when `detail` is given, `detail.shifted` says whether DST moved the returned fire.
 * Throws RangeError for a zone the runtime does not know (check with isValidTimezone).
 */
export function nextCronTime(rule: CronRule, tz: string, afterMs: number, detail?: CronFireDetail): number | null {
  const zone = zoneOffsets(tz);
  let cursor = Math.floor(afterMs / 1000) * 1000 + 1000;
  toCivil(Math.floor(cursor / 86400_000));
  const lastYear = civil.year + HORIZON_YEARS;
  let gapChecked = false;
  for (;;) {
    zone.locate(cursor);
    const offset = zone.offset;
    // Starting exactly as a jump lands: the skipped times just before it fire now, if any.
    if (!gapChecked && cursor === zone.segStart && rule.fixedHour && zone.prevOffset < offset) {
      const skipped = nextWallSlot(rule, cursor + zone.prevOffset, lastYear);
      if (skipped >= 0 && skipped < cursor + offset) {
        if (detail) detail.shifted = 'gap';
        return cursor;
      }
    }
    const wall = nextWallSlot(rule, cursor + offset, lastYear);
    if (wall < 0) return null;
    const at = wall - offset;
    const end = zone.segEnd;
    if (at < end) {
      let shifted: DstShift | null = null;
      const prev = zone.prevOffset;
      if (prev > offset && wall < zone.segStart + prev) {
        // The second pass through wall times the previous span already showed.
        if (rule.fixedHour) {
          cursor = zone.segStart + prev - offset;
          continue;
        }
        shifted = 'fold';
      } else if (zone.nextOffset < offset && wall >= end + zone.nextOffset) shifted = 'fold';
      if (detail) detail.shifted = shifted;
      return at;
    }
    // The next wall slot lies past this span; if the clock jumps over it, a fixed-hour rule fires as the jump lands.
    if (rule.fixedHour && zone.nextOffset > offset && wall < end + zone.nextOffset) {
      if (detail) detail.shifted = 'gap';
      return end;
    }
    cursor = end;
    gapChecked = true;
  }
}
