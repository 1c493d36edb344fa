// The MCP app over MCP, as any client sees it, in both protocol generations (2025-11-25 with its
// handshake, 2026-07-28 without): `list_tasks` names the `ui://taskchat/tasks` resource, the server
// lists and serves it as an MCP Apps document (self-contained, CSP declared), an unknown resource
// is `-32602` with its URI, and a list `cursor` this server never gave out is `-32602` too. What the
// document does in a host is test/browser/mcp-app.test.ts.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Client, ProtocolError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { ensurePageBuilt } from './support/browser.ts';
import { createTestDb, type TestDb } from './support/db.ts';

const APP_URI = 'ui://taskchat/tasks';
const APP_MIME = 'text/html;profile=mcp-app';
const revisions = ['2025-11-25', '2026-07-28'] as const;

let t: TestDb;
let server: Server;
let url: URL;

beforeAll(async () => {
  await ensurePageBuilt();
  t = await createTestDb('pglite');
  const app = createApp({ config: t.config, database: t.database });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      url = new URL(`http://127.0.0.1:${info.port}/mcp`);
      resolve();
    }) as Server;
  });
}, 120_000);

afterAll(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await t?.drop();
});

async function connect(revision: (typeof revisions)[number]): Promise<Client> {
  const info = { name: 'taskchat-app-test', version: '1.0.0' };
  const client =
    revision === '2026-07-28'
      ? new Client(info, { versionNegotiation: { mode: { pin: revision } } })
      : new Client(info);
  const headers = { 'x-user-id': `user-${randomUUID()}` };
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
  expect(client.getNegotiatedProtocolVersion()).toBe(revision);
  return client;
}

/** The JSON-RPC error a request ends with (it must end with one). */
async function protocolError(request: Promise<unknown>): Promise<ProtocolError> {
  const error = await request.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ProtocolError);
  return error as ProtocolError;
}

describe.each(revisions)('the MCP app, protocol %s', (revision) => {
  it('list_tasks names the app resource; the other tools name none', async () => {
    const client = await connect(revision);
    try {
      const { tools } = await client.listTools();
      const linked = Object.fromEntries(tools.map((tool) => [tool.name, tool._meta]));
      // `ui.resourceUri`, and the flat key hosts from before the stable extension read.
      expect(linked.list_tasks).toEqual({ ui: { resourceUri: APP_URI }, 'ui/resourceUri': APP_URI });
      for (const name of ['add_task', 'complete_task', 'update_task', 'delete_task']) {
        expect(linked[name], name).toBeUndefined();
      }
      // The text result is still there for every host that does not render apps.
      const result = await client.callTool({ name: 'list_tasks', arguments: {} });
      expect(result.content).toEqual([{ type: 'text', text: JSON.stringify({ tasks: [], total: 0 }) }]);
    } finally {
      await client.close();
    }
  });

  it('lists and serves the app as one self-contained HTML document with its CSP declared', async () => {
    const client = await connect(revision);
    try {
      expect(client.getServerCapabilities()?.resources).toBeDefined();
      const { resources } = await client.listResources();
      const ui = { csp: { connectDomains: [], resourceDomains: [] }, prefersBorder: true };
      expect(resources).toEqual([
        expect.objectContaining({ uri: APP_URI, mimeType: APP_MIME, _meta: { ui } }),
      ]);

      const { contents } = await client.readResource({ uri: APP_URI });
      expect(contents).toHaveLength(1);
      const [document] = contents as Array<{ uri: string; mimeType: string; text: string; _meta: unknown }>;
      expect(document).toMatchObject({ uri: APP_URI, mimeType: APP_MIME, _meta: { ui } });
      const html = document?.text ?? '';
      expect(html.slice(0, 15).toLowerCase()).toBe('<!doctype html>');
      // Everything inline: the markup around the inlined script and style loads nothing.
      const markup = html.replace(/<(script|style)\b[^>]*>[\s\S]*?<\/\1>/gi, '<$1></$1>');
      expect(markup.length).toBeLessThan(2000);
      expect(markup).toContain('<script></script>');
      expect(markup).toContain('<style></style>');
      expect(markup).not.toMatch(/\s(src|href)=/i);
    } finally {
      await client.close();
    }
  });

  it('answers an unknown resource with -32602 naming its URI', async () => {
    const client = await connect(revision);
    try {
      const error = await protocolError(client.readResource({ uri: 'ui://taskchat/nothing-here' }));
      expect(error.code).toBe(-32602);
      expect(error.data).toEqual({ uri: 'ui://taskchat/nothing-here' });
    } finally {
      await client.close();
    }
  });

  it('answers a cursor it never gave out with -32602 (tools/list, resources/list, templates)', async () => {
    const client = await connect(revision);
    try {
      for (const list of [
        () => client.listTools({ cursor: 'not-a-cursor' }),
        () => client.listResources({ cursor: 'not-a-cursor' }),
        () => client.listResourceTemplates({ cursor: 'not-a-cursor' }),
      ]) {
        const error = await protocolError(list());
        expect(error.code).toBe(-32602);
        expect(error.message).toContain('Invalid cursor');
      }
      // Without a cursor the lists are whole.
      expect((await client.listTools()).nextCursor).toBeUndefined();
      expect((await client.listResourceTemplates()).resourceTemplates).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
