// A real OAuth 2.1 authorization server for tests: `oidc-provider` (a certified OpenID Connect /
// OAuth server) on 127.0.0.1 and a free port, set up the way an MCP host expects to find one:
// RFC 8414 metadata (at `/.well-known/oauth-authorization-server` as well as OpenID discovery's
// `/.well-known/openid-configuration`, the SDK client tries both), open dynamic client
// registration for public clients, authorization code + PKCE (S256) only, and RFC 8707 resource
// indicators: a token requested for resource R is a JWT access token (RFC 9068) with `aud` = R,
// `sub` = the login name and `scope` = what the user approved, signed with a key generated at
// start and published on the server's JWKS. So the resource server under test verifies exactly
// what it would verify in production, through the JWKS, with nothing faked on either side.
//
// The login and consent pages are this module's own minimal HTML forms (oidc-provider's dev
// interactions print warnings and offer no way to approve fewer scopes than requested), driven
// by `completeAuthorization`, which does what a browser does: follows redirects with a cookie
// jar, fills the forms, and stops at the redirect to the client's `redirect_uri`.
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import Provider, {
  type Adapter,
  type AdapterPayload,
  type Configuration,
  errors,
  type ResourceServer,
} from 'oidc-provider';

/** The scopes taskchat's contract names; the server also knows `openid` and `offline_access`. */
export const TASK_SCOPES = ['tasks:read', 'tasks:write'] as const;

export type SigningAlgorithm = 'ES256' | 'RS256' | 'EdDSA';

export type OAuthServerOptions = {
  /**
   * The resource indicators (RFC 8707) tokens may be requested for; any other answers
   * `invalid_target`. Default: any absolute http(s) URL, because the resource server under test
   * usually gets its port after the authorization server is already running.
   */
  resources?: readonly string[];
  /** Lifetime of access tokens, in seconds. Default 600. */
  accessTokenTTL?: number;
  /** Signature algorithm of the access tokens (and the type of the generated key). Default ES256. */
  algorithm?: SigningAlgorithm;
  /** Port on 127.0.0.1; default a free one. A fixed port gives a stable issuer (scripts/dev-auth-server.ts). */
  port?: number;
};

export type IssueTokenOptions = {
  /** The user: becomes the token's `sub`. */
  login: string;
  /** The resource indicator: becomes the token's `aud`. */
  resource: string;
  /** Space-separated scopes the client asks for. Default `tasks:read tasks:write`. */
  scope?: string;
  /** The scopes the user approves on the consent page. Default: all that were asked for. */
  grant?: readonly string[];
};

export type OAuthServer = {
  /** The issuer identifier (`iss` of every token), e.g. `http://127.0.0.1:41234`: no trailing slash. */
  issuer: string;
  jwksUri: string;
  /** RFC 8414 metadata URL (the same document is also served as OpenID discovery). */
  metadataUrl: string;
  tokenEndpoint: string;
  registrationEndpoint: string;
  /** The public signing key as published on the JWKS (with `kid`, `alg`, `use`). */
  publicJwk: JsonWebKey & { kid: string; alg: string };
  /**
   * A token from the server's real flow: dynamic registration (once), authorization code + PKCE
   * through the login and consent forms, token request for `resource`. Resolves to the access token.
   */
  issueToken(options: IssueTokenOptions): Promise<string>;
  /**
   * A JWT signed directly with the server's own signing key (the one its JWKS publishes), for
   * tokens the real flow cannot produce: expired, without a `scope` claim, with odd claims.
   * `claims` are merged over realistic defaults (`iss`, `iat`, `exp` = now + TTL, `jti`,
   * `client_id`, `scope` = both task scopes); a claim set to `undefined` is left out.
   */
  signToken(claims: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
};

// The redirect target of the server's own test client: never requested (`completeAuthorization`
// stops before it), so nothing needs to listen there.
const ISSUE_TOKEN_REDIRECT = 'http://127.0.0.1/oauth-test-client/callback';

export async function startOAuthServer(options: OAuthServerOptions = {}): Promise<OAuthServer> {
  const accessTokenTTL = options.accessTokenTTL ?? 600;
  const algorithm = options.algorithm ?? 'ES256';
  const { privateKey, privateJwk, publicJwk } = generateSigningKey(algorithm);

  // The issuer contains the port, so the server listens first and gets its handler afterwards.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503).end();
  };
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider = new Provider(issuer, configuration({ privateJwk, algorithm, accessTokenTTL, options }));
  const providerHandler = provider.callback();
  handler = (req, res) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (path.startsWith('/interaction/')) {
      handleInteraction(provider, req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`interaction failed: ${(error as Error).message}`);
      });
      return;
    }
    // RFC 8414's location for the metadata oidc-provider publishes as OpenID discovery.
    if (path === '/.well-known/oauth-authorization-server') req.url = '/.well-known/openid-configuration';
    providerHandler(req, res);
  };

  const metadata = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  let testClient: Promise<string> | undefined;

  return {
    issuer,
    jwksUri: metadata.jwks_uri,
    metadataUrl: `${issuer}/.well-known/oauth-authorization-server`,
    tokenEndpoint: metadata.token_endpoint,
    registrationEndpoint: metadata.registration_endpoint,
    publicJwk,
    async issueToken({ login, resource, scope = TASK_SCOPES.join(' '), grant }) {
      testClient ??= registerPublicClient(metadata.registration_endpoint, ISSUE_TOKEN_REDIRECT);
      const clientId = await testClient;
      return authorizationCodeToken(metadata, {
        clientId,
        redirectUri: ISSUE_TOKEN_REDIRECT,
        login,
        resource,
        scope,
        grant,
      });
    },
    async signToken(claims) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: issuer,
        iat: now,
        exp: now + accessTokenTTL,
        jti: randomUUID(),
        client_id: 'direct-signing',
        scope: TASK_SCOPES.join(' '),
        ...claims,
      };
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
      return new SignJWT(payload)
        .setProtectedHeader({ alg: algorithm, kid: publicJwk.kid, typ: 'at+jwt' })
        .sign(privateKey);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Registers a public client (no secret, PKCE) by RFC 7591 dynamic registration; resolves to its id. */
/**
 * Authorization code + PKCE for a registered public client, the way a browser and the client
 * together do it: authorize (login and consent through `completeAuthorization`), check `state`,
 * exchange the code for an access token for `resource`.
 */
export async function authorizationCodeToken(
  metadata: { authorization_endpoint: string; token_endpoint: string },
  options: {
    clientId: string;
    redirectUri: string;
    login: string;
    resource: string;
    scope: string;
    grant?: readonly string[];
  },
): Promise<string> {
  const { clientId, redirectUri, login, resource, scope, grant } = options;
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
  const back = await completeAuthorization(authorization, { login, grant });
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
  return body.access_token as string;
}

export async function registerPublicClient(
  registrationEndpoint: string,
  redirectUri: string,
): Promise<string> {
  const response = await fetch(registrationEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'taskchat test client',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
  });
  const body = await response.json();
  if (response.status !== 201)
    throw new Error(`registration refused: ${body.error}: ${body.error_description}`);
  return body.client_id as string;
}

type ConfigurationInput = {
  privateJwk: JsonWebKey;
  algorithm: SigningAlgorithm;
  accessTokenTTL: number;
  options: OAuthServerOptions;
};

function configuration({
  privateJwk,
  algorithm,
  accessTokenTTL,
  options,
}: ConfigurationInput): Configuration {
  const accepted = options.resources;
  const resourceServer = (indicator: string): ResourceServer => ({
    scope: TASK_SCOPES.join(' '),
    audience: indicator,
    accessTokenFormat: 'jwt',
    accessTokenTTL,
    jwt: { sign: { alg: algorithm } },
  });
  const ttl = (seconds: number) => () => seconds;
  return {
    adapter: createMemoryAdapter(),
    jwks: { keys: [privateJwk as never] },
    // Any login name is an account; its id is the name, which becomes `sub`.
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    scopes: ['openid', 'offline_access', ...TASK_SCOPES],
    responseTypes: ['code'],
    // OAuth 2.1: PKCE for every client, public or confidential.
    pkce: { required: () => true },
    clientDefaults: { id_token_signed_response_alg: algorithm },
    clientBasedCORS: () => true,
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, initialAccessToken: false },
      resourceIndicators: {
        enabled: true,
        // A single requested resource applies to the token request too (the SDK repeats it anyway).
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          const allowed = accepted ? accepted.includes(indicator) : /^https?:\/\//.test(indicator);
          if (!allowed) throw new errors.InvalidTarget();
          return resourceServer(indicator);
        },
      },
    },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? accessTokenTTL,
      AuthorizationCode: ttl(60),
      ClientCredentials: ttl(accessTokenTTL),
      IdToken: ttl(accessTokenTTL),
      Interaction: ttl(600),
      Grant: ttl(3600),
      Session: ttl(3600),
      RefreshToken: ttl(3600),
    },
    // Plain text, so a refused request reads well in a test failure.
    renderError: (ctx, out) => {
      ctx.type = 'text/plain';
      ctx.body = `${out.error}: ${out.error_description ?? ''}`;
    },
  };
}

function generateSigningKey(algorithm: SigningAlgorithm) {
  const pair =
    algorithm === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : algorithm === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomUUID();
  const describe = (key: KeyObject) => ({
    ...key.export({ format: 'jwk' }),
    kid,
    alg: algorithm,
    use: 'sig',
  });
  return {
    privateKey: pair.privateKey,
    privateJwk: describe(pair.privateKey),
    publicJwk: describe(pair.publicKey),
  };
}

/** oidc-provider's state (clients, codes, sessions, grants) in a Map that lives as long as the server. */
function createMemoryAdapter(): (model: string) => Adapter {
  const store = new Map<string, AdapterPayload>();
  const uids = new Map<string, string>();
  const userCodes = new Map<string, string>();
  return (model) => {
    const key = (id: string) => `${model}:${id}`;
    return {
      async upsert(id, payload) {
        store.set(key(id), payload);
        if (model === 'Session' && payload.uid) uids.set(payload.uid, id);
        if (payload.userCode) userCodes.set(payload.userCode, id);
      },
      async find(id) {
        return store.get(key(id));
      },
      async findByUid(uid) {
        const id = uids.get(uid);
        return id === undefined ? undefined : store.get(key(id));
      },
      async findByUserCode(userCode) {
        const id = userCodes.get(userCode);
        return id === undefined ? undefined : store.get(key(id));
      },
      async consume(id) {
        const payload = store.get(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        store.delete(key(id));
      },
      async revokeByGrantId(grantId) {
        for (const [name, payload] of store) if (payload.grantId === grantId) store.delete(name);
      },
    };
  };
}

// ---------------------------------------------------------------------------------------------
// The login and consent pages.

async function handleInteraction(provider: Provider, req: IncomingMessage, res: ServerResponse) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, uid } = details;
  if (req.method === 'GET') {
    const html = prompt.name === 'login' ? loginPage(uid) : consentPage(uid, requestedScopes(prompt.details));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  if (form.get('prompt') !== prompt.name) throw new Error(`expected the ${prompt.name} form`);

  if (prompt.name === 'login') {
    const login = form.get('login') ?? '';
    if (login === '') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage(uid, 'Enter a login'));
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: login } },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  // Consent: the scopes the user ticked are granted, the others rejected (so they are not asked again).
  const approved = new Set(form.getAll('scope'));
  const accountId = details.session?.accountId;
  if (!accountId) throw new Error('consent without a login');
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: String(params.client_id) });
  if (!grant) throw new Error('the grant of this interaction is gone');
  const missing = prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  const split = (scopes: readonly string[]) => ({
    granted: scopes.filter((scope) => approved.has(scope)).join(' '),
    rejected: scopes.filter((scope) => !approved.has(scope)).join(' '),
  });
  if (missing.missingOIDCScope) {
    const { granted, rejected } = split(missing.missingOIDCScope);
    if (granted) grant.addOIDCScope(granted);
    if (rejected) grant.rejectOIDCScope(rejected);
  }
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    const { granted, rejected } = split(scopes);
    if (granted) grant.addResourceScope(indicator, granted);
    if (rejected) grant.rejectResourceScope(indicator, rejected);
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

function requestedScopes(details: Record<string, unknown>): string[] {
  const scopes = new Set<string>((details.missingOIDCScope as string[] | undefined) ?? []);
  const resources = (details.missingResourceScopes as Record<string, string[]> | undefined) ?? {};
  for (const list of Object.values(resources)) for (const scope of list) scopes.add(scope);
  return [...scopes];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  );

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>${body}</body></html>`;
}

function loginPage(uid: string, problem?: string): string {
  return page(
    'Sign in',
    `<h1>Sign in</h1>${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}">
<input type="hidden" name="prompt" value="login">
<label>Login <input type="text" name="login" autofocus></label>
<button type="submit">Sign in</button>
</form>`,
  );
}

function consentPage(uid: string, scopes: readonly string[]): string {
  const boxes = scopes
    .map(
      (scope) =>
        `<label><input type="checkbox" name="scope" value="${escapeHtml(scope)}" checked> ${escapeHtml(scope)}</label>`,
    )
    .join('\n');
  return page(
    'Authorize',
    `<h1>Authorize</h1>
<form method="post" action="/interaction/${escapeHtml(uid)}">
<input type="hidden" name="prompt" value="consent">
${boxes}
<button type="submit">Allow</button>
</form>`,
  );
}

// ---------------------------------------------------------------------------------------------
// The browser.

export type CompleteAuthorizationOptions = {
  /** Typed into the login form; becomes the token's `sub`. */
  login: string;
  /** The scopes left ticked on the consent page. Default: all of them. */
  grant?: readonly string[];
};

/**
 * Does what a browser does with an authorization URL: follows the authorization server's
 * redirects with a cookie jar, fills in the login and consent forms, and resolves to the URL the
 * server finally redirects to at the client's `redirect_uri` (carrying `code` and `state`, or
 * `error`), without requesting it. Works with the pages of `startOAuthServer`.
 */
export async function completeAuthorization(
  authorizationUrl: string | URL,
  { login, grant }: CompleteAuthorizationOptions,
): Promise<URL> {
  const start = new URL(authorizationUrl);
  const redirectUri = start.searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error('the authorization URL has no redirect_uri');
  const target = new URL(redirectUri);
  const isTarget = (url: URL) => url.origin === target.origin && url.pathname === target.pathname;

  const jar = new CookieJar();
  let url = start;
  let init: { method: string; body?: URLSearchParams } = { method: 'GET' };
  for (let step = 0; step < 20; step += 1) {
    const cookie = jar.header(url);
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: cookie ? { cookie } : {},
    });
    jar.store(url, response.headers.getSetCookie());
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const next = new URL(location, url);
      if (isTarget(next)) return next;
      url = next;
      init = { method: 'GET' };
      continue;
    }
    const text = await response.text();
    if (response.status !== 200 || !text.includes('<form')) {
      throw new Error(
        `authorization stopped at ${url.pathname}: HTTP ${response.status}: ${text.slice(0, 300)}`,
      );
    }
    const form = parseForm(text);
    const body = new URLSearchParams();
    for (const field of form.fields) {
      if (field.type === 'hidden') body.append(field.name, field.value);
      else if (field.name === 'login') body.append('login', login);
      else if (field.type === 'checkbox' && (grant === undefined || grant.includes(field.value)))
        body.append(field.name, field.value);
    }
    url = new URL(form.action, url);
    init = { method: 'POST', body };
  }
  throw new Error('authorization did not reach the redirect_uri in 20 steps');
}

type FormField = { type: string; name: string; value: string };

function parseForm(html: string): { action: string; fields: FormField[] } {
  const formTag = /<form\b([^>]*)>/i.exec(html);
  if (!formTag?.[1]) throw new Error('no form on the page');
  const action = attributes(formTag[1]).action ?? '';
  const fields = [...html.matchAll(/<input\b([^>]*)>/gi)].map((match) => {
    const attrs = attributes(match[1] ?? '');
    return { type: attrs.type ?? 'text', name: attrs.name ?? '', value: attrs.value ?? '' };
  });
  return { action, fields: fields.filter((field) => field.name !== '') };
}

function attributes(tag: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [, name, value] of tag.matchAll(/([a-z-]+)="([^"]*)"/gi)) {
    if (name) found[name.toLowerCase()] = decodeHtml(value ?? '');
  }
  return found;
}

const decodeHtml = (text: string) =>
  text.replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_entity, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[name] ?? '',
  );

/** Enough of RFC 6265 for one host: name, value, path, expiry. */
class CookieJar {
  #cookies = new Map<string, { name: string; value: string; path: string }>();

  store(requestUrl: URL, setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attrs] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = requestUrl.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = false;
      for (const attr of attrs) {
        const [key = '', val = ''] = attr.split('=');
        const lower = key.toLowerCase();
        if (lower === 'path' && val.startsWith('/')) path = val;
        if (lower === 'max-age' && Number(val) <= 0) expired = true;
        if (lower === 'expires' && Date.parse(val) <= Date.now()) expired = true;
      }
      const id = `${name};${path}`;
      if (expired) this.#cookies.delete(id);
      else this.#cookies.set(id, { name, value, path });
    }
  }

  header(url: URL): string | undefined {
    const matching = [...this.#cookies.values()].filter(
      (cookie) =>
        url.pathname === cookie.path ||
        url.pathname.startsWith(cookie.path.endsWith('/') ? cookie.path : `${cookie.path}/`),
    );
    return matching.length
      ? matching.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ')
      : undefined;
  }
}
