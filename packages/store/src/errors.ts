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
