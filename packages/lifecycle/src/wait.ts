/**
 * Bounded waits. A promise that settles only when an event comes (an ACK, a socket draining, a
 * worker exiting) never settles when the event never comes; every wait of that kind in clover goes
 * through one of these two functions so that it ends, and says what it was waiting for.
 */

/** Raised by {@link within} when the wait ran out; `what` names the awaited thing. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

/**
 * Waits for `work` for at most `timeoutMs` milliseconds and returns its value.
 *
 * `work` may be a function: it is called once, and a synchronous throw becomes the rejection.
 * The timer is cleared when `work` settles first, so a finished wait keeps no process alive.
 *
 * @throws {TimeoutError} when `timeoutMs` passes first (`what` goes into its message).
 * @throws whatever `work` rejects with, unchanged.
 */
export async function within<T>(work: Promise<T> | (() => T | Promise<T>), timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new TimeoutError(what, timeoutMs));
    }, timeoutMs);
  });
  try {
    const pending = typeof work === 'function' ? Promise.resolve().then(work) : work;
    return await Promise.race([pending, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits for `work` to settle (fulfil or reject) for at most `timeoutMs` milliseconds, and never
 * throws: for a drain that should go on either way, such as "let in-flight sends finish, up to
 * 500 ms". Its rejection, if any, is observed here and dropped; the caller that cares about it
 * holds `work` itself.
 *
 * The timer is not unref'd: a close that awaits this must get to run its next step even when
 * nothing else holds the event loop. It is cleared as soon as `work` settles, so it keeps the
 * process alive at most `timeoutMs`.
 *
 * @returns `'settled'` when `work` settled in time, `'timeout'` otherwise.
 */
export async function settleWithin(work: PromiseLike<unknown>, timeoutMs: number): Promise<'settled' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      resolve('timeout');
    }, timeoutMs);
  });
  const settled = Promise.resolve(work).then(
    () => 'settled' as const,
    () => 'settled' as const,
  );
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
