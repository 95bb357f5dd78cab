import type { ErrorRequestHandler } from 'express';
import { ValidationError } from '@clover/model';
import { BadCursorError, DuplicateError } from '@clover/store';
import { BadVersionError, NoNodeError, NotEmptyError, NodeExistsError } from '@clover/zk-kit';
import type { Logger } from '@clover/logging';

export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'unauthenticated'
  | 'forbidden'
  | 'csrf_failed'
  | 'not_found'
  | 'conflict'
  | 'structural_node'
  | 'too_many_requests'
  | 'internal';

const statusOf: Record<ErrorCode, number> = {
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
};

/** An error the API answers with as `{ error, message, fields? }`. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields?: Record<string, string>,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get status(): number {
    return statusOf[this.code];
  }
}

export const notFound = (what: string) => new ApiError('not_found', `${what} not found`);
export const badRequest = (message: string, fields?: Record<string, string>) => new ApiError('bad_request', message, fields);

/** Maps what the layers below throw to the API's error codes. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ValidationError) return new ApiError('validation_failed', 'some fields are invalid', err.fields);
  if (err instanceof BadVersionError) return new ApiError('conflict', 'the node was changed by someone else; reload it and try again');
  if (err instanceof NoNodeError) return new ApiError('not_found', 'no such ZooKeeper node');
  if (err instanceof NodeExistsError) return new ApiError('conflict', 'the ZooKeeper node already exists');
  if (err instanceof NotEmptyError) return new ApiError('conflict', 'the ZooKeeper node has children');
  if (err instanceof DuplicateError) return new ApiError('conflict', err.message);
  if (err instanceof BadCursorError) return new ApiError('bad_request', 'invalid cursor', { cursor: 'not a cursor from a previous page' });
  // express.json() raises these for unparsable or oversized bodies.
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.parse.failed') return new ApiError('bad_request', 'the body is not valid JSON');
  if (e?.type === 'entity.too.large') return new ApiError('bad_request', 'the body is too large');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new ApiError('bad_request', e.message ?? 'bad request');
  return new ApiError('internal', 'internal error');
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const api = toApiError(err);
    if (api.code === 'internal')
      logger.error('request failed', {
        method: req.method,
        path: req.path,
        err: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
    for (const [k, v] of Object.entries(api.headers)) res.setHeader(k, v);
    res.status(api.status).json({ error: api.code, message: api.message, ...(api.fields ? { fields: api.fields } : {}) });
  };
}
