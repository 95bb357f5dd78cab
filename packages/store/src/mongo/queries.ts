import type { Page } from '../interfaces.js';
import { decodeCursor, pageOf } from '../cursor.js';

/** A query filter as built here, field by field; mongoose casts it against the model. */
export type Filter = Record<string, unknown>;

/** MongoDB's duplicate-key error code (E11000), on a single write or a bulk write's entry. */
export const isDuplicateKey = (err: unknown) => (err as { code?: number } | null)?.code === 11000;

/**
 * The indexes of the statements a bulk write or an unordered insertMany refused for a duplicate
 * key, when those are its only errors; `err` itself is thrown otherwise (any other failure is
 * not a duplicate to answer for).
 */
export function duplicateIndexes(err: unknown): number[] {
  const errors = (err as { writeErrors?: Array<{ index: number; code?: number }> }).writeErrors;
  if (!errors?.length || !errors.every(isDuplicateKey)) throw err;
  return errors.map((e) => e.index);
}

/** One page of `limit` from `limit + 1` rows read, with the cursor of its last row when there are more. */
export function page<T, R extends { _id: string }>(rows: R[], limit: number, sortOf: (r: R) => number, map: (r: R) => T): Page<T> {
  return pageOf(rows, limit, (last) => [sortOf(last), last._id], map);
}

/** The filter for the rows after a cursor in (`field` desc, `_id` desc) order; empty without one. */
export function keyset(field: string, cursor: string | null | undefined): Filter {
  if (!cursor) return {};
  const c = decodeCursor(cursor);
  const at = new Date(Number(c.sortValue));
  return { $or: [{ [field]: { $lt: at } }, { [field]: at, _id: { $lt: c.id } }] };
}

/** `s` as a regular expression that matches it as it is. */
export const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
