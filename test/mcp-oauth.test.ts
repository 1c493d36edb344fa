// taskchat as an OAuth 2.1 protected resource, against a real authorization server
// (test/support/oauth-server.ts: oidc-provider with dynamic registration, code + PKCE, resource
// indicators and JWT access tokens from its JWKS). The official MCP SDK clients start from the
// `/mcp` URL alone and find everything else from the 401; tokens for another resource, tokens
// without the needed scope and tokens from a stranger are refused as the contract says.
import { randomUUID } from 'node:crypto';
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as HttpV2,
  InsufficientScopeError,
  UnauthorizedError as UnauthorizedV2,
} from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskToolNames } from '../src/tasks/tools.ts';
import { createTestApp, type Listener, listen, type TestApp } from './support/app.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { connectWithOAuth, TestOAuthClientProvider } from './support/mcp-oauth-client.ts';
import { type OAuthServer, startOAuthServer } from './support/oauth-server.ts';

const MODERN = '2026-07-28';

let as: OAuthServer;
let t: TestDb;
let listener: Listener;
let base: string;
let resource: string;
let metadataUrl: string;
/** The app the server answers with; tests that need another configuration swap it. */
let app: TestApp;

const appWith = (env: Record<string, string> = {}) =>
  createTestApp(t, {
    env: { AUTH_JWKS_URL: as.jwksUri, AUTH_JWT_ISSUER: as.issuer, PUBLIC_URL: base, ...env },
  });

beforeAll(async () => {
  as = await startOAuthServer();
  t = await createTestDb('pglite');
  // The resource URL contains the port, so the server listens before the app exists.
  listener = await listen((request) => app.fetch(request));
  base = listener.url;
  resource = `${base}/mcp`;
  metadataUrl = `${base}/.well-known/oauth-protected-resource/mcp`;
  app = appWith();
});

afterAll(async () => {
  await listener?.close();
  await t?.drop();
  await as?.close();
});

const newLogin = () => `user-${randomUUID()}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** One MCP request as a 2025-era client sends it after `initialize` (the endpoint is stateless). */
function mcpPost(token: string | undefined, body: object) {
  return fetch(resource, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token ? bearer(token) : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, ...body }),
  });
}
const callTool = (token: string, name: string, args: object = {}) =>
  mcpPost(token, { method: 'tools/call', params: { name, arguments: args } });

async function tasksOf(token: string) {
  const res = await fetch(`${base}/tasks`, { headers: bearer(token) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { tasks: Array<{ title: string }> }).tasks.map((task) => task.title);
}

/** A v2 SDK client from the URL alone, the way a host does it: 401, browser, finishAuth, reconnect. */
async function connectV2(provider: TestOAuthClientProvider, mode: 'legacy' | { pin: string }) {
  const make = () =>
    new ClientV2({ name: 'taskchat-oauth-test', version: '1.0.0' }, { versionNegotiation: { mode } });
  const transport = () => new HttpV2(new URL(resource), { authProvider: provider as never });
  const first = make();
  try {
    await first.connect(transport());
    return first;
  } catch (error) {
    if (!(error instanceof UnauthorizedV2)) throw error;
  }
  const response = provider.authorizationResponse;
  if (!response) throw new Error('the SDK asked for authorization but nothing came back');
  await transport().finishAuth(response.searchParams);
  const client = make();
  await client.connect(transport());
  return client;
}

describe('protected-resource metadata (RFC 9728)', () => {
  it('is served at both well-known locations without authentication', async () => {
    for (const path of [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ]) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      expect(await res.json()).toEqual({
        resource,
        authorization_servers: [as.issuer],
        scopes_supported: ['tasks:read', 'tasks:write'],
        bearer_methods_supported: ['header'],
        resource_name: 'taskchat',
      });
    }
    const other = await fetch(`${base}/.well-known/oauth-authorization-server`);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('names AUTH_AUTHORIZATION_SERVERS when set, instead of the issuer', async () => {
    const configured = appWith({
      AUTH_AUTHORIZATION_SERVERS: 'https://login.example.test, https://b.example.test',
    });
    const res = await configured.request('/.well-known/oauth-protected-resource/mcp');
    expect(((await res.json()) as any).authorization_servers).toEqual([
      'https://login.example.test',
      'https://b.example.test',
    ]);
  });

  it('does not exist without an authorization server: secret-only jwt mode and dev mode answer 404', async () => {
    const secretOnly = createTestApp(t, {
      env: { AUTH_JWT_SECRET: 'a-test-secret-that-is-at-least-32-characters' },
    });
    const dev = createTestApp(t);
    for (const candidate of [secretOnly, dev]) {
      for (const path of [
        '/.well-known/oauth-protected-resource',
        '/.well-known/oauth-protected-resource/mcp',
      ]) {
        const res = await candidate.request(path);
        expect(res.status).toBe(404);
        expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
      }
    }
    const res = await secretOnly.request('/mcp', { method: 'POST' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="taskchat", scope="tasks:read tasks:write"',
    );
  });
});

describe('the 401 challenge', () => {
  it('names the metadata and the scopes when there is no token, and adds invalid_token for a bad one', async () => {
    const none = await mcpPost(undefined, { method: 'tools/list' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${metadataUrl}", scope="tasks:read tasks:write"`,
    );
    expect(await none.json()).toMatchObject({ error: { code: 'unauthorized' } });

    const forged = await mcpPost('not.a.token', { method: 'tools/list' });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${metadataUrl}", scope="tasks:read tasks:write", error="invalid_token"`,
    );

    // Every route, not only /mcp.
    const tasks = await fetch(`${base}/tasks`);
    expect(tasks.status).toBe(401);
    expect(tasks.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${metadataUrl}", scope="tasks:read tasks:write"`,
    );
  });
});

describe('the official MCP SDK clients, from the URL alone', () => {
  it('v1.32 (2025-11-25): discovers, registers, authorizes, then lists and calls the tools', async () => {
    const login = newLogin();
    const provider = new TestOAuthClientProvider({ login });
    const client = await connectWithOAuth(resource, { login, provider });
    try {
      expect(provider.authorizations).toBe(1);
      expect(provider.clientInformation()).toMatchObject({ issuer: as.issuer });
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(taskToolNames);
      const added = await client.callTool({ name: 'add_task', arguments: { title: 'buy milk' } });
      expect(added.structuredContent).toMatchObject({ title: 'buy milk', completed: false });
      const listed = await client.callTool({ name: 'list_tasks', arguments: { limit: 5 } });
      expect(listed.structuredContent).toMatchObject({ total: 1 });
    } finally {
      await client.close();
    }
    // The token names the user: the same task through the HTTP API.
    expect(await tasksOf(provider.tokens()!.access_token)).toEqual(['buy milk']);
  });

  it.each([
    ['2025-11-25', 'legacy'],
    [MODERN, { pin: MODERN }],
  ] as const)('v2, %s: discovers, registers, authorizes, then lists and calls the tools', async (_, mode) => {
    const login = newLogin();
    const provider = new TestOAuthClientProvider({ login });
    const client = await connectV2(provider, mode);
    try {
      expect(provider.authorizations).toBe(1);
      expect(client.getProtocolEra()).toBe(mode === 'legacy' ? 'legacy' : 'modern');
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(taskToolNames);
      const added = await client.callTool({ name: 'add_task', arguments: { title: 'water the plants' } });
      expect(added.structuredContent).toMatchObject({ title: 'water the plants' });
      const done = await client.callTool({
        name: 'complete_task',
        arguments: { task_id: (added.structuredContent as { id: number }).id, completed: true },
      });
      expect(done.structuredContent).toMatchObject({ completed: true });
    } finally {
      await client.close();
    }
    expect(await tasksOf(provider.tokens()!.access_token)).toEqual(['water the plants']);
  });
});

describe('tokens the resource server refuses', () => {
  it('refuses a token issued for another resource (RFC 8707 audience)', async () => {
    const token = await as.issueToken({ login: newLogin(), resource: 'http://127.0.0.1:1/mcp' });
    const res = await mcpPost(token, { method: 'tools/list' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${metadataUrl}", scope="tasks:read tasks:write", error="invalid_token"`,
    );
    expect((await fetch(`${base}/tasks`, { headers: bearer(token) })).status).toBe(401);
  });

  it('refuses a token signed by another authorization server', async () => {
    const stranger = await startOAuthServer();
    try {
      const token = await stranger.signToken({ sub: 'mallory', aud: resource, iss: as.issuer });
      expect((await mcpPost(token, { method: 'tools/list' })).status).toBe(401);
    } finally {
      await stranger.close();
    }
  });

  it('takes the audience from AUTH_JWT_AUDIENCE when it names another one', async () => {
    const previous = app;
    app = appWith({ AUTH_JWT_AUDIENCE: 'taskchat-api' });
    try {
      const forApi = await as.signToken({ sub: 'carol', aud: 'taskchat-api' });
      const forMcp = await as.signToken({ sub: 'carol', aud: resource });
      expect((await mcpPost(forApi, { method: 'tools/list' })).status).toBe(200);
      expect((await mcpPost(forMcp, { method: 'tools/list' })).status).toBe(401);
    } finally {
      app = previous;
    }
  });
});

describe('scopes', () => {
  it('a read-only token lists and reads, and cannot add: 403 insufficient_scope with the challenge', async () => {
    const login = newLogin();
    const token = await as.issueToken({ login, resource, scope: 'tasks:read' });

    // Through a client holding the token as hosts that take a pasted token do.
    const client = new ClientV1({ name: 'taskchat-oauth-test', version: '1.0.0' });
    await client.connect(new HttpV1(new URL(resource), { requestInit: { headers: bearer(token) } }));
    try {
      expect((await client.listTools()).tools).toHaveLength(taskToolNames.length);
      const listed = await client.callTool({ name: 'list_tasks', arguments: {} });
      expect(listed.structuredContent).toEqual({ tasks: [], total: 0 });
      await expect(
        client.callTool({ name: 'add_task', arguments: { title: 'sneaky' } }),
      ).rejects.toMatchObject({
        code: 403,
      });
    } finally {
      await client.close();
    }

    const res = await callTool(token, 'add_task', { title: 'sneaky' });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", scope="tasks:read tasks:write", resource_metadata="${metadataUrl}"`,
    );
    expect(await res.json()).toMatchObject({
      error: { code: 'insufficient_scope', message: expect.any(String) },
    });
    for (const name of ['complete_task', 'update_task', 'delete_task']) {
      expect((await callTool(token, name, { task_id: 1, title: 'x' })).status, name).toBe(403);
    }

    // The HTTP API follows the same rule: reads pass, changes and chat do not.
    expect(await tasksOf(token)).toEqual([]);
    const chat = await fetch(`${base}/chat`, {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'add buy milk' }),
    });
    expect(chat.status).toBe(403);
    expect(await chat.json()).toMatchObject({ error: { code: 'insufficient_scope' } });
    expect(await tasksOf(token)).toEqual([]);
  });

  it('the v2 client reports the step-up challenge with the scope it needs', async () => {
    const token = await as.issueToken({ login: newLogin(), resource, scope: 'tasks:read' });
    const client = new ClientV2(
      { name: 'taskchat-oauth-test', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: MODERN } } },
    );
    await client.connect(
      new HttpV2(new URL(resource), {
        requestInit: { headers: bearer(token) },
        onInsufficientScope: 'throw',
      }),
    );
    try {
      const call = client.callTool({ name: 'add_task', arguments: { title: 'sneaky' } });
      await expect(call).rejects.toBeInstanceOf(InsufficientScopeError);
      await expect(call).rejects.toMatchObject({
        requiredScope: 'tasks:read tasks:write',
        resourceMetadataUrl: new URL(metadataUrl),
      });
    } finally {
      await client.close();
    }
  });

  it('a host that steps up gets the wider token and the call goes through', async () => {
    const login = newLogin();
    const provider = new TestOAuthClientProvider({ login, grant: ['tasks:read'] });
    const client = await connectV2(provider, { pin: MODERN });
    try {
      expect(provider.authorizations).toBe(1);
      // The 403 sends the user back to the authorization server for the challenge's scopes; this
      // time they approve writing. Like a host waiting for the browser, the SDK stops there.
      (provider as { grant: readonly string[] | undefined }).grant = undefined;
      const call = () => client.callTool({ name: 'add_task', arguments: { title: 'after consent' } });
      await expect(call()).rejects.toBeInstanceOf(UnauthorizedV2);
      expect(provider.authorizations).toBe(2);
      await new HttpV2(new URL(resource), { authProvider: provider as never }).finishAuth(
        provider.authorizationResponse!.searchParams,
      );
      expect((await call()).structuredContent).toMatchObject({ title: 'after consent' });
    } finally {
      await client.close();
    }
    const token = provider.tokens()!.access_token;
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims.scope.split(' ').sort()).toEqual(['tasks:read', 'tasks:write']);
    expect(await tasksOf(token)).toEqual(['after consent']);
  });

  it('a write-only token can add but not list', async () => {
    const token = await as.signToken({ sub: newLogin(), aud: resource, scope: 'tasks:write' });
    expect((await callTool(token, 'add_task', { title: 'blind' })).status).toBe(200);
    const list = await callTool(token, 'list_tasks');
    expect(list.status).toBe(403);
    expect(list.headers.get('www-authenticate')).toContain('scope="tasks:read tasks:write"');
    expect((await mcpPost(token, { method: 'tools/list' })).status).toBe(403);
    expect((await fetch(`${base}/tasks`, { headers: bearer(token) })).status).toBe(403);
    // The handshake needs no scope: a host can connect and learn what it may do.
    const init = await mcpPost(token, {
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    expect(init.status).toBe(200);
  });

  it('a body the scope check does not read as JSON, or a batch, runs nothing it may not', async () => {
    const login = newLogin();
    const token = await as.signToken({ sub: login, aud: resource, scope: 'tasks:read' });
    const call = {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'add_task', arguments: { title: 'smuggled' } },
    };
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
      const res = await fetch(resource, {
        method: 'POST',
        headers: {
          ...bearer(token),
          'content-type': contentType,
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify(call),
      });
      expect(res.status, contentType).toBe(415);
    }
    // A 2025-era batch needs every scope any of its messages needs.
    const batch = await fetch(resource, {
      method: 'POST',
      headers: {
        ...bearer(token),
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify([{ jsonrpc: '2.0', id: 0, method: 'tools/list' }, call]),
    });
    expect(batch.status).toBe(403);
    expect(await tasksOf(token)).toEqual([]);
  });

  it('a token without a scope claim has full access', async () => {
    const token = await as.signToken({ sub: newLogin(), aud: resource, scope: undefined });
    expect((await callTool(token, 'add_task', { title: 'unscoped' })).status).toBe(200);
    expect(await tasksOf(token)).toEqual(['unscoped']);
  });
});
