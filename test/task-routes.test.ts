// The task REST routes (GET/POST /tasks, GET/PATCH/DELETE /tasks/:id) through HTTP, as a UI's
// task panel calls them: the contract's shapes and statuses, the tools' rules, limits and words
// (under the camelCase names), and another user's task answering exactly like a missing one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskRepository } from '../src/tasks/repository.ts';
import type { Task } from '../src/tasks/task.ts';
import { runTaskTool } from '../src/tasks/tools.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createTestDb, type TestDb, testDrivers } from './support/db.ts';
import { sleep } from './support/sleep.ts';

describe.each(testDrivers)('task routes on %s', (driver) => {
  let t: TestDb;
  let app: TestApp;
  let users = 0;
  const newUser = () => `panel-${driver}-${++users}`;

  beforeAll(async () => {
    t = await createTestDb(driver);
    app = createTestApp(t);
  });
  afterAll(() => t?.drop());

  const send = (user: string | undefined, method: string, path: string, body?: unknown) =>
    app.request(path, {
      method,
      headers: {
        ...(user ? { 'x-user-id': user } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  async function ok<T = Task>(res: Response, status = 200): Promise<T> {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    return JSON.parse(text) as T;
  }
  async function refused(res: Response, status: number): Promise<{ code: string; message: string }> {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    const { error } = JSON.parse(text) as { error: { code: string; message: string; requestId?: string } };
    return { code: error.code, message: error.message };
  }
  const create = async (user: string, body: Record<string, unknown>) =>
    ok(await send(user, 'POST', '/tasks', body), 201);

  describe('POST /tasks', () => {
    it('creates a task with the contract shape and defaults, numbered for the user', async () => {
      const user = newUser();
      const task = await create(user, { title: '  buy milk  ' });
      expect(Object.keys(task).sort()).toEqual(
        [
          'completed',
          'createdAt',
          'description',
          'dueDate',
          'dueTime',
          'id',
          'priority',
          'reminder',
          'repeat',
          'title',
          'updatedAt',
        ].sort(),
      );
      expect(task).toMatchObject({
        id: 1,
        title: 'buy milk',
        description: null,
        completed: false,
        priority: 'medium',
        dueDate: null,
      });
      expect(new Date(task.createdAt).toISOString()).toBe(task.createdAt);
      const full = await create(user, {
        title: 'file taxes',
        description: 'forms in the drawer',
        dueDate: '2028-02-29',
        priority: 'high',
      });
      expect(full).toMatchObject({
        id: 2,
        description: 'forms in the drawer',
        dueDate: '2028-02-29',
        priority: 'high',
      });
      expect(
        await create(user, { title: 'x', description: '   ', dueDate: null, priority: null }),
      ).toMatchObject({
        id: 3,
        description: null,
        dueDate: null,
        priority: 'medium',
      });
      expect(await ok(await send(user, 'GET', '/tasks'))).toMatchObject({ total: 3 });
    });

    it('refuses what the tools refuse, with the same words, naming the HTTP field', async () => {
      const user = newUser();
      // [body, field, the tool's argument for the same value]
      const cases: [Record<string, unknown>, string, Record<string, unknown>][] = [
        [{}, 'title', {}],
        [{ title: '' }, 'title', { title: '' }],
        [{ title: '   ' }, 'title', { title: '   ' }],
        [{ title: 'x'.repeat(201) }, 'title', { title: 'x'.repeat(201) }],
        [{ title: 42 }, 'title', { title: 42 }],
        [
          { title: 'ok', description: 'd'.repeat(2001) },
          'description',
          { title: 'ok', description: 'd'.repeat(2001) },
        ],
        [{ title: 'ok', priority: 'urgent' }, 'priority', { title: 'ok', priority: 'urgent' }],
        [{ title: 'ok', dueDate: '2026-02-30' }, 'dueDate', { title: 'ok', due_date: '2026-02-30' }],
        [{ title: 'ok', dueDate: 'tomorrow' }, 'dueDate', { title: 'ok', due_date: 'tomorrow' }],
      ];
      for (const [body, field, args] of cases) {
        const error = await refused(await send(user, 'POST', '/tasks', body), 400);
        const tool = (await runTaskTool(createTaskRepository(t.database), user, 'add_task', args, {
          source: 'mcp',
        })) as {
          error: string;
        };
        const toolWords = tool.error
          .replace(/^Invalid arguments: /, '')
          .replace(/\.$/, '')
          .replaceAll('due_date', field);
        expect(error, JSON.stringify(body)).toEqual({
          code: 'invalid_request',
          message: `${field}: ${toolWords}`,
        });
      }
      expect(
        await refused(await send(user, 'POST', '/tasks', { title: 'ok', due_date: '2027-01-01' }), 400),
      ).toEqual({
        code: 'invalid_request',
        message:
          'unknown field due_date; the fields are title, description, dueDate, priority, dueTime, repeat, reminder',
      });
      expect((await refused(await send(user, 'POST', '/tasks', '{"title": '), 400)).code).toBe(
        'invalid_request',
      );
      expect(await refused(await send(user, 'POST', '/tasks', ['buy milk']), 400)).toEqual({
        code: 'invalid_request',
        message: 'the body must be a JSON object',
      });
      expect(await ok(await send(user, 'GET', '/tasks'))).toEqual({ tasks: [], total: 0 });
      // Text Postgres cannot store is refused before any rule, naming the field, as on every route.
      const nul = await refused(await send(user, 'POST', '/tasks', { title: 'a\u0000b' }), 400);
      expect(nul.message).toMatch(/^title: .*NUL/);
    });
  });

  describe('GET /tasks/:id', () => {
    it('answers the task, 404 for a missing number, 400 for a malformed one', async () => {
      const user = newUser();
      const task = await create(user, { title: 'read me' });
      expect(await ok(await send(user, 'GET', `/tasks/${task.id}`))).toEqual(task);
      expect(await refused(await send(user, 'GET', '/tasks/2'), 404)).toEqual({
        code: 'not_found',
        message: 'Task not found',
      });
      for (const id of ['abc', '0', '-1', '1.5', '01', '2147483648', '99999999999', '1e3']) {
        expect(await refused(await send(user, 'GET', `/tasks/${id}`), 400), id).toEqual({
          code: 'invalid_request',
          message: 'id: id must be a positive whole number (the id GET /tasks shows)',
        });
      }
      expect(await refused(await send(user, 'GET', '/tasks/2147483647'), 404)).toMatchObject({
        code: 'not_found',
      });
    });
  });

  describe('PATCH /tasks/:id', () => {
    it('changes only the given fields, clears with null, and completes or reopens', async () => {
      const user = newUser();
      const task = await create(user, { title: 'draft', description: 'notes', dueDate: '2027-01-01' });
      await sleep(5);
      const renamed = await ok(
        await send(user, 'PATCH', `/tasks/${task.id}`, { title: ' final ', priority: 'low' }),
      );
      expect(renamed).toMatchObject({
        id: task.id,
        title: 'final',
        priority: 'low',
        description: 'notes',
        dueDate: '2027-01-01',
        completed: false,
        createdAt: task.createdAt,
      });
      expect(renamed.updatedAt > task.updatedAt).toBe(true);
      expect(
        await ok(await send(user, 'PATCH', `/tasks/${task.id}`, { description: null, dueDate: null })),
      ).toMatchObject({ description: null, dueDate: null, title: 'final' });
      expect(await ok(await send(user, 'PATCH', `/tasks/${task.id}`, { description: '  ' }))).toMatchObject({
        description: null,
      });

      const done = await ok(await send(user, 'PATCH', `/tasks/${task.id}`, { completed: true }));
      expect(done).toMatchObject({ completed: true, title: 'final', changeId: expect.any(Number) });
      const { changeId, ...doneTask } = done as Task & { changeId: number };
      // Completing a completed task changes nothing, updatedAt included (as the tool does), and logs
      // no change, so its answer names none.
      await sleep(5);
      expect(await ok(await send(user, 'PATCH', `/tasks/${task.id}`, { completed: true }))).toEqual(doneTask);
      // The change the answer names is the one that undoes the tick.
      const undone = await ok(await send(user, 'POST', `/changes/${changeId}/undo`));
      expect(undone).toMatchObject({ task: { id: task.id, completed: false } });
      await send(user, 'PATCH', `/tasks/${task.id}`, { completed: true });
      const reopened = await ok(
        await send(user, 'PATCH', `/tasks/${task.id}`, { completed: false, dueDate: '2027-03-01' }),
      );
      expect(reopened).toMatchObject({ completed: false, dueDate: '2027-03-01' });
      const { changeId: _reopenChange, ...reopenedTask } = reopened as Task & { changeId: number };
      expect(await ok(await send(user, 'GET', `/tasks/${task.id}`))).toEqual(reopenedTask);
    });

    it('refuses an empty change, a null title, bad values and unknown fields', async () => {
      const user = newUser();
      const task = await create(user, { title: 'keep me' });
      const patch = (body: unknown) => send(user, 'PATCH', `/tasks/${task.id}`, body);
      expect(await refused(await patch({}), 400)).toEqual({
        code: 'invalid_request',
        message:
          'give at least one of title, description, dueDate, dueTime, priority, completed, repeat or reminder to change',
      });
      expect((await refused(await patch({ title: null }), 400)).message).toBe(
        'title: title must be text of 1 to 200 characters',
      );
      expect((await refused(await patch({ completed: 'yes' }), 400)).message).toBe(
        'completed: completed must be true or false',
      );
      expect((await refused(await patch({ priority: 'HIGH' }), 400)).message).toBe(
        'priority: priority must be low, medium, high',
      );
      expect((await refused(await patch({ dueDate: '2026-13-01' }), 400)).message).toBe(
        'dueDate: dueDate must be a real calendar date written YYYY-MM-DD',
      );
      expect((await refused(await patch({ done: true }), 400)).message).toMatch(/^unknown field done; /);
      expect((await refused(await send(user, 'PATCH', '/tasks/x', { title: 'y' }), 400)).message).toMatch(
        /^id: /,
      );
      expect(await ok(await send(user, 'GET', `/tasks/${task.id}`))).toEqual(task);
    });
  });

  describe('DELETE /tasks/:id', () => {
    it('deletes with 204, then answers 404', async () => {
      const user = newUser();
      const task = await create(user, { title: 'temporary' });
      const res = await send(user, 'DELETE', `/tasks/${task.id}`);
      expect(res.status).toBe(204);
      expect(await res.text()).toBe('');
      expect((await refused(await send(user, 'DELETE', `/tasks/${task.id}`), 404)).code).toBe('not_found');
      expect((await refused(await send(user, 'GET', `/tasks/${task.id}`), 404)).code).toBe('not_found');
    });
  });

  it('answers another user’s task exactly like a missing one, and leaves it alone', async () => {
    const owner = newUser();
    const intruder = newUser();
    await create(owner, { title: 'filler' });
    const secret = await create(owner, { title: 'owner secret', description: 'private' });
    const attempts: [string, unknown?][] = [
      ['GET'],
      ['PATCH', { title: 'pwned' }],
      ['PATCH', { completed: true }],
      ['DELETE'],
    ];
    for (const [method, body] of attempts) {
      const foreign = await send(intruder, method, `/tasks/${secret.id}`, body);
      const missing = await send(intruder, method, '/tasks/7777', body);
      const [a, b] = [await refused(foreign, 404), await refused(missing, 404)];
      expect(a, method).toEqual(b);
      expect(a).toEqual({ code: 'not_found', message: 'Task not found' });
    }
    expect(await ok(await send(owner, 'GET', `/tasks/${secret.id}`))).toEqual(secret);
    expect(await ok(await send(intruder, 'GET', '/tasks'))).toEqual({ tasks: [], total: 0 });
  });

  it('needs credentials on every task route', async () => {
    for (const [method, path, body] of [
      ['GET', '/tasks'],
      ['POST', '/tasks', { title: 'x' }],
      ['GET', '/tasks/1'],
      ['PATCH', '/tasks/1', { title: 'x' }],
      ['DELETE', '/tasks/1'],
    ] as [string, string, unknown?][]) {
      expect((await refused(await send(undefined, method, path, body), 401)).code, `${method} ${path}`).toBe(
        'unauthorized',
      );
    }
  });
});
