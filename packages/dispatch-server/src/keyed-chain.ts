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

  /**
   * As `run`, but bounded: should the promise `giveUp()` makes resolve while a task given before
   * under `key` is still going, `task` never runs and `instead` runs at once, outside the queue;
   * the tasks given later then wait for those before this one only. With nothing going under
   * `key`, `task` runs at once and `giveUp` is not called. Resolves or rejects as whichever ran does.
   */
  runUnless<T>(key: string, task: () => Promise<T>, giveUp: () => Promise<unknown>, instead: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key);
    if (!prev) return this.run(key, task);
    let turn: 'task' | 'instead' | null = null;
    const reached = prev.then(() => {
      turn ??= 'task';
    });
    const result = new Promise<T>((resolve, reject) => {
      void reached.then(() => {
        if (turn === 'task') task().then(resolve, reject);
      });
      giveUp().then(
        () => {
          if (turn !== null) return;
          turn = 'instead';
          instead().then(resolve, reject);
        },
        // A `giveUp` that fails never gives up: the task waits its turn.
        () => undefined,
      );
    });
    const tail = reached.then(() => (turn === 'task' ? result : undefined)).catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves once every task queued now under a key that `which` picks (default: every key) has settled. */
  async settled(which: (key: string) => boolean = () => true): Promise<void> {
    await Promise.all([...this.tails].filter(([key]) => which(key)).map(([, tail]) => tail));
  }
}
