/** Structured fields of one log entry: ids, counts, and `err` for an error (logged as an object, see `errorFields`). */
export type LogFields = Record<string, unknown>;

/**
 * Where every clover library logs: a message and flat structured fields. An `Error` among the
 * fields is written as an object with its stack and cause (`errorFields`), never `String(err)`.
 * A line about a run carries `jobId`, `runId` and `attempt` (`runFields`), so one grep follows a
 * run across the dispatch-server, the agent and the monitor.
 */
export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** A logger that adds these fields to every entry (role, job id...). */
  child(bindings: LogFields): Logger;
}

/** The four levels, most severe first (winston's npm levels without http, verbose, silly). */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** Drops everything: the default of every library, and what a test passes when it reads no logs. */
export const noopLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  child: () => noopLogger,
};

/** An error as a log field: what a JSON line can hold of it. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** Node's error code (`ECONNREFUSED`), ZooKeeper's, the store's... when there is one. */
  code?: string | number;
  cause?: SerializedError | string;
  /** An AggregateError's errors. */
  errors?: (SerializedError | string)[];
}

const maxCauseDepth = 5;

/**
 * An error as a plain object with its name, message, stack, code and cause chain (at most 5 deep,
 * as a cycle is possible), for a JSON log line; anything thrown that is not an Error is its
 * `String()`.
 */
export function errorFields(err: unknown, depth = 0): SerializedError | string {
  if (!(err instanceof Error)) return String(err);
  const out: SerializedError = { name: err.name, message: err.message };
  if (err.stack) out.stack = err.stack;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  if (err.cause !== undefined && depth < maxCauseDepth) out.cause = errorFields(err.cause, depth + 1);
  if (err instanceof AggregateError && depth < maxCauseDepth) out.errors = (err.errors as unknown[]).map((e) => errorFields(e, depth + 1));
  return out;
}

/**
 * The fields with every Error value replaced by `errorFields(value)`; the same object when there
 * is none, so a logger adapter pays nothing on the common line.
 */
export function serializeErrors(fields: LogFields): LogFields {
  let out: LogFields | null = null;
  for (const [k, v] of Object.entries(fields)) {
    if (v instanceof Error) {
      out ??= { ...fields };
      out[k] = errorFields(v);
    }
  }
  return out ?? fields;
}

/**
 * The fields that name a run on every log line about it, under the same keys in every process:
 * `jobId`, `runId` (the run's `id`) and `attempt` (1 for the first execution).
 */
export function runFields(run: { jobId: string; id: string; attempt: number }): { jobId: string; runId: string; attempt: number } {
  return { jobId: run.jobId, runId: run.id, attempt: run.attempt };
}

/** One entry a `RecordingLogger` kept, the child bindings merged into `fields`. */
export interface LogRecord {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/** A logger that keeps every entry, for a test that asserts on what was logged. */
export interface RecordingLogger extends Logger {
  /** Every entry so far, oldest first, the children's included. */
  readonly records: LogRecord[];
  /** The messages logged at this level. */
  messages(level: LogLevel): string[];
}

/** A logger that keeps what it is given in memory (its children write to the same list). */
export function recordingLogger(): RecordingLogger {
  const records: LogRecord[] = [];
  const make = (bindings: LogFields): Logger => {
    const at = (level: LogLevel) => (message: string, fields?: LogFields) => {
      records.push({ level, message, fields: { ...bindings, ...fields } });
    };
    return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: (b) => make({ ...bindings, ...b }) };
  };
  return Object.assign(make({}), {
    records,
    messages: (level: LogLevel) => records.filter((r) => r.level === level).map((r) => r.message),
  });
}
