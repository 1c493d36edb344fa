// The API documents itself: /openapi.json is a valid OpenAPI 3.1 document that lists exactly the
// app's routes (walked from `app.routes`), every error response has the contract's shape, and
// /docs renders it in a real headless Chromium. Both are public.
import { randomUUID } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, listen, type TestApp } from './support/app.ts';
import { launchChromium } from './support/browser.ts';
import { createTestDb, type TestDb } from './support/db.ts';

type Operation = {
  summary?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; schema?: unknown }[];
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
};
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

const HTTP_METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete'];
const BODY_METHODS = ['post', 'put', 'patch', 'delete'];
/** The statuses the walk provokes for every operation (405 is per path, walked apart). */
const WALKED_STATUSES = [400, 401, 403, 404, 413, 415];
/** A body each JSON route takes, to get past validation; POST /chat's names no conversation of the user. */
const VALID_BODIES: Record<string, unknown> = {
  'POST /chat': { message: 'list', conversationId: randomUUID() },
  'POST /tasks': { title: 'walked' },
  'PATCH /tasks/{id}': { title: 'walked' },
  'PATCH /me': { timezone: 'Europe/Paris' },
  // A public address (TEST-NET-3) written as one: no DNS on this closed network.
  'POST /webhooks': { url: 'https://203.0.113.7/hooks/taskchat' },
  'POST /mcp': { jsonrpc: '2.0', id: 1, method: 'ping' },
};

type ParamSchema = { type?: string; format?: string; pattern?: string };

/** A well-formed id that names nothing: a task number, a UUID or a chat id nobody has. */
function unknownId(schema: ParamSchema): string {
  const taskNumber = '2000000000';
  if (schema.format === 'uuid') return randomUUID();
  if (schema.type === 'integer' || (schema.pattern && new RegExp(schema.pattern).test(taskNumber)))
    return taskNumber;
  return 'no-such-chat';
}

function fillPath(path: string, op: Operation, value: (schema: ParamSchema) => string): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const param = op.parameters?.find((p) => p.in === 'path' && p.name === name);
    return value((param?.schema ?? {}) as ParamSchema);
  });
}
/** File trees served as they are (the chat page's hashed assets): not API routes. */
const STATIC_TREES = ['/assets/*'];

describe('the API documents itself', () => {
  let t: TestDb;
  let app: TestApp;
  let doc: Document;

  beforeAll(async () => {
    t = await createTestDb('pglite');
    app = createTestApp(t);
    const res = await app.request('/openapi.json'); // no credentials
    expect(res.status).toBe(200);
    doc = (await res.json()) as Document;
  });
  afterAll(() => t?.drop());

  it('serves a valid OpenAPI 3.1 document without credentials', async () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const result = await new Validator().validate(structuredClone(doc) as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every route of the app, and nothing the app does not serve', () => {
    const served = new Set<string>();
    const anyMethod = new Set<string>();
    const staticTrees = new Set<string>();
    for (const route of app.routes) {
      const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      if (path.endsWith('/*') && route.method !== 'ALL') {
        staticTrees.add(path);
      } else if (route.method === 'ALL') {
        // Middleware (`/*`) is no route; `all()` on a path answers every method there.
        if (!path.endsWith('*')) anyMethod.add(path);
      } else {
        served.add(`${route.method} ${path}`);
      }
    }
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.keys(item)
          .filter((method) => HTTP_METHODS.includes(method))
          .map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    expect([...documented].sort()).toEqual([...served].sort());
    expect([...staticTrees]).toEqual(STATIC_TREES);
    for (const path of anyMethod) expect(Object.keys(doc.paths), path).toContain(path);
    // The contract's routes, as a floor: a refactor that drops one fails here too.
    for (const route of [
      'POST /chat',
      'GET /conversations',
      'GET /conversations/{id}',
      'DELETE /conversations/{id}',
      'GET /tasks',
      'POST /tasks',
      'GET /tasks/{id}',
      'PATCH /tasks/{id}',
      'DELETE /tasks/{id}',
      'GET /health',
      'POST /mcp',
      'GET /openapi.json',
      'GET /docs',
      'GET /',
    ]) {
      expect(documented, route).toContain(route);
    }
  });

  it('gives every error response the contract’s {"error": {"code", "message"}} shape', () => {
    const error = doc.components.schemas.Error as any;
    expect(error.properties.error.required).toEqual(['code', 'message']);
    expect(error.properties.error.properties.code.enum).toEqual(
      expect.arrayContaining(['invalid_request', 'unauthorized', 'not_found', 'internal_error']),
    );
    let checked = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, response] of Object.entries(op.responses)) {
          // The probes answer their own bodies; the chat page answers a page for people; MCP's
          // malformed messages are answered as JSON-RPC errors, which is what MCP clients read.
          if (
            Number(status) < 400 ||
            ['/health', '/readyz'].includes(path) ||
            response.content?.['text/html'] ||
            `${method} ${path} ${status}` === 'post /mcp 400'
          )
            continue;
          expect(response.content?.['application/json']?.schema?.$ref, `${method} ${path} ${status}`).toBe(
            '#/components/schemas/Error',
          );
          checked++;
        }
        if (op.security === undefined) {
          expect(Object.keys(op.responses), `${method} ${path} needs auth`).toContain('401');
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('lists exactly the statuses each operation answers among 400, 401, 403, 404, 413 and 415', async () => {
    // Each status provoked the way a client would meet it; the document must list it exactly
    // where it was met. METRICS_TOKEN set, so that /metrics can answer 401.
    const walked = createTestApp(t, { env: { ...t.env, METRICS_TOKEN: 'walk-token-0123456789' } });
    const walkedDoc = (await (await walked.request('/openapi.json')).json()) as Document;
    const mismatches: string[] = [];
    for (const [path, item] of Object.entries(walkedDoc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const route = `${method.toUpperCase()} ${path}`;
        const takesBody = BODY_METHODS.includes(method);
        const validBody = op.requestBody ? VALID_BODIES[route] : undefined;
        if (op.requestBody && !validBody) throw new Error(`VALID_BODIES has no body for ${route}`);
        const call = (
          params: (schema: ParamSchema) => string,
          options: {
            body?: string;
            type?: string;
            credentials?: boolean;
            origin?: string;
            query?: string;
            zone?: string;
          } = {},
        ) => {
          const { body = validBody && JSON.stringify(validBody), type = 'application/json' } = options;
          const credentials: Record<string, string> =
            path === '/metrics'
              ? { authorization: 'Bearer walk-token-0123456789' }
              : { 'x-user-id': 'walker' };
          return walked.request(`${fillPath(path, op, params)}${options.query ?? ''}`, {
            method: method.toUpperCase(),
            headers: {
              ...(options.credentials === false ? {} : credentials),
              ...(options.origin ? { origin: options.origin } : {}),
              ...(options.zone ? { 'x-timezone': options.zone } : {}),
              ...(takesBody && body !== undefined ? { 'content-type': type } : {}),
            },
            body: takesBody ? (body as string | undefined) : undefined,
          });
        };
        const answered = new Set<number>();
        const meet = async (status: number, ...attempts: (Response | Promise<Response>)[]) => {
          for (const res of await Promise.all(attempts)) if (res.status === status) answered.add(status);
        };
        await meet(401, call(unknownId, { credentials: false }));
        await meet(403, call(unknownId, { origin: 'https://elsewhere.example' }));
        await meet(404, call(unknownId));
        const nulQuery = op.parameters?.filter((p) => p.in === 'query').map((p) => `${p.name}=%00`);
        await meet(
          400,
          call(() => '%00'),
          ...(nulQuery?.length ? [call(unknownId, { query: `?${nulQuery.join('&')}` })] : []),
          ...(op.requestBody ? [call(unknownId, { body: '{"unexpected": true}' })] : []),
          // Routes that reckon in the user's time zone refuse an X-Timezone that names none.
          call(unknownId, { zone: 'Not/AZone' }),
        );
        if (takesBody) {
          const tooLarge = JSON.stringify('x'.repeat(t.config.chat.maxBodyBytes));
          await meet(413, call(unknownId, { body: tooLarge }));
          await meet(415, call(unknownId, { body: '{}', type: 'text/plain' }));
        }
        const listed = Object.keys(op.responses)
          .map(Number)
          .filter((status) => WALKED_STATUSES.includes(status));
        const met = [...answered].sort();
        if (listed.join() !== met.join())
          mismatches.push(`${route}: lists ${listed.join()}, answers ${met.join()}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('answers 405 with Allow naming the documented methods for every other method on a path', async () => {
    const mismatches: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      const methods = Object.keys(item).map((method) => method.toUpperCase());
      if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
      const op = Object.values(item)[0] as Operation;
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => !methods.includes(m))) {
        const res = await app.request(fillPath(path, op, unknownId), {
          method,
          headers: { 'x-user-id': 'walker' },
        });
        const allow = res.headers.get('allow')?.split(', ') ?? [];
        if (res.status !== 405 || allow.sort().join() !== [...methods].sort().join()) {
          mismatches.push(
            `${method} ${path}: ${res.status}, Allow ${allow.join()}, documented ${methods.join()}`,
          );
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('documents the bodies and parameters the routes validate, from the same schemas', () => {
    const create = doc.paths['/tasks']?.post?.requestBody?.content['application/json']?.schema as any;
    expect(create.required).toEqual(['title']);
    expect(create.properties.title).toMatchObject({ type: 'string', minLength: 1, maxLength: 200 });
    expect(Object.keys(create.properties)).toEqual([
      'title',
      'description',
      'dueDate',
      'priority',
      'dueTime',
      'repeat',
      'reminder',
    ]);
    const patch = doc.paths['/tasks/{id}']?.patch?.requestBody?.content['application/json']?.schema as any;
    expect(Object.keys(patch.properties)).toEqual([
      'title',
      'description',
      'dueDate',
      'priority',
      'completed',
      'dueTime',
      'repeat',
      'reminder',
    ]);
    const list = doc.paths['/tasks']?.get?.parameters?.map((p) => `${p.in} ${p.name}`);
    expect(list).toEqual(['query status', 'query limit', 'query search', 'query due']);
    const chat = doc.paths['/chat']?.post?.requestBody?.content['application/json']?.schema as any;
    expect(chat.anyOf).toHaveLength(3);
    expect(chat.anyOf[0].properties.message.maxLength).toBe(t.config.chat.maxMessageChars);
    // The decision on pending approvals: the contract body with `approvals` instead of `message`.
    expect(chat.anyOf[1].required).toEqual(['conversationId', 'approvals']);
    expect(Object.keys(chat.anyOf[1].properties.approvals.items.properties)).toEqual([
      'id',
      'approved',
      'reason',
    ]);
    expect(chat.anyOf[2]).toEqual({ $ref: '#/components/schemas/UIChatBody' });
    expect(Object.keys(doc.paths['/chat']?.post?.responses['200']?.content ?? {})).toEqual([
      'application/json',
      'text/event-stream',
    ]);
  });

  it('renders the reference page in headless Chromium, every operation on it', async () => {
    const { port, close } = await listen(app.fetch);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('requestfailed', (request) => problems.push(`failed: ${request.url()}`));
      const otherHosts: string[] = [];
      page.on('request', (request) => {
        if (!request.url().startsWith(`http://127.0.0.1:${port}/`)) otherHosts.push(request.url());
      });
      const res = await page.goto(`http://127.0.0.1:${port}/docs`);
      expect(res?.status()).toBe(200);
      expect(await page.locator('h1').innerText()).toContain('taskchat');
      const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      );
      const headings = await page.locator('section.operation h3').allInnerTexts();
      const shown = headings.map((text) => text.split(/\s+/).slice(0, 2).join(' '));
      expect(shown.sort()).toEqual(operations.sort());
      await expect(page.getByText('Task ids are numbered per user').isVisible()).resolves.toBe(true);
      await expect(page.locator('#schema-Task').isVisible()).resolves.toBe(true);
      expect(problems).toEqual([]);
      expect(otherHosts).toEqual([]);
    } finally {
      await browser.close();
      await close();
    }
  });
});
