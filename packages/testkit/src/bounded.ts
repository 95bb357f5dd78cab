/**
 * Bounded waits and clean-ups are @clover/lifecycle's, the same the processes use: `within(work,
 * ms, what)` turns a promise that may never settle (a connection, a process exit, a socket
 * closing) into a failure that says what it was waiting for instead of a hung test run, and
 * `cleanUp(steps)` runs every clean-up step, each bounded, past one that throws or hangs, then
 * throws naming every step that failed.
 */
export { within, cleanUp, type CleanupStep } from '@clover/lifecycle';

/**
 * Follows a cursor from the first page to the last and returns the pages in order. A cursor that
 * comes back, or that never runs out within `maxPages`, fails instead of paging forever.
 */
export async function followCursor<P extends { nextCursor: string | null }>(
  fetchPage: (cursor: string | null) => Promise<P>,
  opts: { maxPages?: number; what?: string } = {},
): Promise<P[]> {
  const maxPages = opts.maxPages ?? 1000;
  const what = opts.what ?? 'the pages';
  const pages: P[] = [];
  const seen = new Set<string>();
  let cursor: string | null = null;
  do {
    if (pages.length >= maxPages) throw new Error(`paging through ${what}: still a next cursor after ${maxPages} pages`);
    const page: P = await fetchPage(cursor);
    pages.push(page);
    cursor = page.nextCursor;
    if (cursor !== null && seen.has(cursor))
      throw new Error(`paging through ${what}: cursor ${cursor} came back after ${pages.length} pages`);
    if (cursor !== null) seen.add(cursor);
  } while (cursor);
  return pages;
}
