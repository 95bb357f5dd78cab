/** How long one attempt at a write may wait on another process's lock, inside SQLite (ms): the event loop waits with it. */
export const busyWaitMs = 100;
/** How long a write keeps trying, between event-loop turns, before its SQLITE_BUSY is the answer (ms). */
export const busyRetryForMs = 60_000;

/** Whether better-sqlite3 threw because another connection holds the lock the work needed. */
export const isBusy = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_LOCKED';
};

/**
 * better-sqlite3 answers synchronously; the repository interfaces answer with promises.
 * `promised(work)` runs `work` at once and hands back its result, or what it threw, as a promise,
 * as an `async` method would: a caller's `await` or `.catch()` sees a constraint or validation
 * error as a rejection, never as a throw out of the call itself.
 *
 * A write that finds another process holding the file's write lock (SQLITE_BUSY) is tried again
 * from a later turn, backing off from 2 to 20 ms (SQLite waits up to busyWaitMs within each try), for up to 60 s: SQLite's own busy wait
 * (busy_timeout, kept to {@link busyWaitMs}) holds the event loop, and issue 16's chaos run
 * showed what that costs. A dispatch-server SIGSTOPped inside a transaction held the lock for
 * 8 s; every other process's writes then waited 5 s at a time on their event loops, the leader's
 * ZooKeeper session expired and no server could lead until the stopped one was continued. A
 * write refused this way did nothing (SQLite takes the lock at BEGIN IMMEDIATE, before any
 * change), so trying it again is safe.
 */
export function promised<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (err) {
    // What better-sqlite3 and zod throw are Errors; anything else is wrapped so it is one too.
    if (!isBusy(err)) return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    return retryBusy(work);
  }
}

async function retryBusy<T>(work: () => T): Promise<T> {
  const until = Date.now() + busyRetryForMs;
  for (let wait = 2; ; wait = Math.min(20, wait * 2)) {
    await new Promise((r) => setTimeout(r, wait));
    try {
      return work();
    } catch (err) {
      if (!isBusy(err) || Date.now() >= until) throw err;
    }
  }
}
