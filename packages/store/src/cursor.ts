import { BadCursorError } from './errors.js';

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

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return 50;
  return Math.max(1, Math.min(1000, Math.floor(limit)));
}

export const hourMs = 3600_000;
export const hourOf = (ms: number) => Math.floor(ms / hourMs) * hourMs;
