/**
 * Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01), without
 * allocating `Date` objects: the cron engine runs these per candidate on a leader's hot path.
 * The day-number conversions are Howard Hinnant's `days_from_civil` / `civil_from_days`
 * algorithms (http://howardhinnant.github.io/date_algorithms.html).
 */

/** Day number of a civil date; `month` 1-12, `day` 1-31. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * Civil date of a day number, written into `civil` (reused, so no allocation per call):
 * `civil.year`, `civil.month` (1-12), `civil.day` (1-31).
 */
export const civil = { year: 1970, month: 1, day: 1 };

export function toCivil(days: number): void {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  civil.day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  civil.month = month;
  civil.year = yoe + era * 400 + (month <= 2 ? 1 : 0);
}

/** Day of the week of a day number: 0 Sunday … 6 Saturday (1970-01-01 was a Thursday). */
export function weekdayOf(days: number): number {
  return ((days % 7) + 11) % 7;
}

const monthLengths = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2 && isLeapYear(year)) return 29;
  const days = monthLengths[month];
  if (days === undefined) throw new RangeError(`month ${month} is not 1-12`);
  return days;
}
