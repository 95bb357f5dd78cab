import { BadCursorError } from './errors.js';
import { decodeCursor, pageLimit, pageOf } from './cursor.js';
import type { HashRange, JobHashQuery, Page } from './interfaces.js';

/** A row's place in hash order: (job hash, job id), both ascending. */
export interface HashPosition {
  hash: number;
  id: string;
}

/** Throws RangeError unless the ranges are whole 32-bit hash bounds, each non-empty, ascending and apart. */
export function checkHashRanges(ranges: readonly HashRange[]): void {
  let end = -1;
  for (const r of ranges) {
    const ok = Number.isInteger(r.from) && Number.isInteger(r.to) && r.from >= 0 && r.to <= 0x1_0000_0000 && r.from < r.to && r.from >= end;
    if (!ok)
      throw new RangeError(
        `job hash ranges must be [from, to) with 0 ≤ from < to ≤ 2^32, ascending and apart; got ${JSON.stringify(ranges)}`,
      );
    end = r.to;
  }
}

/**
 * One page of `listByHash` over a store's own range read. `read(range, after, n)` answers at
 * most `n` rows of the range in (hash, id) order, after `after` when given; the ranges are read
 * in order from the cursor's, each an index range scan, until the page (and one row more, to
 * know whether there are more) is full.
 */
export async function pageByHash<R, T>(
  query: JobHashQuery,
  read: (range: HashRange, after: HashPosition | null, n: number) => R[] | Promise<R[]>,
  position: (row: R) => HashPosition,
  map: (row: R) => T,
): Promise<Page<T>> {
  checkHashRanges(query.ranges);
  const limit = pageLimit(query.limit);
  let after: HashPosition | null = null;
  if (query.cursor) {
    const c = decodeCursor(query.cursor);
    if (typeof c.sortValue !== 'number') throw new BadCursorError();
    after = { hash: c.sortValue, id: c.id };
  }
  const rows: R[] = [];
  for (const range of query.ranges) {
    if (after && after.hash >= range.to) continue;
    rows.push(...(await read(range, after && after.hash >= range.from ? after : null, limit + 1 - rows.length)));
    if (rows.length > limit) break;
  }
  return pageOf(
    rows,
    limit,
    (last) => {
      const p = position(last);
      return [p.hash, p.id];
    },
    map,
  );
}
