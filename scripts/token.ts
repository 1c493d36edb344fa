#!/usr/bin/env node
/**
 * @module scripts/token
 * An access token for a server that runs on `AUTH_JWT_SECRET`, without an identity provider: for
 * curl, scripts, the chat page's sign-in and MCP hosts that take a header.
 *
 *   npm run -s token -- alice                          a token for user alice, valid 1 hour
 *   npm run -s token -- alice --expires 7d --scope tasks:read
 *
 * It reads the same environment as `npm start` (src/config.ts), so the token carries what that
 * server checks: HS256 with `AUTH_JWT_SECRET`, `sub` = the user, `exp`, and the `iss` / `aud` it
 * requires (`AUTH_JWT_ISSUER`; `AUTH_JWT_AUDIENCE`, or `PUBLIC_URL/mcp` when an issuer URL makes
 * the server an OAuth resource). Only the token is printed (stdout), so `$(...)` captures it.
 */
import { parseArgs } from 'node:util';
import { sign } from 'hono/jwt';
import { protectedResource } from '../src/auth/resource-metadata.ts';
import { USER_ID_PATTERN, USER_ID_RULE } from '../src/auth/user-id.ts';
import { ConfigError, loadConfig } from '../src/config.ts';

const USAGE =
  'usage: npm run -s token -- <user> [--expires 1h|30m|7d|<seconds>] [--scope "tasks:read tasks:write"]';
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

function fail(message: string): never {
  process.stderr.write(`taskchat: ${message}\n`);
  process.exit(2);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { expires: { type: 'string', default: '1h' }, scope: { type: 'string' } },
});
const [user] = positionals;
if (!user || positionals.length > 1) fail(USAGE);
if (!USER_ID_PATTERN.test(user)) fail(`the user id must be ${USER_ID_RULE}`);
const lifetime = /^(\d+)([smhd]?)$/.exec(values.expires);
if (!lifetime) fail(`--expires takes a number of seconds or 30m, 1h, 7d; ${USAGE}`);
const seconds = Number(lifetime[1]) * (UNITS[lifetime[2] || 's'] ?? 1);

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}
const secret = config.auth.jwtSecret;
if (!secret) {
  fail(
    'AUTH_JWT_SECRET is not set: use the same secret as the server (32+ characters; make one with `openssl rand -base64 32`)',
  );
}

const now = Math.floor(Date.now() / 1000);
const audience = config.auth.audience ?? protectedResource(config)?.resource;
const claims = {
  sub: user,
  iat: now,
  exp: now + seconds,
  ...(config.auth.issuer ? { iss: config.auth.issuer } : {}),
  ...(audience ? { aud: audience } : {}),
  ...(values.scope ? { scope: values.scope } : {}),
};
process.stdout.write(`${await sign(claims, secret, 'HS256')}\n`);
