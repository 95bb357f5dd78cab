import type { ErrorRequestHandler } from 'express';
import { ApiError, ValidationError, apiErrorStatus, type ApiErrorBody, type ApiErrorCode } from '@clover/model';
import { BadCursorError, DuplicateError } from '@clover/store';
import { BadVersionError, NoNodeError, NotEmptyError, NodeExistsError } from '@clover/zk-kit';
import type { Logger } from '@clover/logging';

/** The error a route throws: its code decides the status (`apiErrorStatus`); the handler answers with its `ApiErrorBody`. */
export type ServerError = ApiError<ApiErrorCode>;

export function apiError(code: ApiErrorCode, message: string, fields?: Record<string, string>, retryAfterSec?: number): ServerError {
  return new ApiError(apiErrorStatus[code], code, message, fields, retryAfterSec ?? null);
}

export const notFound = (what: string) => apiError('not_found', `${what} not found`);
export const badRequest = (message: string, fields?: Record<string, string>) => apiError('bad_request', message, fields);

/** Maps what the layers below throw to the API's error codes. */
export function toApiError(err: unknown): ServerError {
  if (isServerError(err)) return err;
  if (err instanceof ValidationError)
    return new ApiError(apiErrorStatus.validation_failed, 'validation_failed', 'some fields are invalid', err.fields, null, err.issues);
  if (err instanceof BadVersionError) return apiError('conflict', 'the node was changed by someone else; reload it and try again');
  if (err instanceof NoNodeError) return apiError('not_found', 'no such ZooKeeper node');
  if (err instanceof NodeExistsError) return apiError('conflict', 'the ZooKeeper node already exists');
  if (err instanceof NotEmptyError) return apiError('conflict', 'the ZooKeeper node has children');
  if (err instanceof DuplicateError) return apiError('conflict', err.message);
  if (err instanceof BadCursorError) return apiError('bad_request', 'invalid cursor', { cursor: 'not a cursor from a previous page' });
  // express.json() raises these for unparsable or oversized bodies.
  const e: { type?: unknown; status?: unknown; message?: unknown } = err !== null && typeof err === 'object' ? err : {};
  if (e.type === 'entity.parse.failed')
    return apiError('bad_request', e.message === protoKeyMessage ? protoKeyMessage : 'the body is not valid JSON');
  if (e.type === 'entity.too.large') return apiError('bad_request', 'the body is too large');
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500)
    return apiError('bad_request', typeof e.message === 'string' ? e.message : 'bad request');
  return apiError('internal', 'internal error');
}

/** Why a body with a `__proto__` key is refused (app.ts). */
export const protoKeyMessage = 'a "__proto__" key is not allowed anywhere in the body';

export function errorHandler(logger: Logger): ErrorRequestHandler {
  // Express knows an error handler by its four parameters.
  return (err, req, res, next) => {
    // An answer already under way cannot become an error answer: Express ends the connection.
    if (res.headersSent) {
      next(err);
      return;
    }
    const api = toApiError(err);
    if (api.code === 'internal')
      logger.error('request failed', {
        method: req.method,
        path: req.path,
        err,
      });
    if (api.retryAfterSec !== null) res.setHeader('Retry-After', String(api.retryAfterSec));
    const body: ApiErrorBody = {
      error: api.code,
      message: api.message,
      ...(Object.keys(api.fields).length ? { fields: api.fields } : {}),
      ...(Object.keys(api.issues).length ? { issues: api.issues } : {}),
    };
    res.status(api.status).json(body);
  };
}

function isServerError(err: unknown): err is ServerError {
  if (!(err instanceof ApiError)) return false;
  const code: unknown = err.code;
  return typeof code === 'string' && Object.hasOwn(apiErrorStatus, code);
}
