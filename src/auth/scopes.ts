/**
 * @module auth/scopes
 * What a token's scopes allow. Two scopes, as the contract names them: `tasks:read` for reads and
 * read-only tools, `tasks:write` for changes and chat. A token with a `scope` claim gets what it
 * lists and nothing more; a token without one (an identity provider that does not issue scopes,
 * an HS256 token of a secret-only setup) and dev mode have full access, as before scopes existed.
 *
 * A missing scope is `403 insufficient_scope` with the RFC 6750 challenge that MCP hosts act on
 * (step-up: they ask the user for more and retry). The challenge's `scope` lists what the request
 * needs together with the task scopes the token already has, so a client that replaces its scope
 * set with the challenge's (rather than adding to it, as the 2026 specification asks) does not
 * lose what it could already do.
 *
 * HTTP routes need a scope by method (`scopeByMethod`); `/mcp` decides per JSON-RPC message
 * (mcp/http.ts), since every MCP request is a POST.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/errors.ts';

export const TASK_SCOPES = ['tasks:read', 'tasks:write'] as const;

/**
 * What a scope challenge names of the protected resource (./resource-metadata.ts builds it): only
 * where its metadata is, so this module does not import that one, which imports the scopes.
 */
type ChallengeTarget = { readonly metadataUrl: string } | undefined;
export type TaskScope = (typeof TASK_SCOPES)[number];

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether `granted` (a token's scopes; undefined = no scope claim) allows `needed`. */
export function allows(granted: readonly string[] | undefined, needed: TaskScope): boolean {
  return granted === undefined || granted.includes(needed);
}

/** Throws `403 insufficient_scope` unless `granted` allows every scope in `needed`. */
export function requireScopes(
  granted: readonly string[] | undefined,
  needed: Iterable<TaskScope>,
  resource: ChallengeTarget,
): void {
  const missing = [...new Set(needed)].filter((scope) => !allows(granted, scope));
  if (missing.length === 0) return;
  const wanted = TASK_SCOPES.filter((scope) => missing.includes(scope) || granted?.includes(scope));
  const parameters = [`error="insufficient_scope"`, `scope="${wanted.join(' ')}"`];
  if (resource) parameters.push(`resource_metadata="${resource.metadataUrl}"`);
  throw new ApiError('insufficient_scope', `This needs the ${missing.join(' and ')} scope`, {
    'WWW-Authenticate': `Bearer ${parameters.join(', ')}`,
  });
}

/**
 * For HTTP routes behind `authenticate`: reads need `tasks:read`, every other method (a change,
 * or a chat turn, which may change tasks) needs `tasks:write`.
 */
export function scopeByMethod(resource: ChallengeTarget): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    requireScopes(c.get('scopes'), [READ_METHODS.has(c.req.method) ? 'tasks:read' : 'tasks:write'], resource);
    await next();
  };
}
