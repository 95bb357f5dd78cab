/**
 * The console API's errors, one shape for both ends: the server answers every 4xx/5xx with an
 * `ApiErrorBody`, and the console and the CLI turn that body back into an `ApiError`. No zod
 * here: the browser bundle imports this through `@clover/model/wire`.
 */

/** The codes the API answers with, and the HTTP status of each. */
export const apiErrorStatus = {
  bad_request: 400,
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  csrf_failed: 403,
  not_found: 404,
  conflict: 409,
  structural_node: 409,
  too_many_requests: 429,
  internal: 500,
} as const satisfies Record<string, number>;
export type ApiErrorCode = keyof typeof apiErrorStatus;

/**
 * One invalid field as a code and parameters, for a client to word in its own language and units.
 * Codes: `required`; `min`, `max` (`n`, in the field's own unit: ms for `…Ms`); `min_length`,
 * `max_length`, `min_items`, `max_items` (`n`); `email`; `url`; `format`; `one_of` (`values`);
 * `type` (`expected`); `cron` (`detail`: the parser's English words); `timezone`; `too_large`
 * (`n` bytes); `invalid` (anything else: the English message is all there is).
 */
export interface FieldIssue {
  code: string;
  params?: Record<string, string | number>;
}

/**
 * The body of every 4xx/5xx answer; `fields` names the invalid fields in English
 * (`{ "schedule.expr": "bad cron rule: …" }`), `issues` the same fields as codes (`FieldIssue`).
 */
export interface ApiErrorBody {
  error: ApiErrorCode;
  message: string;
  fields?: Record<string, string>;
  issues?: Record<string, FieldIssue>;
}

/**
 * A call that failed: the API's `{ error, message, fields }` with the HTTP status. The server
 * throws `ApiError<ApiErrorCode>`; a client may also meet codes the server never sends
 * (`network` with status 0 when there was no answer, `http_<status>` for a body that is not the API's).
 */
export class ApiError<Code extends string = string> extends Error {
  constructor(
    readonly status: number,
    readonly code: Code,
    message: string,
    readonly fields: Record<string, string> = {},
    /** From a 429's Retry-After: how long to wait, in seconds; null when not said. */
    readonly retryAfterSec: number | null = null,
    /** `fields` as codes and parameters (`FieldIssue`), for a client that words them itself. */
    readonly issues: Record<string, FieldIssue> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /**
   * The error a client reads from a non-2xx answer: `body` is the parsed JSON (anything: a proxy
   * may answer instead of the API), `retryAfter` the Retry-After header.
   */
  static fromAnswer(status: number, statusText: string, body: unknown, retryAfter: string | null = null): ApiError {
    const b: Partial<Record<keyof ApiErrorBody, unknown>> = body !== null && typeof body === 'object' ? body : {};
    return new ApiError(
      status,
      typeof b.error === 'string' ? b.error : `http_${status}`,
      typeof b.message === 'string' && b.message ? b.message : `${status} ${statusText}`.trim(),
      isStringRecord(b.fields) ? b.fields : {},
      retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) : null,
      isIssueRecord(b.issues) ? b.issues : {},
    );
  }

  /** The message for one field path (`schedule.expr`), if the server named it. */
  field(path: string): string | undefined {
    return this.fields[path];
  }
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

function isIssueRecord(v: unknown): v is Record<string, FieldIssue> {
  return (
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    Object.values(v).every((x: unknown) => x !== null && typeof x === 'object' && typeof (x as { code?: unknown }).code === 'string')
  );
}
