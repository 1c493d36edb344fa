import { createHmac, webcrypto } from 'node:crypto';
import { Hono } from 'hono';
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createVerifier } from '../src/auth/jwt.ts';
import { authenticate } from '../src/auth/middleware.ts';
import { createLogger } from '../src/log.ts';
import { createTestApp } from './support/app.ts';
import { createTestDb, type TestDb, testConfig } from './support/db.ts';
import { type JwksServer, startJwksServer } from './support/jwks-server.ts';

// Behind auth there is no route yet at /nope: 404 means the request got past auth, 401 that it did not.
const PROBE = '/nope';
const SECRET = 'a-test-secret-that-is-at-least-32-characters';
const OTHER_SECRET = 'another-secret-that-is-at-least-32-characters';
const ISS = 'https://auth.example.test';
const AUD = 'taskchat';

const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({
  sub: 'user-1',
  iss: ISS,
  aud: AUD,
  iat: now(),
  exp: now() + 300,
  ...extra,
});

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A token with any header and payload, HMAC-SHA-256-signed with `secret` (or unsigned). */
function forge(header: object, payload: unknown, secret?: string): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature =
    secret === undefined ? '' : createHmac('sha256', secret).update(input).digest('base64url');
  return `${input}.${signature}`;
}

type KeyPair = { kid: string; signing: JsonWebKey; published: JsonWebKey; pem: string };

async function keyPair(kid: string, kind: 'RS256' | 'ES256' | 'EdDSA'): Promise<KeyPair> {
  const algorithm =
    kind === 'RS256'
      ? {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        }
      : kind === 'ES256'
        ? { name: 'ECDSA', namedCurve: 'P-256' }
        : { name: 'Ed25519' };
  const pair = (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', pair.publicKey)).toString('base64');
  return {
    kid,
    signing: { ...(await webcrypto.subtle.exportKey('jwk', pair.privateKey)), kid, alg: kind } as JsonWebKey,
    published: {
      ...(await webcrypto.subtle.exportKey('jwk', pair.publicKey)),
      kid,
      alg: kind,
      use: 'sig',
    } as JsonWebKey,
    pem: `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g)?.join('\n')}\n-----END PUBLIC KEY-----\n`,
  };
}

const signWith = (key: KeyPair, payload: Record<string, unknown> = claims()) =>
  sign(payload, key.signing as Parameters<typeof sign>[1]);
const withKid = (key: KeyPair, kid: string): KeyPair => ({
  ...key,
  signing: { ...key.signing, kid } as JsonWebKey,
});
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

let db: TestDb;
let jwks: JwksServer;
let rsa: KeyPair;
let ec: KeyPair;
let ed: KeyPair;
let intruder: KeyPair;

beforeAll(async () => {
  db = await createTestDb('pglite');
  [rsa, ec, ed, intruder] = await Promise.all([
    keyPair('rsa-1', 'RS256'),
    keyPair('ec-1', 'ES256'),
    keyPair('ed-1', 'EdDSA'),
    keyPair('rsa-1', 'RS256'),
  ]);
  jwks = await startJwksServer([rsa.published, ec.published, ed.published]);
});

afterAll(async () => {
  await jwks?.close();
  await db?.drop();
});

const hsEnv = () => ({ AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: ISS, AUTH_JWT_AUDIENCE: AUD });
const jwksEnv = () => ({ AUTH_JWKS_URL: jwks.url, AUTH_JWT_ISSUER: ISS, AUTH_JWT_AUDIENCE: AUD });
const apps = {
  hs: () => createTestApp(db, { env: hsEnv() }),
  jwks: () => createTestApp(db, { env: jwksEnv() }),
  both: () => createTestApp(db, { env: { ...hsEnv(), ...jwksEnv() } }),
};
type AppName = keyof typeof apps;

async function expectUnauthorized(res: Response, sent: string | undefined, scheme = 'Bearer') {
  expect(res.status).toBe(401);
  // With an https issuer (an authorization server MCP hosts can discover) the challenge names the metadata.
  expect(res.headers.get('www-authenticate')).toMatch(
    new RegExp(
      `^${scheme} (realm="taskchat"|resource_metadata="http://127\\.0\\.0\\.1:3000/\\.well-known/oauth-protected-resource/mcp")`,
    ),
  );
  const text = await res.text();
  expect(JSON.parse(text)).toMatchObject({ error: { code: 'unauthorized', message: expect.any(String) } });
  if (sent) expect(text).not.toContain(sent);
}

describe('AUTH_MODE=jwt refuses forged, expired and malformed credentials', () => {
  const hs = (payload: Record<string, unknown> = claims(), secret = SECRET) => sign(payload, secret, 'HS256');
  const pemAsSecret = () => forge({ alg: 'HS256', typ: 'JWT', kid: rsa.kid }, claims(), rsa.pem);
  const cases: [string, AppName, () => Promise<Record<string, string>>][] = [
    ['no Authorization header', 'hs', async () => ({})],
    ['X-User-Id alone', 'hs', async () => ({ 'x-user-id': 'user-1' })],
    ['garbage', 'hs', async () => bearer('not-a-token')],
    ['three garbage parts', 'hs', async () => bearer('a.b.c')],
    ['two spaces after Bearer', 'hs', async () => ({ authorization: `Bearer  ${await hs()}` })],
    ['lowercase bearer', 'hs', async () => ({ authorization: `bearer ${await hs()}` })],
    ['another scheme', 'hs', async () => ({ authorization: `Basic ${b64url('user-1:x')}` })],
    ['a token with no scheme', 'hs', async () => ({ authorization: await hs() })],
    ['signed with the wrong secret', 'hs', async () => bearer(await hs(claims(), OTHER_SECRET))],
    ['alg none, unsigned', 'hs', async () => bearer(forge({ alg: 'none', typ: 'JWT' }, claims()))],
    ['alg None, unsigned', 'hs', async () => bearer(forge({ alg: 'None' }, claims()))],
    [
      'alg none on a genuine signature',
      'hs',
      async () => {
        const [, body, sig] = (await hs()).split('.');
        return bearer(`${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${body}.${sig}`);
      },
    ],
    ['HS512 with the right secret', 'hs', async () => bearer(await sign(claims(), SECRET, 'HS512'))],
    [
      'a payload changed after signing',
      'hs',
      async () => {
        const [head, , sig] = (await hs()).split('.');
        return bearer(`${head}.${b64url(JSON.stringify(claims({ sub: 'user-2' })))}.${sig}`);
      },
    ],
    [
      'a critical header extension',
      'hs',
      async () => bearer(forge({ alg: 'HS256', crit: ['x'], x: 1 }, claims(), SECRET)),
    ],
    ['expired beyond the clock skew', 'hs', async () => bearer(await hs(claims({ exp: now() - 31 })))],
    ['exp that is not a number', 'hs', async () => bearer(await hs(claims({ exp: String(now() + 300) })))],
    ['nbf in the future', 'hs', async () => bearer(await hs(claims({ nbf: now() + 120 })))],
    ['iat in the future', 'hs', async () => bearer(await hs(claims({ iat: now() + 120 })))],
    ['no sub', 'hs', async () => bearer(await hs(claims({ sub: undefined })))],
    ['empty sub', 'hs', async () => bearer(await hs(claims({ sub: '' })))],
    ['numeric sub', 'hs', async () => bearer(await hs(claims({ sub: 42 })))],
    ['sub over 255 characters', 'hs', async () => bearer(await hs(claims({ sub: 'u'.repeat(256) })))],
    ['sub with a control character', 'hs', async () => bearer(await hs(claims({ sub: 'user-1\nadmin' })))],
    ['a null payload', 'hs', async () => bearer(forge({ alg: 'HS256', typ: 'JWT' }, null, SECRET))],
    ['wrong iss', 'hs', async () => bearer(await hs(claims({ iss: 'https://evil.example' })))],
    ['no iss', 'hs', async () => bearer(await hs(claims({ iss: undefined })))],
    ['wrong aud', 'hs', async () => bearer(await hs(claims({ aud: 'other-app' })))],
    ['aud list without us', 'hs', async () => bearer(await hs(claims({ aud: ['a', 'b'] })))],
    ['no aud', 'hs', async () => bearer(await hs(claims({ aud: undefined })))],
    ['RS256 token against the HS256 secret', 'hs', async () => bearer(await signWith(rsa))],
    ['HS256 signed with the RSA public key (PEM) against JWKS', 'jwks', async () => bearer(pemAsSecret())],
    [
      'HS256 signed with the RSA public key (JWK) against JWKS',
      'jwks',
      async () => bearer(forge({ alg: 'HS256', kid: rsa.kid }, claims(), JSON.stringify(rsa.published))),
    ],
    ['HS256 signed with the RSA public key against secret + JWKS', 'both', async () => bearer(pemAsSecret())],
    ['HS256 with the real secret against JWKS only', 'jwks', async () => bearer(await hs())],
    ['RS256 signed by an intruder under a known kid', 'jwks', async () => bearer(await signWith(intruder))],
    ['RS256 with an unknown kid', 'jwks', async () => bearer(await signWith(withKid(intruder, 'nobody')))],
    [
      'RS256 with no kid',
      'jwks',
      async () => {
        const bare = Object.fromEntries(
          Object.entries(rsa.signing).filter(([k]) => k !== 'alg' && k !== 'kid'),
        );
        return bearer(await sign(claims(), bare as JsonWebKey, 'RS256'));
      },
    ],
    [
      'alg none naming a published kid',
      'jwks',
      async () => bearer(forge({ alg: 'none', kid: rsa.kid }, claims())),
    ],
    [
      'RS256 header on the EdDSA key',
      'jwks',
      async () => bearer(forge({ alg: 'RS256', kid: ed.kid }, claims(), SECRET)),
    ],
    ['expired RS256', 'jwks', async () => bearer(await signWith(rsa, claims({ exp: now() - 60 })))],
    ['RS256 with no sub', 'jwks', async () => bearer(await signWith(rsa, claims({ sub: undefined })))],
    [
      'HS256 without exp (AUTH_JWT_REQUIRE_EXP defaults to true)',
      'hs',
      async () => bearer(await hs(claims({ exp: undefined }))),
    ],
  ];

  it.each(cases)('%s: 401 unauthorized with a Bearer challenge', async (_name, appName, headers) => {
    const sent = await headers();
    const res = await apps[appName]().request(PROBE, { headers: sent });
    const token = sent.authorization?.split(' ').at(-1);
    await expectUnauthorized(res, token && token.length > 20 ? token : undefined);
    if (sent.authorization) expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('AUTH_MODE=jwt lets genuine tokens in', () => {
  const valid: [string, AppName, () => Promise<string>][] = [
    ['HS256', 'hs', () => sign(claims(), SECRET, 'HS256')],
    ['HS256 with aud as a list', 'hs', () => sign(claims({ aud: ['other', AUD] }), SECRET, 'HS256')],
    [
      'HS256 expired by less than the clock skew',
      'hs',
      () => sign(claims({ exp: now() - 10 }), SECRET, 'HS256'),
    ],
    [
      'HS256 with nbf just ahead, within the skew',
      'hs',
      () => sign(claims({ nbf: now() + 10 }), SECRET, 'HS256'),
    ],
    ['RS256 via JWKS', 'jwks', () => signWith(rsa)],
    ['ES256 via JWKS', 'jwks', () => signWith(ec)],
    ['EdDSA via JWKS (Better Auth default)', 'jwks', () => signWith(ed)],
    ['HS256 when both are configured', 'both', () => sign(claims(), SECRET, 'HS256')],
    ['RS256 when both are configured', 'both', () => signWith(rsa)],
  ];

  it.each(valid)('%s', async (_name, appName, token) => {
    const res = await apps[appName]().request(PROBE, { headers: bearer(await token()) });
    expect(res.status).toBe(404);
  });

  it('takes the user id from sub and ignores X-User-Id', async () => {
    const probe = new Hono<{ Variables: { userId: string } }>()
      .use(authenticate(testConfig(hsEnv()).auth))
      .get('/me', (c) => c.text(c.get('userId')));
    const token = await sign(claims({ sub: 'alice' }), SECRET, 'HS256');
    const res = await probe.request('/me', { headers: { ...bearer(token), 'x-user-id': 'mallory' } });
    expect(await res.text()).toBe('alice');
    await expect(createVerifier(testConfig(hsEnv()).auth)(token)).resolves.toBe('alice');
  });

  it('takes a token without exp when AUTH_JWT_REQUIRE_EXP=false, and says why it refuses one otherwise', async () => {
    const token = await sign(claims({ exp: undefined }), SECRET, 'HS256');
    const lenient = createTestApp(db, {
      config: testConfig({ ...hsEnv(), AUTH_JWT_REQUIRE_EXP: 'false' }),
    });
    expect((await lenient.request(PROBE, { headers: bearer(token) })).status).toBe(404);
    const res = await apps.hs().request(PROBE, { headers: bearer(token) });
    expect(res.status).toBe(401);
    expect((await res.json()) as unknown).toMatchObject({
      error: { message: 'Bearer token has no expiry (exp claim); this server requires one' },
    });
  });

  it('answers an expired genuine token with a message saying so', async () => {
    const token = await sign(claims({ exp: now() - 60 }), SECRET, 'HS256');
    const res = await apps.hs().request(PROBE, { headers: bearer(token) });
    expect(res.status).toBe(401);
    expect((await res.json()) as unknown).toMatchObject({ error: { message: 'Bearer token expired' } });
  });
});

describe('JWKS keys are cached and refreshed', () => {
  it('takes a just-rotated key at once, spaces fetches for unknown kids, and drops withdrawn keys', async () => {
    const [first, second, stranger] = await Promise.all([
      keyPair('k1', 'RS256'),
      keyPair('k2', 'EdDSA'),
      keyPair('x', 'RS256'),
    ]);
    const server = await startJwksServer([first.published]);
    // Only Date is faked (key age); the one-second spacing of fetches runs on real timers.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now());
      const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);
      const app = createTestApp(db, {
        env: { AUTH_JWKS_URL: server.url, AUTH_JWT_ISSUER: ISS, AUTH_JWT_AUDIENCE: AUD },
      });
      const status = async (key: KeyPair, kid = key.kid) => {
        const token = await signWith(withKid(key, kid));
        return (await app.request(PROBE, { headers: bearer(token) })).status;
      };
      const forgedKids = (n: number) =>
        Promise.all(Array.from({ length: n }, (_, i) => status(stranger, `forged-${Math.random()}-${i}`)));

      expect(await status(first)).toBe(404);
      expect(await status(first)).toBe(404);
      expect(server.fetches).toBe(1);

      // The provider rotates right after our fetch (Better Auth makes the key as it signs): the
      // new key's first token is accepted, not refused until some cooldown has passed.
      server.setKeys([first.published, second.published]);
      expect(await status(second)).toBe(404);
      expect(await status(second)).toBe(404);
      expect(server.fetches).toBe(2);

      // Forged kids: a burst of them shares one fetch, however many there are.
      expect(await forgedKids(30)).toEqual(Array(30).fill(401));
      expect(server.fetches).toBe(3);
      expect(await forgedKids(30)).toEqual(Array(30).fill(401));
      expect(server.fetches).toBe(4);

      // A provider outage keeps the keys we hold working, even once they are old.
      advance(11 * 60_000);
      server.failWith(503);
      expect(await status(first)).toBe(404);
      expect(server.fetches).toBe(5);

      // Keys are re-read after 10 minutes, so a key the provider withdrew stops working.
      server.failWith(undefined);
      server.setKeys([second.published]);
      advance(11 * 60_000);
      expect(await status(first)).toBe(401);
      expect(await status(second)).toBe(404);
      expect(server.fetches).toBe(6);
    } finally {
      vi.useRealTimers();
      await server.close();
    }
  });

  it('answers 503 auth_unavailable with Retry-After when the JWKS cannot be fetched, and asks it at most once a second', async () => {
    const server = await startJwksServer([rsa.published]);
    server.failWith(502);
    const lines: string[] = [];
    const app = createTestApp(db, {
      config: testConfig({ AUTH_JWKS_URL: server.url }),
      logger: createLogger('info', (line) => lines.push(line)),
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await app.request(PROBE, { headers: bearer(await signWith(rsa)) });
      statuses.push(res.status);
      if (i === 0) {
        expect(res.headers.get('retry-after')).toBe('5');
        expect(await res.json()).toMatchObject({ error: { code: 'auth_unavailable' } });
      }
    }
    expect(statuses).toEqual([503, 503, 503, 503, 503]);
    // The operator reads why, once per request, as a warning (not as a server error).
    const logged = lines.map((line) => JSON.parse(line));
    expect(logged.filter((entry) => entry.msg === 'JWKS fetch failed; token not checked')).toHaveLength(5);
    expect(logged.find((entry) => entry.msg === 'JWKS fetch failed; token not checked')).toMatchObject({
      level: 'warn',
      reason: 'the JWKS answered HTTP 502',
    });
    expect(logged.filter((entry) => entry.level === 'error')).toEqual([]);
    // The first request asked; the four right behind it were answered without asking again.
    expect(server.fetches).toBe(1);
    server.failWith(undefined);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await app.request(PROBE, { headers: bearer(await signWith(rsa)) })).status).toBe(404);

    const url = server.url;
    await server.close();
    const unreachable = createTestApp(db, { config: testConfig({ AUTH_JWKS_URL: url }) });
    const res = await unreachable.request(PROBE, { headers: bearer(await signWith(rsa)) });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'auth_unavailable' } });
  });
});

describe('a refused token', () => {
  it('is logged with the reason, never with the token: here the MCP resource audience an issuer URL requires', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', (line) => lines.push(line));
    // Better Auth's shape: aud = iss = its base URL. An issuer URL makes taskchat an OAuth resource.
    const token = await signWith(ed, claims({ aud: ISS }));
    const resourceApp = createTestApp(db, {
      config: testConfig({ AUTH_JWKS_URL: jwks.url, AUTH_JWT_ISSUER: ISS }),
      logger,
    });
    expect((await resourceApp.request(PROBE, { headers: bearer(token) })).status).toBe(401);
    const refusal = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'token refused');
    expect(refusal?.reason).toContain(
      'aud "https://auth.example.test" does not include "http://127.0.0.1:3000/mcp"',
    );
    expect(refusal?.reason).toContain('AUTH_JWT_AUDIENCE');
    expect(lines.join('\n')).not.toContain(token.split('.')[2]);

    // What the log says to do works.
    const configured = createTestApp(db, {
      config: testConfig({ AUTH_JWKS_URL: jwks.url, AUTH_JWT_ISSUER: ISS, AUTH_JWT_AUDIENCE: ISS }),
    });
    expect((await configured.request(PROBE, { headers: bearer(token) })).status).toBe(404);
  });

  it.each([
    ['a wrong signature', () => sign(claims(), OTHER_SECRET, 'HS256'), 'the signature does not match'],
    [
      'a wrong issuer',
      () => sign(claims({ iss: 'https://evil.example' }), SECRET, 'HS256'),
      'iss "https://evil.example" is not AUTH_JWT_ISSUER "https://auth.example.test"',
    ],
    ['an expired token', () => sign(claims({ exp: now() - 120 }), SECRET, 'HS256'), 'expired'],
    ['an unknown kid', () => signWith(withKid(rsa, 'gone')), 'kid "gone" is not in the JWKS'],
  ])('names %s', async (_name, token, reason) => {
    const lines: string[] = [];
    const app = createTestApp(db, {
      config: testConfig({ ...hsEnv(), ...jwksEnv() }),
      logger: createLogger('info', (line) => lines.push(line)),
    });
    const sent = await token();
    expect((await app.request(PROBE, { headers: bearer(sent) })).status).toBe(401);
    const refusal = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'token refused');
    expect(refusal?.reason).toContain(reason);
    expect(lines.join('\n')).not.toContain(sent.split('.')[2]);
  });
});

describe('GET /auth/config', () => {
  it('tells a client without credentials what to send: a token in jwt mode, a user name in dev mode', async () => {
    for (const [env, mode] of [
      [hsEnv(), 'jwt'],
      [jwksEnv(), 'jwt'],
      [{}, 'dev'],
    ] as const) {
      const res = await createTestApp(db, { config: testConfig(env) }).request('/auth/config');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ mode });
    }
  });
});

describe('AUTH_MODE=dev', () => {
  it('is refused at start-up when NODE_ENV=production', () => {
    expect(() => testConfig({ NODE_ENV: 'production', AUTH_MODE: 'dev' })).toThrow(/AUTH_MODE=dev/);
  });

  it('still takes the user from X-User-Id, and refuses a malformed one', async () => {
    const app = createTestApp(db);
    expect((await app.request(PROBE, { headers: { 'x-user-id': 'user-1' } })).status).toBe(404);
    await expectUnauthorized(
      await app.request(PROBE, { headers: { 'x-user-id': 'user 1' } }),
      undefined,
      'X-User-Id',
    );
  });

  it('challenges with X-User-Id, not Bearer, so MCP clients do not go looking for OAuth', async () => {
    const app = createTestApp(db, { config: testConfig() });
    const res = await app.request('/mcp', { method: 'POST' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('X-User-Id realm="taskchat"');
    expect(await res.json()).toMatchObject({ error: { message: expect.stringContaining('Send X-User-Id') } });
  });
});
