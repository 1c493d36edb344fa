// README "Bring your identity provider", followed to the letter against real identity providers
// on 127.0.0.1: a Better Auth server from npm (jwt plugin, EdDSA session JWTs, iss = aud = its base
// URL), configured with the settings the README's Better Auth block gives (read from README.md
// itself, so the two cannot drift apart), and an OpenID Connect provider (oidc-provider, shaped
// like Auth0: RS256 access tokens for an API audience) configured from its discovery document.
// And `npm run token`, the README's way to a token without a provider.
import { execFile } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import type { Database } from '../src/db/client.ts';
import { createLogger } from '../src/log.ts';
import { type BetterAuthServer, startBetterAuth } from './support/better-auth-server.ts';
import { createTestDb, type TestDb, testConfig } from './support/db.ts';
import { startOAuthServer } from './support/oauth-server.ts';

const run = promisify(execFile);
const TOKEN_SCRIPT = new URL('../scripts/token.ts', import.meta.url).pathname;
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The `NAME=value` lines of the first sh block after `heading`, with the README's placeholder replaced. */
function readmeSettings(heading: string, placeholder: string, actual: string): Record<string, string> {
  const section = README.slice(README.indexOf(`\n${heading}\n`));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const settings: Record<string, string> = {};
  for (const [, name, value] of block.matchAll(/^([A-Z_]+)=(\S+)$/gm)) {
    settings[name!] = value!.replaceAll(placeholder, actual);
  }
  return settings;
}

const header = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

let db: TestDb;
let database: Database;

beforeAll(async () => {
  db = await createTestDb('pglite');
  database = db.database;
});

afterAll(async () => {
  await db?.drop();
});

describe('Better Auth (jwt plugin), set up as the README says', () => {
  let betterAuth: BetterAuthServer;
  beforeAll(async () => {
    betterAuth = await startBetterAuth();
  });
  afterAll(async () => {
    await betterAuth?.close();
  });

  const settings = () =>
    readmeSettings('### Better Auth (jwt plugin)', 'https://auth.example.com', betterAuth.baseUrl);

  it('gives the three settings, and a signed-in user’s JWT (EdDSA) manages that user’s tasks', async () => {
    expect(Object.keys(settings()).sort()).toEqual(['AUTH_JWKS_URL', 'AUTH_JWT_AUDIENCE', 'AUTH_JWT_ISSUER']);
    const app = createApp({ config: testConfig(settings()), database });
    const alice = await betterAuth.signUp('alice@example.test', 'Alice');
    const bob = await betterAuth.signUp('bob@example.test', 'Bob');
    const aliceToken = await betterAuth.token(alice.cookie);
    expect(header(aliceToken).alg).toBe('EdDSA');

    const created = await app.request('/tasks', {
      method: 'POST',
      headers: bearer(aliceToken),
      body: JSON.stringify({ title: 'water the plants' }),
    });
    expect(created.status).toBe(201);
    const mine = await (await app.request('/tasks', { headers: bearer(aliceToken) })).json();
    expect(mine.tasks.map((t: { title: string }) => t.title)).toEqual(['water the plants']);
    const theirs = await (
      await app.request('/tasks', { headers: bearer(await betterAuth.token(bob.cookie)) })
    ).json();
    expect(theirs.tasks).toEqual([]);
  });

  it('without AUTH_JWT_AUDIENCE every token is refused (the audience rule), and the log says why', async () => {
    const { AUTH_JWT_AUDIENCE: _, ...withoutAudience } = settings();
    const lines: string[] = [];
    const app = createApp({
      config: testConfig(withoutAudience),
      database,
      logger: createLogger('info', (line) => lines.push(line)),
    });
    const { cookie } = await betterAuth.signUp('carol@example.test', 'Carol');
    expect((await app.request('/tasks', { headers: bearer(await betterAuth.token(cookie)) })).status).toBe(
      401,
    );
    const refusal = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'token refused');
    expect(refusal.reason).toContain(
      `aud "${betterAuth.baseUrl}" does not include "http://127.0.0.1:3000/mcp"`,
    );
  });
});

describe('Better Auth key rotation', () => {
  it('a token signed with a key rotated in a moment ago is accepted at once, with one more JWKS fetch', async () => {
    // A key lives 0.3 s here, so the next token is signed with a new key made as it signs.
    const betterAuth = await startBetterAuth({ rotationInterval: 0.3 });
    try {
      const settings = readmeSettings(
        '### Better Auth (jwt plugin)',
        'https://auth.example.com',
        betterAuth.baseUrl,
      );
      const app = createApp({ config: testConfig(settings), database });
      const { cookie } = await betterAuth.signUp('dave@example.test', 'Dave');
      const first = await betterAuth.token(cookie);
      expect((await app.request('/tasks', { headers: bearer(first) })).status).toBe(200);
      expect(betterAuth.jwksFetches).toBe(1);

      await new Promise((resolve) => setTimeout(resolve, 400));
      const second = await betterAuth.token(cookie);
      expect(header(second).kid).not.toBe(header(first).kid);
      expect((await app.request('/tasks', { headers: bearer(second) })).status).toBe(200);
      expect(betterAuth.jwksFetches).toBe(2);
    } finally {
      await betterAuth.close();
    }
  });

  it('tokens naming random key ids cost the provider one JWKS fetch per burst, however many there are', async () => {
    const betterAuth = await startBetterAuth();
    try {
      const settings = readmeSettings(
        '### Better Auth (jwt plugin)',
        'https://auth.example.com',
        betterAuth.baseUrl,
      );
      const app = createApp({ config: testConfig(settings), database });
      const { cookie } = await betterAuth.signUp('erin@example.test', 'Erin');
      expect((await app.request('/tasks', { headers: bearer(await betterAuth.token(cookie)) })).status).toBe(
        200,
      );
      const before = betterAuth.jwksFetches;

      // Another party's Ed25519 key: the signatures are well formed, the key ids are not Better Auth's.
      const { privateKey } = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, [
        'sign',
        'verify',
      ])) as unknown as webcrypto.CryptoKeyPair;
      const jwk = await webcrypto.subtle.exportKey('jwk', privateKey);
      const now = Math.floor(Date.now() / 1000);
      const forged = (kid: string) =>
        sign(
          { sub: 'mallory', iss: betterAuth.baseUrl, aud: betterAuth.baseUrl, iat: now, exp: now + 600 },
          { ...jwk, kid, alg: 'EdDSA' } as Parameters<typeof sign>[1],
          'EdDSA',
        );
      const burst = async () =>
        Promise.all(
          Array.from({ length: 25 }, async () => {
            const token = await forged(crypto.randomUUID());
            return (await app.request('/tasks', { headers: bearer(token) })).status;
          }),
        );
      for (let round = 0; round < 3; round++) expect(await burst()).toEqual(Array(25).fill(401));
      expect(betterAuth.jwksFetches - before).toBe(3);
    } finally {
      await betterAuth.close();
    }
  });
});

describe('an OpenID Connect provider (Auth0 / Clerk style), set up from its discovery document', () => {
  it('takes its access tokens for PUBLIC_URL/mcp, or for the audience AUTH_JWT_AUDIENCE names', async () => {
    const provider = await startOAuthServer({ algorithm: 'RS256' });
    try {
      const discovery = await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json();
      const publicUrl = 'https://tasks.example.com';
      const settings = {
        AUTH_JWKS_URL: discovery.jwks_uri,
        AUTH_JWT_ISSUER: discovery.issuer,
        PUBLIC_URL: publicUrl,
      };
      const app = createApp({ config: testConfig(settings), database });
      const token = await provider.issueToken({ login: 'frank', resource: `${publicUrl}/mcp` });
      expect(header(token).alg).toBe('RS256');
      expect((await app.request(`${publicUrl}/tasks`, { headers: bearer(token) })).status).toBe(200);

      // Auth0's "API identifier" is whatever you named the API: then AUTH_JWT_AUDIENCE says it.
      const apiToken = await provider.signToken({ sub: 'frank', aud: 'https://api.example.com' });
      expect((await app.request(`${publicUrl}/tasks`, { headers: bearer(apiToken) })).status).toBe(401);
      const named = createApp({
        config: testConfig({ ...settings, AUTH_JWT_AUDIENCE: 'https://api.example.com' }),
        database,
      });
      expect((await named.request(`${publicUrl}/tasks`, { headers: bearer(apiToken) })).status).toBe(200);
    } finally {
      await provider.close();
    }
  });
});

describe('npm run token', () => {
  const SECRET = 'a-token-script-secret-of-32-characters-at-least';
  const mint = (env: Record<string, string>, ...args: string[]) =>
    run(process.execPath, [TOKEN_SCRIPT, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });

  it.each([
    ['a secret alone', { AUTH_JWT_SECRET: SECRET }],
    [
      'a secret and an issuer URL (so aud = PUBLIC_URL/mcp)',
      { AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: 'https://issuer.example' },
    ],
  ])('mints a token the server started with %s accepts, as that user', async (_name, env) => {
    const { stdout } = await mint(env, 'alice');
    const token = stdout.trim();
    const app = createApp({ config: testConfig(env), database });
    const created = await app.request('/tasks', {
      method: 'POST',
      headers: bearer(token),
      body: JSON.stringify({ title: 'from a minted token' }),
    });
    expect(created.status).toBe(201);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ sub: 'alice', exp: expect.any(Number) });
  });

  it('says in one line what is missing when there is no secret', async () => {
    const failure = await mint({}, 'alice').then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stdout).toBe('');
    expect(failure?.stderr.trim()).toMatch(/^taskchat: AUTH_JWT_SECRET is not set/);
  });
});
