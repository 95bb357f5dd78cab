import { logEntrySchema, logLevelRank, newId, type LogEntry } from '@clover/model';
import type { LogRepository } from '../interfaces.js';
import { pageLimit } from '../cursor.js';
import { entryMatches, jobIdWordsFor, logEntryWords, probedRows as defaultProbedRows, queryWords, type QueryTerm } from '../log-words.js';
import { bulkWriteInChunks } from './chunks.js';
import { decodeKeys, encodeKeys } from './keys.js';
import type { Models } from './models.js';
import { escapeRe, keyset, page, type Filter } from './queries.js';

/** A term's filter on the words index: a prefix of a word, or one of the ids of the jobs it stands for. */
function termFilter(t: QueryTerm): Filter {
  const prefix = { words: { $regex: `^${escapeRe(t.word)}` } };
  return t.jobIds.length ? { $or: [prefix, { words: { $in: t.jobIds } }] } : prefix;
}

/** How many entries one backfill round reads and updates. */
const backfillBatch = 1000;

/**
 * Log entries, searched by their `words` (log-words.ts), an array under a multikey index
 * ({ words: 1, time: -1 }, models.ts): each query word is an anchored, case-sensitive regex
 * (`^word`, the words are lower-cased) that MongoDB answers from the index's range for that prefix.
 *
 * Not `$text`: FerretDB 1.x, our test server, has no text indexes, and `$text` matches whole
 * stemmed words only (`disp` would not find `dispatch-server`) with a rule of its own that
 * SQLite's index could not repeat. A word array gives both stores one rule. FerretDB 1.24 on
 * SQLite pushes no filter down to an index (its explain: `SCAN`, `filterPushdown: false`), so there
 * it still reads every row; MongoDB uses the index. FerretDB also answers `$all` of regexes
 * with nothing, hence an `$and` of one regex each.
 *
 * @param probedRows newest rows a search tests before it asks the index (log-words.ts; default
 * `probedRows`); 0 asks the index straight away.
 */
export function mongoLogs(m: Models, probedRows = defaultProbedRows): LogRepository {
  /** The job ids `word` stands for (log-words.ts `jobIdWordsFor`), jobs taken by id; a regex narrows them first. */
  const jobsNamed = async (word: string): Promise<string[]> => {
    const named = await m.jobs
      .find({ name: { $regex: escapeRe(word), $options: 'i' } }, { _id: 1, name: 1 })
      .sort({ _id: 1 })
      .lean();
    return jobIdWordsFor(
      word,
      named.map((j) => ({ id: j._id, name: j.name })),
    );
  };
  return {
    async write(entries) {
      if (!entries.length) return;
      await m.logs.insertMany(
        entries.map((input) => {
          const e = logEntrySchema.parse({ ...input, id: newId('log') });
          return {
            _id: e.id,
            time: e.time,
            level: e.level,
            levelRank: logLevelRank[e.level],
            source: e.source,
            node: e.node,
            message: e.message,
            context: encodeKeys(e.context),
            words: logEntryWords(e),
          };
        }),
      );
    },
    async list(q = {}) {
      const limit = pageLimit(q.limit);
      const and: Filter[] = [keyset('time', q.cursor)];
      if (q.level) and.push({ levelRank: { $lte: logLevelRank[q.level] } });
      if (q.source) and.push({ source: { $regex: escapeRe(q.source), $options: 'i' } });
      if (q.node) and.push({ node: q.node });
      if (q.from || q.to) and.push({ time: { ...(q.from ? { $gte: q.from } : {}), ...(q.to ? { $lt: q.to } : {}) } });
      const read = (filters: Filter[], rows: number) => m.logs.find({ $and: filters }).sort({ time: -1, _id: -1 }).limit(rows).lean();
      const terms: QueryTerm[] = [];
      for (const word of queryWords(q.q)) terms.push({ word, jobIds: await jobsNamed(word) });
      let rows: Awaited<ReturnType<typeof read>> | null = null;
      if (!terms.length) rows = await read(and, limit + 1);
      else if (probedRows > 0) {
        // log-words.ts: the newest rows first, the index only when they do not settle it.
        const recent = await read(and, probedRows);
        const hits = recent.filter((r) => entryMatches(r.words ?? [], terms)).slice(0, limit + 1);
        if (hits.length > limit || recent.length < probedRows) rows = hits;
      }
      rows ??= await read([...and, ...terms.map(termFilter)], limit + 1);
      return page(
        rows,
        limit,
        (r) => new Date(r.time).getTime(),
        (r): LogEntry => logEntrySchema.parse({ ...r, context: decodeKeys(r.context), id: r._id }),
      );
    },
    async deleteOlderThan(cutoff) {
      return (await m.logs.deleteMany({ time: { $lt: cutoff } })).deletedCount;
    },
  };
}

/**
 * Gives every entry stored before the `words` field its words, a thousand at a time, when the
 * store opens: search finds an entry only by them. After the first open there are none, and this
 * is one query that finds nothing (through the words index on MongoDB). Entries leave within the
 * log retention anyway, so a large store that cannot wait may be opened after its old entries age out.
 */
export async function backfillLogWords(logs: Models['logs']): Promise<number> {
  let done = 0;
  for (;;) {
    const rows = await logs
      .find({ words: { $exists: false } }, { _id: 1, message: 1, source: 1, context: 1 })
      .limit(backfillBatch)
      .lean();
    if (!rows.length) return done;
    // In commands of 50 (chunks.ts): FerretDB deadlocks on an update of 100 statements or more.
    await bulkWriteInChunks(
      logs,
      rows.map((r) => ({
        updateOne: {
          filter: { _id: r._id },
          update: { $set: { words: logEntryWords({ message: r.message, source: r.source, context: decodeKeys(r.context) }) } },
        },
      })),
      false,
    );
    done += rows.length;
  }
}
