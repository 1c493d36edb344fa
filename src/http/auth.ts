/**
 * @module http/auth
 * Who is calling. Every route but /health runs behind this middleware and reads the user id
 * from `c.get('userId')`; nothing downstream takes a user id from the request body or the model.
 */
import type { MiddlewareHandler } from 'hono';
import type { Config } from '../config.ts';
import { ApiError } from './errors.ts';

export type AuthVariables = { userId: string };

/** Dev-mode user ids: short, printable, no spaces (they end up in logs and SQL parameters). */
export const USER_ID_PATTERN = /^[A-Za-z0-9._:@|-]{1,128}$/;

export function authenticate(auth: Config['auth']): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    if (auth.mode !== 'dev') throw new ApiError('unauthorized', 'JWT auth is not available yet', unauthorizedHeaders());
    const userId = c.req.header('x-user-id');
    if (!userId || !USER_ID_PATTERN.test(userId)) {
      throw new ApiError('unauthorized', 'Send X-User-Id (dev mode): 1-128 letters, digits or ._:@|-', unauthorizedHeaders());
    }
    c.set('userId', userId);
    await next();
  };
}

function unauthorizedHeaders(): Record<string, string> {
  return { 'WWW-Authenticate': 'Bearer realm="taskchat"' };
}
