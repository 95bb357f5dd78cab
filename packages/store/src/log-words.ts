/**
 * The words of log search, one rule for both stores (SQLite's FTS5 table and MongoDB's `words`
 * array hold the same words, and a query's words are cut the same way).
 *
 * A word is a run of Unicode letters, digits and `_`, lower-cased: `dispatch-server` holds
 * `dispatch` and `server`; a job id (`job_0mx39k2ab…`) is one word; `ECONNREFUSED 127.0.0.1:80`
 * holds `econnrefused`, `127`, `0`, `1` and `80`. Text without spaces (Chinese) is one word per
 * run, so it is found by its beginning only.
 *
 * An entry's words: those of its message, its source, and every string, number and boolean value
 * in its context, however deep (not the context's keys: `error`, `jobId` are in nearly every
 * entry and would find them all), at most `maxWordsPerEntry` distinct ones in that order.
 *
 * A query matches an entry when every word of it (the first `maxQueryWords`) is the beginning of
 * one of the entry's words, or the beginning of a word of the name of a job whose id is one of the
 * entry's words (at most `maxJobsPerWord` jobs a word). A query without words sets no condition.
 *
 * Job names are resolved when a search runs, not when an entry is written: a renamed job is
 * found by its new name, the write path (a dispatch-server's batches) reads no jobs, and the index
 * keeps no copy of any name. The price is one read of the jobs whose name holds each query word
 * (jobs are thousands where entries are millions), and entries of a deleted job are found by its
 * id only.
 *
 * How a store answers (both alike): first it reads the newest `probedRows` entries that pass the
 * other filters and tests them here (`entryMatches`); when they hold a page of matches, or are all
 * there is, that is the answer. Otherwise it asks its word index. A frequent word (`dispatch`,
 * half the entries) is thus answered from a few hundred rows, where the index would list and sort
 * every match; a rare one from the index, whose cost follows the matches, not the table. The
 * slow case left is a word frequent among older entries but rare among the newest: the index
 * lists and sorts all its matches.
 */

/** Distinct words kept from one entry: a long stack trace in a context is cut there (the index grows by each). */
export const maxWordsPerEntry = 256;
/** Newest entries tested before the index is asked (see above); 1,000 cost 2.5-4 ms on SQLite (bench/log-search.bench.ts). */
export const probedRows = 1000;
/** Words of a query beyond these are ignored. */
export const maxQueryWords = 16;
/** Jobs whose name a query word can stand for; a word that begins more job names finds the entries of these only. */
export const maxJobsPerWord = 100;

const wordPattern = /[\p{L}\p{N}_]+/gu;

/** `text`'s words, lower-cased, in order, repeats included. */
export function wordsOf(text: string): string[] {
  return text.toLowerCase().match(wordPattern) ?? [];
}

/** The distinct words search finds a log entry by (see above), at most `maxWordsPerEntry`. */
export function logEntryWords(entry: { message: string; source: string; context: unknown }): string[] {
  const words = new Set<string>();
  const add = (text: string) => {
    for (const w of wordsOf(text)) {
      if (words.size >= maxWordsPerEntry) return;
      words.add(w);
    }
  };
  const walk = (value: unknown): void => {
    if (typeof value === 'string') add(value);
    else if (typeof value === 'number' || typeof value === 'boolean') add(String(value));
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  add(entry.message);
  add(entry.source);
  walk(entry.context);
  return [...words];
}

/** A query's distinct words, at most `maxQueryWords`; none for a query of no letters or digits. */
export function queryWords(q: string | undefined): string[] {
  return [...new Set(wordsOf(q ?? ''))].slice(0, maxQueryWords);
}

/**
 * The words a query word stands for through job names: the ids of the first `maxJobsPerWord` of
 * `jobs` (in the order given) with a name word beginning with `word`. An id the word rule would
 * cut in two is no word of any entry, so it is left out.
 */
export function jobIdWordsFor(word: string, jobs: Array<{ id: string; name: string }>): string[] {
  return jobs
    .filter((j) => wordsOf(j.name).some((w) => w.startsWith(word)))
    .slice(0, maxJobsPerWord)
    .flatMap((j) => {
      const idWords = wordsOf(j.id);
      return idWords.length === 1 ? idWords : [];
    });
}

/** One word of a query and the ids of the jobs whose name it stands for (`jobIdWordsFor`). */
export interface QueryTerm {
  word: string;
  jobIds: readonly string[];
}

/** Whether an entry of these words (`logEntryWords`) matches every term. */
export function entryMatches(words: readonly string[], terms: readonly QueryTerm[]): boolean {
  return terms.every((t) => words.some((w) => w.startsWith(t.word) || t.jobIds.includes(w)));
}

/**
 * Whether text holding all of an entry's strings (lower-cased, its context as JSON) may match
 * every term: each term's word or one of its job ids must be in it somewhere. A cheap test that
 * turns most entries away before their words are cut (`entryMatches` decides).
 */
export function mayMatch(lowerText: string, terms: readonly QueryTerm[]): boolean {
  return terms.every((t) => lowerText.includes(t.word) || t.jobIds.some((id) => lowerText.includes(id)));
}
