// The OAuth test support proves itself without taskchat: the oidc-provider authorization server
// (test/support/oauth-server.ts) against a hand-driven client doing DCR and code + PKCE, the JWT
// it issues checked the way a resource server checks it (through the JWKS, with jose), and the
// MCP SDK client's whole OAuth flow (test/support/mcp-oauth-client.ts) against a small resource
// server in this file that answers 401 with the RFC 9728 challenge, as taskchat's /mcp will.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { discoverAuthorizationServerMetadata } from '@modelcontextprotocol/sdk/client/auth.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Hono } from 'hono';
import { createRemoteJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from './support/app.ts';
import { connectWithOAuth, TestOAuthClientProvider } from './support/mcp-oauth-client.ts';
import {
  completeAuthorization,
  type OAuthServer,
  registerPublicClient,
  startOAuthServer,
  TASK_SCOPES,
} from './support/oauth-server.ts';

const RESOURCE = 'http://127.0.0.1:1/mcp';
const OTHER_RESOURCE = 'http://127.0.0.1:2/mcp';
const REDIRECT_URI = 'http://127.0.0.1/callback';
const TTL = 900;

/** An authorization request with PKCE, as a client builds it. */
function authorizationRequest(
  endpoint: string,
  params: { clientId: string; resource: string; scope?: string; pkce?: boolean },
) {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomUUID();
  const url = new URL(endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: params.clientId,
    redirect_uri: REDIRECT_URI,
    scope: params.scope ?? TASK_SCOPES.join(' '),
    resource: params.resource,
    state,
    ...(params.pkce === false
      ? {}
      : {
          code_challenge: createHash('sha256').update(verifier).digest('base64url'),
          code_challenge_method: 'S256',
        }),
  }).toString();
  return { url, verifier, state };
}

async function exchangeCode(
  as: OAuthServer,
  params: { clientId: string; code: string; verifier: string; resource: string },
) {
  const response = await fetch(as.tokenEndpoint, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: params.clientId,
      code: params.code,
      code_verifier: params.verifier,
      redirect_uri: REDIRECT_URI,
      resource: params.resource,
    }),
  });
  return { status: response.status, body: await response.json() };
}

describe('the test authorization server', () => {
  let as: OAuthServer;
  let metadata: Record<string, any>;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  beforeAll(async () => {
    as = await startOAuthServer({ resources: [RESOURCE, OTHER_RESOURCE], accessTokenTTL: TTL });
    metadata = await (await fetch(as.metadataUrl)).json();
    jwks = createRemoteJWKSet(new URL(as.jwksUri));
  });
  afterAll(() => as?.close());

  it('publishes the same RFC 8414 metadata at both discovery URLs, as the MCP SDK finds it', async () => {
    const openid = await (await fetch(`${as.issuer}/.well-known/openid-configuration`)).json();
    expect(metadata).toEqual(openid);
    expect(metadata).toMatchObject({
      issuer: as.issuer,
      jwks_uri: as.jwksUri,
      token_endpoint: as.tokenEndpoint,
      registration_endpoint: as.registrationEndpoint,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
    });
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining([...TASK_SCOPES]));
    expect(metadata.token_endpoint_auth_methods_supported).toContain('none');
    const found = await discoverAuthorizationServerMetadata(as.issuer);
    expect(found?.issuer).toBe(as.issuer);
  });

  it('gives a client registered by DCR a JWT for the resource through code + PKCE', async () => {
    const registration = await fetch(as.registrationEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        scope: TASK_SCOPES.join(' '),
      }),
    });
    expect(registration.status).toBe(201);
    const client = await registration.json();
    expect(client.token_endpoint_auth_method).toBe('none');
    expect(client.client_secret).toBeUndefined();

    const login = `user-${randomUUID()}`;
    const request = authorizationRequest(metadata.authorization_endpoint, {
      clientId: client.client_id,
      resource: RESOURCE,
    });
    const back = await completeAuthorization(request.url, { login });
    expect(back.origin + back.pathname).toBe(REDIRECT_URI);
    expect(back.searchParams.get('state')).toBe(request.state);
    expect(back.searchParams.get('iss')).toBe(as.issuer);
    const code = back.searchParams.get('code');
    expect(code).toBeTruthy();

    const token = await exchangeCode(as, {
      clientId: client.client_id,
      code: code!,
      verifier: request.verifier,
      resource: RESOURCE,
    });
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({
      token_type: 'Bearer',
      scope: 'tasks:read tasks:write',
      expires_in: TTL,
    });

    const { payload, protectedHeader } = await jwtVerify(token.body.access_token, jwks, {
      issuer: as.issuer,
      audience: RESOURCE,
      typ: 'at+jwt',
    });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: as.publicJwk.kid });
    expect(payload).toMatchObject({
      sub: login,
      aud: RESOURCE,
      scope: 'tasks:read tasks:write',
      client_id: client.client_id,
    });
    expect(payload.exp! - payload.iat!).toBe(TTL);
  });

  it('refuses a code presented with another PKCE verifier', async () => {
    const clientId = await registerPublicClient(as.registrationEndpoint, REDIRECT_URI);
    const request = authorizationRequest(metadata.authorization_endpoint, { clientId, resource: RESOURCE });
    const back = await completeAuthorization(request.url, { login: 'alice' });
    const token = await exchangeCode(as, {
      clientId,
      code: back.searchParams.get('code')!,
      verifier: randomBytes(32).toString('base64url'),
      resource: RESOURCE,
    });
    expect(token.status).toBe(400);
    expect(token.body.error).toBe('invalid_grant');
  });

  it('refuses an authorization request without PKCE', async () => {
    const clientId = await registerPublicClient(as.registrationEndpoint, REDIRECT_URI);
    const request = authorizationRequest(metadata.authorization_endpoint, {
      clientId,
      resource: RESOURCE,
      pkce: false,
    });
    const back = await completeAuthorization(request.url, { login: 'alice' });
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('code')).toBeNull();
  });

  it('refuses a resource it does not serve', async () => {
    const clientId = await registerPublicClient(as.registrationEndpoint, REDIRECT_URI);
    const request = authorizationRequest(metadata.authorization_endpoint, {
      clientId,
      resource: 'http://127.0.0.1:3/elsewhere',
    });
    const back = await completeAuthorization(request.url, { login: 'alice' });
    expect(back.searchParams.get('error')).toBe('invalid_target');
  });

  it('issues only the scopes the user left ticked on the consent page', async () => {
    const clientId = await registerPublicClient(as.registrationEndpoint, REDIRECT_URI);
    const request = authorizationRequest(metadata.authorization_endpoint, { clientId, resource: RESOURCE });
    const back = await completeAuthorization(request.url, { login: 'reader', grant: ['tasks:read'] });
    const token = await exchangeCode(as, {
      clientId,
      code: back.searchParams.get('code')!,
      verifier: request.verifier,
      resource: RESOURCE,
    });
    expect(token.body.scope).toBe('tasks:read');
    expect(decodeJwt(token.body.access_token).scope).toBe('tasks:read');
  });

  it('issueToken runs the real flow for any accepted resource and scope', async () => {
    const token = await as.issueToken({ login: 'bob', resource: OTHER_RESOURCE, scope: 'tasks:read' });
    const { payload } = await jwtVerify(token, jwks, { issuer: as.issuer, audience: OTHER_RESOURCE });
    expect(payload).toMatchObject({ sub: 'bob', scope: 'tasks:read' });
    await expect(as.issueToken({ login: 'bob', resource: 'http://127.0.0.1:3/elsewhere' })).rejects.toThrow(
      /authorization refused/,
    );
  });

  it('signToken signs with the key the JWKS publishes, whatever the claims', async () => {
    const now = Math.floor(Date.now() / 1000);
    const unscoped = await as.signToken({ sub: 'carol', aud: RESOURCE, scope: undefined });
    const { payload } = await jwtVerify(unscoped, jwks, { issuer: as.issuer, audience: RESOURCE });
    expect(payload.sub).toBe('carol');
    expect(payload).not.toHaveProperty('scope');

    // jose checks the signature before the claims: "expired" means the signature was good.
    const expired = await as.signToken({ sub: 'carol', aud: RESOURCE, iat: now - 7200, exp: now - 3600 });
    await expect(jwtVerify(expired, jwks)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });

    const stranger = await startOAuthServer();
    try {
      const foreign = await stranger.signToken({ sub: 'carol', aud: RESOURCE });
      await expect(jwtVerify(foreign, jwks)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    } finally {
      await stranger.close();
    }
  });
});

/**
 * A resource server guarded the way the contract describes taskchat's /mcp: RFC 9728 metadata, a
 * 401 with `WWW-Authenticate: Bearer resource_metadata=...`, JWTs checked against the
 * authorization server's JWKS with `aud` = its own resource URL. Its one tool says who called.
 */
async function startResourceServer(as: OAuthServer) {
  const jwks = createRemoteJWKSet(new URL(as.jwksUri));
  const seen = { unauthenticated: 0, invalid: 0 };
  let resource = '';
  let metadataUrl = '';
  const app = new Hono();

  app.get('/.well-known/oauth-protected-resource/mcp', (c) =>
    c.json({
      resource,
      authorization_servers: [as.issuer],
      scopes_supported: [...TASK_SCOPES],
      bearer_methods_supported: ['header'],
    }),
  );

  app.post('/mcp', async (c) => {
    const challenge = (error?: string) =>
      c.json({ error: { code: 'unauthorized', message: 'Authentication required' } }, 401, {
        'WWW-Authenticate': `Bearer resource_metadata="${metadataUrl}"${error ? `, error="${error}"` : ''}`,
      });
    const header = c.req.header('authorization');
    if (!header?.startsWith('Bearer ')) {
      seen.unauthenticated += 1;
      return challenge();
    }
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(header.slice('Bearer '.length), jwks, {
        issuer: as.issuer,
        audience: resource,
        typ: 'at+jwt',
      }));
    } catch {
      seen.invalid += 1;
      return challenge('invalid_token');
    }
    const server = new McpServer({ name: 'oauth-support-test', version: '1.0.0' });
    server.registerTool('whoami', { description: 'The caller, as the access token names them' }, () => ({
      content: [
        { type: 'text', text: JSON.stringify({ sub: claims.sub, scope: claims.scope, aud: claims.aud }) },
      ],
    }));
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    try {
      await server.connect(transport);
      return await transport.handleRequest(c.req.raw);
    } finally {
      await server.close();
    }
  });
  app.all('/mcp', (c) => c.body(null, 405, { Allow: 'POST' }));

  const listener = await listen(app.fetch);
  resource = `${listener.url}/mcp`;
  metadataUrl = `${listener.url}/.well-known/oauth-protected-resource/mcp`;
  return { url: resource, seen, close: listener.close };
}

async function whoami(client: { callTool: (...args: any[]) => Promise<unknown> }) {
  const result = (await client.callTool({ name: 'whoami', arguments: {} })) as CallToolResult;
  const [first] = result.content;
  return JSON.parse(first?.type === 'text' ? first.text : 'null');
}

describe('connectWithOAuth: the MCP SDK client, from the URL alone', () => {
  let as: OAuthServer;
  let rs: Awaited<ReturnType<typeof startResourceServer>>;

  beforeAll(async () => {
    as = await startOAuthServer();
    rs = await startResourceServer(as);
  });
  afterAll(async () => {
    await rs?.close();
    await as?.close();
  });

  it('discovers, registers, authorizes and reconnects with a token for the resource', async () => {
    const login = `user-${randomUUID()}`;
    const provider = new TestOAuthClientProvider({ login });
    const before = rs.seen.unauthenticated;
    const client = await connectWithOAuth(rs.url, { login, provider });
    try {
      expect(await whoami(client)).toEqual({ sub: login, scope: 'tasks:read tasks:write', aud: rs.url });
    } finally {
      await client.close();
    }
    expect(rs.seen.unauthenticated).toBe(before + 1);
    expect(provider.authorizations).toBe(1);
    expect(provider.clientInformation()).toMatchObject({
      issuer: as.issuer,
      token_endpoint_auth_method: 'none',
    });
    expect(decodeJwt(provider.tokens()!.access_token).aud).toBe(rs.url);

    // A host that already holds a token connects without sending the user anywhere.
    const again = await connectWithOAuth(rs.url, { login, provider });
    try {
      expect((await whoami(again)).sub).toBe(login);
    } finally {
      await again.close();
    }
    expect(provider.authorizations).toBe(1);
  });

  it('carries only the scopes the user approved', async () => {
    const client = await connectWithOAuth(rs.url, { login: 'reader', grant: ['tasks:read'] });
    try {
      expect(await whoami(client)).toMatchObject({ sub: 'reader', scope: 'tasks:read' });
    } finally {
      await client.close();
    }
  });

  it('starts over when the resource server refuses the stored token', async () => {
    const provider = new TestOAuthClientProvider({ login: 'dave' });
    // A token signed by a key the resource server does not trust, as after a key rotation.
    const stranger = await startOAuthServer();
    try {
      provider.saveTokens({
        access_token: await stranger.signToken({ sub: 'dave', aud: rs.url }),
        token_type: 'Bearer',
      });
    } finally {
      await stranger.close();
    }
    const invalidBefore = rs.seen.invalid;
    const client = await connectWithOAuth(rs.url, { login: 'dave', provider });
    try {
      expect((await whoami(client)).sub).toBe('dave');
    } finally {
      await client.close();
    }
    expect(rs.seen.invalid).toBe(invalidBefore + 1);
    expect(provider.authorizations).toBe(1);
  });
});
