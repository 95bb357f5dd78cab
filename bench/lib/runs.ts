import type { Run } from '@clover/model';
import type { Store } from '@clover/store';
import { followCursor } from '@clover/testkit';

/**
 * Every run of `jobIds` scheduled from `fromMs` on, read page by page (1,000 a page) through the
 * store's cursor; testkit's followCursor fails on a cursor that repeats instead of paging for ever.
 */
export async function runsOfJobs(store: Store, jobIds: ReadonlySet<string>, fromMs: number): Promise<Run[]> {
  const pages = await followCursor((cursor) => store.runs.list({ from: new Date(fromMs), limit: 1000, cursor }), {
    maxPages: 100_000,
    what: 'the runs of the bench',
  });
  return pages.flatMap((page) => page.items.filter((r) => jobIds.has(r.jobId)));
}
