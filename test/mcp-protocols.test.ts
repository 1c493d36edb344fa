// Both MCP protocol generations against the same server, over HTTP and stdio: the 2025-11-25
// protocol (`initialize`, then stateless calls) as the v1.32 SDK client and the v2 client in its
// default mode speak it, and the 2026-07-28 protocol (no handshake, `server/discover`, the
// protocol version in every request's `_meta`) as the v2 client pinned to it speaks it. Every
// client makes the same calls and must see the same tools and the same results, including the
// optional number and boolean arguments simple clients fill from text (`limit`, `completed`).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../src/db/client.ts';
import { createTaskRepository } from '../src/tasks/repository.ts';
import { type TaskToolName, taskToolJsonSchema, taskToolNames, taskTools } from '../src/tasks/tools.ts';
import { createTestApp, type Listener, listen } from './support/app.ts';
import { createTestDb, type TestDb, testConfig } from './support/db.ts';

const STDIO_ENTRY = fileURLToPath(new URL('../src/mcp/stdio.ts', import.meta.url));
const MODERN = '2026-07-28';

/** What the tests need of a client, whichever SDK generation made it. */
type AnyClient = {
  listTools(): Promise<{ tools: Array<Record<string, any>> }>;
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<Record<string, any>>;
  close(): Promise<void>;
};

type ClientKind = 'v1.32' | 'v2 (2025-11-25)' | 'v2 (2026-07-28)';
const kinds: ClientKind[] = ['v1.32', 'v2 (2025-11-25)', 'v2 (2026-07-28)'];

function makeClient(kind: ClientKind): ClientV1 | ClientV2 {
  const info = { name: 'taskchat-protocol-test', version: '1.0.0' };
  if (kind === 'v1.32') return new ClientV1(info);
  if (kind === 'v2 (2025-11-25)') return new ClientV2(info);
  return new ClientV2(info, { versionNegotiation: { mode: { pin: MODERN } } });
}

/** The protocol version the connection runs, as the client reports it. */
function negotiated(client: ClientV1 | ClientV2): string | undefined {
  return client instanceof ClientV2 ? client.getNegotiatedProtocolVersion() : undefined;
}

async function callOk(client: AnyClient, name: string, args: Record<string, unknown>) {
  const result = await client.callTool({ name, arguments: args });
  const text = result.content?.[0]?.text;
  expect(result.isError, text).toBeFalsy();
  expect(JSON.parse(text)).toEqual(result.structuredContent);
  return result.structuredContent as Record<string, any>;
}

/** The same conversation with the tools, for every client and transport. */
async function exerciseTools(client: AnyClient): Promise<void> {
  const { tools } = await client.listTools();
  expect(tools.map((tool) => tool.name)).toEqual(taskToolNames);
  for (const tool of tools) {
    const name = tool.name as TaskToolName;
    expect(tool.description).toBe(taskTools[name].description);
    expect(tool.inputSchema).toEqual(taskToolJsonSchema(name));
    expect(tool.title).toEqual(expect.any(String));
    expect(tool.annotations).toEqual({
      title: tool.title,
      readOnlyHint: name === 'list_tasks',
      // Undoing an add removes the task; without change_id a second undo undoes the next change.
      destructiveHint: name === 'delete_task' || name === 'undo_change',
      // Completing a repeating task twice moves it two occurrences on.
      idempotentHint: name !== 'add_task' && name !== 'undo_change' && name !== 'complete_task',
      openWorldHint: false,
    });
  }

  const first = await callOk(client, 'add_task', { title: 'buy milk', priority: 'high' });
  const second = await callOk(client, 'add_task', { title: 'call the dentist', due_date: '2027-01-15' });
  expect(await callOk(client, 'list_tasks', { limit: 1 })).toEqual({
    tasks: [{ ...second, change_id: undefined }],
    total: 2,
  });
  const done = await callOk(client, 'complete_task', { task_id: first.id });
  expect(done).toMatchObject({ id: first.id, completed: true });
  const reopened = await callOk(client, 'complete_task', { task_id: first.id, completed: false });
  expect(reopened).toMatchObject({ id: first.id, completed: false });
  expect(await callOk(client, 'update_task', { task_id: second.id, due_date: null })).toMatchObject({
    dueDate: null,
  });
  expect(await callOk(client, 'delete_task', { task_id: second.id })).toEqual({
    task_id: second.id,
    deleted: true,
    title: 'call the dentist',
    change_id: expect.any(Number),
  });
  expect(await callOk(client, 'list_tasks', { status: 'pending', limit: 5 })).toMatchObject({ total: 1 });

  const bad = await client.callTool({ name: 'list_tasks', arguments: { limit: 'five' } });
  expect(bad).toMatchObject({
    isError: true,
    content: [{ type: 'text', text: expect.stringMatching(/limit/) }],
  });
}

describe('the tools as hosts read them', () => {
  it('publish optional numbers and booleans as plain types, null only where it removes a value', () => {
    const list = taskToolJsonSchema('list_tasks').properties as Record<string, Record<string, unknown>>;
    expect(list.limit).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 });
    expect(list.limit).not.toHaveProperty('anyOf');
    const complete = taskToolJsonSchema('complete_task').properties as Record<
      string,
      Record<string, unknown>
    >;
    expect(complete.completed).toMatchObject({ type: 'boolean' });
    const update = taskToolJsonSchema('update_task').properties as Record<string, Record<string, unknown>>;
    expect(update.title).toMatchObject({ type: 'string' });
    expect(update.due_date?.anyOf).toContainEqual({ type: 'null' });
    for (const name of taskToolNames) {
      for (const [key, property] of Object.entries(taskToolJsonSchema(name).properties ?? {})) {
        if (
          name === 'update_task' &&
          ['description', 'due_date', 'due_time', 'repeat', 'reminder'].includes(key)
        )
          continue;
        expect(JSON.stringify(property), `${name}.${key}`).not.toContain('null');
      }
    }
  });
});

describe('MCP over Streamable HTTP, both protocol generations', () => {
  let t: TestDb;
  let listener: Listener;
  let url: URL;

  beforeAll(async () => {
    t = await createTestDb('pglite');
    listener = await listen(createTestApp(t).fetch);
    url = new URL(`${listener.url}/mcp`);
  });

  afterAll(async () => {
    await listener?.close();
    await t?.drop();
  });

  it.each(kinds)('%s client: lists and calls the tools', async (kind) => {
    const client = makeClient(kind);
    const headers = { 'x-user-id': `user-${randomUUID()}` };
    const transport =
      client instanceof ClientV2
        ? new HttpV2(url, { requestInit: { headers } })
        : new HttpV1(url, { requestInit: { headers } });
    await client.connect(transport as never);
    try {
      if (kind === 'v2 (2026-07-28)') {
        expect(negotiated(client)).toBe(MODERN);
        expect((client as ClientV2).getProtocolEra()).toBe('modern');
      } else if (client instanceof ClientV2) {
        expect(client.getProtocolEra()).toBe('legacy');
      }
      expect(client.getServerVersion()?.name).toBe('taskchat');
      await exerciseTools(client as unknown as AnyClient);
    } finally {
      await client.close();
    }
  });

  it('answers a 2025-era request in plain JSON, not an event stream', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'x-user-id': 'alice',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await res.json()) as any).result.tools).toHaveLength(taskToolNames.length);
  });

  it('answers a 2026-07-28 request in plain JSON too', async () => {
    const meta = {
      'io.modelcontextprotocol/protocolVersion': MODERN,
      'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN,
        'mcp-method': 'tools/call',
        'mcp-name': 'list_tasks',
        'x-user-id': 'alice',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'list_tasks', arguments: { limit: 5 }, _meta: meta },
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ result: { structuredContent: { tasks: [], total: 0 } } });
  });

  it('answers invalid JSON with a JSON-RPC parse error', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'x-user-id': 'alice',
      },
      body: '{"jsonrpc": "2.0", "id": 1, "method": "tools/li',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 }, id: null });
  });
});

describe('MCP over stdio, both protocol generations', () => {
  it.each(kinds)(
    '%s client: lists and calls the tools',
    async (kind) => {
      // A database of its own in the child process: nothing is shared with another test.
      const params = {
        command: process.execPath,
        args: [STDIO_ENTRY],
        env: {
          PATH: process.env.PATH ?? '',
          TASKCHAT_USER: 'bob',
          DATABASE_URL: 'pglite://memory',
          LOG_LEVEL: 'warn',
        },
        stderr: 'pipe' as const,
      };
      const client = makeClient(kind);
      const transport = client instanceof ClientV2 ? new StdioV2(params) : new StdioV1(params);
      const protocolErrors: Error[] = [];
      client.onerror = (error: Error) => protocolErrors.push(error);
      await client.connect(transport as never);
      try {
        if (kind === 'v2 (2026-07-28)') expect(negotiated(client)).toBe(MODERN);
        await exerciseTools(client as unknown as AnyClient);
      } finally {
        await client.close();
      }
      expect(protocolErrors).toEqual([]);
    },
    60_000,
  );
});

describe('a 2026-era stdio host on an embedded database directory', () => {
  it('probes with one process and keeps another: the two never hold the directory at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'taskchat-probe-'));
    try {
      const url = `pglite://${join(dir, 'pglite')}`;
      // The SDK starts a throwaway process for `server/discover`, stops it, then starts the session's.
      const client = makeClient('v2 (2026-07-28)') as ClientV2;
      await client.connect(
        new StdioV2({
          command: process.execPath,
          args: [STDIO_ENTRY],
          env: { PATH: process.env.PATH ?? '', TASKCHAT_USER: 'carol', DATABASE_URL: url, LOG_LEVEL: 'warn' },
          stderr: 'pipe',
        }),
      );
      let added: Record<string, unknown>;
      try {
        expect(client.getNegotiatedProtocolVersion()).toBe(MODERN);
        added = await callOk(client as unknown as AnyClient, 'add_task', { title: 'kept' });
      } finally {
        await client.close();
      }
      const database = await createDatabase(testConfig({ DATABASE_URL: url }).db);
      try {
        const { tasks } = await createTaskRepository(database).list('carol', { status: 'all', limit: 10 });
        expect(tasks).toEqual([{ ...added, change_id: undefined }]);
      } finally {
        await database.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
