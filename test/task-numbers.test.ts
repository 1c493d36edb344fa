// Task ids are numbered per user: a user's first task is 1, a number is never given twice (not
// after a delete, not to two adds racing), and it is the same number over HTTP, the tools, MCP and
// the offline model. Through the real interfaces, on every test driver; the pg and Neon drivers
// run concurrent adds on separate connections for real.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskRepository, type TaskRepository } from '../src/tasks/repository.ts';
import type { Task } from '../src/tasks/task.ts';
import { runTaskTool } from '../src/tasks/tools.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createTestDb, type TestDb, testDrivers } from './support/db.ts';

type Answer = { reply: string; toolCalls: { name: string; args: Record<string, unknown>; result: any }[] };

describe.each(testDrivers)('task numbers per user on %s', (driver) => {
  let t: TestDb;
  let app: TestApp;
  let repo: TaskRepository;
  let users = 0;
  const newUser = (name: string) => `${name}-${driver}-${++users}`;

  beforeAll(async () => {
    t = await createTestDb(driver, { extraEnv: { CHAT_MODEL: 'offline', RATE_LIMIT_TURNS_PER_MINUTE: '0' } });
    app = createTestApp(t);
    repo = createTaskRepository(t.database);
  });
  afterAll(() => t?.drop());

  const http = (user: string, method: string, path: string, body?: unknown) =>
    app.request(path, {
      method,
      headers: { 'x-user-id': user, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const postTask = async (user: string, title: string) => {
    const res = await http(user, 'POST', '/tasks', { title });
    expect(res.status).toBe(201);
    return (await res.json()) as Task;
  };
  const listIds = async (user: string) => {
    const res = await http(user, 'GET', '/tasks?status=all');
    return ((await res.json()) as { tasks: Task[] }).tasks.map((task) => task.id);
  };
  /** One message to the offline command model through POST /chat. */
  const say = async (user: string, message: string) => {
    const res = await http(user, 'POST', '/chat', { message });
    expect(res.status).toBe(200);
    return (await res.json()) as Answer;
  };

  it('gives two users each their own #1, and "done 1" completes each one’s own', async () => {
    const alice = newUser('alice');
    const bob = newUser('bob');
    const aliceFirst = await say(alice, 'add water the plants');
    await say(alice, 'add call the bank');
    const bobFirst = await say(bob, 'add buy milk');
    expect(aliceFirst.toolCalls[0]?.result).toMatchObject({ id: 1, title: 'water the plants' });
    expect(bobFirst.toolCalls[0]?.result).toMatchObject({ id: 1, title: 'buy milk' });

    const bobDone = await say(bob, 'done 1');
    expect(bobDone.toolCalls).toMatchObject([
      { name: 'complete_task', args: { task_id: 1 }, result: { id: 1, title: 'buy milk', completed: true } },
    ]);
    expect(await (await http(alice, 'GET', '/tasks/1')).json()).toMatchObject({
      title: 'water the plants',
      completed: false,
    });
    const aliceDone = await say(alice, 'done 1');
    expect(aliceDone.toolCalls[0]?.result).toMatchObject({
      id: 1,
      title: 'water the plants',
      completed: true,
    });
    expect(await listIds(alice)).toEqual([2, 1]);
    expect(await listIds(bob)).toEqual([1]);

    // Bob's number 2 does not exist for him, whatever alice has: the same answer as a number nobody has.
    const bobTwo = await say(bob, 'done 2');
    const bobFar = await say(bob, 'done 999');
    expect(bobTwo.toolCalls[0]?.result).toEqual({ error: 'Task #2 not found.' });
    expect(bobFar.toolCalls[0]?.result).toEqual({ error: 'Task #999 not found.' });
    expect((await http(bob, 'GET', '/tasks/2')).status).toBe(404);
  });

  it('is the same number over HTTP, the tools, MCP and the offline model', async () => {
    const user = newUser('carol');
    const mcp = new Client({ name: 'taskchat-test', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL('http://localhost/mcp'), {
        requestInit: { headers: { 'x-user-id': user } },
        fetch: async (url, init) => app.request(String(url), init),
      }),
    );
    try {
      expect((await postTask(user, 'from http')).id).toBe(1);
      expect((await say(user, 'add from chat')).toolCalls[0]?.result.id).toBe(2);
      const viaMcp = await mcp.callTool({ name: 'add_task', arguments: { title: 'from mcp' } });
      expect(viaMcp.structuredContent).toMatchObject({ id: 3, title: 'from mcp' });
      expect(
        await runTaskTool(repo, user, 'add_task', { title: 'from a tool' }, { source: 'mcp' }),
      ).toMatchObject({ id: 4 });

      // Each interface reaches the task another one numbered.
      const completed = await mcp.callTool({ name: 'complete_task', arguments: { task_id: 1 } });
      expect(completed.structuredContent).toMatchObject({ id: 1, title: 'from http', completed: true });
      expect((await say(user, 'done 3')).toolCalls[0]?.result).toMatchObject({ id: 3, title: 'from mcp' });
      const patched = await http(user, 'PATCH', '/tasks/2', { priority: 'high' });
      expect(await patched.json()).toMatchObject({ id: 2, title: 'from chat', priority: 'high' });
      expect(await runTaskTool(repo, user, 'delete_task', { task_id: 4 }, { source: 'mcp' })).toEqual({
        task_id: 4,
        deleted: true,
        title: 'from a tool',
        change_id: expect.any(Number),
      });
      const listed = await mcp.callTool({ name: 'list_tasks', arguments: {} });
      expect((listed.structuredContent as { tasks: Task[] }).tasks.map((task) => task.id)).toEqual([3, 2, 1]);
    } finally {
      await mcp.close();
    }
  });

  it('never gives a deleted task’s number again', async () => {
    const user = newUser('dave');
    for (const title of ['one', 'two', 'three']) await postTask(user, title);
    expect((await http(user, 'DELETE', '/tasks/3')).status).toBe(204);
    expect((await http(user, 'DELETE', '/tasks/1')).status).toBe(204);
    expect((await postTask(user, 'four')).id).toBe(4);
    // Even with every task gone, the count goes on.
    for (const id of [2, 4]) expect((await http(user, 'DELETE', `/tasks/${id}`)).status).toBe(204);
    expect(await listIds(user)).toEqual([]);
    expect((await say(user, 'add five')).toolCalls[0]?.result.id).toBe(5);
    expect((await http(user, 'GET', '/tasks/3')).status).toBe(404);
    expect((await say(user, 'done 3')).toolCalls[0]?.result).toEqual({ error: 'Task #3 not found.' });
  });

  it('gives concurrent adds of one user distinct numbers, 1 to N, over HTTP and the tools', async () => {
    const user = newUser('erin');
    const other = newUser('frank');
    const n = 24;
    const added = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        i % 2 === 0
          ? postTask(user, `http ${i}`)
          : (runTaskTool(repo, user, 'add_task', { title: `tool ${i}` }, { source: 'mcp' }) as Promise<Task>),
      ).concat(Array.from({ length: 6 }, (_, i) => postTask(other, `other ${i}`))),
    );
    const ids = added.slice(0, n).map((task) => task.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect((await listIds(user)).length).toBe(n);
    expect(
      added
        .slice(n)
        .map((task) => task.id)
        .sort((a, b) => a - b),
    ).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('starts a new user at 1 however many tasks others have: nothing shows a global count', async () => {
    const busy = newUser('busy');
    for (let i = 0; i < 5; i++) await postTask(busy, `busy ${i}`);
    const fresh = newUser('fresh');
    const first = await postTask(fresh, 'my first');
    expect(first.id).toBe(1);
    expect(await (await http(fresh, 'GET', '/tasks')).json()).toEqual({ tasks: [first], total: 1 });
  });
});
