#!/usr/bin/env node
/**
 * @module scripts/dev-auth-server
 * A development OAuth 2.1 authorization server on this machine, to try MCP hosts' login against
 * taskchat without an identity provider: the TEST SUPPORT server of test/support/oauth-server.ts
 * (oidc-provider, in memory, dynamic client registration, code + PKCE, resource indicators, JWT
 * access tokens from its JWKS), started on a fixed port so its issuer URL stays the same. Any name
 * typed on its login page becomes the user id; there are no passwords. Never expose it.
 *
 *   npm run dev:auth                                   serve on http://127.0.0.1:4000 (DEV_AUTH_PORT)
 *   npm run -s dev:auth -- token alice [tasks:read]    print an access token for alice, obtained
 *                                                       through the running server's real flow
 *
 * `token` takes `--resource <url>` (default http://127.0.0.1:3000/mcp, taskchat's resource with the
 * default PUBLIC_URL) and `--issuer <url>` (default the served address).
 */
import { parseArgs } from 'node:util';
import {
  authorizationCodeToken,
  registerPublicClient,
  startOAuthServer,
} from '../test/support/oauth-server.ts';

const port = Number(process.env.DEV_AUTH_PORT ?? 4000);
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    resource: { type: 'string', default: 'http://127.0.0.1:3000/mcp' },
    issuer: { type: 'string', default: `http://127.0.0.1:${port}` },
  },
});

if (positionals[0] === 'token') {
  const [, login, scope = 'tasks:read tasks:write'] = positionals;
  if (!login) {
    process.stderr.write('usage: dev-auth-server token <login> [scopes] [--resource <url>]\n');
    process.exit(2);
  }
  process.stdout.write(`${await token(values.issuer, values.resource, login, scope)}\n`);
} else {
  const server = await startOAuthServer({ port, accessTokenTTL: 3600 });
  const lines = [
    `Development authorization server (test support, in memory): ${server.issuer}`,
    '',
    'Start taskchat against it (another terminal, same machine):',
    `  AUTH_JWKS_URL=${server.jwksUri} AUTH_JWT_ISSUER=${server.issuer} npm start`,
    '',
    'Then point an MCP host at http://127.0.0.1:3000/mcp: it registers here, sends you to the',
    'login page (any name is a user), asks which scopes to grant, and gets a token for taskchat.',
    'Everything is lost when this process stops (hosts then log in again). Ctrl-C stops it.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
  const stop = () => server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Dynamic registration, authorization code + PKCE through the login and consent pages, token. */
async function token(issuer: string, resource: string, login: string, scope: string): Promise<string> {
  const metadata = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
  const redirectUri = 'http://127.0.0.1/dev-auth-server/callback';
  const clientId = await registerPublicClient(metadata.registration_endpoint, redirectUri);
  return authorizationCodeToken(metadata, { clientId, redirectUri, login, resource, scope });
}
