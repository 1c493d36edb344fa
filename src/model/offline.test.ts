// The offline command reader as the AI SDK drives it: `generateText` with the five task tools over
// an in-memory task list, the conversation carried from turn to turn as the SDK's response messages
// (tool calls and results included), today pinned to Monday 2026-11-23 in the system prompt. No
// database and no HTTP: the reader is a pure function of its prompt, and the chat route's wiring is
// covered apart (test/offline-model.test.ts). Phrasings are grouped by class; each runs in a fresh
// conversation over a fresh list, seeded through the same chat.
import type { LanguageModelV4StreamPart } from '@ai-sdk/provider';
import { generateText, isStepCount, type ModelMessage, streamText, tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createOfflineModel } from './offline.ts';

const TODAY = '2026-11-23';

type Task = {
  id: number;
  title: string;
  description: string | null;
  completed: boolean;
  priority: 'low' | 'medium' | 'high';
  dueDate: string | null;
  dueTime?: string | null;
  repeat?: string | null;
  reminder?: string | null;
  createdAt: string;
  updatedAt: string;
};

type AddArgs = {
  title: string;
  description?: string;
  due_date?: string;
  priority?: Task['priority'];
  due_time?: string;
  repeat?: string;
  reminder?: string;
};

type ToolOptions = { time?: boolean; zone?: string; undo?: boolean };

/**
 * The tools with the contract's arguments and results, over a list in memory (newest first, as
 * the database lists). `time`: add_task also takes due_time, repeat and reminder, as it will.
 * `undo`: every result that changed a task carries its `change_id`, and undo_change is offered,
 * with the server's rules (a change applies only while the task is as it left it; without an id,
 * the newest change not yet undone).
 */
function taskTools(options: ToolOptions = {}) {
  const tasks: Task[] = [];
  let nextId = 1;
  /** The instant the next change is stamped with. */
  const clock = { now: `${TODAY}T09:00:00.000Z` };
  const find = (id: number) => tasks.find((t) => t.id === id);
  const notFound = (id: number) => ({ error: `Task #${id} not found.` });
  type Logged = { id: number; taskId: number; before: Task | null; after: Task | null; undone: boolean };
  const changes: Logged[] = [];
  const copy = (task: Task | undefined) => (task ? { ...task } : null);
  const log = (taskId: number, before: Task | null, after: Task | null) => {
    const change = { id: changes.length + 1, taskId, before, after: copy(after ?? undefined), undone: false };
    changes.push(change);
    return change;
  };
  /** The result, with the change it made when the tools log changes. */
  const logged = <T extends object>(result: T, taskId: number, before: Task | null, after: Task | null) =>
    options.undo ? { ...result, change_id: log(taskId, before, after).id } : result;
  const priority = z.enum(['low', 'medium', 'high']).optional();
  const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
  const timeArgs = options.time
    ? {
        due_time: z
          .string()
          .regex(/^\d{2}:\d{2}$/)
          .optional(),
        repeat: z
          .string()
          .regex(/^FREQ=/)
          .optional(),
        reminder: z.iso.datetime({ offset: true }).optional(),
      }
    : {};
  const tools = {
    add_task: tool({
      description: 'Create a task',
      // The arguments differ with `time`; the handler takes either.
      inputSchema: z.object({
        title: z.string().min(1).max(200),
        description: z.string().optional(),
        due_date: date.optional(),
        priority,
        ...timeArgs,
      }) as z.ZodType<AddArgs>,
      execute: async (args: AddArgs) => {
        const task: Task = {
          id: nextId++,
          title: args.title,
          description: args.description ?? null,
          completed: false,
          priority: args.priority ?? 'medium',
          dueDate: args.due_date ?? null,
          ...(options.time
            ? { dueTime: args.due_time ?? null, repeat: args.repeat ?? null, reminder: args.reminder ?? null }
            : {}),
          createdAt: clock.now,
          updatedAt: clock.now,
        };
        tasks.unshift(task);
        return logged(task, task.id, null, task);
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
        const status = args.status ?? 'all';
        const search = args.search?.toLowerCase();
        const matching = tasks.filter(
          (t) =>
            (status === 'all' || t.completed === (status === 'completed')) &&
            (!search || t.title.toLowerCase().includes(search)),
        );
        return { tasks: matching.slice(0, args.limit ?? 50), total: matching.length };
      },
    }),
    complete_task: tool({
      description: 'Complete or reopen a task',
      inputSchema: z.object({ task_id: z.number().int(), completed: z.boolean().optional() }),
      execute: async (args) => {
        const task = find(args.task_id);
        if (!task) return notFound(args.task_id);
        const before = copy(task);
        task.completed = args.completed ?? true;
        task.updatedAt = clock.now;
        return logged(task, task.id, before, task);
      },
    }),
    update_task: tool({
      description: 'Update a task',
      inputSchema: z.object({
        task_id: z.number().int(),
        title: z.string().min(1).max(200).optional(),
        description: z.string().nullable().optional(),
        due_date: date.nullable().optional(),
        priority,
      }),
      execute: async (args) => {
        const task = find(args.task_id);
        if (!task) return notFound(args.task_id);
        const before = copy(task);
        if (args.title !== undefined) task.title = args.title;
        if (args.due_date !== undefined) task.dueDate = args.due_date;
        if (args.priority !== undefined) task.priority = args.priority;
        task.updatedAt = clock.now;
        return logged(task, task.id, before, task);
      },
    }),
    delete_task: tool({
      description: 'Delete a task',
      inputSchema: z.object({ task_id: z.number().int() }),
      execute: async (args) => {
        const task = find(args.task_id);
        if (!task) return notFound(args.task_id);
        tasks.splice(tasks.indexOf(task), 1);
        return logged({ task_id: task.id, deleted: true, title: task.title }, task.id, copy(task), null);
      },
    }),
  };
  const undoChange = tool({
    description: 'Undo a change',
    inputSchema: z.object({ change_id: z.number().int().optional() }),
    execute: async (args) => {
      const change =
        args.change_id === undefined
          ? changes.findLast((c) => !c.undone)
          : changes.find((c) => c.id === args.change_id);
      if (!change) return { error: 'There is no change to undo.' };
      if (change.undone) return { error: `Change #${change.id} was already undone.` };
      const present = find(change.taskId);
      if (JSON.stringify(copy(present)) !== JSON.stringify(change.after)) {
        return { error: `Task #${change.taskId} was changed after that; undo that change first.` };
      }
      change.undone = true;
      const found = copy(present);
      if (!change.before) tasks.splice(tasks.indexOf(present as Task), 1);
      else if (!present) tasks.unshift({ ...change.before });
      else Object.assign(present, change.before);
      const now = find(change.taskId);
      const undo = log(change.taskId, found, now ?? null);
      return { change: { ...undo, action: 'undo' }, task: copy(now), change_id: undo.id };
    },
  });
  return { tools: options.undo ? { ...tools, undo_change: undoChange } : tools, tasks, clock };
}

type Said = {
  calls: Array<[name: string, args: Record<string, unknown>]>;
  results: unknown[];
  reply: string;
};

/** One conversation: each message is a turn, sent with every earlier turn's messages. */
function conversation(options: ToolOptions = {}) {
  const store = taskTools(options);
  const messages: ModelMessage[] = [];
  const system = `You are taskchat, a helpful assistant that manages the user's personal task list with tools. Today is ${TODAY}.${options.zone ? ` The user's time zone is ${options.zone}.` : ''}`;
  return {
    ...store,
    async say(text: string): Promise<Said> {
      messages.push({ role: 'user', content: text });
      const result = await generateText({
        model: createOfflineModel(),
        system,
        messages,
        tools: store.tools,
        stopWhen: isStepCount(5),
      });
      messages.push(...result.responseMessages);
      const calls = result.steps.flatMap((step) => step.toolCalls);
      const results = result.steps.flatMap((step) => step.toolResults);
      return {
        calls: calls.map((c) => [c.toolName, c.input as Record<string, unknown>]),
        results: results.map((r) => r.output),
        reply: result.text,
      };
    },
  };
}

type Call = [name: string, args: Record<string, unknown>];
type Case = {
  say: string;
  calls: Call[];
  seed?: keyof typeof SEEDS;
  /** Sent after the seed, in the same conversation (e.g. "list", for "the second one"). */
  before?: string[];
  /** Checked instead of the reply the last call implies. */
  reply?: RegExp;
  /** add_task also takes due_time, repeat and reminder (the Time issue's tools). */
  time?: boolean;
  /** Results carry change_id and undo_change is offered (the change log's tools). */
  undo?: boolean;
};

// Seeds are chat messages; a key names the task the message adds. Lists show newest first, so
// after `home` the list reads: rent, dentist, milk.
const SEEDS = {
  home: [
    ['milk', 'add buy milk'],
    ['dentist', 'add call the dentist'],
    ['rent', 'add pay rent'],
  ],
  finished: [
    ['milk', 'add buy milk'],
    ['dentist', 'add call the dentist'],
    ['rent', 'add pay rent'],
    ['', 'done {milk}'],
    ['', 'done {dentist}'],
  ],
  twins: [
    ['oat', 'add buy oat milk'],
    ['milk', 'add buy milk'],
    ['bread', 'add buy bread'],
  ],
  dated: [
    ['late', 'add return the library books 2026-11-20'],
    ['milk', 'add buy milk tomorrow'],
    ['dentist', 'add call the dentist on friday'],
    ['rent', 'add pay rent'],
  ],
  errands: [
    ['rent', 'add pay rent'],
    ['dentist', 'add call the dentist'],
    ['gift', 'add buy a birthday gift for Sam'],
  ],
  gifts: [
    ['gift', 'add buy a birthday gift for Sam'],
    ['wrap', 'add gift wrap the presents'],
    ['dentist', 'add call the dentist'],
  ],
} satisfies Record<string, Array<[key: string, message: string]>>;

const MISS =
  /^I didn't understand that \(I'm an offline command reader, not an AI[^)]*\); try "[^"]+"(?:, "[^"]+")? or "[^"]+"\.$/;

const classes: Record<string, Case[]> = {
  add: [
    { say: 'add buy milk', calls: [['add_task', { title: 'buy milk' }]] },
    { say: 'add buy milk tomorrow', calls: [['add_task', { title: 'buy milk', due_date: '2026-11-24' }]] },
    {
      say: 'Add a task to call the dentist on Friday',
      calls: [['add_task', { title: 'call the dentist', due_date: '2026-11-27' }]],
    },
    { say: 'add pay rent !urgent', calls: [['add_task', { title: 'pay rent', priority: 'high' }]] },
    {
      say: 'remind me to pay rent next monday, high priority',
      calls: [['add_task', { title: 'pay rent', due_date: '2026-11-30', priority: 'high' }]],
    },
    { say: 'I need to renew my passport', calls: [['add_task', { title: 'renew my passport' }]] },
    {
      say: 'please add water the plants in 3 days',
      calls: [['add_task', { title: 'water the plants', due_date: '2026-11-26' }]],
    },
    { say: 'can you add call mom today?', calls: [['add_task', { title: 'call mom', due_date: TODAY }]] },
    {
      say: "don't forget to book flights on December 5",
      calls: [['add_task', { title: 'book flights', due_date: '2026-12-05' }]],
    },
    {
      say: 'add file taxes 15 april, low priority',
      calls: [['add_task', { title: 'file taxes', due_date: '2027-04-15', priority: 'low' }]],
    },
    { say: 'new task: clean the garage', calls: [['add_task', { title: 'clean the garage' }]] },
    {
      say: 'add buy a gift for Sunday !low',
      calls: [['add_task', { title: 'buy a gift', due_date: '2026-11-29', priority: 'low' }]],
    },
    {
      say: 'I have to send the report by 2026-12-01',
      calls: [['add_task', { title: 'send the report', due_date: '2026-12-01' }]],
    },
    { say: 'add urgent: call the bank', calls: [['add_task', { title: 'call the bank', priority: 'high' }]] },
    {
      say: 'add a high priority task to fix the leak',
      calls: [['add_task', { title: 'fix the leak', priority: 'high' }]],
    },
    { say: 'add back up important files', calls: [['add_task', { title: 'back up important files' }]] },
    {
      say: "add prepare for tomorrow's meeting",
      calls: [['add_task', { title: "prepare for tomorrow's meeting" }]],
    },
    {
      say: 'add pick up the kids next friday',
      calls: [['add_task', { title: 'pick up the kids', due_date: '2026-12-04' }]],
    },
    {
      say: 'add renew the insurance in 2 weeks',
      calls: [['add_task', { title: 'renew the insurance', due_date: '2026-12-07' }]],
    },
    {
      say: 'add book the car service on the 3rd of December',
      calls: [['add_task', { title: 'book the car service', due_date: '2026-12-03' }]],
    },
    { say: 'add "call the plumber" to my list', calls: [['add_task', { title: 'call the plumber' }]] },
    {
      say: 'add call grandma this friday, important',
      calls: [['add_task', { title: 'call grandma', due_date: '2026-11-27', priority: 'high' }]],
    },
    {
      say: 'add buy stamps the day after tomorrow',
      calls: [['add_task', { title: 'buy stamps', due_date: '2026-11-25' }]],
    },
    {
      say: 'add buy milk, due tomorrow',
      calls: [['add_task', { title: 'buy milk', due_date: '2026-11-24' }]],
    },
    { say: 'put wrap presents on my list', calls: [['add_task', { title: 'wrap presents' }]] },
    {
      say: 'remind me tomorrow to call mom',
      calls: [['add_task', { title: 'call mom', due_date: '2026-11-24' }]],
    },
    { say: 'add pay rent on the 1st', calls: [['add_task', { title: 'pay rent', due_date: '2026-12-01' }]] },
    {
      say: 'add clean the gutters this weekend',
      calls: [['add_task', { title: 'clean the gutters', due_date: '2026-11-28' }]],
    },
    { say: 'add buy a 5th birthday card', calls: [['add_task', { title: 'buy a 5th birthday card' }]] },
  ],

  'list and questions': [
    { say: 'list', calls: [['list_tasks', { status: 'all' }]] },
    { say: 'list?', calls: [['list_tasks', { status: 'all' }]] },
    {
      say: "what's on my list?",
      seed: 'home',
      calls: [['list_tasks', { status: 'all' }]],
      reply: /^Your tasks \(3\):\n#\d+ \[ \] pay rent\n/,
    },
    { say: 'what do I have to do?', calls: [['list_tasks', { status: 'pending' }]] },
    { say: 'show me pending tasks', calls: [['list_tasks', { status: 'pending' }]] },
    { say: 'show completed tasks', calls: [['list_tasks', { status: 'completed' }]] },
    {
      say: 'anything due tomorrow?',
      seed: 'dated',
      calls: [['list_tasks', { status: 'pending', limit: 100 }]],
      reply: /^Due tomorrow \(Tuesday 2026-11-24\) \(1\):\n#\d+ \[ \] buy milk \(due 2026-11-24\)$/m,
    },
    {
      say: 'what is due on friday?',
      seed: 'dated',
      calls: [['list_tasks', { status: 'pending', limit: 100 }]],
      reply: /^Due on Friday \(2026-11-27\) \(1\):\n#\d+ \[ \] call the dentist/,
    },
    {
      say: "what's overdue?",
      seed: 'dated',
      calls: [['list_tasks', { status: 'pending', limit: 100 }]],
      reply: /^Due before today \(2026-11-23\) \(1\):\n#\d+ \[ \] return the library books/,
    },
    {
      say: 'find milk',
      seed: 'twins',
      calls: [['list_tasks', { search: 'milk' }]],
      reply: /^Tasks matching "milk" \(2\):/,
    },
    { say: 'do I have anything about the dentist?', calls: [['list_tasks', { search: 'dentist' }]] },
    { say: 'what have I done?', calls: [['list_tasks', { status: 'completed' }]] },
    { say: 'my tasks', calls: [['list_tasks', { status: 'all' }]] },
    { say: 'pending', calls: [['list_tasks', { status: 'pending' }]] },
    { say: 'how many tasks do I have?', calls: [['list_tasks', { status: 'all' }]] },
    { say: "what's left?", calls: [['list_tasks', { status: 'pending' }]] },
    {
      say: 'what is due this week?',
      seed: 'dated',
      calls: [['list_tasks', { status: 'pending', limit: 100 }]],
      reply: /^Due this week \(2026-11-23 to 2026-11-29\) \(2\):/,
    },
    { say: 'show me everything', calls: [['list_tasks', { status: 'all' }]] },
    { say: 'open tasks', calls: [['list_tasks', { status: 'pending' }]] },
    {
      say: 'what do I need to do today?',
      seed: 'dated',
      calls: [['list_tasks', { status: 'pending', limit: 100 }]],
      reply: /^Nothing pending is due today \(2026-11-23\)\.$/,
    },
    {
      say: 'Show my to-do list',
      calls: [['list_tasks', { status: 'all' }]],
      reply: /^You have no tasks yet\./,
    },
  ],

  complete: [
    { say: 'done {milk}', seed: 'home', calls: [['complete_task', { task_id: '{milk}' }]] },
    { say: 'complete #{milk}', seed: 'home', calls: [['complete_task', { task_id: '{milk}' }]] },
    { say: 'mark {milk} as done', seed: 'home', calls: [['complete_task', { task_id: '{milk}' }]] },
    { say: 'mark task {milk} done', seed: 'home', calls: [['complete_task', { task_id: '{milk}' }]] },
    { say: 'task {milk} is done', seed: 'home', calls: [['complete_task', { task_id: '{milk}' }]] },
    { say: '#{milk} done', seed: 'home', calls: [['complete_task', { task_id: '{milk}' }]] },
    { say: 'finished {milk}', seed: 'home', calls: [['complete_task', { task_id: '{milk}' }]] },
    { say: 'please mark #{milk} complete', seed: 'home', calls: [['complete_task', { task_id: '{milk}' }]] },
    { say: 'tick off {milk}', seed: 'home', calls: [['complete_task', { task_id: '{milk}' }]] },
    { say: "I'm done with task {milk}", seed: 'home', calls: [['complete_task', { task_id: '{milk}' }]] },
    { say: 'check off #{rent}', seed: 'home', calls: [['complete_task', { task_id: '{rent}' }]] },
    { say: 'close {rent}', seed: 'home', calls: [['complete_task', { task_id: '{rent}' }]] },
    { say: 'mark it done', seed: 'home', calls: [['complete_task', { task_id: '{rent}' }]] },
  ],

  reopen: [
    {
      say: 'undo {milk}',
      seed: 'finished',
      calls: [['complete_task', { task_id: '{milk}', completed: false }]],
    },
    {
      say: 'reopen #{milk}',
      seed: 'finished',
      calls: [['complete_task', { task_id: '{milk}', completed: false }]],
    },
    {
      say: 'mark {milk} as not done',
      seed: 'finished',
      calls: [['complete_task', { task_id: '{milk}', completed: false }]],
    },
    {
      say: 'mark task {milk} undone',
      seed: 'finished',
      calls: [['complete_task', { task_id: '{milk}', completed: false }]],
    },
    {
      say: '{milk} is not done yet',
      seed: 'finished',
      calls: [['complete_task', { task_id: '{milk}', completed: false }]],
    },
    {
      say: 'uncheck {milk}',
      seed: 'finished',
      calls: [['complete_task', { task_id: '{milk}', completed: false }]],
    },
    {
      say: 'reopen the milk one',
      seed: 'finished',
      calls: [
        ['list_tasks', { status: 'completed', search: 'milk' }],
        ['complete_task', { task_id: '{milk}', completed: false }],
      ],
    },
    {
      say: "I didn't finish buying milk",
      seed: 'finished',
      calls: [
        ['list_tasks', { status: 'completed', search: 'milk' }],
        ['complete_task', { task_id: '{milk}', completed: false }],
      ],
    },
    {
      say: 'mark the dentist as pending',
      seed: 'finished',
      calls: [
        ['list_tasks', { status: 'completed', search: 'dentist' }],
        ['complete_task', { task_id: '{dentist}', completed: false }],
      ],
    },
    {
      say: 'the dentist task is still open',
      seed: 'finished',
      calls: [
        ['list_tasks', { status: 'completed', search: 'dentist' }],
        ['complete_task', { task_id: '{dentist}', completed: false }],
      ],
    },
    {
      say: 'restore #{dentist}',
      seed: 'finished',
      calls: [['complete_task', { task_id: '{dentist}', completed: false }]],
    },
    {
      say: 'mark {dentist} as incomplete',
      seed: 'finished',
      calls: [['complete_task', { task_id: '{dentist}', completed: false }]],
    },
  ],

  delete: [
    { say: 'delete {milk}', seed: 'home', calls: [['delete_task', { task_id: '{milk}' }]] },
    { say: 'delete task {milk}', seed: 'home', calls: [['delete_task', { task_id: '{milk}' }]] },
    { say: 'remove #{milk}', seed: 'home', calls: [['delete_task', { task_id: '{milk}' }]] },
    {
      say: 'please delete task number {milk}',
      seed: 'home',
      calls: [['delete_task', { task_id: '{milk}' }]],
    },
    { say: 'get rid of {milk}', seed: 'home', calls: [['delete_task', { task_id: '{milk}' }]] },
    { say: 'cancel task {milk}', seed: 'home', calls: [['delete_task', { task_id: '{milk}' }]] },
    {
      say: 'delete the dentist task',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'dentist' }],
        ['delete_task', { task_id: '{dentist}' }],
      ],
    },
    {
      say: 'remove the milk one from my list',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'milk' }],
        ['delete_task', { task_id: '{milk}' }],
      ],
    },
    {
      say: "I don't need to pay rent anymore",
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'rent' }],
        ['delete_task', { task_id: '{rent}' }],
      ],
    },
    { say: 'trash #{rent}', seed: 'home', calls: [['delete_task', { task_id: '{rent}' }]] },
    {
      say: 'forget about the dentist',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'dentist' }],
        ['delete_task', { task_id: '{dentist}' }],
      ],
    },
    { say: 'drop task {dentist}', seed: 'home', calls: [['delete_task', { task_id: '{dentist}' }]] },
    { say: 'delete it', seed: 'home', calls: [['delete_task', { task_id: '{rent}' }]] },
  ],

  rename: [
    {
      say: 'rename {milk} to buy oat milk',
      seed: 'home',
      calls: [['update_task', { task_id: '{milk}', title: 'buy oat milk' }]],
    },
    {
      say: 'rename task #{milk} to "Buy oat milk"',
      seed: 'home',
      calls: [['update_task', { task_id: '{milk}', title: 'Buy oat milk' }]],
    },
    {
      say: 'change {milk} to buy almond milk',
      seed: 'home',
      calls: [['update_task', { task_id: '{milk}', title: 'buy almond milk' }]],
    },
    {
      say: 'rename the milk one to buy soy milk',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'milk' }],
        ['update_task', { task_id: '{milk}', title: 'buy soy milk' }],
      ],
    },
    {
      say: 'change the title of {rent} to pay the rent',
      seed: 'home',
      calls: [['update_task', { task_id: '{rent}', title: 'pay the rent' }]],
    },
    {
      say: 'rename the dentist task as call Dr. Smith',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'dentist' }],
        ['update_task', { task_id: '{dentist}', title: 'call Dr. Smith' }],
      ],
    },
    {
      say: 'update {rent} to say pay rent and bills',
      seed: 'home',
      calls: [['update_task', { task_id: '{rent}', title: 'pay rent and bills' }]],
    },
    {
      say: 'rename {dentist}: book a dentist appointment',
      seed: 'home',
      calls: [['update_task', { task_id: '{dentist}', title: 'book a dentist appointment' }]],
    },
    {
      say: 'edit #{dentist} to call the dentist again',
      seed: 'home',
      calls: [['update_task', { task_id: '{dentist}', title: 'call the dentist again' }]],
    },
    {
      say: 'retitle {rent} to pay December rent',
      seed: 'home',
      calls: [['update_task', { task_id: '{rent}', title: 'pay December rent' }]],
    },
    {
      say: 'rename it to pay the rent and the gas bill',
      seed: 'home',
      calls: [['update_task', { task_id: '{rent}', title: 'pay the rent and the gas bill' }]],
    },
    {
      say: "change the dentist's name to see the dentist",
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'dentist' }],
        ['update_task', { task_id: '{dentist}', title: 'see the dentist' }],
      ],
    },
  ],

  reschedule: [
    {
      say: 'move the dentist to Friday',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'dentist' }],
        ['update_task', { task_id: '{dentist}', due_date: '2026-11-27' }],
      ],
    },
    {
      say: 'move {milk} to tomorrow',
      seed: 'home',
      calls: [['update_task', { task_id: '{milk}', due_date: '2026-11-24' }]],
    },
    {
      say: 'postpone #{milk} until next monday',
      seed: 'home',
      calls: [['update_task', { task_id: '{milk}', due_date: '2026-11-30' }]],
    },
    {
      say: 'reschedule task {milk} for December 5',
      seed: 'home',
      calls: [['update_task', { task_id: '{milk}', due_date: '2026-12-05' }]],
    },
    {
      say: 'push {rent} to next week',
      seed: 'home',
      calls: [['update_task', { task_id: '{rent}', due_date: '2026-11-30' }]],
    },
    {
      say: 'due {milk} 2026-12-10',
      seed: 'home',
      calls: [['update_task', { task_id: '{milk}', due_date: '2026-12-10' }]],
    },
    {
      say: 'set the due date of {rent} to friday',
      seed: 'home',
      calls: [['update_task', { task_id: '{rent}', due_date: '2026-11-27' }]],
    },
    {
      say: 'the dentist is due on Wednesday',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'dentist' }],
        ['update_task', { task_id: '{dentist}', due_date: '2026-11-25' }],
      ],
    },
    {
      say: 'task {milk} is due tomorrow',
      seed: 'home',
      calls: [['update_task', { task_id: '{milk}', due_date: '2026-11-24' }]],
    },
    {
      say: 'make {rent} due on the 1st of December',
      seed: 'home',
      calls: [['update_task', { task_id: '{rent}', due_date: '2026-12-01' }]],
    },
    {
      say: 'remove the due date of {milk}',
      seed: 'dated',
      calls: [['update_task', { task_id: '{milk}', due_date: null }]],
    },
    {
      say: 'move the rent to 2026-12-24',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'rent' }],
        ['update_task', { task_id: '{rent}', due_date: '2026-12-24' }],
      ],
    },
    {
      say: '{dentist} due in 2 weeks',
      seed: 'home',
      calls: [['update_task', { task_id: '{dentist}', due_date: '2026-12-07' }]],
    },
    {
      say: 'reschedule it to next tuesday',
      seed: 'home',
      calls: [['update_task', { task_id: '{rent}', due_date: '2026-12-01' }]],
    },
  ],

  're-prioritise': [
    {
      say: 'make {milk} high priority',
      seed: 'home',
      calls: [['update_task', { task_id: '{milk}', priority: 'high' }]],
    },
    {
      say: 'set #{milk} to low priority',
      seed: 'home',
      calls: [['update_task', { task_id: '{milk}', priority: 'low' }]],
    },
    {
      say: 'priority {milk} high',
      seed: 'home',
      calls: [['update_task', { task_id: '{milk}', priority: 'high' }]],
    },
    {
      say: 'make the rent urgent',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'rent' }],
        ['update_task', { task_id: '{rent}', priority: 'high' }],
      ],
    },
    {
      say: 'mark the dentist as important',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'dentist' }],
        ['update_task', { task_id: '{dentist}', priority: 'high' }],
      ],
    },
    {
      say: 'task {rent} is low priority',
      seed: 'home',
      calls: [['update_task', { task_id: '{rent}', priority: 'low' }]],
    },
    {
      say: 'change the priority of {rent} to medium',
      seed: 'home',
      calls: [['update_task', { task_id: '{rent}', priority: 'medium' }]],
    },
    {
      say: 'prioritise the dentist',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'dentist' }],
        ['update_task', { task_id: '{dentist}', priority: 'high' }],
      ],
    },
    {
      say: 'lower the priority of {milk}',
      seed: 'home',
      calls: [['update_task', { task_id: '{milk}', priority: 'low' }]],
    },
    { say: '{milk} !high', seed: 'home', calls: [['update_task', { task_id: '{milk}', priority: 'high' }]] },
    {
      say: 'set {milk} high',
      seed: 'home',
      calls: [['update_task', { task_id: '{milk}', priority: 'high' }]],
    },
    {
      say: 'deprioritize task {rent}',
      seed: 'home',
      calls: [['update_task', { task_id: '{rent}', priority: 'low' }]],
    },
    {
      say: 'give {dentist} top priority',
      seed: 'home',
      calls: [['update_task', { task_id: '{dentist}', priority: 'high' }]],
    },
    {
      say: 'make it low priority',
      seed: 'home',
      calls: [['update_task', { task_id: '{rent}', priority: 'low' }]],
    },
    {
      say: 'this is urgent',
      seed: 'home',
      calls: [['update_task', { task_id: '{rent}', priority: 'high' }]],
    },
  ],

  'references by position': [
    {
      say: 'mark the second one done',
      seed: 'home',
      before: ['list'],
      calls: [['complete_task', { task_id: '{dentist}' }]],
    },
    {
      say: 'delete the first one',
      seed: 'home',
      before: ['list'],
      calls: [['delete_task', { task_id: '{rent}' }]],
    },
    {
      say: 'the last one is done',
      seed: 'home',
      before: ['list'],
      calls: [['complete_task', { task_id: '{milk}' }]],
    },
    {
      say: 'done with the 2nd one',
      seed: 'home',
      before: ["what's on my list?"],
      calls: [['complete_task', { task_id: '{dentist}' }]],
    },
    {
      say: 'move the third one to friday',
      seed: 'home',
      before: ['list'],
      calls: [['update_task', { task_id: '{milk}', due_date: '2026-11-27' }]],
    },
    {
      say: 'make the first one high priority',
      seed: 'home',
      before: ['list'],
      calls: [['update_task', { task_id: '{rent}', priority: 'high' }]],
    },
    {
      say: 'rename the second task to call the orthodontist',
      seed: 'home',
      before: ['list'],
      calls: [['update_task', { task_id: '{dentist}', title: 'call the orthodontist' }]],
    },
    {
      say: 'remove the last one',
      seed: 'home',
      before: ['list'],
      calls: [['delete_task', { task_id: '{milk}' }]],
    },
    {
      say: 'finished the top one',
      seed: 'home',
      before: ['list'],
      calls: [['complete_task', { task_id: '{rent}' }]],
    },
    {
      say: 'mark the third task as done',
      seed: 'home',
      before: ['list'],
      calls: [['complete_task', { task_id: '{milk}' }]],
    },
    {
      say: 'reopen the first one',
      seed: 'home',
      before: ['done {rent}', 'list'],
      calls: [['complete_task', { task_id: '{rent}', completed: false }]],
    },
    {
      say: 'the first one is done',
      seed: 'home',
      before: ['done {rent}', 'show me pending tasks'],
      calls: [['complete_task', { task_id: '{dentist}' }]],
    },
    {
      say: 'delete the second one',
      seed: 'twins',
      before: ['find milk'],
      calls: [['delete_task', { task_id: '{oat}' }]],
    },
    {
      say: 'the second one',
      seed: 'twins',
      before: ['mark the milk one done'],
      calls: [['complete_task', { task_id: '{oat}' }]],
    },
    {
      say: '{oat}',
      seed: 'twins',
      before: ['delete the milk one'],
      calls: [['delete_task', { task_id: '{oat}' }]],
    },
    {
      say: 'the second to last one is done',
      seed: 'dated',
      before: ['anything due this week?'],
      calls: [['complete_task', { task_id: '{dentist}' }]],
    },
  ],

  'references by title': [
    {
      say: 'mark the milk one done',
      seed: 'home',
      calls: [
        ['list_tasks', { status: 'pending', search: 'milk' }],
        ['complete_task', { task_id: '{milk}' }],
      ],
    },
    {
      say: 'I finished buying milk',
      seed: 'home',
      calls: [
        ['list_tasks', { status: 'pending', search: 'milk' }],
        ['complete_task', { task_id: '{milk}' }],
      ],
    },
    {
      say: 'I paid the rent',
      seed: 'home',
      calls: [
        ['list_tasks', { status: 'pending', search: 'rent' }],
        ['complete_task', { task_id: '{rent}' }],
      ],
    },
    {
      say: 'called the dentist',
      seed: 'home',
      calls: [
        ['list_tasks', { status: 'pending', search: 'dentist' }],
        ['complete_task', { task_id: '{dentist}' }],
      ],
    },
    {
      say: 'done with the milk',
      seed: 'home',
      calls: [
        ['list_tasks', { status: 'pending', search: 'milk' }],
        ['complete_task', { task_id: '{milk}' }],
      ],
    },
    {
      say: 'Buying milk is done',
      seed: 'home',
      calls: [
        ['list_tasks', { status: 'pending', search: 'milk' }],
        ['complete_task', { task_id: '{milk}' }],
      ],
    },
    {
      say: 'push the rent to tomorrow',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'rent' }],
        ['update_task', { task_id: '{rent}', due_date: '2026-11-24' }],
      ],
    },
    {
      say: 'make the milk one low priority',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'milk' }],
        ['update_task', { task_id: '{milk}', priority: 'low' }],
      ],
    },
    {
      say: 'the dentist can be deleted',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'dentist' }],
        ['delete_task', { task_id: '{dentist}' }],
      ],
    },
    {
      say: 'mark the MILK task as done',
      seed: 'home',
      calls: [
        ['list_tasks', { status: 'pending', search: 'milk' }],
        ['complete_task', { task_id: '{milk}' }],
      ],
    },
    {
      say: "I've called the dentist",
      seed: 'home',
      calls: [
        ['list_tasks', { status: 'pending', search: 'dentist' }],
        ['complete_task', { task_id: '{dentist}' }],
      ],
    },
    {
      say: 'I bought the oat milk',
      seed: 'twins',
      calls: [
        ['list_tasks', { status: 'pending', search: 'milk' }],
        ['complete_task', { task_id: '{oat}' }],
      ],
    },
    {
      say: 'finished the bread',
      seed: 'twins',
      calls: [
        ['list_tasks', { status: 'pending', search: 'bread' }],
        ['complete_task', { task_id: '{bread}' }],
      ],
    },
    {
      say: 'mark the milk one done',
      seed: 'twins',
      calls: [['list_tasks', { status: 'pending', search: 'milk' }]],
      reply:
        /^2 pending tasks match "milk": #\d+ "buy milk" and #\d+ "buy oat milk"\. Which one do you mean\?/,
    },
    {
      say: 'delete the groceries task',
      seed: 'home',
      calls: [['list_tasks', { search: 'grocer' }]],
      reply: /^No task matches "groceries"; say "list" to see your tasks/,
    },
    {
      say: 'I finished buying milk',
      seed: 'finished',
      calls: [['list_tasks', { status: 'pending', search: 'milk' }]],
      reply: /^No pending task matches "buying milk"/,
    },
  ],

  'several tasks in one sentence': [
    {
      say: 'I need to pay rent on the 1st, call the dentist, and buy a birthday gift for Sam by Friday',
      calls: [
        ['add_task', { title: 'pay rent', due_date: '2026-12-01' }],
        ['add_task', { title: 'call the dentist' }],
        ['add_task', { title: 'buy a birthday gift for Sam', due_date: '2026-11-27' }],
      ],
      reply:
        /^Added 3 tasks: #1 "pay rent" \(due 2026-12-01\), #2 "call the dentist" and #3 "buy a birthday gift for Sam" \(due 2026-11-27\)\.\n/,
    },
    {
      say: 'add buy milk tomorrow and call mom on friday',
      calls: [
        ['add_task', { title: 'buy milk', due_date: '2026-11-24' }],
        ['add_task', { title: 'call mom', due_date: '2026-11-27' }],
      ],
      reply: /^Added 2 tasks: #1 "buy milk" \(due 2026-11-24\) and #2 "call mom" \(due 2026-11-27\)\./,
    },
    {
      say: 'add walk the dog, feed the cat, water the plants',
      calls: [
        ['add_task', { title: 'walk the dog' }],
        ['add_task', { title: 'feed the cat' }],
        ['add_task', { title: 'water the plants' }],
      ],
      reply: /^Added 3 tasks: #1 "walk the dog", #2 "feed the cat" and #3 "water the plants"\./,
    },
    {
      say: 'I have to email Anna today and book a table on saturday',
      calls: [
        ['add_task', { title: 'email Anna', due_date: TODAY }],
        ['add_task', { title: 'book a table', due_date: '2026-11-28' }],
      ],
      reply: /^Added 2 tasks: /,
    },
    {
      say: 'add pay the bills, high priority, and call mom tomorrow',
      calls: [
        ['add_task', { title: 'pay the bills', priority: 'high' }],
        ['add_task', { title: 'call mom', due_date: '2026-11-24' }],
      ],
      reply: /^Added 2 tasks: #1 "pay the bills" \(high priority\) and #2 "call mom" \(due 2026-11-24\)\./,
    },
    // One task: "and" joins things, not tasks, without a comma list or a date before it.
    { say: 'add buy bread and butter', calls: [['add_task', { title: 'buy bread and butter' }]] },
    { say: 'add buy eggs, milk and bread', calls: [['add_task', { title: 'buy eggs, milk and bread' }]] },
    { say: 'add call Bob, the plumber', calls: [['add_task', { title: 'call Bob, the plumber' }]] },
    {
      say: 'add take out the bins every tuesday and friday',
      time: true,
      calls: [
        [
          'add_task',
          { title: 'take out the bins', due_date: '2026-11-24', repeat: 'FREQ=WEEKLY;BYDAY=TU,FR' },
        ],
      ],
    },
  ],

  dates: [
    {
      say: 'add renew passport in a month',
      calls: [['add_task', { title: 'renew passport', due_date: '2026-12-23' }]],
    },
    {
      say: 'add book flights next week',
      calls: [['add_task', { title: 'book flights', due_date: '2026-11-30' }]],
    },
    {
      say: 'add clean the fridge by the end of the month',
      calls: [['add_task', { title: 'clean the fridge', due_date: '2026-11-30' }]],
    },
    { say: 'add call mom on Dec 24', calls: [['add_task', { title: 'call mom', due_date: '2026-12-24' }]] },
    {
      say: 'add buy a tree in 2 weeks',
      calls: [['add_task', { title: 'buy a tree', due_date: '2026-12-07' }]],
    },
    {
      say: 'add sign up for the gym this wednesday',
      calls: [['add_task', { title: 'sign up for the gym', due_date: '2026-11-25' }]],
    },
    {
      say: 'add call grandma thursday',
      calls: [['add_task', { title: 'call grandma', due_date: '2026-11-26' }]],
    },
    { say: 'add meet Ann next tue', calls: [['add_task', { title: 'meet Ann', due_date: '2026-12-01' }]] },
    {
      say: 'add send the invoice today',
      calls: [['add_task', { title: 'send the invoice', due_date: TODAY }]],
    },
    // A weekday is "the coming one": said on a Monday, "monday" is next week's.
    {
      say: 'add water the lawn on monday',
      calls: [['add_task', { title: 'water the lawn', due_date: '2026-11-30' }]],
    },
  ],

  'typos and shorthand': [
    {
      say: 'pls ad pick up dry cleaning tmrw',
      calls: [['add_task', { title: 'pick up dry cleaning', due_date: '2026-11-24' }]],
    },
    { say: 'ad buy milk', calls: [['add_task', { title: 'buy milk' }]] },
    { say: 'plz add call mom 2moro', calls: [['add_task', { title: 'call mom', due_date: '2026-11-24' }]] },
    { say: 'lsit', calls: [['list_tasks', { status: 'all' }]] },
    { say: 'shw pending', calls: [['list_tasks', { status: 'pending' }]] },
    {
      say: 'whats due tmrw?',
      seed: 'dated',
      calls: [['list_tasks', { status: 'pending', limit: 100 }]],
      reply: /^Due tomorrow \(Tuesday 2026-11-24\) \(1\):\n#\d+ \[ \] buy milk/,
    },
    { say: 'delte {milk}', seed: 'home', calls: [['delete_task', { task_id: '{milk}' }]] },
    { say: 'compelte {milk}', seed: 'home', calls: [['complete_task', { task_id: '{milk}' }]] },
    { say: 'remvoe {rent}', seed: 'home', calls: [['delete_task', { task_id: '{rent}' }]] },
    { say: 'mrak {milk} done', seed: 'home', calls: [['complete_task', { task_id: '{milk}' }]] },
    {
      say: 'renmae {milk} to buy oat milk',
      seed: 'home',
      calls: [['update_task', { task_id: '{milk}', title: 'buy oat milk' }]],
    },
  ],

  'leading fillers': [
    {
      say: 'actually make the gift high priority',
      seed: 'errands',
      calls: [
        ['list_tasks', { search: 'gift' }],
        ['update_task', { task_id: '{gift}', priority: 'high' }],
      ],
    },
    { say: 'oh and add call mom', calls: [['add_task', { title: 'call mom' }]] },
    {
      say: 'also add buy milk tomorrow',
      calls: [['add_task', { title: 'buy milk', due_date: '2026-11-24' }]],
    },
    {
      say: 'oh and the dentist one is done',
      seed: 'errands',
      calls: [
        ['list_tasks', { status: 'pending', search: 'dentist' }],
        ['complete_task', { task_id: '{dentist}' }],
      ],
    },
    { say: 'btw delete {milk}', seed: 'home', calls: [['delete_task', { task_id: '{milk}' }]] },
    { say: "ok so what's left?", calls: [['list_tasks', { status: 'pending' }]] },
    {
      say: 'actually, move the dentist to friday',
      seed: 'home',
      calls: [
        ['list_tasks', { search: 'dentist' }],
        ['update_task', { task_id: '{dentist}', due_date: '2026-11-27' }],
      ],
    },
    { say: 'wait, mark {rent} done', seed: 'home', calls: [['complete_task', { task_id: '{rent}' }]] },
    { say: 'um, list', calls: [['list_tasks', { status: 'all' }]] },
    {
      say: 'oops, undo {milk}',
      seed: 'finished',
      calls: [['complete_task', { task_id: '{milk}', completed: false }]],
    },
  ],

  'what was finished': [
    {
      say: 'what did I finish today?',
      seed: 'finished',
      calls: [['list_tasks', { status: 'completed', limit: 100 }]],
      reply:
        /^Completed tasks last changed today \(2026-11-23\), which is as close as I can tell to when they were finished \(2\):\n#2 \[x\] call the dentist\n#1 \[x\] buy milk$/,
    },
    {
      say: 'what did I do this week?',
      seed: 'finished',
      calls: [['list_tasks', { status: 'completed', limit: 100 }]],
      reply: /^Completed tasks last changed this week \(2026-11-23\), .*\(2\):\n#2 \[x\] call the dentist/,
    },
    {
      say: 'what have I done today',
      seed: 'finished',
      calls: [['list_tasks', { status: 'completed', limit: 100 }]],
      reply: /^Completed tasks last changed today \(2026-11-23\)/,
    },
    {
      say: 'what did I finish yesterday?',
      seed: 'finished',
      calls: [['list_tasks', { status: 'completed', limit: 100 }]],
      reply: /^No completed task was last changed yesterday \(2026-11-22\)\.$/,
    },
    {
      say: 'what did we get done last week?',
      calls: [['list_tasks', { status: 'completed', limit: 100 }]],
      reply: /^No completed task was last changed last week \(2026-11-16 to 2026-11-22\)\.\n/,
    },
    { say: 'what did I finish?', calls: [['list_tasks', { status: 'completed' }]] },
  ],

  'references to "it" and "that one"': [
    { say: 'mark it done', seed: 'home', calls: [['complete_task', { task_id: '{rent}' }]] },
    { say: 'delete that one', seed: 'home', calls: [['delete_task', { task_id: '{rent}' }]] },
    {
      say: 'make it high priority',
      seed: 'home',
      before: ['move the dentist to friday'],
      calls: [['update_task', { task_id: '{dentist}', priority: 'high' }]],
    },
    // After "which one?", "it" is one of the tasks asked about, never an older task: here the
    // dentist was the task touched before the question ("the dentist case").
    {
      say: 'make it high priority',
      seed: 'gifts',
      before: ['move the dentist to friday', 'make the gift urgent'],
      calls: [],
      reply:
        /^Which one do you mean by "it": #2 "gift wrap the presents" or #1 "buy a birthday gift for Sam"\?/,
    },
    {
      say: 'delete it',
      seed: 'gifts',
      before: ['move the dentist to friday', 'make the gift urgent'],
      calls: [],
      reply:
        /^Which one do you mean by "it": #2 "gift wrap the presents" or #1 "buy a birthday gift for Sam"\?/,
    },
    {
      say: 'make it high priority',
      seed: 'gifts',
      before: ['make the gift urgent'],
      calls: [],
      reply:
        /^Which one do you mean by "it": #2 "gift wrap the presents" or #1 "buy a birthday gift for Sam"\? Name it by its #id\.$/,
    },
    {
      say: 'delete it',
      seed: 'gifts',
      before: ['make the gift urgent'],
      calls: [],
      reply:
        /^Which one do you mean by "it": #2 "gift wrap the presents" or #1 "buy a birthday gift for Sam"\?/,
    },
    {
      say: 'delete it',
      before: ['add pay rent, call the dentist and buy a gift'],
      calls: [],
      reply: /^Which one do you mean by "it": #1 "pay rent", #2 "call the dentist" or #3 "buy a gift"\?/,
    },
    {
      say: 'mark it done',
      seed: 'home',
      before: ['list'],
      calls: [],
      reply: /^Which one do you mean by "it": #3 "pay rent", #2 "call the dentist" or #1 "buy milk"\?/,
    },
    {
      say: 'the first one',
      seed: 'gifts',
      before: ['make the gift urgent'],
      calls: [['update_task', { task_id: '{wrap}', priority: 'high' }]],
    },
    {
      say: '#1',
      seed: 'gifts',
      before: ['make the gift urgent', 'delete it'],
      calls: [['delete_task', { task_id: '{gift}' }]],
    },
    {
      say: 'it is done',
      seed: 'home',
      before: ['find dentist'],
      calls: [['complete_task', { task_id: '{dentist}' }]],
    },
    { say: 'delete it', calls: [], reply: /^I'm not sure which task "it" is here/ },
  ],

  repeat: [
    // No time said: the reminder is at 09:00 on each occurrence (the tool moves it with the task).
    {
      say: 'remind me every monday to water the plants',
      time: true,
      calls: [
        [
          'add_task',
          {
            title: 'water the plants',
            due_date: TODAY,
            repeat: 'FREQ=WEEKLY;BYDAY=MO',
            reminder: '2026-11-23T09:00:00+00:00',
          },
        ],
      ],
      reply: /^Added #1 "water the plants" \(due 2026-11-23, repeats every monday, reminder at 09:00\)\./,
    },
    // Tools without `repeat`: added once, with a clean title, and the reply says so.
    {
      say: 'remind me every monday to water the plants',
      calls: [['add_task', { title: 'water the plants', due_date: TODAY }]],
      reply:
        /^Added #1 "water the plants" \(due 2026-11-23\)\. Repeating tasks are not available here yet, so "water the plants" was added once, due 2026-11-23, not every monday\./,
    },
    {
      say: 'add take vitamins every day',
      time: true,
      calls: [['add_task', { title: 'take vitamins', due_date: TODAY, repeat: 'FREQ=DAILY' }]],
    },
    {
      say: 'add check the mail every weekday',
      time: true,
      calls: [
        [
          'add_task',
          { title: 'check the mail', due_date: TODAY, repeat: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR' },
        ],
      ],
    },
    {
      say: 'add water the ferns every 2 weeks',
      time: true,
      calls: [['add_task', { title: 'water the ferns', due_date: TODAY, repeat: 'FREQ=WEEKLY;INTERVAL=2' }]],
    },
    {
      say: 'add pay rent every month on the 1st',
      time: true,
      calls: [
        ['add_task', { title: 'pay rent', due_date: '2026-12-01', repeat: 'FREQ=MONTHLY;BYMONTHDAY=1' }],
      ],
    },
    {
      say: 'add call grandma every sunday',
      time: true,
      calls: [
        ['add_task', { title: 'call grandma', due_date: '2026-11-29', repeat: 'FREQ=WEEKLY;BYDAY=SU' }],
      ],
    },
    {
      say: 'add review the budget monthly',
      time: true,
      calls: [['add_task', { title: 'review the budget', due_date: TODAY, repeat: 'FREQ=MONTHLY' }]],
    },
    {
      say: 'add renew the domain every year',
      time: true,
      calls: [['add_task', { title: 'renew the domain', due_date: TODAY, repeat: 'FREQ=YEARLY' }]],
    },
    {
      say: 'add clean the fridge every other week',
      time: true,
      calls: [['add_task', { title: 'clean the fridge', due_date: TODAY, repeat: 'FREQ=WEEKLY;INTERVAL=2' }]],
    },
    {
      say: 'add team lunch on fridays',
      time: true,
      calls: [['add_task', { title: 'team lunch', due_date: '2026-11-27', repeat: 'FREQ=WEEKLY;BYDAY=FR' }]],
    },
    {
      say: 'add back up the laptop every 3 days',
      time: true,
      calls: [
        ['add_task', { title: 'back up the laptop', due_date: TODAY, repeat: 'FREQ=DAILY;INTERVAL=3' }],
      ],
    },
    {
      say: 'add yoga every tuesday starting next week',
      time: true,
      calls: [['add_task', { title: 'yoga', due_date: '2026-11-30', repeat: 'FREQ=WEEKLY;BYDAY=TU' }]],
    },
  ],

  reminders: [
    {
      say: 'remind me at 5pm to call mom',
      time: true,
      calls: [
        [
          'add_task',
          { title: 'call mom', due_date: TODAY, due_time: '17:00', reminder: '2026-11-23T17:00:00+00:00' },
        ],
      ],
      reply: /^Added #1 "call mom" \(due 2026-11-23 17:00, reminder at 17:00\)\./,
    },
    {
      say: 'remind me tomorrow at 9am to call the bank',
      time: true,
      calls: [
        [
          'add_task',
          {
            title: 'call the bank',
            due_date: '2026-11-24',
            due_time: '09:00',
            reminder: '2026-11-24T09:00:00+00:00',
          },
        ],
      ],
    },
    {
      say: 'remind me to pay rent at 17:30 on friday',
      time: true,
      calls: [
        [
          'add_task',
          {
            title: 'pay rent',
            due_date: '2026-11-27',
            due_time: '17:30',
            reminder: '2026-11-27T17:30:00+00:00',
          },
        ],
      ],
    },
    {
      say: 'remind me tomorrow at 5pm to call mom',
      time: true,
      calls: [
        [
          'add_task',
          {
            title: 'call mom',
            due_date: '2026-11-24',
            due_time: '17:00',
            reminder: '2026-11-24T17:00:00+00:00',
          },
        ],
      ],
      reply: /^Added #1 "call mom" \(due 2026-11-24 17:00, reminder at 17:00\)\./,
    },
    // A reminder some time before: derived from the due date and time.
    {
      say: 'remind me tomorrow at 5pm to call mom 30 minutes before',
      time: true,
      calls: [
        [
          'add_task',
          {
            title: 'call mom',
            due_date: '2026-11-24',
            due_time: '17:00',
            reminder: '2026-11-24T16:30:00+00:00',
          },
        ],
      ],
      reply: /^Added #1 "call mom" \(due 2026-11-24 17:00, reminder at 16:30\)\./,
    },
    {
      say: 'add pay rent on the 1st, remind me 1 day before',
      time: true,
      calls: [
        ['add_task', { title: 'pay rent', due_date: '2026-12-01', reminder: '2026-11-30T09:00:00+00:00' }],
      ],
      reply: /^Added #1 "pay rent" \(due 2026-12-01, reminder at 09:00 on 2026-11-30\)\./,
    },
    {
      say: 'add dentist appointment friday at 3pm',
      time: true,
      calls: [['add_task', { title: 'dentist appointment', due_date: '2026-11-27', due_time: '15:00' }]],
    },
    {
      say: 'add lunch with Ann at noon',
      time: true,
      calls: [['add_task', { title: 'lunch with Ann', due_date: TODAY, due_time: '12:00' }]],
    },
    // Tools without reminders: the task with its day, and the reply says nothing will remind.
    {
      say: 'remind me at 5pm to call mom',
      calls: [['add_task', { title: 'call mom', due_date: TODAY }]],
      reply:
        /^Added #1 "call mom" \(due 2026-11-23\)\. Reminders are not available here yet, so nothing will remind you at 17:00\./,
    },
    {
      say: 'add dentist appointment friday at 3pm',
      calls: [['add_task', { title: 'dentist appointment', due_date: '2026-11-27' }]],
      reply:
        /^Added #1 "dentist appointment" \(due 2026-11-27\)\. Times of day are not available here yet, so 15:00 was not saved\./,
    },
  ],

  // "undo" takes back what this conversation changed, by the change_id its results carried;
  // "undo" with a task ("undo {milk}") still reopens that task.
  'undoing changes': [
    {
      say: 'undo',
      undo: true,
      before: ['add buy bread'],
      calls: [['undo_change', { change_id: 1 }]],
      reply: /^Undone: #1 "buy bread" is removed again\.$/,
    },
    {
      say: 'undo that',
      undo: true,
      seed: 'home',
      before: ['delete {milk}'],
      calls: [['undo_change', { change_id: 4 }]],
      reply: /^Undone: #\d+ "buy milk" is back, with its number\.$/,
    },
    {
      say: 'oops, take that back',
      undo: true,
      seed: 'home',
      before: ['done {milk}'],
      calls: [['undo_change', { change_id: 4 }]],
      reply: /^Undone: #\d+ "buy milk" is open again\.$/,
    },
    {
      say: 'undo the last change',
      undo: true,
      seed: 'home',
      before: ['rename {rent} to pay the rent'],
      calls: [['undo_change', { change_id: 4 }]],
      reply: /^Undone: #\d+ "pay rent" is back as it was\.$/,
    },
    {
      say: 'undo the last two',
      undo: true,
      seed: 'home',
      before: ['done {milk}', 'make {rent} high priority'],
      calls: [
        ['undo_change', { change_id: 5 }],
        ['undo_change', { change_id: 4 }],
      ],
      reply: /^Undone: #\d+ "pay rent" is back as it was\. Undone: #\d+ "buy milk" is open again\.$/,
    },
    // One task changed twice: walked back newest first, so each undo finds it as its change left it.
    {
      say: 'undo the last 2 changes',
      undo: true,
      before: ['add buy bread', 'make 1 high priority'],
      calls: [
        ['undo_change', { change_id: 2 }],
        ['undo_change', { change_id: 1 }],
      ],
      reply: /^Undone: #1 "buy bread" is back as it was\. Undone: #1 "buy bread" is removed again\.$/,
    },
    // Undo after undo walks further back; it does not redo.
    {
      say: 'undo',
      undo: true,
      before: ['add buy bread', 'add buy eggs', 'undo'],
      calls: [['undo_change', { change_id: 1 }]],
      reply: /^Undone: #1 "buy bread" is removed again\.$/,
    },
    {
      say: 'undo the last three',
      undo: true,
      before: ['add buy bread'],
      calls: [['undo_change', { change_id: 1 }]],
      reply:
        /^Undone: #1 "buy bread" is removed again\. This conversation made only 1 change I could undo\.$/,
    },
    {
      say: 'undo the last 9',
      undo: true,
      before: ['add buy bread'],
      calls: [],
      reply: /^I undo at most 5 changes at a time, so nothing was undone/,
    },
    // "it" after an undo is the task the undo was about.
    {
      say: 'mark it done',
      undo: true,
      before: ['add buy bread', 'delete 1', 'undo'],
      calls: [['complete_task', { task_id: 1 }]],
    },
    // A task named: reopened, as "undo" with a task always did.
    {
      say: 'undo {milk}',
      undo: true,
      seed: 'home',
      before: ['done {milk}'],
      calls: [['complete_task', { task_id: '{milk}', completed: false }]],
    },
    // Only with the tool offered.
    {
      say: 'undo',
      before: ['add buy bread'],
      calls: [],
      reply: /^The undo_change tool is not available here, so I can't do that\.$/,
    },
  ],

  'refusals and help': [
    { say: 'help', calls: [], reply: /^This is taskchat's offline command reader, not an AI model/ },
    {
      say: 'what can you do?',
      calls: [],
      reply: /^This is taskchat's offline command reader, not an AI model/,
    },
    {
      say: 'delete all my tasks',
      seed: 'home',
      calls: [],
      reply: /^I change one task at a time, so nothing was changed/,
    },
    { say: 'clear completed', seed: 'finished', calls: [], reply: /^I change one task at a time/ },
    { say: 'mark everything done', seed: 'home', calls: [], reply: /^I change one task at a time/ },
    { say: 'delete {milk} and {rent}', seed: 'home', calls: [], reply: /^I change one task at a time/ },
    { say: 'hello', calls: [], reply: /^Hello! Try "add buy milk tomorrow"/ },
  ],

  misses: [
    {
      say: 'what time is it?',
      calls: [],
      reply: /try "list", "show pending tasks" or "anything due tomorrow\?"\.$/,
    },
    { say: 'buy milk', calls: [], reply: /try "add buy milk", "find milk" or "help"\.$/ },
    { say: '42', calls: [], reply: /try "done 42", "delete 42" or "help"\.$/ },
    {
      say: 'the second one',
      calls: [],
      reply: /try "done the second one", "delete the second one" or "help"\.$/,
    },
    { say: 'rename 3', calls: [], reply: /try "done 3", "delete 3" or "rename 3 to \.\.\."\.$/ },
    { say: 'add', calls: [], reply: /try "add buy milk tomorrow", "list" or "help"\.$/ },
    { say: 'did I finish the milk?', calls: [], reply: /try "list", "show pending tasks"/ },
    { say: 'asdfgh', calls: [], reply: /try "add asdfgh", "find asdfgh" or "help"\.$/ },
    { say: 'tell me a joke', calls: [], reply: /try "add tell me a joke", "find joke" or "help"\.$/ },
    { say: 'milk', seed: 'home', calls: [], reply: /try "add milk", "find milk" or "help"\.$/ },
    { say: 'mark as done', seed: 'home', calls: [], reply: /try "mark 1 done", "list" or "help"\.$/ },
    { say: 'yes', seed: 'home', calls: [], reply: /try "add buy milk tomorrow", "list" or "help"\.$/ },
  ],
};

// The reply each kind of last call implies: one short sentence with the task's #id.
function impliedReply(call: Call): RegExp {
  const [name, args] = call;
  if (name === 'add_task') return /^Added #\d+ "[^"]+"( \([^)]+\))?\./;
  if (name === 'complete_task')
    return args.completed === false ? /^Reopened #\d+ "[^"]+"\.$/ : /^Marked #\d+ "[^"]+" done\.$/;
  if (name === 'delete_task') return /^Deleted #\d+ "[^"]+"\.$/;
  if (name === 'update_task') {
    if ('title' in args) return /^Renamed #\d+ to "[^"]+"\.$/;
    if (args.due_date === null) return /^Removed the due date of #\d+ "[^"]+"\.$/;
    if ('due_date' in args) return new RegExp(`^Moved #\\d+ "[^"]+" to ${String(args.due_date)}\\.$`);
    return new RegExp(`^Set #\\d+ "[^"]+" to ${String(args.priority)} priority\\.$`);
  }
  return /^(?:Your tasks|Pending tasks|Completed tasks|Tasks matching|Due |Nothing|You have no|No tasks)/;
}

/** Replaces `{key}` with the seeded task's id, in text and in argument values. */
function fill(text: string, ids: Record<string, number>): string {
  return text.replace(/\{(\w+)\}/g, (_, key: string) => {
    const id = ids[key];
    if (id === undefined) throw new Error(`no seeded task "${key}"`);
    return String(id);
  });
}

function fillArgs(args: Record<string, unknown>, ids: Record<string, number>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(args).map(([k, v]) => [
      k,
      typeof v === 'string' && /^\{\w+\}$/.test(v) ? Number(fill(v, ids)) : v,
    ]),
  );
}

async function run(c: Case) {
  const chat = conversation({ time: c.time, undo: c.undo });
  const ids: Record<string, number> = {};
  for (const [key, message] of c.seed ? SEEDS[c.seed] : []) {
    const answer = await chat.say(fill(message, ids));
    if (key) ids[key] = (answer.results[0] as Task).id;
    expect(answer.results.at(-1), message).not.toHaveProperty('error');
  }
  for (const message of c.before ?? []) await chat.say(fill(message, ids));
  // The end of the first answer says what this is; later answers are the reply alone.
  const answer = await chat.say(fill(c.say, ids));
  return { answer, ids, chat };
}

const total = Object.values(classes).reduce((n, cases) => n + cases.length, 0);

describe(`the offline reader reads ${total} phrasings (today is Monday ${TODAY})`, () => {
  it('has at least 200 phrasings, at least 5 in every class', () => {
    expect(total).toBeGreaterThanOrEqual(200);
    for (const [name, cases] of Object.entries(classes)) expect(cases.length, name).toBeGreaterThanOrEqual(5);
  });

  for (const [name, cases] of Object.entries(classes)) {
    describe(name, () => {
      it.each(cases.map((c) => [c.say, c] as const))('%s', async (_say, c) => {
        const { answer, ids } = await run(c);
        expect(answer.calls).toEqual(c.calls.map(([tool, args]) => [tool, fillArgs(args, ids)]));
        for (const result of answer.results) expect(result).not.toHaveProperty('error');
        const last = c.calls.at(-1);
        const expected = c.reply ?? (last ? impliedReply(last) : MISS);
        expect(answer.reply).toMatch(expected);
        // No title ever carries the words of a repetition or a reminder.
        for (const [, args] of answer.calls) {
          if (typeof args.title === 'string') expect(args.title).not.toMatch(/\b(?:every|remind me)\b/i);
        }
        if (!c.reply && last) {
          // An action names the task it touched by its real id.
          const id = (answer.calls.at(-1)?.[1] as { task_id?: number } | undefined)?.task_id;
          if (id !== undefined) expect(answer.reply).toContain(`#${id} `);
        }
      });
    });
  }
});

const FIRST_NOTE =
  '(This is taskchat\'s offline command reader, not an AI: set OPENAI_API_KEY on the server for a real model; "help" shows what I understand.)';

describe('conversations', () => {
  it('tasks added from one sentence are separate: finishing the dentist finishes only the dentist', async () => {
    const chat = conversation();
    await chat.say(
      'I need to pay rent on the 1st, call the dentist, and buy a birthday gift for Sam by Friday',
    );
    const done = await chat.say('the dentist one is done');
    expect(done.calls).toEqual([
      ['list_tasks', { status: 'pending', search: 'dentist' }],
      ['complete_task', { task_id: 2 }],
    ]);
    expect(done.reply).toBe('Marked #2 "call the dentist" done.');
    expect(chat.tasks.filter((t) => t.completed).map((t) => t.title)).toEqual(['call the dentist']);
    const gift = await chat.say('actually make the gift high priority');
    expect(gift.calls).toEqual([
      ['list_tasks', { search: 'gift' }],
      ['update_task', { task_id: 3, priority: 'high' }],
    ]);
  });

  it('after "which one?", "it" changes nothing until the user chooses', async () => {
    const chat = conversation();
    for (const message of [
      'add buy a birthday gift for Sam',
      'add gift wrap the presents',
      'add call the dentist',
    ]) {
      await chat.say(message);
    }
    expect((await chat.say('make the gift high priority')).reply).toMatch(/Which one do you mean\?/);
    for (const message of ['make it high priority', 'delete it']) {
      const answer = await chat.say(message);
      expect(answer.calls).toEqual([]);
      expect(answer.reply).toMatch(/^Which one do you mean by "it"/);
    }
    expect(chat.tasks.map((t) => [t.title, t.priority])).toEqual([
      ['call the dentist', 'medium'],
      ['gift wrap the presents', 'medium'],
      ['buy a birthday gift for Sam', 'medium'],
    ]);
  });

  it('"what did I finish today?" shows only what was completed today, and says what it goes by', async () => {
    const chat = conversation();
    await chat.say('add buy milk, call the dentist and pay rent');
    chat.clock.now = '2026-11-22T20:00:00.000Z';
    await chat.say('done 1');
    chat.clock.now = '2026-11-23T08:00:00.000Z';
    await chat.say('done 3');
    const answer = await chat.say('what did I finish today?');
    expect(answer.reply).toBe(
      'Completed tasks last changed today (2026-11-23), which is as close as I can tell to when they were finished (1):\n#3 [x] pay rent',
    );
  });

  it('reminders are set in the time zone the prompt names', async () => {
    const chat = conversation({ time: true, zone: 'Europe/Paris' });
    const answer = await chat.say('remind me at 5pm to call mom');
    expect(answer.calls).toEqual([
      [
        'add_task',
        { title: 'call mom', due_date: TODAY, due_time: '17:00', reminder: '2026-11-23T17:00:00+01:00' },
      ],
    ]);
  });

  it('the first answer says it is a command reader, not an AI, and how to get one; later ones do not', async () => {
    const chat = conversation();
    const first = await chat.say('add buy milk tomorrow !high');
    expect(first.reply).toBe(`Added #1 "buy milk" (due 2026-11-24, high priority).\n${FIRST_NOTE}`);
    expect((await chat.say('list')).reply).not.toContain('OPENAI_API_KEY');
  });

  it('a first answer that is a miss is one sentence, and names OPENAI_API_KEY', async () => {
    const answer = await conversation().say('blah blah');
    expect(answer.reply).toBe(
      'I didn\'t understand that (I\'m an offline command reader, not an AI; set OPENAI_API_KEY for a real one); try "add blah blah", "find blah" or "help".',
    );
  });

  it('says so when "the second one" has no list to point into', async () => {
    const chat = conversation();
    await chat.say('add one');
    const answer = await chat.say('delete the second one');
    expect(answer.calls).toEqual([]);
    expect(answer.reply).toMatch(/^I haven't shown you a list in this conversation yet/);
  });
});

// The model's first step for one message, as the AI SDK would call it with the five tools.
async function firstStep(text: string, moreTools: string[] = []) {
  const names = ['add_task', 'list_tasks', 'complete_task', 'update_task', 'delete_task', ...moreTools];
  const tools = names.map((name) => ({
    type: 'function' as const,
    name,
    inputSchema: { type: 'object' as const },
  }));
  const result = await createOfflineModel().doGenerate({
    prompt: [
      { role: 'system', content: `You are taskchat. Today is ${TODAY}.` },
      { role: 'user', content: [{ type: 'text', text }] },
    ],
    tools,
  });
  const part = result.content[0];
  return part?.type === 'tool-call' ? { tool: part.toolName, args: JSON.parse(part.input) } : { text: part };
}

describe('undo in a conversation that changed nothing yet', () => {
  it('"undo" undoes the newest change, wherever it was made (the tool\'s default)', async () => {
    expect(await firstStep('undo', ['undo_change'])).toEqual({ tool: 'undo_change', args: {} });
  });

  it('"undo the last two" undoes nothing: a second call without an id would redo the first', async () => {
    expect(await firstStep('undo the last two', ['undo_change'])).toMatchObject({
      text: {
        type: 'text',
        text: expect.stringMatching(/^This conversation has made no change I could undo/),
      },
    });
  });
});

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

describe('through the tool loop', () => {
  it('streams like it generates: a lookup, the action it leads to, one sentence', async () => {
    const { tools } = taskTools();
    const messages: ModelMessage[] = [{ role: 'user', content: 'add buy milk' }];
    const added = await generateText({
      model: createOfflineModel(),
      tools,
      messages,
      stopWhen: isStepCount(5),
    });
    messages.push(...added.responseMessages, { role: 'user', content: 'I finished buying milk' });
    const result = streamText({ model: createOfflineModel(), tools, messages, stopWhen: isStepCount(5) });
    expect(await result.text).toBe('Marked #1 "buy milk" done.');
    expect((await result.steps).map((step) => step.toolCalls.map((c) => [c.toolName, c.input]))).toEqual([
      [['list_tasks', { status: 'pending', search: 'milk' }]],
      [['complete_task', { task_id: 1 }]],
      [],
    ]);
  });

  it('explains an {error} tool result', async () => {
    expect((await conversation().say('delete 42')).reply).toBe(`Sorry: Task #42 not found.\n${FIRST_NOTE}`);
  });

  it('explains a tool that throws', async () => {
    const { tools } = taskTools();
    const failing = {
      ...tools,
      delete_task: tool({
        description: 'Delete a task',
        inputSchema: z.object({ task_id: z.number().int() }),
        execute: async ({ task_id }): Promise<{ task_id: number }> => {
          throw new Error(`database is down (task ${task_id} untouched)`);
        },
      }),
    };
    const result = await generateText({
      model: createOfflineModel(),
      tools: failing,
      prompt: 'delete 1',
      stopWhen: isStepCount(3),
    });
    expect(result.text).toBe(`Sorry: database is down (task 1 untouched)\n${FIRST_NOTE}`);
  });

  it('does not call a tool that was not offered', async () => {
    const { add_task: _omitted, ...rest } = taskTools().tools;
    const result = await generateText({ model: createOfflineModel(), tools: rest, prompt: 'add buy milk' });
    expect(result.steps).toHaveLength(1);
    expect(result.text).toContain('The add_task tool is not available here');
  });
});

describe('stream parts', () => {
  it('emits a well-formed V4 stream for several tool calls in one step', async () => {
    const model = createOfflineModel();
    const { stream } = await model.doStream({
      prompt: [{ role: 'user', content: [{ type: 'text', text: 'add walk the dog, feed the cat' }] }],
      tools: [{ type: 'function', name: 'add_task', inputSchema: { type: 'object' } }],
    });
    const parts: LanguageModelV4StreamPart[] = [];
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
    const call = ['tool-input-start', 'tool-input-delta', 'tool-input-end', 'tool-call'];
    expect(parts.map((p) => p.type)).toEqual([
      'stream-start',
      'response-metadata',
      ...call,
      ...call,
      'finish',
    ]);
    const ids = parts.flatMap((p) => (p.type === 'tool-call' ? [p.toolCallId] : []));
    expect(new Set(ids).size).toBe(2);
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
