// Which web pages may talk to the server (src/http/origin.ts): a foreign `Origin` is refused on
// every route before anything runs, the server's own origin and CORS_ORIGINS pass, requests
// without `Origin` pass, and in dev mode a `Host` that is not a loopback name or PUBLIC_URL's
// host is refused, which is what stops DNS rebinding. Checked on a real server with the exact
// headers a rebinding page's browser sends, and through `app.request` for the rest.

import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskToolNames } from '../src/tasks/tools.ts';
import { createTestApp, type Listener, listen, type TestApp } from './support/app.ts';
import { createTestDb, type TestDb } from './support/db.ts';

const SECRET = 'a-test-secret-that-is-at-least-32-characters';

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb('pglite');
});
afterAll(async () => {
  await t?.drop();
});

const appWith = (env: Record<string, string> = {}): TestApp => createTestApp(t, { env });

/** A request with exactly these headers (fetch will not let a caller choose `Host`). */
function rawRequest(
  port: number,
  options: { method: string; path: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: options.method, path: options.path, headers: options.headers },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.once('error', reject);
    req.end(options.body);
  });
}

const mcpListBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
const mcpHeaders = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'x-user-id': 'alice',
};

describe('on a real server in dev mode', () => {
  let listener: Listener;
  let port: number;

  beforeAll(async () => {
    listener = await listen(appWith().fetch);
    port = listener.port;
  });
  afterAll(() => listener?.close());

  it('refuses a DNS-rebinding page: Host and Origin evil.test, 403 forbidden_origin before any MCP', async () => {
    const res = await rawRequest(port, {
      method: 'POST',
      path: '/mcp',
      headers: { ...mcpHeaders, host: 'evil.test:3000', origin: 'http://evil.test:3000' },
      body: mcpListBody,
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'forbidden_origin' } });
    expect(res.body).not.toContain('tools');
  });

  it('refuses a foreign Host even without Origin (a rebound page can send a simple request)', async () => {
    const res = await rawRequest(port, {
      method: 'GET',
      path: '/tasks',
      headers: { host: 'evil.test:3000', 'x-user-id': 'alice' },
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'forbidden_origin' } });
  });

  it('serves the same request from this machine, and from its own page', async () => {
    const cases: Record<string, string>[] = [
      { host: `127.0.0.1:${port}` },
      { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` },
      { host: `localhost:${port}`, origin: `http://localhost:${port}` },
    ];
    for (const headers of cases) {
      const res = await rawRequest(port, {
        method: 'POST',
        path: '/mcp',
        headers: { ...mcpHeaders, ...headers },
        body: mcpListBody,
      });
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(JSON.parse(res.body).result.tools).toHaveLength(taskToolNames.length);
    }
  });
});

describe('Origin', () => {
  const foreign = ['http://evil.test', 'http://127.0.0.1:9999', 'https://127.0.0.1:3000', 'null'];

  it.each([
    ['POST', '/mcp'],
    ['POST', '/chat'],
    ['GET', '/tasks'],
    ['GET', '/conversations'],
    ['GET', '/health'],
    ['GET', '/.well-known/oauth-protected-resource'],
  ])('a foreign Origin gets 403 forbidden_origin on %s %s', async (method, path) => {
    const app = appWith();
    for (const origin of foreign) {
      const res = await app.request(path, {
        method,
        headers: { origin, 'x-user-id': 'alice', 'content-type': 'application/json' },
        body: method === 'POST' ? JSON.stringify({ message: 'add buy milk' }) : undefined,
      });
      expect(res.status, origin).toBe(403);
      expect(await res.json()).toMatchObject({
        error: { code: 'forbidden_origin', message: expect.any(String) },
      });
    }
  });

  it("lets the chat page's own origin send a turn, and requests without Origin", async () => {
    const app = appWith();
    const cases: Record<string, string>[] = [{ origin: 'http://127.0.0.1:3000' }, {}];
    for (const headers of cases) {
      const res = await app.request('http://127.0.0.1:3000/chat', {
        method: 'POST',
        headers: { ...headers, 'x-user-id': 'origin-user', 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'list' }),
      });
      expect(res.status, JSON.stringify(headers)).toBe(200);
    }
  });

  it('allows PUBLIC_URL as the own origin, whatever the listening address', async () => {
    const app = appWith({ PUBLIC_URL: 'https://tasks.example.test/' });
    const res = await app.request('https://tasks.example.test/tasks', {
      headers: { origin: 'https://tasks.example.test', 'x-user-id': 'alice' },
    });
    expect(res.status).toBe(200);
    const other = await app.request('https://tasks.example.test/tasks', {
      headers: { origin: 'http://tasks.example.test', 'x-user-id': 'alice' },
    });
    expect(other.status).toBe(403);
  });

  it('allows CORS_ORIGINS, with CORS headers and a working preflight; a foreign origin gets none', async () => {
    const app = appWith({ CORS_ORIGINS: 'https://app.example.test, http://localhost:5173' });
    const preflight = await app.request('/tasks', {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'x-user-id',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');

    const res = await app.request('/tasks', {
      headers: { origin: 'https://app.example.test', 'x-user-id': 'alice' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.test');

    const refused = await app.request('/tasks', {
      headers: { origin: 'https://evil.test', 'x-user-id': 'alice' },
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('is checked before authentication in jwt mode too', async () => {
    const app = appWith({ AUTH_JWT_SECRET: SECRET });
    expect(
      (await app.request('/mcp', { method: 'POST', headers: { origin: 'https://evil.test' } })).status,
    ).toBe(403);
    expect((await app.request('/mcp', { method: 'POST' })).status).toBe(401);
  });
});

describe('Host in dev mode', () => {
  it.each(['localhost:3000', '127.0.0.1:3000', '127.0.0.2', '[::1]:3000', 'app.localhost:3000'])(
    'serves the loopback name %s',
    async (host) => {
      const res = await appWith().request(`http://${host}/tasks`, { headers: { 'x-user-id': 'alice' } });
      expect(res.status).toBe(200);
    },
  );

  it.each(['evil.test:3000', '192.168.1.20:3000', 'localhost.evil.test'])('refuses %s', async (host) => {
    const res = await appWith().request(`http://${host}/tasks`, { headers: { 'x-user-id': 'alice' } });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'forbidden_origin' } });
  });

  it("serves PUBLIC_URL's host", async () => {
    const app = appWith({ PUBLIC_URL: 'http://192.168.1.20:3000' });
    const res = await app.request('http://192.168.1.20:3000/tasks', { headers: { 'x-user-id': 'alice' } });
    expect(res.status).toBe(200);
  });

  it('is not checked in jwt mode, where proxies rewrite it and a rebound page holds no token', async () => {
    const app = appWith({ AUTH_JWT_SECRET: SECRET });
    const res = await app.request('http://internal-lb.example:8080/tasks');
    expect(res.status).toBe(401);
  });
});
