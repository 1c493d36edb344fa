/**
 * @module auth/middleware
 * Who is calling. Every route but the open ones (health, the page) runs behind this middleware and reads the user id
 * from `c.get('userId')`; nothing downstream takes a user id from the request body or the model.
 *
 * `jwt` mode: `Authorization: Bearer <token>`, exactly that scheme and one space, verified by
 * ./jwt.ts; `X-User-Id` is ignored. The token's scopes go to `c.get('scopes')` for ./scopes.ts.
 * `dev` mode: `X-User-Id` names the user (config refuses dev mode in production). Every failure is
 * `401 unauthorized` with a `WWW-Authenticate` challenge and a short message that never repeats
 * what the client sent. Dev mode's challenge names its own scheme (`X-User-Id`), not `Bearer`: a
 * Bearer challenge sends MCP hosts and the Inspector off to look for OAuth that is not there,
 * where the answer is "send X-User-Id".
 *
 * Why a token was refused goes to the log (info, `token refused` with its `reason`: which claim,
 * what was expected), never to the client, and never with the token. A token whose key cannot be
 * fetched from the identity provider is not a bad token: `503 auth_unavailable` with `Retry-After`.
 *
 * When this server is an OAuth protected resource (./resource-metadata.ts), the challenge names
 * its metadata (`resource_metadata`, how MCP hosts find where to log in) and tokens must be issued
 * for it: `aud` must include the resource URL unless `AUTH_JWT_AUDIENCE` names another audience,
 * so a token some other service received cannot be replayed here (RFC 8707).
 */
import type { MiddlewareHandler } from 'hono';
import type { Config } from '../config.ts';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/errors.ts';
import { errorFields } from '../log.ts';
import { JwksFetchFailed } from './jwks.ts';
import { createTokenVerifier, InvalidToken, type TokenProblem, type VerifiedToken } from './jwt.ts';
import type { ProtectedResource } from './resource-metadata.ts';
import { TASK_SCOPES } from './scopes.ts';
import { USER_ID_PATTERN, USER_ID_RULE } from './user-id.ts';

/** A JWKS outage is usually short; a client that retries sooner meets the same spaced fetch. */
const AUTH_RETRY_AFTER_SECONDS = 5;

const REFUSALS: Record<Exclude<TokenProblem, 'jwks_unavailable'>, string> = {
  invalid: 'Invalid bearer token',
  expired: 'Bearer token expired',
  no_expiry: 'Bearer token has no expiry (exp claim); this server requires one',
};

/** RFC 6750 `b64token`; the scheme is matched case-sensitively on purpose (one spelling, one space). */
const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

/**
 * @example
 * ```ts
 * app.use(authenticate(config.auth));
 * app.get('/tasks', (c) => listTasks(c.get('userId')));
 * ```
 */
export function authenticate(
  auth: Config['auth'],
  resource?: ProtectedResource | undefined,
): MiddlewareHandler<AppEnv> {
  if (auth.mode === 'dev') {
    return async (c, next) => {
      const userId = c.req.header('x-user-id');
      if (!userId || !USER_ID_PATTERN.test(userId)) {
        throw new ApiError('unauthorized', `Send X-User-Id (dev mode): ${USER_ID_RULE}`, {
          'WWW-Authenticate': 'X-User-Id realm="taskchat"',
        });
      }
      c.set('userId', userId);
      c.set('scopes', undefined);
      c.set('zoneinfo', undefined);
      await next();
    };
  }

  const verify = createTokenVerifier(
    { ...auth, audience: auth.audience ?? resource?.resource },
    {
      audienceSource:
        auth.audience === undefined && resource
          ? 'PUBLIC_URL/mcp, the MCP resource, required since AUTH_JWT_ISSUER is a URL; set AUTH_JWT_AUDIENCE to accept the audience your provider issues'
          : undefined,
    },
  );
  const unauthorized = (message: string, invalidToken = true): ApiError =>
    new ApiError('unauthorized', message, { 'WWW-Authenticate': challenge(resource, invalidToken) });
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (header === undefined) throw unauthorized('Send Authorization: Bearer <token>', false);
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) {
      c.var.log.info('token refused', { reason: 'the Authorization header is not "Bearer <token>"' });
      throw unauthorized('Malformed Authorization header; send Bearer <token>');
    }
    let verified: VerifiedToken;
    try {
      verified = await verify(token);
    } catch (error) {
      if (!(error instanceof InvalidToken)) throw error;
      if (error.problem === 'jwks_unavailable') {
        const failure = (error.cause as Error | undefined)?.cause;
        c.var.log.warn('JWKS fetch failed; token not checked', {
          reason: failure instanceof JwksFetchFailed ? failure.message : 'unknown',
          ...errorFields(failure),
        });
        throw new ApiError(
          'auth_unavailable',
          'The identity provider cannot be reached to check your token; try again shortly',
          { 'Retry-After': String(AUTH_RETRY_AFTER_SECONDS) },
        );
      }
      c.var.log.info('token refused', { reason: error.reason });
      throw unauthorized(REFUSALS[error.problem]);
    }
    c.set('userId', verified.userId);
    c.set('scopes', verified.scopes);
    c.set('zoneinfo', verified.zoneinfo);
    await next();
  };
}

/**
 * RFC 6750 §3.1: a request with no credentials gets a bare challenge; one with bad credentials
 * gets `error="invalid_token"`. With OAuth discovery the challenge names the resource metadata
 * (RFC 9728 §5.1) instead of a realm. Either way it names the scopes a token needs (`scope`, as
 * the MCP authorization spec asks), so a host asks for both at its first login.
 */
function challenge(resource: ProtectedResource | undefined, invalidToken: boolean): string {
  const first = resource ? `resource_metadata="${resource.metadataUrl}"` : 'realm="taskchat"';
  return `Bearer ${first}, scope="${TASK_SCOPES.join(' ')}"${invalidToken ? ', error="invalid_token"' : ''}`;
}
