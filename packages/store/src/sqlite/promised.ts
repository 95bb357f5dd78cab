/**
 * better-sqlite3 answers synchronously; the repository interfaces answer with promises.
 * `promised(work)` runs `work` at once and hands back its result, or what it threw, as a promise,
 * as an `async` method would: a caller's `await` or `.catch()` sees a constraint or validation
 * error as a rejection, never as a throw out of the call itself.
 */
export function promised<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}
