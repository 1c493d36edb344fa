/**
 * @module auth/middleware
 * Who is calling. Every route but the open ones (health, the page) runs behind this middleware and reads the user id
 * from `c.get('userId')`; nothing downstream takes a user id from the request body or the model.
 *
 * `jwt` mode: `Authorization: Bearer <token>`, exactly that scheme and one space, verified by
 * ./jwt.ts; `X-User-Id` is ignored. `dev` mode: `X-User-Id` names the user (config refuses dev
 * mode in production). Every failure is `401 unauthorized` with a `WWW-Authenticate` challenge and
 * a short message that never repeats what the client sent.
 */
import type { MiddlewareHandler } from 'hono';
import type { Config } from '../config.ts';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/errors.ts';
import { errorFields } from '../log.ts';
import { createVerifier, InvalidToken } from './jwt.ts';
import { USER_ID_PATTERN, USER_ID_RULE } from './user-id.ts';

/** RFC 6750 `b64token`; the scheme is matched case-sensitively on purpose (one spelling, one space). */
const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

/**
 * @example
 * ```ts
 * app.use(authenticate(config.auth));
 * app.get('/tasks', (c) => listTasks(c.get('userId')));
 * ```
 */
export function authenticate(auth: Config['auth']): MiddlewareHandler<AppEnv> {
  if (auth.mode === 'dev') {
    return async (c, next) => {
      const userId = c.req.header('x-user-id');
      if (!userId || !USER_ID_PATTERN.test(userId)) {
        throw unauthorized(`Send X-User-Id (dev mode): ${USER_ID_RULE}`, false);
      }
      c.set('userId', userId);
      await next();
    };
  }

  const verify = createVerifier(auth);
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (header === undefined) throw unauthorized('Send Authorization: Bearer <token>', false);
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) throw unauthorized('Malformed Authorization header; send Bearer <token>');
    let userId: string;
    try {
      userId = await verify(token);
    } catch (error) {
      const problem = error instanceof InvalidToken ? error.problem : 'invalid';
      if (problem === 'jwks_unavailable') {
        c.var.log.warn('JWKS fetch failed; token rejected', errorFields((error as Error).cause));
      }
      throw unauthorized(problem === 'expired' ? 'Bearer token expired' : 'Invalid bearer token');
    }
    c.set('userId', userId);
    await next();
  };
}

/**
 * RFC 6750 §3.1: a request with no credentials gets a bare challenge; one with bad credentials
 * gets `error="invalid_token"`.
 */
function unauthorized(message: string, invalidToken = true): ApiError {
  const challenge = invalidToken
    ? 'Bearer realm="taskchat", error="invalid_token"'
    : 'Bearer realm="taskchat"';
  return new ApiError('unauthorized', message, { 'WWW-Authenticate': challenge });
}
