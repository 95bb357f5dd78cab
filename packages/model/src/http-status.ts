/**
 * An HTTP job's expected statuses (`kind.expectStatus`): status codes and ranges of them, comma
 * separated, as a person writes them: `200-299`, `200,204`, `200-299,404`. Codes are 100–599; a
 * range's first code is at most its last. Spaces around the parts are allowed.
 */
const part = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/;

/** The success rule when a job names none: any status below 400, what an agent decided before `expectStatus` existed. */
export const DEFAULT_EXPECTED_STATUS = '200-399';

/**
 * The ranges `text` names, each `[first, last]`, or null when it is not an expected-status text
 * (see the rule above). Never throws.
 */
export function parseExpectStatus(text: string): Array<[number, number]> | null {
  const ranges: Array<[number, number]> = [];
  for (const p of text.split(',')) {
    const m = part.exec(p);
    if (!m) return null;
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (first < 100 || last > 599 || first > last) return null;
    ranges.push([first, last]);
  }
  return ranges;
}

/**
 * Whether `status` counts as success for a job whose `expectStatus` is `expect` (absent:
 * DEFAULT_EXPECTED_STATUS). A text that does not parse (an old or foreign writer's) expects nothing.
 */
export function statusExpected(status: number, expect: string | undefined): boolean {
  const ranges = parseExpectStatus(expect ?? DEFAULT_EXPECTED_STATUS) ?? [];
  return ranges.some(([first, last]) => status >= first && status <= last);
}
