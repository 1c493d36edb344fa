// The MCP server through the official SDK client, the way MCP hosts use it: Streamable HTTP against
// the real app on a real port (behind the app's auth), and stdio against `src/mcp/stdio.ts` run as
// a child process. Effects are checked through GET /tasks and the repository.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type CallToolResult, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../src/db/client.ts';
import { DbUnavailableError } from '../src/db/resilience.ts';
import { createMcpServer } from '../src/mcp/server.ts';
import { createTaskRepository, type TaskRepository } from '../src/tasks/repository.ts';
import type { Task } from '../src/tasks/task.ts';
import { type TaskToolName, taskToolJsonSchema, taskToolNames, taskTools } from '../src/tasks/tools.ts';
import { dayIn } from '../src/time/zone.ts';
import { createTestApp, type Listener, listen } from './support/app.ts';
import { createServerDatabase, createTestDb, type TestDb, testConfig, testDrivers } from './support/db.ts';

const STDIO_ENTRY = fileURLToPath(new URL('../src/mcp/stdio.ts', import.meta.url));

const newUser = () => `user-${randomUUID()}`;

type ToolAnswer = { isError: boolean; text: string; structured: Record<string, unknown> | undefined };

async function callTool(client: Client, name: string, args: Record<string, unknown>): Promise<ToolAnswer> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const [first] = result.content;
  return {
    isError: result.isError === true,
    text: first?.type === 'text' ? first.text : '',
    structured: result.structuredContent,
  };
}

/** A successful call: the structured result, which the text content must repeat as JSON. */
async function callOk(client: Client, name: string, args: Record<string, unknown>) {
  const answer = await callTool(client, name, args);
  expect(answer.isError, answer.text).toBe(false);
  expect(JSON.parse(answer.text)).toEqual(answer.structured);
  return answer.structured as Record<string, unknown>;
}

/** The tools an MCP host sees must be the model's: same names, descriptions and input schemas. */
async function expectModelTools(client: Client): Promise<void> {
  const { tools } = await client.listTools();
  expect(tools.map((tool) => tool.name).sort()).toEqual([...taskToolNames].sort());
  for (const tool of tools) {
    const name = tool.name as TaskToolName;
    expect(tool.description).toBe(taskTools[name].description);
    expect(tool.inputSchema).toEqual(taskToolJsonSchema(name));
    expect(tool.outputSchema?.type).toBe('object');
  }
}

describe.each(testDrivers)('MCP over Streamable HTTP on %s', (driver) => {
  let t: TestDb;
  let repo: TaskRepository;
  let listener: Listener;
  let base: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await createTestDb(driver);
    repo = createTaskRepository(t.database);
    listener = await listen(createTestApp(t).fetch);
    base = listener.url;
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await listener?.close();
    await t?.drop();
  });

  async function connect(userId: string): Promise<Client> {
    const client = new Client({ name: 'taskchat-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL('/mcp', base), {
      requestInit: { headers: { 'x-user-id': userId } },
    });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  async function getTasks(userId: string, status = 'all'): Promise<Task[]> {
    const res = await fetch(`${base}/tasks?status=${status}`, { headers: { 'x-user-id': userId } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { tasks: Task[] }).tasks;
  }

  const repoTasks = async (userId: string) => (await repo.list(userId, { status: 'all', limit: 100 })).tasks;

  it('lists the tools with the descriptions and input schemas the model gets', async () => {
    const client = await connect(newUser());
    await expectModelTools(client);
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    expect(byName.get('list_tasks')?.outputSchema?.required).toEqual(['tasks', 'total']);
    expect(byName.get('delete_task')?.outputSchema?.required).toEqual(['task_id', 'deleted', 'title']);
    expect(byName.get('delete_task')?.annotations?.destructiveHint).toBe(true);
    expect(byName.get('list_tasks')?.annotations?.readOnlyHint).toBe(true);
    expect(client.getServerVersion()?.name).toBe('taskchat');
  });

  it('runs each tool for the authenticated user, with effects seen through GET /tasks', async () => {
    const alice = newUser();
    const client = await connect(alice);

    // Every change answers the id of its change in the change log; the task itself is the rest.
    const { change_id: addedChange, ...added } = await callOk(client, 'add_task', {
      title: 'buy milk',
      due_date: '2027-05-01',
      priority: 'high',
    });
    expect(addedChange).toBe(1);
    expect(added).toMatchObject({
      title: 'buy milk',
      dueDate: '2027-05-01',
      priority: 'high',
      completed: false,
    });
    const id = added.id as number;
    expect(await getTasks(alice)).toEqual([added]);
    expect(await repoTasks(alice)).toEqual([added]);

    expect(await callOk(client, 'list_tasks', {})).toEqual({ tasks: [added], total: 1 });
    expect(await callOk(client, 'list_tasks', { status: 'completed' })).toEqual({ tasks: [], total: 0 });

    const { change_id: _completedChange, ...completed } = await callOk(client, 'complete_task', {
      task_id: id,
    });
    expect(completed).toMatchObject({ id, completed: true });
    expect(await getTasks(alice, 'completed')).toEqual([completed]);
    expect(await getTasks(alice, 'pending')).toEqual([]);

    const { change_id: _updatedChange, ...updated } = await callOk(client, 'update_task', {
      task_id: id,
      title: 'buy oat milk',
      description: 'two litres',
    });
    expect(updated).toMatchObject({ id, title: 'buy oat milk', description: 'two litres', completed: true });
    expect(await getTasks(alice)).toEqual([updated]);

    expect(await callOk(client, 'delete_task', { task_id: id })).toEqual({
      task_id: id,
      deleted: true,
      title: 'buy oat milk',
      change_id: 4,
    });
    expect(await getTasks(alice)).toEqual([]);
    expect(await repoTasks(alice)).toEqual([]);
  });

  it("answers another user's task id with an isError result naming nothing, and leaves it alone", async () => {
    const alice = newUser();
    const { task: secret } = await repo.add(
      alice,
      { title: 'surprise party for Bob', description: 'the cake' },
      { source: 'rest' },
    );
    const bob = await connect(newUser());
    const missing = 2_000_000_000;
    for (const [name, extra] of [
      ['complete_task', {}],
      ['update_task', { title: 'mine now' }],
      ['delete_task', {}],
    ] as const) {
      const foreign = await callTool(bob, name, { task_id: secret.id, ...extra });
      expect(foreign).toEqual({
        isError: true,
        text: `Task #${secret.id} not found.`,
        structured: undefined,
      });
      // Exactly the answer for an id nobody has: nothing tells the two apart.
      const absent = await callTool(bob, name, { task_id: missing, ...extra });
      expect(absent).toEqual({ isError: true, text: `Task #${missing} not found.`, structured: undefined });
    }
    expect(await callOk(bob, 'list_tasks', { search: 'party' })).toEqual({ tasks: [], total: 0 });
    expect(await repoTasks(alice)).toEqual([secret]);
  });

  it.each([
    ['add_task', {}],
    ['add_task', { title: '' }],
    ['add_task', { title: 'ok', due_date: '2026-02-30' }],
    ['add_task', { title: 'ok', priority: 'urgent' }],
    ['list_tasks', { limit: 0 }],
    ['complete_task', { task_id: '1' }],
    ['update_task', { task_id: 1 }],
    ['delete_task', { task_id: -3 }],
  ])('answers %s with invalid arguments %j as an isError result', async (name, args) => {
    const user = newUser();
    const client = await connect(user);
    const answer = await callTool(client, name, args);
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(/^Invalid arguments: \S/);
    expect(answer.structured).toBeUndefined();
    expect(await repoTasks(user)).toEqual([]);
  });

  it('binds the user from authentication: a user_id argument is ignored', async () => {
    const alice = newUser();
    const bob = newUser();
    const client = await connect(bob);
    await callOk(client, 'add_task', { title: 'planted', user_id: alice });
    expect(await repoTasks(alice)).toEqual([]);
    expect((await getTasks(bob)).map((task) => task.title)).toEqual(['planted']);
  });

  it('answers an unknown tool with a protocol error', async () => {
    const client = await connect(newUser());
    const call = client.callTool({ name: 'drop_tables', arguments: {} });
    await expect(call).rejects.toBeInstanceOf(McpError);
    await expect(call).rejects.toMatchObject({ code: ErrorCode.InvalidParams });
  });

  it('answers 401 before any MCP processing when there are no credentials', async () => {
    const res = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });

    const client = new Client({ name: 'taskchat-test', version: '1.0.0' });
    const connecting = client.connect(new StreamableHTTPClientTransport(new URL('/mcp', base)));
    await expect(connecting).rejects.toBeInstanceOf(StreamableHTTPError);
    await expect(connecting).rejects.toMatchObject({ code: 401 });
  });

  it('answers GET and DELETE with 405: there are no sessions or server streams', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${base}/mcp`, {
        method,
        headers: { 'x-user-id': newUser(), accept: 'text/event-stream' },
      });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    }
  });
});

describe('MCP server without a database', () => {
  it('answers a database outage with an isError result that discloses nothing else', async () => {
    const unavailable = () =>
      Promise.reject(new DbUnavailableError(3, { cause: new Error('secret driver detail') }));
    const repo: TaskRepository = {
      add: unavailable,
      get: unavailable,
      list: unavailable,
      setCompleted: unavailable,
      update: unavailable,
      remove: unavailable,
      changes: unavailable,
      undo: unavailable,
    };
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const server = createMcpServer(repo, 'alice');
    await server.connect(serverSide);
    const client = new Client({ name: 'taskchat-test', version: '1.0.0' });
    await client.connect(clientSide);
    try {
      const result = await client.callTool({ name: 'list_tasks', arguments: {} });
      expect(result).toMatchObject({
        isError: true,
        content: [{ type: 'text', text: 'The database is unavailable; try again shortly.' }],
        _meta: { retryAfterSeconds: 3 },
      });
      expect(JSON.stringify(result)).not.toContain('secret');
      // A change says what became of it: the outage came before the statement, nothing was changed.
      expect(await callTool(client, 'add_task', { title: 'x' })).toMatchObject({
        isError: true,
        text: 'The database is unavailable; try again shortly. Nothing was changed.',
      });
      // Argument errors are still answered without touching the database.
      expect(await callTool(client, 'add_task', { title: '' })).toMatchObject({ isError: true });
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('MCP over stdio', () => {
  let dir: string;
  let databaseUrl: string;
  let serverDb: Awaited<ReturnType<typeof createServerDatabase>> | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskchat-mcp-'));
    if (process.env.TEST_DATABASE_URL) {
      serverDb = await createServerDatabase();
      databaseUrl = serverDb.url;
    } else {
      databaseUrl = `pglite://${join(dir, 'pglite')}`;
    }
  });

  afterAll(async () => {
    await serverDb?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the tools for TASKCHAT_USER, keeps stdout for the protocol, and stops when stdin closes', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [STDIO_ENTRY],
      env: {
        PATH: process.env.PATH ?? '',
        TASKCHAT_USER: 'bob',
        DATABASE_URL: databaseUrl,
        LOG_LEVEL: 'info',
      },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const client = new Client({ name: 'taskchat-test', version: '1.0.0' });
    // Any stdout line that is not a JSON-RPC message would surface here.
    const protocolErrors: Error[] = [];
    client.onerror = (error) => protocolErrors.push(error);
    await client.connect(transport);

    await expectModelTools(client);
    const added = await callOk(client, 'add_task', { title: 'water the plants', priority: 'low' });
    expect(added).toMatchObject({ title: 'water the plants', priority: 'low', completed: false });
    const task = { ...added, change_id: undefined };
    expect(await callOk(client, 'list_tasks', { status: 'pending' })).toEqual({ tasks: [task], total: 1 });
    expect(await callTool(client, 'delete_task', { task_id: 2_000_000_000 })).toMatchObject({
      isError: true,
      text: 'Task #2000000000 not found.',
    });

    await client.close();
    expect(protocolErrors).toEqual([]);

    const logs = stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'taskchat MCP server ready', user: 'bob' }));
    expect(logs).toContainEqual(
      expect.objectContaining({ msg: 'taskchat MCP server stopped', reason: 'stdin closed' }),
    );

    // The process is gone (PGlite's files are free again): the task was stored for bob.
    const config = testConfig({ DATABASE_URL: databaseUrl });
    const database = await createDatabase(config.db);
    try {
      const { tasks } = await createTaskRepository(database).list('bob', { status: 'all', limit: 10 });
      expect(tasks).toEqual([{ ...added, change_id: undefined }]);
    } finally {
      await database.close();
    }
  }, 60_000);

  it.each([
    ['missing', {}],
    ['malformed', { TASKCHAT_USER: 'bob smith' }],
  ])('refuses to start with a %s TASKCHAT_USER: exit 1 and one line naming it', async (_, env) => {
    const { code, stdout, stderr } = await runStdio({ DATABASE_URL: 'pglite://memory', ...env });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([expect.stringContaining('TASKCHAT_USER')]);
  });

  it('refuses a bad setting with one line naming the variable', async () => {
    const { code, stdout, stderr } = await runStdio({ TASKCHAT_USER: 'bob', LOG_LEVEL: 'loud' });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([expect.stringContaining('LOG_LEVEL')]);
  });

  it('answers every request piped before stdin closes, then exits 0', async () => {
    // A host (or a shell pipe) may write its requests and close stdin at once: each change made
    // must also be answered.
    const titles = ['buy milk', 'call the dentist', 'book flights'];
    const { code, stdout } = await runStdio({ TASKCHAT_USER: 'carol', DATABASE_URL: databaseUrl }, [
      initializeRequest(0),
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      ...titles.map((title, i) => ({
        jsonrpc: '2.0',
        id: i + 1,
        method: 'tools/call',
        params: { name: 'add_task', arguments: { title } },
      })),
    ]);
    expect(code).toBe(0);
    const answers = protocolLines(stdout);
    expect(answers.map((answer) => answer.id).sort()).toEqual([0, 1, 2, 3]);
    const added = answers
      .filter((answer) => answer.id !== 0)
      .map((answer) => (answer.result as CallToolResult).structuredContent);
    expect(added.map((task) => task?.title).sort()).toEqual([...titles].sort());
    expect(added.map((task) => task?.id).sort()).toEqual([1, 2, 3]);
  }, 60_000);

  it('answers a line that is not JSON with -32700 and JSON that is no JSON-RPC message with -32600', async () => {
    const { code, stdout } = await runStdio({ TASKCHAT_USER: 'carol', DATABASE_URL: databaseUrl }, [
      '{"jsonrpc": "2.0", "id": 1, "method": ',
      { hello: 'world' },
      { jsonrpc: '2.0', id: 2, method: 42 },
      [],
      initializeRequest(3),
    ]);
    expect(code).toBe(0);
    expect(protocolLines(stdout)).toEqual([
      { jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.stringMatching(/^Parse error/) } },
      {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32600, message: expect.stringMatching(/^Invalid Request/) },
      },
      // The id is still readable: the answer names it, so the client can settle that request.
      { jsonrpc: '2.0', id: 2, error: { code: -32600, message: expect.stringMatching(/^Invalid Request/) } },
      {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32600, message: expect.stringMatching(/^Invalid Request/) },
      },
      // The connection goes on: a valid request after them is served.
      { jsonrpc: '2.0', id: 3, result: expect.objectContaining({ serverInfo: expect.any(Object) }) },
    ]);
  }, 60_000);

  it('reckons "today" in TASKCHAT_USER’s stored zone, else DEFAULT_TIMEZONE', async () => {
    // UTC+14 and UTC-12 are never on the same date, whenever the test runs.
    const ahead = 'Pacific/Kiritimati';
    const behind = 'Etc/GMT+12';
    const env = { DATABASE_URL: databaseUrl, DEFAULT_TIMEZONE: behind };
    const addDaily = async (user: string) => {
      const { code, stdout } = await runStdio({ ...env, TASKCHAT_USER: user }, [
        initializeRequest(0),
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'add_task', arguments: { title: 'stretch', repeat: 'FREQ=DAILY' } },
        },
      ]);
      expect(code).toBe(0);
      const answer = protocolLines(stdout).find((line) => line.id === 1) as { result: CallToolResult };
      return answer.result.structuredContent as Task;
    };
    // A user with no zone of their own: the default's today.
    const before = dayIn(behind);
    const erin = await addDaily('erin');
    expect([before, dayIn(behind)]).toContain(erin.dueDate);

    // Dana stores her zone with PATCH /me (the process is gone, the database is free again).
    const config = testConfig(env);
    const database = await createDatabase(config.db);
    try {
      const app = createTestApp({ config, database });
      const res = await app.request('/me', {
        method: 'PATCH',
        headers: { 'x-user-id': 'dana', 'content-type': 'application/json' },
        body: JSON.stringify({ timezone: ahead }),
      });
      expect(res.status).toBe(200);
    } finally {
      await database.close();
    }
    const start = dayIn(ahead);
    const dana = await addDaily('dana');
    expect([start, dayIn(ahead)]).toContain(dana.dueDate);
    expect(dana.dueDate).not.toBe(erin.dueDate);
  }, 60_000);
});

function initializeRequest(id: number) {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'taskchat-test', version: '1.0.0' },
    },
  };
}

/** stdout as the JSON-RPC messages it carries, one a line; anything else fails the parse. */
function protocolLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Runs the stdio server, writes `input` (one line each; strings as they are) and closes stdin. */
function runStdio(
  env: Record<string, string>,
  input: unknown[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [STDIO_ENTRY], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(
      input.map((line) => `${typeof line === 'string' ? line : JSON.stringify(line)}\n`).join(''),
    );
  });
}
