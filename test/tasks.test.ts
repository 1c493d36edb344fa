// The task repository and the five task tools, on every database driver, through the interfaces
// their callers use: repository methods, the AI SDK tools' `execute` as the model calls it, and a
// whole `generateText` run with a mock model.
import { randomUUID } from 'node:crypto';
import type { LanguageModelV4CallOptions, LanguageModelV4GenerateResult } from '@ai-sdk/provider';
import { asSchema, generateText, stepCountIs, type ToolSet } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbUnavailableError } from '../src/db/resilience.ts';
import {
  createTaskRepository,
  type NewTask,
  type TaskPatch,
  type TaskRepository,
} from '../src/tasks/repository.ts';
import { isCalendarDate, type Task } from '../src/tasks/task.ts';
import { createTaskTools, runTaskTool, taskToolNames } from '../src/tasks/tools.ts';
import { createTestDb, type TestDb, testDrivers } from './support/db.ts';
import { sleep } from './support/sleep.ts';

const newUser = () => `user-${randomUUID()}`;

/** Calls a tool the way the AI SDK does after the model asked for it. */
async function call(tools: ToolSet, name: string, args: unknown): Promise<Record<string, unknown>> {
  const execute = tools[name]?.execute;
  if (!execute) throw new Error(`no tool ${name}`);
  return (await execute(args, { toolCallId: `call-${name}`, messages: [], context: {} })) as Record<
    string,
    unknown
  >;
}

describe.each(testDrivers)('tasks on %s', (driver) => {
  let t: TestDb;
  let repo: TaskRepository;
  const statements: string[] = [];

  beforeAll(async () => {
    t = await createTestDb(driver, { onStatement: (text) => statements.push(text) });
    repo = createTaskRepository(t.database);
  });
  afterAll(() => t?.drop());

  const rest = { source: 'rest' } as const;
  /** The repository's writes as the REST routes make them, answering the task. */
  const writes = {
    add: async (user: string, task: NewTask) => (await repo.add(user, task, rest)).task,
    setCompleted: async (user: string, taskId: number, completed: boolean) =>
      (await repo.setCompleted(user, taskId, completed, rest))?.task,
    update: async (user: string, taskId: number, patch: TaskPatch) =>
      (await repo.update(user, taskId, patch, rest))?.task,
    remove: async (user: string, taskId: number) => (await repo.remove(user, taskId, rest))?.task,
  };

  /** Runs `action` and returns how many statements it sent. */
  async function countStatements(action: () => Promise<unknown>): Promise<number> {
    statements.length = 0;
    await action();
    return statements.length;
  }

  describe('repository', () => {
    it('adds a task with the contract shape and defaults', async () => {
      const task = await writes.add(newUser(), { title: 'buy milk' });
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
        title: 'buy milk',
        description: null,
        completed: false,
        priority: 'medium',
        dueDate: null,
      });
      expect(Number.isInteger(task.id)).toBe(true);
      expect(new Date(task.createdAt).toISOString()).toBe(task.createdAt);
      expect(task.updatedAt).toBe(task.createdAt);
    });

    it('adds a task with every field', async () => {
      const task = await writes.add(newUser(), {
        title: 'file taxes',
        description: 'forms in the drawer',
        dueDate: '2027-04-15',
        priority: 'high',
      });
      expect(task).toMatchObject({
        title: 'file taxes',
        description: 'forms in the drawer',
        dueDate: '2027-04-15',
        priority: 'high',
      });
    });

    it('lists newest first, limited, with the total of all matches', async () => {
      const user = newUser();
      const added: Task[] = [];
      for (const title of ['one', 'two', 'three', 'four', 'five'])
        added.push(await writes.add(user, { title }));
      const page = await repo.list(user, { status: 'all', limit: 2 });
      expect(page.total).toBe(5);
      expect(page.tasks.map((task) => task.title)).toEqual(['five', 'four']);
      const all = await repo.list(user, { status: 'all', limit: 50 });
      expect(all.tasks.map((task) => task.id)).toEqual(added.map((task) => task.id).reverse());
      expect(all.tasks[0]).toEqual(added.at(-1));
    });

    it('lists nothing, with total 0, for a user without tasks', async () => {
      expect(await repo.list(newUser(), { status: 'all', limit: 10 })).toEqual({ tasks: [], total: 0 });
    });

    it('filters by status', async () => {
      const user = newUser();
      const a = await writes.add(user, { title: 'a' });
      const b = await writes.add(user, { title: 'b' });
      await writes.setCompleted(user, a.id, true);
      const titles = async (status: 'all' | 'pending' | 'completed') =>
        (await repo.list(user, { status, limit: 10 })).tasks.map((task) => task.title);
      expect(await titles('pending')).toEqual(['b']);
      expect(await titles('completed')).toEqual(['a']);
      expect(await titles('all')).toEqual(['b', 'a']);
      expect((await repo.list(user, { status: 'pending', limit: 10 })).total).toBe(1);
      expect(b.completed).toBe(false);
    });

    it('searches title and description, case-insensitively', async () => {
      const user = newUser();
      await writes.add(user, { title: 'Buy MILK' });
      await writes.add(user, { title: 'call mom', description: 'about the milkman' });
      await writes.add(user, { title: 'walk the dog' });
      const page = await repo.list(user, { status: 'all', search: 'milk', limit: 10 });
      expect(page.tasks.map((task) => task.title)).toEqual(['call mom', 'Buy MILK']);
      expect(page.total).toBe(2);
      const narrowed = await repo.list(user, { status: 'all', search: 'milk', limit: 1 });
      expect(narrowed).toMatchObject({ total: 2, tasks: [{ title: 'call mom' }] });
    });

    it('treats LIKE wildcards in a search as plain characters', async () => {
      const user = newUser();
      for (const title of ['100% done', '100 done', 'a_b', 'axb', 'back\\slash', 'backslash']) {
        await writes.add(user, { title });
      }
      const search = async (text: string) =>
        (await repo.list(user, { status: 'all', search: text, limit: 10 })).tasks.map((task) => task.title);
      expect(await search('%')).toEqual(['100% done']);
      expect(await search('0% d')).toEqual(['100% done']);
      expect(await search('_')).toEqual(['a_b']);
      expect(await search('\\')).toEqual(['back\\slash']);
    });

    it('completing twice keeps a task completed, and completed:false reopens it', async () => {
      const user = newUser();
      const task = await writes.add(user, { title: 'water plants' });
      await sleep(5);
      const done = await writes.setCompleted(user, task.id, true);
      expect(done).toMatchObject({ id: task.id, completed: true });
      expect(done && done.updatedAt > task.updatedAt).toBe(true);
      const again = await writes.setCompleted(user, task.id, true);
      expect(again).toEqual(done);
      const reopened = await writes.setCompleted(user, task.id, false);
      expect(reopened).toMatchObject({ id: task.id, completed: false });
    });

    it('updates only the given fields, clears with null, and bumps updatedAt', async () => {
      const user = newUser();
      const task = await writes.add(user, { title: 'draft', description: 'notes', dueDate: '2027-01-01' });
      await sleep(5);
      const updated = await writes.update(user, task.id, {
        title: 'final',
        priority: 'low',
        description: null,
      });
      expect(updated).toMatchObject({
        id: task.id,
        title: 'final',
        priority: 'low',
        description: null,
        dueDate: '2027-01-01',
        createdAt: task.createdAt,
      });
      expect(updated && updated.updatedAt > task.updatedAt).toBe(true);
      expect(await writes.update(user, task.id, { dueDate: null })).toMatchObject({ dueDate: null });
    });

    it('removes a task and returns it; removing it again finds nothing', async () => {
      const user = newUser();
      const task = await writes.add(user, { title: 'temporary' });
      expect(await writes.remove(user, task.id)).toEqual(task);
      expect(await writes.remove(user, task.id)).toBeUndefined();
      expect(await repo.list(user, { status: 'all', limit: 10 })).toEqual({ tasks: [], total: 0 });
    });

    it('answers undefined for a task id that does not exist', async () => {
      const user = newUser();
      const missing = 2_000_000_000;
      expect(await writes.setCompleted(user, missing, true)).toBeUndefined();
      expect(await writes.update(user, missing, { title: 'x' })).toBeUndefined();
      expect(await writes.remove(user, missing)).toBeUndefined();
    });

    it("another user's task answers exactly like a missing one and stays unchanged", async () => {
      const alice = newUser();
      const bob = newUser();
      const task = await writes.add(alice, { title: "alice's secret", description: 'private' });
      expect(await repo.list(bob, { status: 'all', search: 'secret', limit: 100 })).toEqual({
        tasks: [],
        total: 0,
      });
      expect(await writes.setCompleted(bob, task.id, true)).toBeUndefined();
      expect(await writes.update(bob, task.id, { title: 'hacked' })).toBeUndefined();
      expect(await writes.remove(bob, task.id)).toBeUndefined();
      expect(await repo.list(alice, { status: 'all', limit: 10 })).toEqual({ tasks: [task], total: 1 });
    });

    it('sends exactly one statement per method', async () => {
      const user = newUser();
      let id = 0;
      expect(
        await countStatements(async () => {
          id = (await writes.add(user, { title: 'count me' })).id;
        }),
      ).toBe(1);
      expect(
        await countStatements(() => repo.list(user, { status: 'pending', search: 'me', limit: 5 })),
      ).toBe(1);
      expect(await countStatements(() => writes.setCompleted(user, id, true))).toBe(1);
      expect(await countStatements(() => writes.update(user, id, { title: 'counted' }))).toBe(1);
      expect(await countStatements(() => writes.remove(user, id))).toBe(1);
    });
  });

  describe('tools as the model calls them', () => {
    it('add_task creates a task and returns it', async () => {
      const tools = createTaskTools(repo, newUser(), { source: 'chat' });
      const task = await call(tools, 'add_task', {
        title: '  buy bread  ',
        due_date: '2028-02-29',
        priority: 'high',
        description: 'rye',
      });
      expect(task).toMatchObject({
        title: 'buy bread',
        dueDate: '2028-02-29',
        priority: 'high',
        description: 'rye',
        completed: false,
      });
    });

    it('list_tasks returns {tasks, total} with defaults and filters', async () => {
      const tools = createTaskTools(repo, newUser(), { source: 'chat' });
      for (let i = 1; i <= 3; i++) await call(tools, 'add_task', { title: `chore ${i}` });
      const all = await call(tools, 'list_tasks', {});
      expect(all.total).toBe(3);
      expect((all.tasks as Task[]).map((task) => task.title)).toEqual(['chore 3', 'chore 2', 'chore 1']);
      const page = await call(tools, 'list_tasks', { status: 'pending', search: 'CHORE 2', limit: 1 });
      expect(page).toMatchObject({ total: 1, tasks: [{ title: 'chore 2' }] });
      expect(await call(tools, 'list_tasks', { status: null, search: null, limit: null })).toMatchObject({
        total: 3,
      });
    });

    it('complete_task completes by default, stays completed, and reopens with completed:false', async () => {
      const tools = createTaskTools(repo, newUser(), { source: 'chat' });
      const task = await call(tools, 'add_task', { title: 'stretch' });
      expect(await call(tools, 'complete_task', { task_id: task.id })).toMatchObject({ completed: true });
      expect(await call(tools, 'complete_task', { task_id: task.id })).toMatchObject({ completed: true });
      expect(await call(tools, 'complete_task', { task_id: task.id, completed: false })).toMatchObject({
        completed: false,
      });
    });

    it('update_task changes the given fields', async () => {
      const tools = createTaskTools(repo, newUser(), { source: 'chat' });
      const task = await call(tools, 'add_task', { title: 'email', description: 'to Bob' });
      expect(
        await call(tools, 'update_task', { task_id: task.id, title: 'email Bob', due_date: '2027-03-01' }),
      ).toMatchObject({ title: 'email Bob', dueDate: '2027-03-01', description: 'to Bob' });
      expect(await call(tools, 'update_task', { task_id: task.id, description: null })).toMatchObject({
        description: null,
      });
    });

    it('delete_task returns {task_id, deleted, title, change_id}', async () => {
      const tools = createTaskTools(repo, newUser(), { source: 'chat' });
      const task = await call(tools, 'add_task', { title: 'old task' });
      expect(await call(tools, 'delete_task', { task_id: task.id })).toEqual({
        task_id: task.id,
        deleted: true,
        title: 'old task',
        change_id: 2,
      });
      expect(await call(tools, 'list_tasks', {})).toEqual({ tasks: [], total: 0 });
    });

    it.each([
      ['add_task', { title: '' }],
      ['add_task', { title: '   ' }],
      ['add_task', { title: 'x'.repeat(201) }],
      ['add_task', {}],
      ['add_task', { title: 42 }],
      ['add_task', { title: 'ok', description: 'd'.repeat(2001) }],
      ['add_task', { title: 'ok', due_date: '2026-02-30' }],
      ['add_task', { title: 'ok', due_date: '2027-02-29' }],
      ['add_task', { title: 'ok', due_date: '2026-13-01' }],
      ['add_task', { title: 'ok', due_date: 'tomorrow' }],
      ['add_task', { title: 'ok', due_date: '2026-1-5' }],
      ['add_task', { title: 'ok', priority: 'urgent' }],
      ['list_tasks', { limit: 0 }],
      ['list_tasks', { limit: 101 }],
      ['list_tasks', { limit: 2.5 }],
      ['list_tasks', { status: 'done' }],
      ['complete_task', { task_id: 1.5 }],
      ['complete_task', { task_id: '1' }],
      ['complete_task', { task_id: 0 }],
      ['complete_task', {}],
      ['complete_task', { task_id: 1, completed: 'yes' }],
      ['update_task', { task_id: 1 }],
      ['update_task', { task_id: 1, title: null }],
      ['update_task', { task_id: 1, title: '' }],
      ['delete_task', { task_id: -3 }],
      ['delete_task', 'not an object'],
    ])('%s with %j answers an {error} naming the problem', async (name, args) => {
      const user = newUser();
      const tools = createTaskTools(repo, user, { source: 'chat' });
      const result = await call(tools, name, args);
      expect(Object.keys(result)).toEqual(['error']);
      expect(result.error).toMatch(/^Invalid arguments: \S/);
      expect(await repo.list(user, { status: 'all', limit: 10 })).toEqual({ tasks: [], total: 0 });
    });

    it('accepts a 200-character title', async () => {
      const tools = createTaskTools(repo, newUser(), { source: 'chat' });
      const title = 't'.repeat(200);
      expect(await call(tools, 'add_task', { title })).toMatchObject({ title });
    });

    it("answers a missing task and another user's task with the same error, and leaves it unchanged", async () => {
      const alice = newUser();
      const aliceTools = createTaskTools(repo, alice, { source: 'chat' });
      const bobTools = createTaskTools(repo, newUser(), { source: 'chat' });
      const { change_id: _, ...task } = (await call(aliceTools, 'add_task', {
        title: 'alice only',
      })) as Task & {
        change_id: number;
      };
      const missing = 2_000_000_001;
      const cases: Array<[string, Record<string, unknown>]> = [
        ['complete_task', {}],
        ['update_task', { title: 'taken over' }],
        ['delete_task', {}],
      ];
      for (const [name, extra] of cases) {
        expect(await call(bobTools, name, { task_id: task.id, ...extra })).toEqual({
          error: `Task #${task.id} not found.`,
        });
        expect(await call(bobTools, name, { task_id: missing, ...extra })).toEqual({
          error: `Task #${missing} not found.`,
        });
      }
      expect(await call(bobTools, 'list_tasks', { search: 'alice' })).toEqual({ tasks: [], total: 0 });
      expect(await repo.list(alice, { status: 'all', limit: 10 })).toEqual({ tasks: [task], total: 1 });
    });

    it('ignores a user_id argument from the model', async () => {
      const alice = newUser();
      const bob = newUser();
      // Alice's #2: a number bob (who only gets a #1 here) does not have himself.
      await writes.add(alice, { title: 'alice filler' });
      const aliceTask = await writes.add(alice, { title: 'alice task' });
      const bobTools = createTaskTools(repo, bob, { source: 'chat' });
      const added = await call(bobTools, 'add_task', { title: 'planted', user_id: alice });
      expect(added).toMatchObject({ title: 'planted' });
      expect(await call(bobTools, 'delete_task', { task_id: aliceTask.id, user_id: alice })).toEqual({
        error: `Task #${aliceTask.id} not found.`,
      });
      expect((await repo.list(alice, { status: 'all', limit: 10 })).tasks[0]).toEqual(aliceTask);
      expect((await repo.list(bob, { status: 'all', limit: 10 })).tasks.map((task) => task.title)).toEqual([
        'planted',
      ]);
    });

    it('a model-issued add_task reaches the database through generateText', async () => {
      const user = newUser();
      const model = new MockLanguageModelV4({
        doGenerate: async (options) => mockStep(options, { title: 'buy milk', due_date: '2027-05-01' }),
      });
      const result = await generateText({
        model,
        tools: createTaskTools(repo, user, { source: 'chat' }),
        stopWhen: stepCountIs(3),
        prompt: 'add buy milk due May 1st',
      });
      expect(result.text).toBe('Done: buy milk');
      expect(model.doGenerateCalls[0]?.tools?.map((tool) => tool.name).sort()).toEqual(
        [...taskToolNames].sort(),
      );
      const { tasks } = await repo.list(user, { status: 'all', limit: 10 });
      expect(tasks).toMatchObject([{ title: 'buy milk', dueDate: '2027-05-01', completed: false }]);
    });

    it('invalid arguments from a model reach the tool and come back to it as an {error} result', async () => {
      const user = newUser();
      const model = new MockLanguageModelV4({
        doGenerate: async (options) => mockStep(options, { title: 'x', due_date: '2026-02-30' }),
      });
      const result = await generateText({
        model,
        tools: createTaskTools(repo, user, { source: 'chat' }),
        stopWhen: stepCountIs(3),
        prompt: 'add x',
      });
      const toolResults = result.steps.flatMap((step) => step.toolResults);
      expect(toolResults.map((part) => part.output)).toEqual([
        { error: 'Invalid arguments: due_date must be a real calendar date written YYYY-MM-DD.' },
      ]);
      expect(result.text).toMatch(/^Failed: /);
      expect((await repo.list(user, { status: 'all', limit: 10 })).total).toBe(0);
    });
  });
});

/**
 * One step of a scripted model: a user message makes it call add_task with `args`; a tool result
 * makes it answer with text. Decided from the last prompt message, as a real tool loop is.
 */
function mockStep(options: LanguageModelV4CallOptions, args: object): LanguageModelV4GenerateResult {
  const usage = {
    inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: 1, text: 1, reasoning: undefined },
  };
  const last = options.prompt.at(-1);
  if (last?.role === 'tool') {
    const part = last.content.find((p) => p.type === 'tool-result');
    const output =
      part?.type === 'tool-result' && part.output.type === 'json' ? part.output.value : undefined;
    const value = (output ?? {}) as { title?: string; error?: string };
    const text = value.error ? `Failed: ${value.error}` : `Done: ${value.title}`;
    return {
      content: [{ type: 'text', text }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage,
      warnings: [],
    };
  }
  return {
    content: [{ type: 'tool-call', toolCallId: 'call-1', toolName: 'add_task', input: JSON.stringify(args) }],
    finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
    usage,
    warnings: [],
  };
}

describe('task tools without a database', () => {
  const userId = 'user-1';
  const down = new DbUnavailableError(3);
  const unavailable = () => Promise.reject(down);
  const brokenRepo: TaskRepository = {
    add: unavailable,
    get: unavailable,
    list: unavailable,
    setCompleted: unavailable,
    update: unavailable,
    remove: unavailable,
    changes: unavailable,
    undo: unavailable,
  };

  it('rethrows a database outage instead of turning it into a tool error', async () => {
    await expect(runTaskTool(brokenRepo, userId, 'add_task', { title: 'x' }, { source: 'mcp' })).rejects.toBe(
      down,
    );
    await expect(runTaskTool(brokenRepo, userId, 'list_tasks', {}, { source: 'mcp' })).rejects.toBe(down);
    await expect(
      runTaskTool(brokenRepo, userId, 'complete_task', { task_id: 1 }, { source: 'mcp' }),
    ).rejects.toBe(down);
    await expect(
      call(createTaskTools(brokenRepo, userId, { source: 'chat' }), 'delete_task', { task_id: 1 }),
    ).rejects.toBeInstanceOf(DbUnavailableError);
  });

  it('answers an unknown tool name with an {error}', async () => {
    expect(await runTaskTool(brokenRepo, userId, 'drop_tables', {}, { source: 'mcp' })).toEqual({
      error: 'Unknown tool drop_tables.',
    });
    expect(await runTaskTool(brokenRepo, userId, 'toString', {}, { source: 'mcp' })).toEqual({
      error: 'Unknown tool toString.',
    });
  });

  it("exposes each tool's snake_case arguments in its JSON schema, and no user id", async () => {
    const tools = createTaskTools(brokenRepo, userId, { source: 'chat' });
    const expected: Record<string, { properties: string[]; required: string[] }> = {
      add_task: {
        properties: ['title', 'description', 'due_date', 'priority', 'due_time', 'repeat', 'reminder'],
        required: ['title'],
      },
      list_tasks: { properties: ['status', 'search', 'limit', 'due'], required: [] },
      complete_task: { properties: ['task_id', 'completed'], required: ['task_id'] },
      update_task: {
        properties: [
          'task_id',
          'title',
          'description',
          'due_date',
          'priority',
          'due_time',
          'repeat',
          'reminder',
        ],
        required: ['task_id'],
      },
      delete_task: { properties: ['task_id'], required: ['task_id'] },
      undo_change: { properties: ['change_id'], required: [] },
    };
    expect(Object.keys(tools).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, { properties, required }] of Object.entries(expected)) {
      const tool = tools[name];
      expect(typeof tool?.description === 'string' && tool.description.length > 40).toBe(true);
      const schema = await asSchema(tool?.inputSchema).jsonSchema;
      expect(schema.type).toBe('object');
      expect(Object.keys(schema.properties ?? {})).toEqual(properties);
      expect(schema.required ?? []).toEqual(required);
      expect(schema.additionalProperties).toBe(false);
    }
    const addTask = await asSchema(tools.add_task?.inputSchema).jsonSchema;
    expect(addTask.properties?.title).toMatchObject({ type: 'string', minLength: 1, maxLength: 200 });
    const listTasks = await asSchema(tools.list_tasks?.inputSchema).jsonSchema;
    expect(JSON.stringify(listTasks.properties?.limit)).toContain('"maximum":100');
  });

  it('knows real calendar dates', () => {
    expect(['2024-02-29', '2000-02-29', '2026-12-31', '2026-04-30'].every(isCalendarDate)).toBe(true);
    expect(['2023-02-29', '1900-02-29', '2026-04-31', '2026-00-10', '0000-01-01'].some(isCalendarDate)).toBe(
      false,
    );
  });
});
