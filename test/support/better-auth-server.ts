// A real Better Auth server (npm `better-auth`) on 127.0.0.1 and a free port, as a person following
// README "Bring your identity provider" would run one: email and password sign-in, and the jwt
// plugin with its defaults (EdDSA keys, 15-minute tokens, iss = aud = the base URL, JWKS at
// /api/auth/jwks). Its database is Better Auth's own memory adapter (shipped with it). It counts
// the requests to its JWKS, so tests can see the key cache from the provider's side.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { betterAuth } from 'better-auth';
import { memoryAdapter } from 'better-auth/adapters/memory';
import { toNodeHandler } from 'better-auth/node';
import { jwt } from 'better-auth/plugins';

export type BetterAuthServer = {
  /** Better Auth's base URL: its tokens' `iss` and `aud`. */
  baseUrl: string;
  jwksUrl: string;
  /** How many times its JWKS was fetched. */
  readonly jwksFetches: number;
  /** Signs a new user up and returns their session cookie and Better Auth user id. */
  signUp(email: string, name: string): Promise<{ cookie: string; userId: string }>;
  /** A JWT for the session, from `GET /api/auth/token`. */
  token(cookie: string): Promise<string>;
  close(): Promise<void>;
};

export type BetterAuthOptions = {
  /** Seconds a signing key lives before the next signature creates a new one (Better Auth's rotation). */
  rotationInterval?: number;
};

export async function startBetterAuth(options: BetterAuthOptions = {}): Promise<BetterAuthServer> {
  let handle: ReturnType<typeof toNodeHandler> | undefined;
  let jwksFetches = 0;
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/api/auth/jwks')) jwksFetches += 1;
    if (!handle) res.writeHead(503).end();
    else void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const auth = betterAuth({
    baseURL: baseUrl,
    secret: 'a-better-auth-test-secret-of-32-characters-or-more',
    // The memory adapter keeps one array per model it is given: Better Auth's own and the jwt plugin's.
    database: memoryAdapter({ user: [], session: [], account: [], verification: [], jwks: [] }),
    emailAndPassword: { enabled: true },
    logger: { disabled: true },
    telemetry: { enabled: false },
    plugins: [
      jwt(options.rotationInterval ? { jwks: { rotationInterval: options.rotationInterval } } : undefined),
    ],
  });
  handle = toNodeHandler(auth);

  const call = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${baseUrl}/api/auth${path}`, {
      ...init,
      headers: { origin: baseUrl, 'content-type': 'application/json', ...init.headers },
    });
    if (!res.ok) throw new Error(`Better Auth ${path} answered ${res.status}: ${await res.text()}`);
    return res;
  };

  return {
    baseUrl,
    jwksUrl: `${baseUrl}/api/auth/jwks`,
    get jwksFetches() {
      return jwksFetches;
    },
    async signUp(email, name) {
      const res = await call('/sign-up/email', {
        method: 'POST',
        body: JSON.stringify({ email, name, password: 'correct horse battery staple' }),
      });
      const cookie = res.headers
        .getSetCookie()
        .map((line) => line.split(';')[0])
        .join('; ');
      const { user } = (await res.json()) as { user: { id: string } };
      return { cookie, userId: user.id };
    },
    async token(cookie) {
      const res = await call('/token', { headers: { cookie } });
      return ((await res.json()) as { token: string }).token;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
