import { BadCursorError } from './errors.js';
import type { Page } from './interfaces.js';

/** Keyset position (sort value, id) as an opaque string. */
export function encodeCursor(sortValue: number | string, id: string): string {
  return Buffer.from(JSON.stringify([sortValue, id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { sortValue: number | string; id: string } {
  try {
    const [sortValue, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if ((typeof sortValue !== 'number' && typeof sortValue !== 'string') || typeof id !== 'string') throw new Error();
    return { sortValue, id };
  } catch {
    throw new BadCursorError();
  }
}

/**
 * One page of `limit` items from the `limit + 1` rows a list read: the extra row only tells that
 * there are more, and then the cursor is the page's last row's `position` (sort value and id).
 */
export function pageOf<R, T>(rows: R[], limit: number, position: (last: R) => [sortValue: number, id: string], map: (r: R) => T): Page<T> {
  const more = rows.length > limit;
  const slice = rows.slice(0, limit);
  const last = slice.at(-1);
  return { items: slice.map(map), nextCursor: more && last ? encodeCursor(...position(last)) : null };
}

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return 50;
  return Math.max(1, Math.min(1000, Math.floor(limit)));
}

export const hourMs = 3600_000;
export const hourOf = (ms: number) => Math.floor(ms / hourMs) * hourMs;
