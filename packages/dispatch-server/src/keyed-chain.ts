/**
 * Runs tasks one after another per key, in the order they were given, and different keys side
 * by side: a key's queue is a promise chain, dropped once it runs dry. A task that fails does not
 * stop the ones after it (its caller gets the failure).
 */
export class KeyedChain {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `task` once every task given before under `key` has settled; resolves or rejects as it does. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** Resolves once every task queued now under a key that `which` picks (default: every key) has settled. */
  async settled(which: (key: string) => boolean = () => true): Promise<void> {
    await Promise.all([...this.tails].filter(([key]) => which(key)).map(([, tail]) => tail));
  }
}
