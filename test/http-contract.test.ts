// What every JSON route does with a request it cannot take, through the app as a client calls it:
// strict bodies (an unknown field is a 400 naming it; the AI SDK UI body keeps its extras), a body
// that is not JSON is 415 (not a 400 about a field the client did send), and a known path asked
// with the wrong method is 405 with `Allow`, while HEAD, CORS preflights and /mcp keep working.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { createTestDb, type TestDb, testConfig } from './support/db.ts';

type ErrorBody = { error: { code: string; message: string; requestId?: string } };

describe('strict bodies, media types and methods', () => {
  let t: TestDb;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    t = await createTestDb('pglite');
    app = createApp({ config: t.config, database: t.database });
  });
  afterAll(() => t?.drop());

  const send = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    app.request(path, { method, headers: { 'x-user-id': 'strict-user', ...headers }, body });
  const sendJson = (method: string, path: string, body: unknown) =>
    send(method, path, JSON.stringify(body), { 'content-type': 'application/json' });
  async function refused(res: Response, status: number) {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    const { requestId: _, ...error } = (JSON.parse(text) as ErrorBody).error;
    return error;
  }
  const taskCount = async () => ((await (await send('GET', '/tasks')).json()) as { total: number }).total;

  it('refuses an unknown field of the contract body of POST /chat, naming it, and runs nothing', async () => {
    const error = await refused(
      await sendJson('POST', '/chat', { message: 'add buy milk', conversation: 'x' }),
      400,
    );
    expect(error).toEqual({
      code: 'invalid_request',
      message: 'unknown field conversation; the fields are message, conversationId, messageId',
    });
    expect(await taskCount()).toBe(0);
    expect((await (await send('GET', '/conversations')).json()) as unknown).toEqual({ conversations: [] });
  });

  it('keeps the extra fields of the AI SDK UI body (DefaultChatTransport sends its own)', async () => {
    const res = await sendJson('POST', '/chat', {
      id: 'strict-chat',
      messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'list' }], metadata: { at: 1 } }],
      trigger: 'submit-message',
      messageId: undefined,
      extraFromTheClient: { theme: 'dark' },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(await res.text()).toContain('data: [DONE]');
  });

  it.each([
    // What `curl -d` sends without `-H 'content-type: application/json'`.
    ['POST', '/tasks', 'application/x-www-form-urlencoded', 'title=buy milk'],
    ['POST', '/tasks', 'text/plain', '{"title":"buy milk"}'],
    ['POST', '/tasks', undefined, '{"title":"buy milk"}'],
    ['PATCH', '/tasks/1', 'text/plain;charset=UTF-8', '{"completed":true}'],
    ['POST', '/chat', 'application/x-www-form-urlencoded', 'message=add buy milk'],
  ])(
    'answers %s %s with a %s body 415 unsupported_media_type, and changes nothing',
    async (method, path, type, body) => {
      const before = await taskCount();
      const res = await app.request(path, {
        method,
        headers: { 'x-user-id': 'strict-user', ...(type ? { 'content-type': type } : {}) },
        // A string body gets text/plain from fetch's Request; bytes get no type at all.
        body: type ? body : new TextEncoder().encode(body),
      });
      expect(await refused(res, 415)).toEqual({
        code: 'unsupported_media_type',
        message: 'The body must be JSON, sent with the header Content-Type: application/json',
      });
      expect(await taskCount()).toBe(before);
    },
  );

  it('still names the missing field when no body is sent at all', async () => {
    const error = await refused(await send('POST', '/tasks'), 400);
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/^title: /);
  });

  it('takes JSON with a charset and the +json types', async () => {
    for (const type of ['application/json; charset=utf-8', 'application/merge-patch+json']) {
      const res = await send('POST', '/tasks', '{"title":"typed"}', { 'content-type': type });
      expect(res.status, type).toBe(201);
    }
  });

  it.each([
    ['PUT', '/tasks/1', 'GET, HEAD, PATCH, DELETE'],
    ['POST', '/tasks/1', 'GET, HEAD, PATCH, DELETE'],
    ['DELETE', '/tasks', 'GET, HEAD, POST'],
    ['GET', '/chat', 'POST'],
    ['HEAD', '/chat', 'POST'],
    ['PATCH', '/conversations', 'GET, HEAD'],
    ['POST', '/health', 'GET, HEAD'],
  ])('answers %s %s 405 method_not_allowed with Allow: %s', async (method, path, allow) => {
    const res = await send(method, path, undefined);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    if (method !== 'HEAD') {
      expect(((await res.json()) as ErrorBody).error).toMatchObject({
        code: 'method_not_allowed',
        message: `${method} is not allowed on ${path}; it takes ${allow}`,
      });
    }
  });

  it('keeps 404 for paths nothing serves, HEAD on GET routes, /mcp’s own 405 and CORS preflights', async () => {
    expect(await refused(await send('PUT', '/no-such-thing'), 404)).toMatchObject({ code: 'not_found' });
    expect(await refused(await send('GET', '/tasks/1/nothing'), 404)).toMatchObject({ code: 'not_found' });
    expect((await send('HEAD', '/tasks')).status).toBe(200);
    expect((await send('HEAD', '/health')).status).toBe(200);
    const mcp = await send('GET', '/mcp');
    expect(mcp.status).toBe(405);
    expect(mcp.headers.get('allow')).toBe('POST');

    const origin = 'https://app.example.com';
    const corsApp = createApp({
      config: testConfig({ ...t.env, CORS_ORIGINS: origin }),
      database: t.database,
    });
    const preflight = await corsApp.request('/tasks/1', {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'PATCH' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
  });
});
