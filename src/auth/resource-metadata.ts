/**
 * @module auth/resource-metadata
 * What an MCP host needs to find out how to log in, given nothing but the `/mcp` URL: RFC 9728
 * protected-resource metadata naming this resource (`PUBLIC_URL` + `/mcp`), the authorization
 * servers that issue tokens for it, and the scopes it understands. Hosts (Claude, ChatGPT, Cursor,
 * VS Code, the MCP SDK) read its URL from the `resource_metadata` of a 401 challenge, or try the
 * well-known locations themselves; they then discover the authorization server, register, and ask
 * it for a token whose `aud` is the resource (RFC 8707), which auth/jwt.ts then requires.
 *
 * Served only in jwt mode with an authorization server known (`AUTH_AUTHORIZATION_SERVERS`, else
 * an `AUTH_JWT_ISSUER` URL). Every other `/.well-known/*` path answers 404 without authentication,
 * as the contract leaves `/.well-known/*` open: a host probing for metadata must learn "there is
 * none" rather than meet a 401 it would take for a login prompt.
 *
 * @example
 * const resource = protectedResource(config);
 * app.route('/', resourceMetadataRoutes(resource));   // before authenticate()
 */
import { Hono } from 'hono';
import type { Config } from '../config.ts';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/errors.ts';
import { TASK_SCOPES } from './scopes.ts';

export type ProtectedResource = Readonly<{
  /** The resource identifier: the MCP endpoint's URL, which tokens must carry in `aud`. */
  resource: string;
  /** Where the metadata document is served, as announced in `WWW-Authenticate`. */
  metadataUrl: string;
  authorizationServers: readonly string[];
}>;

const METADATA_PATH = '/.well-known/oauth-protected-resource';

/** This server as an OAuth protected resource, or undefined when no authorization server is known. */
export function protectedResource(config: Config): ProtectedResource | undefined {
  if (config.auth.mode !== 'jwt' || config.auth.authorizationServers.length === 0) return undefined;
  return Object.freeze({
    resource: `${config.publicUrl}/mcp`,
    // RFC 9728 inserts the well-known segment before the resource's path; PUBLIC_URL's own path
    // (a reverse proxy's prefix) stays in front, so the URL reaches this app through that proxy.
    metadataUrl: `${config.publicUrl}${METADATA_PATH}/mcp`,
    authorizationServers: config.auth.authorizationServers,
  });
}

/** The metadata routes (both the path form and the root form), and 404 for the rest of `/.well-known`. */
export function resourceMetadataRoutes(resource: ProtectedResource | undefined): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  if (resource) {
    const document = {
      resource: resource.resource,
      authorization_servers: [...resource.authorizationServers],
      scopes_supported: [...TASK_SCOPES],
      bearer_methods_supported: ['header'],
      resource_name: 'taskchat',
    };
    for (const path of [METADATA_PATH, `${METADATA_PATH}/mcp`]) {
      app.get(path, (c) => c.json(document, 200, { 'Cache-Control': 'public, max-age=300' }));
    }
  }
  app.all('/.well-known/*', () => {
    throw new ApiError('not_found', 'No such document');
  });
  return app;
}
