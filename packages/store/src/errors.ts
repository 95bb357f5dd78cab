/** A second insert of a run id: the slot was already fired. */
export class DuplicateRunError extends Error {
  constructor(readonly runId: string) {
    super(`run ${runId} exists`);
    this.name = 'DuplicateRunError';
  }
}

/** A unique key taken (a user name, a token). */
export class DuplicateError extends Error {
  constructor(what: string) {
    super(`${what} exists`);
    this.name = 'DuplicateError';
  }
}

export class BadCursorError extends Error {
  constructor() {
    super('invalid cursor');
    this.name = 'BadCursorError';
  }
}

/**
 * A run insert refused by its partition's fence (`RunWrites.partitions`): a later owner of the
 * partition has taken it, so the slot is not this writer's to claim. A DuplicateRunError, so
 * that a writer that stops at a taken slot stops here too.
 */
export class FencedRunError extends DuplicateRunError {
  constructor(runId: string) {
    super(runId);
    this.name = 'FencedRunError';
    this.message = `run ${runId} refused: a later owner of its partition fenced it`;
  }
}
