// The offline model is the default when no key is set, so it must survive the real AI SDK tool
// loop (generate and stream), not just hand-built call options.
import type { LanguageModelV4StreamPart } from '@ai-sdk/provider';
import { generateText, isStepCount, streamText, type ToolSet, tool } from 'ai';
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createOfflineModel } from '../src/model/offline.ts';

// The model's first step for one message, as the AI SDK would call it with the five tools.
async function firstStep(text: string) {
  const tools = ['add_task', 'list_tasks', 'complete_task', 'update_task', 'delete_task'].map((name) => ({
    type: 'function' as const,
    name,
    inputSchema: { type: 'object' as const },
  }));
  const result = await createOfflineModel().doGenerate({
    prompt: [
      { role: 'system', content: 'You are taskchat. Today is 2026-11-23.' },
      { role: 'user', content: [{ type: 'text', text }] },
    ],
    tools,
  });
  const part = result.content[0];
  return part?.type === 'tool-call' ? { tool: part.toolName, args: JSON.parse(part.input) } : { text: part };
}

describe('the rigid commands of before still make the same calls', () => {
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['add buy milk', 'add_task', { title: 'buy milk' }],
    ['  ADD Buy Milk  ', 'add_task', { title: 'Buy Milk' }],
    ['add buy milk due 2026-11-24', 'add_task', { title: 'buy milk', due_date: '2026-11-24' }],
    ['add buy milk !high', 'add_task', { title: 'buy milk', priority: 'high' }],
    [
      'add pay rent due 2026-12-01 !LOW',
      'add_task',
      { title: 'pay rent', due_date: '2026-12-01', priority: 'low' },
    ],
    [
      'add pay rent !high DUE 2026-12-01',
      'add_task',
      { title: 'pay rent', due_date: '2026-12-01', priority: 'high' },
    ],
    ['list', 'list_tasks', { status: 'all' }],
    ['List All', 'list_tasks', { status: 'all' }],
    ['pending', 'list_tasks', { status: 'pending' }],
    ['list pending', 'list_tasks', { status: 'pending' }],
    ['completed', 'list_tasks', { status: 'completed' }],
    ['done', 'list_tasks', { status: 'completed' }],
    ['list completed', 'list_tasks', { status: 'completed' }],
    ['find Milk', 'list_tasks', { search: 'Milk' }],
    ['search rent bill', 'list_tasks', { search: 'rent bill' }],
    ['done 3', 'complete_task', { task_id: 3 }],
    ['complete #12', 'complete_task', { task_id: 12 }],
    ['undo 3', 'complete_task', { task_id: 3, completed: false }],
    ['reopen #3', 'complete_task', { task_id: 3, completed: false }],
    ['rename 3 to Buy oat milk', 'update_task', { task_id: 3, title: 'Buy oat milk' }],
    ['due #3 2026-11-30', 'update_task', { task_id: 3, due_date: '2026-11-30' }],
    ['priority 3 HIGH', 'update_task', { task_id: 3, priority: 'high' }],
    ['priority #4 medium', 'update_task', { task_id: 4, priority: 'medium' }],
    ['delete 3', 'delete_task', { task_id: 3 }],
    ['remove #3', 'delete_task', { task_id: 3 }],
    // Read as unknown before; the issue made them phrasings the reader understands.
    ['priority 3 urgent', 'update_task', { task_id: 3, priority: 'high' }],
    ['due 3 tomorrow', 'update_task', { task_id: 3, due_date: '2026-11-24' }],
    // A title word: searched by its stem, which every form of the word starts with.
    ['done three', 'list_tasks', { status: 'pending', search: 'thre' }],
  ];
  it.each(cases)('%s', async (text, toolName, args) => {
    expect(await firstStep(text)).toEqual({ tool: toolName, args });
  });

  it.each(['', 'hello there', 'help', 'add', 'add !high', 'rename 3', 'blah'])(
    'calls no tool for %j',
    async (text) => {
      expect(await firstStep(text)).toMatchObject({ text: { type: 'text' } });
    },
  );
});

const FIRST_NOTE =
  '(This is taskchat\'s offline command reader, not an AI: set OPENAI_API_KEY on the server for a real model; "help" shows what I understand.)';

type Task = {
  id: number;
  title: string;
  description: string | null;
  completed: boolean;
  priority: 'low' | 'medium' | 'high';
  dueDate: string | null;
  createdAt: string;
  updatedAt: string;
};

// In-memory stand-ins for the real tools, with the contract's argument names and result shapes.
function makeTools() {
  const tasks: Task[] = [];
  const calls: Array<{ name: string; args: unknown }> = [];
  let nextId = 1;
  const find = (taskId: number) => tasks.find((t) => t.id === taskId);
  const notFound = (taskId: number) => ({ error: `Task #${taskId} not found.` });
  const priority = z.enum(['low', 'medium', 'high']);
  const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

  const tools = {
    add_task: tool({
      description: 'Create a task',
      inputSchema: z.object({
        title: z.string().min(1).max(200),
        description: z.string().max(2000).optional(),
        due_date: date.optional(),
        priority: priority.optional(),
      }),
      execute: async (args) => {
        calls.push({ name: 'add_task', args });
        const now = new Date().toISOString();
        const task: Task = {
          id: nextId++,
          title: args.title,
          description: args.description ?? null,
          completed: false,
          priority: args.priority ?? 'medium',
          dueDate: args.due_date ?? null,
          createdAt: now,
          updatedAt: now,
        };
        tasks.push(task);
        return task;
      },
    }),
    list_tasks: tool({
      description: 'List tasks',
      inputSchema: z.object({
        status: z.enum(['all', 'pending', 'completed']).optional(),
        search: z.string().optional(),
        limit: z.number().int().min(1).max(100).optional(),
      }),
      execute: async (args) => {
        calls.push({ name: 'list_tasks', args });
        const status = args.status ?? 'all';
        const matching = tasks.filter(
          (t) =>
            (status === 'all' || t.completed === (status === 'completed')) &&
            (!args.search || t.title.toLowerCase().includes(args.search.toLowerCase())),
        );
        return { tasks: matching.slice(0, args.limit ?? 50), total: matching.length };
      },
    }),
    complete_task: tool({
      description: 'Complete or reopen a task',
      inputSchema: z.object({ task_id: z.number().int(), completed: z.boolean().optional() }),
      execute: async (args) => {
        calls.push({ name: 'complete_task', args });
        const task = find(args.task_id);
        if (!task) return notFound(args.task_id);
        task.completed = args.completed ?? true;
        return task;
      },
    }),
    update_task: tool({
      description: 'Update a task',
      inputSchema: z.object({
        task_id: z.number().int(),
        title: z.string().min(1).max(200).optional(),
        description: z.string().max(2000).optional(),
        due_date: date.optional(),
        priority: priority.optional(),
      }),
      execute: async (args) => {
        calls.push({ name: 'update_task', args });
        const task = find(args.task_id);
        if (!task) return notFound(args.task_id);
        if (args.title !== undefined) task.title = args.title;
        if (args.due_date !== undefined) task.dueDate = args.due_date;
        if (args.priority !== undefined) task.priority = args.priority;
        return task;
      },
    }),
    delete_task: tool({
      description: 'Delete a task',
      inputSchema: z.object({ task_id: z.number().int() }),
      execute: async (args) => {
        calls.push({ name: 'delete_task', args });
        const task = find(args.task_id);
        if (!task) return notFound(args.task_id);
        tasks.splice(tasks.indexOf(task), 1);
        return { task_id: task.id, deleted: true, title: task.title };
      },
    }),
  };
  return { tools, tasks, calls };
}

type Runner = (tools: ToolSet, prompt: string) => Promise<{ text: string; steps: number }>;

const runners: Array<[string, Runner]> = [
  [
    'generateText',
    async (tools, prompt) => {
      const result = await generateText({
        model: createOfflineModel(),
        tools,
        stopWhen: isStepCount(4),
        prompt,
      });
      return { text: result.text, steps: result.steps.length };
    },
  ],
  [
    'streamText',
    async (tools, prompt) => {
      const result = streamText({ model: createOfflineModel(), tools, stopWhen: isStepCount(4), prompt });
      return { text: await result.text, steps: (await result.steps).length };
    },
  ],
];

describe.each(runners)('tool loop with %s', (_name, run) => {
  let env: ReturnType<typeof makeTools>;
  beforeEach(() => {
    env = makeTools();
  });

  it('adds a task and confirms it', async () => {
    const { text, steps } = await run(env.tools, 'add buy milk due 2026-11-24 !high');
    expect(env.calls).toEqual([
      { name: 'add_task', args: { title: 'buy milk', due_date: '2026-11-24', priority: 'high' } },
    ]);
    expect(text).toBe(`Added #1 "buy milk" (due 2026-11-24, high priority).\n${FIRST_NOTE}`);
    expect(steps).toBe(2);
  });

  it('lists tasks compactly', async () => {
    await run(env.tools, 'add buy milk due 2026-11-24 !high');
    await run(env.tools, 'add pay rent');
    await run(env.tools, 'done 2');
    const { text } = await run(env.tools, 'list');
    expect(env.calls.at(-1)).toEqual({ name: 'list_tasks', args: { status: 'all' } });
    expect(text).toBe(
      `Your tasks (2):\n#1 [ ] buy milk (due 2026-11-24, high)\n#2 [x] pay rent\n${FIRST_NOTE}`,
    );
  });

  it('says so when there are no tasks', async () => {
    expect((await run(env.tools, 'pending')).text).toBe(`You have no pending tasks.\n${FIRST_NOTE}`);
  });

  it('completes, reopens, renames and deletes', async () => {
    await run(env.tools, 'add x');
    // Each run is a new conversation, so each answer is a first answer and carries the note.
    const reply = async (prompt: string) =>
      (await run(env.tools, prompt)).text.replace(`\n${FIRST_NOTE}`, '');
    expect(await reply('done #1')).toBe('Marked #1 "x" done.');
    expect(await reply('reopen 1')).toBe('Reopened #1 "x".');
    expect(await reply('rename 1 to y')).toBe('Renamed #1 to "y".');
    expect(await reply('delete 1')).toBe('Deleted #1 "y".');
    expect(env.calls.map((c) => c.args)).toEqual([
      { title: 'x' },
      { task_id: 1 },
      { task_id: 1, completed: false },
      { task_id: 1, title: 'y' },
      { task_id: 1 },
    ]);
  });

  it('explains an {error} tool result', async () => {
    const { text } = await run(env.tools, 'delete 42');
    expect(env.calls).toEqual([{ name: 'delete_task', args: { task_id: 42 } }]);
    expect(text).toBe(`Sorry: Task #42 not found.\n${FIRST_NOTE}`);
  });

  it('explains a tool that throws', async () => {
    const tools = {
      ...env.tools,
      delete_task: tool({
        description: 'Delete a task',
        inputSchema: z.object({ task_id: z.number().int() }),
        execute: async ({ task_id }): Promise<{ task_id: number }> => {
          throw new Error(`database is down (task ${task_id} untouched)`);
        },
      }),
    };
    expect((await run(tools, 'delete 1')).text).toBe(
      `Sorry: database is down (task 1 untouched)\n${FIRST_NOTE}`,
    );
  });

  it('answers help without calling a tool, and says it is offline', async () => {
    const { text, steps } = await run(env.tools, 'help');
    expect(env.calls).toEqual([]);
    expect(steps).toBe(1);
    expect(text).toContain('offline');
    expect(text).toContain('not an AI model');
    expect(text).toContain('OPENAI_API_KEY');
  });

  it('admits it did not understand free text, in one sentence with suggestions', async () => {
    const { text } = await run(env.tools, 'tell me a joke');
    expect(env.calls).toEqual([]);
    expect(text).toBe(
      'I didn\'t understand that (I\'m an offline command reader, not an AI; set OPENAI_API_KEY for a real one); try "add tell me a joke", "find joke" or "help".',
    );
  });

  it('does not call a tool that was not offered', async () => {
    const { add_task: _omitted, ...rest } = env.tools;
    const { text, steps } = await run(rest, 'add buy milk');
    expect(env.calls).toEqual([]);
    expect(steps).toBe(1);
    expect(text).toContain('not available');
  });
});

describe('stream parts', () => {
  it('emits a well-formed V4 stream for a tool call', async () => {
    const model = createOfflineModel();
    const { stream } = await model.doStream({
      prompt: [{ role: 'user', content: [{ type: 'text', text: 'done 3' }] }],
      tools: [{ type: 'function', name: 'complete_task', inputSchema: { type: 'object' } }],
    });
    const parts: LanguageModelV4StreamPart[] = [];
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
    expect(parts.map((p) => p.type)).toEqual([
      'stream-start',
      'response-metadata',
      'tool-input-start',
      'tool-input-delta',
      'tool-input-end',
      'tool-call',
      'finish',
    ]);
    expect(parts.at(-1)).toMatchObject({
      finishReason: { unified: 'tool-calls' },
      usage: { inputTokens: {} },
    });
    expect(model).toMatchObject({ specificationVersion: 'v4', provider: 'taskchat', modelId: 'offline' });
  });

  it('gives distinct tool call ids for different prompts of the same length', async () => {
    const model = createOfflineModel();
    const tools = [
      { type: 'function' as const, name: 'delete_task', inputSchema: { type: 'object' as const } },
    ];
    const ids = await Promise.all(
      ['delete 1', 'delete 2'].map(async (text) => {
        const result = await model.doGenerate({
          prompt: [{ role: 'user', content: [{ type: 'text', text }] }],
          tools,
        });
        return result.content[0]?.type === 'tool-call' ? result.content[0].toolCallId : undefined;
      }),
    );
    expect(ids[0]).toMatch(/^offline-1-/);
    expect(ids[0]).not.toBe(ids[1]);
  });
});
