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
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  completeAuthorization,
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
  const verifier = randomBytes(32).toString('base64url');
  const state = randomUUID();
  const authorization = new URL(metadata.authorization_endpoint);
  authorization.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    resource,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const back = await completeAuthorization(authorization, { login });
  const code = back.searchParams.get('code');
  if (!code || back.searchParams.get('state') !== state) {
    throw new Error(`authorization refused: ${back.searchParams.get('error_description') ?? back.href}`);
  }
  const response = await fetch(metadata.token_endpoint, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: clientId,
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
      resource,
    }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`token request refused: ${body.error}: ${body.error_description}`);
  return body.access_token;
}
