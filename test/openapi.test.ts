// The API documents itself: /openapi.json is a valid OpenAPI 3.1 document that lists exactly the
// app's routes (walked from `app.routes`), every error response has the contract's shape, and
// /docs renders it in a real headless Chromium. Both are public.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { launchChromium } from './support/browser.ts';
import { createTestDb, type TestDb } from './support/db.ts';

type Operation = {
  summary?: string;
  security?: unknown[];
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
};
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

const HTTP_METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete'];
/** File trees served as they are (the chat page's hashed assets): not API routes. */
const STATIC_TREES = ['/assets/*'];

describe('the API documents itself', () => {
  let t: TestDb;
  let app: ReturnType<typeof createApp>;
  let doc: Document;

  beforeAll(async () => {
    t = await createTestDb('pglite');
    app = createApp({ config: t.config, database: t.database });
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
          // The probes answer their own bodies; the chat page answers a page for people.
          if (
            Number(status) < 400 ||
            ['/health', '/readyz'].includes(path) ||
            response.content?.['text/html']
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

  it('documents the bodies and parameters the routes validate, from the same schemas', () => {
    const create = doc.paths['/tasks']?.post?.requestBody?.content['application/json']?.schema as any;
    expect(create.required).toEqual(['title']);
    expect(create.properties.title).toMatchObject({ type: 'string', minLength: 1, maxLength: 200 });
    expect(Object.keys(create.properties)).toEqual(['title', 'description', 'dueDate', 'priority']);
    const patch = doc.paths['/tasks/{id}']?.patch?.requestBody?.content['application/json']?.schema as any;
    expect(Object.keys(patch.properties)).toEqual([
      'title',
      'description',
      'dueDate',
      'priority',
      'completed',
    ]);
    const list = doc.paths['/tasks']?.get?.parameters?.map((p) => `${p.in} ${p.name}`);
    expect(list).toEqual(['query status', 'query limit', 'query search']);
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
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    const { port } = server.address() as AddressInfo;
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
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
