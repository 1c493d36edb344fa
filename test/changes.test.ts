// The change log and undo through the interfaces people use: GET /changes and POST
// /changes/:id/undo over HTTP, the undo_change tool over MCP (the SDK client) and in a chat turn (a
// fake model calling it). Every change is logged with its source and the task before and after it;
// an undo puts the task back (a deleted task with its own number, an added one gone), is itself a
// change, and is refused with 409 undo_conflict, in words, when the task changed after that change
// or the change was already undone. Another user's change answers 404 like a missing one.
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Change, Task } from '../src/tasks/task.ts';
import { type ChatHarness, createTestApp, startChatApp, type TestApp } from './support/app.ts';
import { createTestDb, type TestDb, testDrivers } from './support/db.ts';

type Undone = { change: Change; task: Task | null };

describe.each(testDrivers)('changes and undo over HTTP on %s', (driver) => {
  let t: TestDb;
  let app: TestApp;
  let users = 0;
  const newUser = () => `changes-${driver}-${++users}`;

  beforeAll(async () => {
    t = await createTestDb(driver);
    app = createTestApp(t);
  });
  afterAll(() => t?.drop());

  const send = (user: string, method: string, path: string, body?: unknown) =>
    app.request(path, {
      method,
      headers: { 'x-user-id': user, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  async function ok<T>(res: Response, status = 200): Promise<T> {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    return JSON.parse(text) as T;
  }
  async function refused(res: Response, status: number): Promise<{ code: string; message: string }> {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    const { error } = JSON.parse(text) as { error: { code: string; message: string } };
    return { code: error.code, message: error.message };
  }
  const create = async (user: string, title: string) =>
    ok<Task>(await send(user, 'POST', '/tasks', { title }), 201);
  /** The task a PATCH answers, as the log holds it (the answer also names its change, `changeId`). */
  const patch = async (user: string, id: number, body: Record<string, unknown>) => {
    const { changeId: _, ...task } = await ok<Task & { changeId?: number }>(
      await send(user, 'PATCH', `/tasks/${id}`, body),
    );
    return task;
  };
  const changes = async (user: string, query = '') =>
    (await ok<{ changes: Change[] }>(await send(user, 'GET', `/changes${query}`))).changes;
  const undo = (user: string, id: number) => send(user, 'POST', `/changes/${id}/undo`);
  const undoOk = async (user: string, id: number) => ok<Undone>(await undo(user, id));
  const task = async (user: string, id: number) => send(user, 'GET', `/tasks/${id}`);

  it('logs every change with its source and the task before and after it, newest first', async () => {
    const user = newUser();
    const added = await create(user, 'draft');
    const renamed = await patch(user, added.id, { title: 'final' });
    const completed = await patch(user, added.id, { completed: true });
    // Completing a completed task changes nothing, so it logs nothing.
    expect(await patch(user, added.id, { completed: true })).toEqual(completed);
    const reopened = await patch(user, added.id, { completed: false });
    expect((await send(user, 'DELETE', `/tasks/${added.id}`)).status).toBe(204);

    const log = await changes(user);
    expect(log.map((change) => [change.id, change.action])).toEqual([
      [5, 'delete'],
      [4, 'reopen'],
      [3, 'complete'],
      [2, 'update'],
      [1, 'add'],
    ]);
    for (const change of log) {
      expect(change).toMatchObject({ taskId: added.id, source: 'rest', undoneBy: null });
      expect(new Date(change.createdAt).toISOString()).toBe(change.createdAt);
    }
    expect(log.map((change) => [change.before, change.after]).reverse()).toEqual([
      [null, added],
      [added, renamed],
      [renamed, completed],
      [completed, reopened],
      [reopened, null],
    ]);
    // Pages: `limit`, then `before` the last id of a page.
    expect((await changes(user, '?limit=2')).map((change) => change.id)).toEqual([5, 4]);
    expect((await changes(user, '?limit=2&before=4')).map((change) => change.id)).toEqual([3, 2]);
    expect(await changes(newUser())).toEqual([]);
    expect((await refused(await send(user, 'GET', '/changes?limit=0'), 400)).message).toMatch(/limit/);
    expect((await refused(await send(user, 'GET', '/changes?before=x'), 400)).message).toMatch(/before/);
  });

  it('undoes an add: the task goes, and the undo is logged as a change', async () => {
    const user = newUser();
    const added = await create(user, 'oops');
    const { change, task: left } = await undoOk(user, 1);
    expect(left).toBeNull();
    expect(change).toMatchObject({ id: 2, taskId: added.id, action: 'undo', source: 'rest', undoneBy: null });
    expect(change.before).toEqual(added);
    expect(change.after).toBeNull();
    expect((await task(user, added.id)).status).toBe(404);
    expect((await changes(user)).map((c) => [c.id, c.action, c.undoneBy])).toEqual([
      [2, 'undo', null],
      [1, 'add', 2],
    ]);
    // The next task still gets a new number.
    expect((await create(user, 'next')).id).toBe(added.id + 1);
  });

  it('undoes an update, a completion and a reopening: the task as it was', async () => {
    const user = newUser();
    const added = await create(user, 'draft');
    await patch(user, added.id, { title: 'final', priority: 'high', dueDate: '2027-01-01' });
    const { task: unedited } = await undoOk(user, 2);
    expect(unedited).toMatchObject({ id: added.id, title: 'draft', priority: 'medium', dueDate: null });
    expect(unedited?.createdAt).toBe(added.createdAt);
    expect(await ok(await task(user, added.id))).toEqual(unedited);

    await patch(user, added.id, { completed: true }); // change 4
    expect((await undoOk(user, 4)).task).toMatchObject({ completed: false, title: 'draft' });
    await patch(user, added.id, { completed: true }); // change 6
    await patch(user, added.id, { completed: false }); // change 7
    expect((await undoOk(user, 7)).task).toMatchObject({ completed: true });
  });

  it('undoes a delete: the task comes back with its own number, and can be changed again', async () => {
    const user = newUser();
    const first = await create(user, 'keep me');
    const second = await create(user, 'other');
    await patch(user, first.id, { description: 'details' });
    expect((await send(user, 'DELETE', `/tasks/${first.id}`)).status).toBe(204);
    const { change, task: back } = await undoOk(user, 4);
    expect(back).toMatchObject({ id: first.id, title: 'keep me', description: 'details' });
    expect(back?.createdAt).toBe(first.createdAt);
    expect(change).toMatchObject({ action: 'undo', before: null, after: back });
    expect(await ok(await task(user, first.id))).toEqual(back);
    expect(await patch(user, first.id, { title: 'kept' })).toMatchObject({ id: first.id, title: 'kept' });
    expect((await create(user, 'third')).id).toBe(second.id + 1);
  });

  it('undoes an undo (a redo), and walks changes back one by one', async () => {
    const user = newUser();
    const added = await create(user, 'a');
    await patch(user, added.id, { title: 'b' }); // 2
    await patch(user, added.id, { title: 'c' }); // 3
    expect((await undoOk(user, 3)).task?.title).toBe('b'); // 4
    const redo = await undoOk(user, 4); // 5
    expect(redo.task?.title).toBe('c');
    expect(redo.change).toMatchObject({ id: 5, action: 'undo' });
    expect((await undoOk(user, 5)).task?.title).toBe('b'); // 6
    // The task is as change 2 left it again: that one is next.
    expect((await undoOk(user, 2)).task?.title).toBe('a'); // 7
    expect((await undoOk(user, 1)).task).toBeNull(); // 8
    expect((await undoOk(user, 8)).task).toMatchObject({ id: added.id, title: 'a' });
  });

  it('refuses with 409 undo_conflict, saying why, when the task changed since or the change was undone', async () => {
    const user = newUser();
    const added = await create(user, 'draft');
    await patch(user, added.id, { title: 'final' }); // 2
    await patch(user, added.id, { completed: true }); // 3
    const newer = await refused(await undo(user, 2), 409);
    expect(newer).toEqual({
      code: 'undo_conflict',
      message: `Task #${added.id} was completed after that (change #3); undo that change first.`,
    });
    await undoOk(user, 3); // 4
    const twice = await refused(await undo(user, 3), 409);
    expect(twice).toEqual({ code: 'undo_conflict', message: 'Change #3 was already undone (by change #4).' });
    await patch(user, added.id, { title: 'renamed' }); // 5
    expect((await refused(await undo(user, 2), 409)).message).toBe(
      `Task #${added.id} was renamed to "renamed" after that (change #5); undo that change first.`,
    );
    expect((await send(user, 'DELETE', `/tasks/${added.id}`)).status).toBe(204); // 6
    expect((await refused(await undo(user, 5), 409)).message).toBe(
      `Task #${added.id} was deleted after that (change #6); undo that change first.`,
    );
    // A refused undo changed nothing and logged nothing.
    expect((await changes(user))[0]).toMatchObject({ id: 6, action: 'delete', undoneBy: null });
  });

  it("answers another user's change, a missing one and a malformed id like the contract says", async () => {
    const alice = newUser();
    const bob = newUser();
    const added = await create(alice, 'mine');
    for (const user of [bob, alice]) {
      const answer = await refused(await undo(user, user === bob ? 1 : 99), 404);
      expect(answer).toEqual({ code: 'not_found', message: 'Change not found' });
    }
    expect(await ok(await task(alice, added.id))).toEqual(added);
    expect((await refused(await undo(alice, 0), 400)).code).toBe('invalid_request');
    expect((await send(alice, 'POST', '/changes/abc/undo')).status).toBe(400);
  });

  it('applies exactly one of two undos of the same change sent at once', async () => {
    const user = newUser();
    const edited = await create(user, 'edited');
    await patch(user, edited.id, { title: 'edited twice' }); // 2
    const deleted = await create(user, 'deleted'); // 3
    expect((await send(user, 'DELETE', `/tasks/${deleted.id}`)).status).toBe(204); // 4
    for (const id of [2, 4]) {
      const answers = await Promise.all([undo(user, id), undo(user, id), undo(user, id)]);
      const statuses = answers.map((answer) => answer.status).sort();
      expect(statuses).toEqual([200, 409, 409]);
    }
    expect(await ok(await task(user, edited.id))).toMatchObject({ title: 'edited' });
    expect(await ok(await task(user, deleted.id))).toMatchObject({ title: 'deleted' });
    const undos = (await changes(user)).filter((change) => change.action === 'undo');
    expect(undos).toHaveLength(2);
  });
});

describe.each(testDrivers)('undo_change over MCP on %s', (driver) => {
  let t: TestDb;
  let server: Server;
  let base: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await createTestDb(driver);
    const app = createTestApp(t);
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
        base = `http://127.0.0.1:${info.port}`;
        resolve();
      }) as Server;
    });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await t?.drop();
  });

  async function connect(user: string): Promise<Client> {
    const client = new Client({ name: 'taskchat-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', base), {
        requestInit: { headers: { 'x-user-id': user } },
      }),
    );
    clients.push(client);
    return client;
  }
  async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    const [first] = result.content;
    return {
      isError: result.isError === true,
      text: first?.type === 'text' ? first.text : '',
      value: result.structuredContent as Record<string, any> | undefined,
    };
  }
  const get = (user: string, path: string) => fetch(`${base}${path}`, { headers: { 'x-user-id': user } });

  it('lists undo_change as a write that can remove a task, and every change answers its change_id', async () => {
    const client = await connect('mcp-lister');
    const { tools } = await client.listTools();
    const undo = tools.find((tool) => tool.name === 'undo_change');
    expect(undo?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(undo?.inputSchema.properties).toHaveProperty('change_id');
    expect(undo?.outputSchema?.required).toEqual(['change', 'task']);
  });

  it('undoes each action made over MCP, logged with source mcp, by id or the newest not undone', async () => {
    const user = 'mcp-undoer';
    const client = await connect(user);
    const added = await call(client, 'add_task', { title: 'draft' });
    expect(added.value).toMatchObject({ id: 1, title: 'draft', change_id: 1 });
    expect((await call(client, 'update_task', { task_id: 1, title: 'final' })).value?.change_id).toBe(2);
    expect((await call(client, 'complete_task', { task_id: 1 })).value?.change_id).toBe(3);
    // Nothing changed, so no change and no change_id.
    expect((await call(client, 'complete_task', { task_id: 1 })).value).not.toHaveProperty('change_id');
    expect((await call(client, 'complete_task', { task_id: 1, completed: false })).value?.change_id).toBe(4);
    expect((await call(client, 'delete_task', { task_id: 1 })).value).toEqual({
      task_id: 1,
      deleted: true,
      title: 'final',
      change_id: 5,
    });

    // Without change_id: the newest change not yet undone (the delete), then by id back to the add.
    const undeleted = await call(client, 'undo_change');
    expect(undeleted.isError, undeleted.text).toBe(false);
    expect(JSON.parse(undeleted.text)).toEqual(undeleted.value);
    expect(undeleted.value).toMatchObject({
      change: { id: 6, action: 'undo', source: 'mcp', taskId: 1, before: null },
      task: { id: 1, title: 'final', completed: false },
      change_id: 6,
    });
    expect((await call(client, 'undo_change', { change_id: 4 })).value?.task).toMatchObject({
      completed: true,
    });
    expect((await call(client, 'undo_change', { change_id: 3 })).value?.task).toMatchObject({
      completed: false,
    });
    expect((await call(client, 'undo_change', { change_id: 2 })).value?.task).toMatchObject({
      title: 'draft',
    });
    const removed = await call(client, 'undo_change', { change_id: 1 });
    expect(removed.value).toMatchObject({ task: null, change: { action: 'undo', after: null } });
    expect((await get(user, '/tasks/1')).status).toBe(404);
    // An undo of the undo (a redo) brings it back.
    const redone = await call(client, 'undo_change');
    expect(redone.value).toMatchObject({ task: { id: 1, title: 'draft' } });

    const log = ((await (await get(user, '/changes')).json()) as { changes: Change[] }).changes;
    expect(log.every((change) => change.source === 'mcp')).toBe(true);
    expect(log.map((change) => change.action)).toEqual([
      'undo',
      'undo',
      'undo',
      'undo',
      'undo',
      'undo',
      'delete',
      'reopen',
      'complete',
      'update',
      'add',
    ]);
  });

  it('answers conflicts, missing and foreign changes as isError results in words', async () => {
    const alice = await connect('mcp-alice');
    const bob = await connect('mcp-bob');
    await call(alice, 'add_task', { title: 'one' });
    await call(alice, 'update_task', { task_id: 1, title: 'two' });
    expect(await call(alice, 'undo_change', { change_id: 1 })).toEqual({
      isError: true,
      text: 'Task #1 was renamed to "two" after that (change #2); undo that change first.',
      value: undefined,
    });
    expect(await call(bob, 'undo_change', { change_id: 1 })).toMatchObject({
      isError: true,
      text: 'Change #1 not found.',
    });
    expect(await call(bob, 'undo_change')).toMatchObject({
      isError: true,
      text: 'There is no change to undo.',
    });
    expect((await call(alice, 'undo_change', { change_id: 'two' })).text).toMatch(
      /^Invalid arguments: change_id/,
    );
  });
});

describe.each(testDrivers)('undo_change in a chat turn on %s', (driver) => {
  let h: ChatHarness;
  const statements: string[] = [];
  beforeAll(async () => {
    h = await startChatApp(driver, { onStatement: (text) => statements.push(text) });
  });
  afterAll(() => h?.close());

  it('undoes what the model asks, each change logged as chat, one statement per tool call', async () => {
    const user = 'chat-undoer';
    h.fake.reply(
      { toolCalls: [{ name: 'add_task', args: { title: 'call mom' } }] },
      { toolCalls: [{ name: 'delete_task', args: { task_id: 1 } }] },
      { text: 'Added and deleted.' },
    );
    const made = await h.say(user, 'add call mom, then delete it');
    expect(made.toolCalls.map((call) => call.result.change_id)).toEqual([1, 2]);

    h.fake.reply({ toolCalls: [{ name: 'undo_change', args: {} }] }, { text: 'It is back.' });
    statements.length = 0;
    const undone = await h.say(user, 'undo that', { conversationId: made.conversationId });
    expect(statements).toHaveLength(3);
    expect(undone.toolCalls).toEqual([
      {
        name: 'undo_change',
        args: {},
        result: expect.objectContaining({
          change: expect.objectContaining({ id: 3, action: 'undo', source: 'chat', taskId: 1 }),
          task: expect.objectContaining({ id: 1, title: 'call mom' }),
          change_id: 3,
        }),
      },
    ]);
    expect(await h.tasks(user)).toMatchObject([{ id: 1, title: 'call mom' }]);

    // A change that cannot be undone is an error result the model can explain, not a failed turn.
    h.fake.reply(
      { toolCalls: [{ name: 'undo_change', args: { change_id: 2 } }] },
      { text: 'Already undone.' },
    );
    const refused = await h.say(user, 'undo the delete again', { conversationId: made.conversationId });
    expect(refused.toolCalls[0]?.result).toEqual({ error: 'Change #2 was already undone (by change #3).' });

    const res = await h.get(user, '/changes');
    const { changes } = (await res.json()) as { changes: Change[] };
    expect(changes.map((change) => [change.id, change.action, change.source])).toEqual([
      [3, 'undo', 'chat'],
      [2, 'delete', 'chat'],
      [1, 'add', 'chat'],
    ]);
  });

  it('undoes each action the model made, by the change_id its result carried', async () => {
    const user = 'chat-each-action';
    // What a person sees of the list: an undo stamps updatedAt anew.
    const list = async () => (await h.tasks(user)).map(({ updatedAt: _, ...task }) => task);
    let conversationId: string | undefined;
    /** One turn where the model makes one call; its result. */
    const turn = async (name: string, args: Record<string, unknown>) => {
      h.fake.reply({ toolCalls: [{ name, args }] }, { text: 'OK.' });
      const answer = await h.say(user, `please ${name}`, conversationId ? { conversationId } : {});
      conversationId = answer.conversationId;
      return answer.toolCalls[0]?.result;
    };
    const undoOf = async (result: { change_id?: number } | undefined) => {
      expect(result?.change_id).toEqual(expect.any(Number));
      const undone = await turn('undo_change', { change_id: result?.change_id });
      expect(undone).toMatchObject({ change: { action: 'undo', source: 'chat' } });
      return undone;
    };

    const added = await turn('add_task', { title: 'water the plants' });
    const open = await list();
    const made: Array<[string, Record<string, unknown>]> = [
      ['complete_task', { task_id: added.id }],
      [
        'update_task',
        { task_id: added.id, title: 'water the roses', priority: 'high', due_date: '2026-12-24' },
      ],
      ['delete_task', { task_id: added.id }],
    ];
    for (const [name, args] of made) {
      await undoOf(await turn(name, args));
      expect(await list(), name).toEqual(open);
    }
    // Reopening: completed again.
    const completed = await turn('complete_task', { task_id: added.id });
    await undoOf(await turn('complete_task', { task_id: added.id, completed: false }));
    expect(await list()).toMatchObject([{ id: added.id, completed: true }]);
    await undoOf(completed);
    expect(await list()).toEqual(open);
    // Adding: the task goes.
    expect(await undoOf(added)).toMatchObject({ task: null });
    expect(await list()).toEqual([]);
  });
});
