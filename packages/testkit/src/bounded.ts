/**
 * Waits for `work` for at most `timeoutMs`. A promise that settles only when an event fires (a
 * connection, a process exit, a socket closing) never settles when the event never comes; this
 * turns that into a failure that says what it was waiting for instead of a hung test run.
 * `work` may be a function: it is called once, and a synchronous throw becomes the rejection.
 */
export async function within<T>(work: Promise<T> | (() => T | Promise<T>), timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    const pending = typeof work === 'function' ? Promise.resolve().then(work) : work;
    return await Promise.race([pending, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** One clean-up step: its name for the report, and what it does. */
export type CleanupStep = readonly [name: string, run: () => unknown];

/**
 * Runs every clean-up step in order, each bounded by `timeoutMs`, and goes on past a step that
 * throws or hangs: one broken close must not leave the servers, sockets and processes after it
 * open, holding the test file alive. Throws at the end, naming every step that failed.
 */
export async function cleanUp(steps: Iterable<CleanupStep>, opts: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const failed: string[] = [];
  for (const [name, run] of steps) {
    try {
      await within(run, timeoutMs, `clean-up step "${name}"`);
    } catch (err) {
      failed.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (failed.length) throw new Error(`clean-up failed in ${failed.length} step(s):\n${failed.join('\n')}`);
}

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
