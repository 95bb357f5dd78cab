import { jobHash } from '@clover/partitions';
import type { Models } from './models.js';

/** How many jobs one backfill round reads and updates. */
const backfillBatch = 1000;

/**
 * Gives every job stored before the hash field (@clover/partitions `jobHash`) its hash, a
 * thousand at a time, when the store opens: `listByHash` finds a job only by it. A job without
 * it is one written by an older release; after the first open there are none, and this is one
 * indexed query that finds nothing.
 */
export async function backfillJobHashes(jobs: Models['jobs']): Promise<number> {
  let done = 0;
  for (;;) {
    const ids = (
      await jobs
        .find({ hash: { $exists: false } }, { _id: 1 })
        .limit(backfillBatch)
        .lean()
    ).map((d) => d._id);
    if (!ids.length) return done;
    await jobs.bulkWrite(ids.map((id) => ({ updateOne: { filter: { _id: id }, update: { $set: { hash: jobHash(id) } } } })));
    done += ids.length;
  }
}
