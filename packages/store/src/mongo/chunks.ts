import type { AnyBulkWriteOperation } from 'mongoose';

/** What of a mongoose model this needs. */
interface BulkWriter {
  bulkWrite(ops: never[], options: { ordered: boolean }): Promise<unknown>;
}

/** What a chunked bulk write answers: how many documents its filters matched, over every chunk. */
export interface ChunkedWriteResult {
  matched: number;
}

/**
 * At most this many statements in one write command. MongoDB takes 100,000 a command, but
 * FerretDB 1.24 on SQLite deadlocks on an `update` command of 100 statements or more: each
 * statement holds one of the 100 connections of its SQLite pool (`SetMaxOpenConns(100)`) while it
 * waits for another (bench/README, "MongoDB"). 50 leaves room for the other clients' reads; a
 * batch of the dispatch-server's turn rarely has more, and when it has, one more command per 50
 * writes keeps the commands per recorded execution far below 1.
 */
export const MAX_STATEMENTS_PER_COMMAND = 50;

/**
 * `model.bulkWrite(ops)` sent as commands of at most MAX_STATEMENTS_PER_COMMAND statements, one
 * after another (so an ordered bulk keeps its order). Unordered: every chunk is sent even when one
 * fails, and the first failure is thrown at the end with its `writeErrors` indexes made relative
 * to `ops` as a whole.
 * @returns the documents matched by the chunks that succeeded (`BulkWriteResult.matchedCount`).
 * @throws what the driver throws (MongoBulkWriteError, …).
 */
export async function bulkWriteInChunks(model: BulkWriter, ops: AnyBulkWriteOperation[], ordered: boolean): Promise<ChunkedWriteResult> {
  let matched = 0;
  let failure: (Error & { writeErrors?: Array<{ index: number }> }) | null = null;
  const allErrors: Array<{ index: number; code?: number }> = [];
  for (let start = 0; start < ops.length; start += MAX_STATEMENTS_PER_COMMAND) {
    const chunk = ops.slice(start, start + MAX_STATEMENTS_PER_COMMAND);
    try {
      const result = (await model.bulkWrite(chunk as never[], { ordered })) as { matchedCount?: number } | undefined;
      matched += result?.matchedCount ?? 0;
    } catch (err) {
      const e = err as Error & { writeErrors?: Array<{ index: number; code?: number }> };
      if (ordered || !e.writeErrors) throw err;
      for (const w of e.writeErrors) allErrors.push({ index: w.index + start, code: w.code });
      failure ??= e;
    }
  }
  if (failure) throw Object.assign(failure, { writeErrors: allErrors });
  return { matched };
}
