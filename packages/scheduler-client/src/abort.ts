/**
 * An execution's cancel switch (deadline, CANCEL, shutdown). Node's AbortController costs a few
 * microseconds and a good deal of garbage to create, and an agent makes one per execution:
 * at ~170 executions starting in the same millisecond that was the largest single share of the
 * time before the last one started. Most handlers never look at their signal, so the
 * AbortSignal is made only when something asks for it, already aborted if the switch was.
 */
export class ExecAbort {
  private controller: AbortController | null = null;
  private listeners: Array<() => void> | null = null;
  private reasonGiven: unknown = undefined;
  private done = false;

  get aborted(): boolean {
    return this.done;
  }

  get reason(): unknown {
    return this.reasonGiven;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.done) this.controller.abort(this.reasonGiven);
    }
    return this.controller.signal;
  }

  /** Calls `fn` once, when the switch is thrown (at once if it already was). */
  onAbort(fn: () => void): void {
    if (this.done) {
      fn();
      return;
    }
    (this.listeners ??= []).push(fn);
  }

  abort(reason: unknown): void {
    if (this.done) return;
    this.done = true;
    this.reasonGiven = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners ?? [];
    this.listeners = null;
    for (const fn of listeners) fn();
  }
}
