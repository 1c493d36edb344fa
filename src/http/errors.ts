/**
 * @module http/errors
 * The contract's error codes: raised anywhere as one typed exception (`ApiError`), and turned into
 * the contract's code, message and headers by ONE function (`describeError`), which the HTTP error
 * handler, the UI stream's error part and the MCP server all use. Anything it does not recognise is
 * `internal_error` with a fixed sentence: no driver, SQL or SDK text ever leaves through it.
 * A database that did not answer in time (a statement timeout, a stall) is `db_unavailable` like
 * one that is down (see db/resilience.ts); `draining` is a server shutting down (http/drain.ts);
 * `auth_unavailable` is an identity provider whose keys cannot be fetched (auth/jwks.ts).
 */
import { HTTPException } from 'hono/http-exception';
import { DbUnavailableError } from '../db/resilience.ts';

export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden_origin: 403,
  insufficient_scope: 403,
  not_found: 404,
  method_not_allowed: 405,
  conversation_busy: 409,
  message_id_reused: 409,
  undo_conflict: 409,
  approval_not_pending: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  budget_exhausted: 429,
  internal_error: 500,
  model_error: 502,
  db_unavailable: 503,
  draining: 503,
  auth_unavailable: 503,
  model_timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  override name = 'ApiError';
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;
  constructor(
    code: ErrorCode,
    message: string,
    headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.headers = headers;
  }
  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code];
  }
}

export type DescribedError = { code: ErrorCode; message: string; headers: Record<string, string> };

/** Any failure as the contract's code, a sentence for the user, and the headers that go with it. */
export function describeError(error: unknown): DescribedError {
  if (error instanceof ApiError) return { code: error.code, message: error.message, headers: error.headers };
  if (error instanceof DbUnavailableError) {
    // The error's message is already ours: unavailable, or did not answer in time.
    return {
      code: 'db_unavailable',
      message: error.message,
      headers: { 'Retry-After': String(error.retryAfterSeconds) },
    };
  }
  if (error instanceof HTTPException && error.status === 400) {
    return {
      code: 'invalid_request',
      message: 'Malformed request: the body must be valid JSON',
      headers: {},
    };
  }
  return { code: 'internal_error', message: 'Internal server error', headers: {} };
}

export function errorBody(code: ErrorCode, message: string, requestId?: string) {
  return { error: { code, message, ...(requestId ? { requestId } : {}) } };
}

export function notFound(what: 'Change' | 'Conversation' | 'Task'): ApiError {
  return new ApiError('not_found', `${what} not found`);
}
