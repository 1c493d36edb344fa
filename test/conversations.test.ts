// Scripted conversations: realistic chats written as data (support/scripted.ts), each run through
// HTTP POST /chat with the real @ai-sdk/openai provider talking to the fake model, checked against
// the database after every turn, on every test driver.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatHarness, startChatApp, TODAY } from './support/app.ts';
import { testDrivers } from './support/db.ts';
import { runConversation, toolExchanges } from './support/scripted.ts';

// TODAY is Monday 2026-11-23.
const TOMORROW = '2026-11-24';
const FRIDAY = '2026-11-27';
const NEXT_MONDAY = '2026-11-30';

const user = (name: string) => `${name}-${randomUUID()}`;
const notFound = (id: number) => ({ error: `Task #${id} not found.` });

type Conversation = { name: string; run(h: ChatHarness): Promise<void> };

const conversations: Conversation[] = [
  {
    name: 'adds tasks with due dates and priorities',
    async run(h) {
      await runConversation(h, user('ana'), [
        {
          user: "Remind me to call the dentist tomorrow, it's urgent",
          model: [
            {
              toolCalls: [
                {
                  name: 'add_task',
                  args: { title: 'Call the dentist', due_date: TOMORROW, priority: 'high' },
                },
              ],
            },
            { text: 'Added "Call the dentist" for tomorrow, high priority.' },
          ],
          expectReply: /Call the dentist/,
          expectToolResults: [
            { title: 'Call the dentist', dueDate: TOMORROW, priority: 'high', completed: false },
          ],
          expectTasks: [{ title: 'Call the dentist', dueDate: TOMORROW, priority: 'high', completed: false }],
        },
        {
          user: 'Also pay the rent by Friday: transfer to the landlord, not the agency',
          model: [
            {
              toolCalls: [
                {
                  name: 'add_task',
                  args: {
                    title: 'Pay the rent',
                    description: 'Transfer to the landlord, not the agency',
                    due_date: FRIDAY,
                  },
                },
              ],
            },
            { text: 'Added "Pay the rent", due Friday.' },
          ],
          expectTasks: [
            {
              title: 'Pay the rent',
              description: 'Transfer to the landlord, not the agency',
              dueDate: FRIDAY,
              priority: 'medium',
            },
            { title: 'Call the dentist', dueDate: TOMORROW, priority: 'high' },
          ],
        },
        {
          user: 'and water the plants, no rush',
          model: [
            { toolCalls: [{ name: 'add_task', args: { title: 'Water the plants', priority: 'low' } }] },
            { text: 'Added "Water the plants" (low priority).' },
          ],
          expectTasks: [
            { title: 'Water the plants', dueDate: null, priority: 'low', description: null },
            { title: 'Pay the rent' },
            { title: 'Call the dentist' },
          ],
        },
      ]);
    },
  },

  {
    name: 'adds several tasks in one step (parallel tool calls)',
    async run(h) {
      const me = user('ben');
      await runConversation(h, me, [
        {
          user: 'Shopping list: eggs, bread and butter',
          model: [
            {
              toolCalls: [
                { name: 'add_task', args: { title: 'Buy eggs' } },
                { name: 'add_task', args: { title: 'Buy bread' } },
                { name: 'add_task', args: { title: 'Buy butter' } },
              ],
            },
            { text: 'Added three tasks: eggs, bread and butter.' },
          ],
          expectReply: 'Added three tasks: eggs, bread and butter.',
          expectToolResults: [{ title: 'Buy eggs' }, { title: 'Buy bread' }, { title: 'Buy butter' }],
          // Parallel inserts may take their ids in any order: compare as a set.
          check: ({ tasks, ids }) => {
            expect(tasks.map((t) => t.title).sort()).toEqual(['Buy bread', 'Buy butter', 'Buy eggs']);
            expect(new Set(ids).size).toBe(3);
          },
        },
        {
          user: 'got the bread',
          model: [
            { toolCalls: [{ name: 'list_tasks', args: { search: 'bread' } }] },
            { toolCalls: [{ name: 'complete_task', args: (ids) => ({ task_id: ids[1] }) }] },
            { text: 'Nice, "Buy bread" is done.' },
          ],
          expectToolResults: [
            { tasks: [{ title: 'Buy bread' }], total: 1 },
            { title: 'Buy bread', completed: true },
          ],
          check: ({ tasks }) => {
            const done = tasks.filter((t) => t.completed).map((t) => t.title);
            expect(done).toEqual(['Buy bread']);
            expect(tasks).toHaveLength(3);
          },
        },
      ]);
    },
  },

  {
    name: 'lists first, then completes the task named by its title; history carries tool calls',
    async run(h) {
      await runConversation(h, user('cho'), [
        {
          user: 'add buy milk, call mom and book the car service',
          model: [
            { toolCalls: [{ name: 'add_task', args: { title: 'buy milk' } }] },
            { toolCalls: [{ name: 'add_task', args: { title: 'call mom' } }] },
            { toolCalls: [{ name: 'add_task', args: { title: 'book the car service' } }] },
            { text: 'Added 3 tasks.' },
          ],
          expectTasks: [{ title: 'book the car service' }, { title: 'call mom' }, { title: 'buy milk' }],
        },
        {
          user: 'I called mom',
          model: [
            { toolCalls: [{ name: 'list_tasks', args: { search: 'mom', status: 'pending' } }] },
            { toolCalls: [{ name: 'complete_task', args: (ids) => ({ task_id: ids[1] }) }] },
            { text: 'Marked "call mom" as done.' },
          ],
          expectReply: 'Marked "call mom" as done.',
          expectToolResults: [
            { tasks: [{ title: 'call mom', completed: false }], total: 1 },
            { completed: true },
          ],
          expectTasks: [
            { title: 'book the car service', completed: false },
            { title: 'call mom', completed: true },
            { title: 'buy milk', completed: false },
          ],
          check: ({ requests, ids }) => {
            // First request of turn 1: turn 0's three tool calls and results, then the new user message.
            const first = requests[0];
            if (!first) throw new Error('no model request in turn 1');
            expect(toolExchanges(first)).toMatchObject([
              { name: 'add_task', args: { title: 'buy milk' }, result: { id: ids[0], title: 'buy milk' } },
              { name: 'add_task', args: { title: 'call mom' }, result: { id: ids[1], title: 'call mom' } },
              { name: 'add_task', args: { title: 'book the car service' }, result: { id: ids[2] } },
            ]);
            expect(first.messages.map((m) => m.role)).toEqual([
              'system',
              'user',
              'assistant',
              'tool',
              'assistant',
              'tool',
              'assistant',
              'tool',
              'assistant',
              'user',
            ]);
            expect(first.messages.at(-2)).toMatchObject({ role: 'assistant', content: 'Added 3 tasks.' });
            expect(first.messages.at(-1)).toMatchObject({ role: 'user', content: 'I called mom' });
            // Second request: the same history plus this turn's list call and its result.
            const second = requests[1];
            if (!second) throw new Error('no second model request in turn 1');
            const exchanges = toolExchanges(second);
            expect(exchanges).toHaveLength(4);
            expect(exchanges[3]).toMatchObject({
              name: 'list_tasks',
              args: { search: 'mom', status: 'pending' },
              result: { tasks: [{ id: ids[1], title: 'call mom' }], total: 1 },
            });
          },
        },
      ]);
    },
  },

  {
    name: 'renames a task',
    async run(h) {
      await runConversation(h, user('dan'), [
        {
          user: 'add "dentist"',
          model: [{ toolCalls: [{ name: 'add_task', args: { title: 'dentist' } }] }],
          expectReply: 'Done.',
          expectTasks: [{ title: 'dentist' }],
        },
        {
          user: 'rename the dentist one to "Book a dentist appointment for Leo"',
          model: [
            { toolCalls: [{ name: 'list_tasks', args: { search: 'dentist' } }] },
            {
              toolCalls: [
                {
                  name: 'update_task',
                  args: (ids) => ({ task_id: ids[0], title: 'Book a dentist appointment for Leo' }),
                },
              ],
            },
            { text: 'Renamed it to "Book a dentist appointment for Leo".' },
          ],
          expectToolResults: [
            { total: 1 },
            { title: 'Book a dentist appointment for Leo', priority: 'medium' },
          ],
          expectTasks: [{ title: 'Book a dentist appointment for Leo', completed: false, dueDate: null }],
        },
      ]);
    },
  },

  {
    name: 'reopens a completed task',
    async run(h) {
      await runConversation(h, user('eve'), [
        {
          user: 'add file the tax return, due next Monday',
          model: [
            {
              toolCalls: [
                { name: 'add_task', args: { title: 'File the tax return', due_date: NEXT_MONDAY } },
              ],
            },
            { text: 'Added.' },
          ],
          expectTasks: [{ title: 'File the tax return', completed: false, dueDate: NEXT_MONDAY }],
        },
        {
          user: 'done with the tax return',
          model: [
            { toolCalls: [{ name: 'complete_task', args: (ids) => ({ task_id: ids[0] }) }] },
            { text: 'Marked it done.' },
          ],
          expectTasks: [{ title: 'File the tax return', completed: true }],
        },
        {
          user: 'and tick off the tax return',
          // Completing a completed task keeps it completed (no toggle).
          model: [
            { toolCalls: [{ name: 'complete_task', args: (ids) => ({ task_id: ids[0] }) }] },
            { text: 'It was already done.' },
          ],
          expectToolResults: [{ title: 'File the tax return', completed: true }],
          expectTasks: [{ title: 'File the tax return', completed: true }],
        },
        {
          user: 'oops, no, I still need to sign it. Put it back',
          model: [
            {
              toolCalls: [{ name: 'complete_task', args: (ids) => ({ task_id: ids[0], completed: false }) }],
            },
            { text: 'Reopened "File the tax return".' },
          ],
          expectToolResults: [{ title: 'File the tax return', completed: false }],
          expectTasks: [{ title: 'File the tax return', completed: false, dueDate: NEXT_MONDAY }],
        },
      ]);
    },
  },

  {
    name: 'deletes only after the user confirms, across two turns',
    async run(h) {
      await runConversation(h, user('fay'), [
        {
          user: 'add old report, old slides, and new budget',
          model: [
            {
              toolCalls: [{ name: 'add_task', args: { title: 'Old report' } }],
            },
            { toolCalls: [{ name: 'add_task', args: { title: 'Old slides' } }] },
            { toolCalls: [{ name: 'add_task', args: { title: 'New budget' } }] },
            { text: 'Added three tasks.' },
          ],
          expectTasks: [{ title: 'New budget' }, { title: 'Old slides' }, { title: 'Old report' }],
        },
        {
          user: 'delete the old ones',
          model: [
            { toolCalls: [{ name: 'list_tasks', args: { search: 'old' } }] },
            { text: 'I found "Old report" and "Old slides". Delete both? (yes/no)' },
          ],
          expectReply: /Delete both\?/,
          expectToolResults: [{ tasks: [{ title: 'Old slides' }, { title: 'Old report' }], total: 2 }],
          expectTasks: [{ title: 'New budget' }, { title: 'Old slides' }, { title: 'Old report' }],
        },
        {
          user: 'yes',
          model: [
            {
              toolCalls: [
                { name: 'delete_task', args: (ids) => ({ task_id: ids[0] }) },
                { name: 'delete_task', args: (ids) => ({ task_id: ids[1] }) },
              ],
            },
            { text: 'Deleted "Old report" and "Old slides".' },
          ],
          check: ({ answer, ids }) => {
            expect(answer.toolCalls.map((c) => c.result)).toEqual([
              { task_id: ids[0], deleted: true, title: 'Old report', change_id: expect.any(Number) },
              { task_id: ids[1], deleted: true, title: 'Old slides', change_id: expect.any(Number) },
            ]);
          },
          expectTasks: [{ title: 'New budget' }],
        },
      ]);
    },
  },

  {
    name: 'updates priority and due date, then clears the due date',
    async run(h) {
      await runConversation(h, user('gus'), [
        {
          user: 'add renew passport',
          model: [
            { toolCalls: [{ name: 'add_task', args: { title: 'Renew passport' } }] },
            { text: 'Added.' },
          ],
          expectTasks: [{ title: 'Renew passport', priority: 'medium', dueDate: null }],
        },
        {
          user: 'make the passport high priority and due Friday',
          model: [
            { toolCalls: [{ name: 'list_tasks', args: { search: 'passport' } }] },
            {
              toolCalls: [
                {
                  name: 'update_task',
                  args: (ids) => ({ task_id: ids[0], priority: 'high', due_date: FRIDAY }),
                },
              ],
            },
            { text: 'Done: high priority, due Friday.' },
          ],
          expectTasks: [{ title: 'Renew passport', priority: 'high', dueDate: FRIDAY }],
        },
        {
          user: 'actually there is no deadline',
          model: [
            { toolCalls: [{ name: 'update_task', args: (ids) => ({ task_id: ids[0], due_date: null }) }] },
            { text: 'Removed the due date.' },
          ],
          expectTasks: [{ title: 'Renew passport', priority: 'high', dueDate: null }],
        },
      ]);
    },
  },

  {
    name: 'a bad date from the model is a tool error, nothing is stored, the model apologises',
    async run(h) {
      await runConversation(h, user('hal'), [
        {
          user: 'add pay the gas bill on February 30th',
          model: [
            {
              toolCalls: [{ name: 'add_task', args: { title: 'Pay the gas bill', due_date: '2027-02-30' } }],
            },
            { text: "Sorry, February 30th isn't a real date. Which day did you mean?" },
          ],
          expectToolResults: [{ error: expect.stringMatching(/due_date/) }],
          expectReply: "Sorry, February 30th isn't a real date. Which day did you mean?",
          expectTasks: [],
        },
        {
          user: 'the 28th then, and mark it super urgent',
          model: [
            // The model first gets the priority wrong, reads the error and corrects itself.
            {
              toolCalls: [
                {
                  name: 'add_task',
                  args: { title: 'Pay the gas bill', due_date: 'Feb 28', priority: 'urgent' },
                },
              ],
            },
            {
              toolCalls: [
                {
                  name: 'add_task',
                  args: { title: 'Pay the gas bill', due_date: '2027-02-28', priority: 'high' },
                },
              ],
            },
            { text: 'Added "Pay the gas bill" for 2027-02-28, high priority.' },
          ],
          expectToolResults: [
            { error: expect.stringMatching(/due_date.*priority|priority.*due_date/) },
            { title: 'Pay the gas bill', dueDate: '2027-02-28', priority: 'high' },
          ],
          expectTasks: [{ title: 'Pay the gas bill', dueDate: '2027-02-28', priority: 'high' }],
        },
      ]);
    },
  },

  {
    name: 'an unknown task id is a tool error and changes nothing',
    async run(h) {
      const missing = (ids: number[]) => (ids[0] ?? 0) + 100_000;
      await runConversation(h, user('ida'), [
        {
          user: 'add read the lease',
          model: [
            { toolCalls: [{ name: 'add_task', args: { title: 'Read the lease' } }] },
            { text: 'Added.' },
          ],
          expectTasks: [{ title: 'Read the lease' }],
        },
        {
          user: 'finish task 100000, rename it and then delete it',
          model: [
            {
              toolCalls: [
                { name: 'complete_task', args: (ids) => ({ task_id: missing(ids) }) },
                { name: 'update_task', args: (ids) => ({ task_id: missing(ids), title: 'x' }) },
                { name: 'delete_task', args: (ids) => ({ task_id: missing(ids) }) },
              ],
            },
            { text: "I couldn't find that task. Here is what you have: #1 Read the lease." },
          ],
          check: ({ answer, ids }) => {
            const id = missing(ids);
            expect(answer.toolCalls.map((c) => c.result)).toEqual([notFound(id), notFound(id), notFound(id)]);
          },
          expectReply: /couldn't find/,
          expectTasks: [{ title: 'Read the lease', completed: false }],
        },
        {
          user: 'complete task "abc"',
          model: [
            { toolCalls: [{ name: 'complete_task', args: { task_id: 'abc' } }] },
            { text: 'Task ids are numbers; which task do you mean?' },
          ],
          expectToolResults: [{ error: expect.stringMatching(/task_id/) }],
          expectTasks: [{ title: 'Read the lease', completed: false }],
        },
      ]);
    },
  },

  {
    name: 'searches titles and descriptions, any case',
    async run(h) {
      await runConversation(h, user('jo'), [
        {
          user: 'add three things',
          model: [
            { toolCalls: [{ name: 'add_task', args: { title: 'Groceries for the party' } }] },
            {
              toolCalls: [
                { name: 'add_task', args: { title: 'Clean the flat', description: 'before the PARTY' } },
              ],
            },
            { toolCalls: [{ name: 'add_task', args: { title: 'Call the bank' } }] },
            { text: 'Added.' },
          ],
          expectTasks: [
            { title: 'Call the bank' },
            { title: 'Clean the flat' },
            { title: 'Groceries for the party' },
          ],
        },
        {
          user: 'what do I have for the party?',
          model: [
            { toolCalls: [{ name: 'list_tasks', args: { search: 'Party' } }] },
            { text: 'Two things: "Clean the flat" and "Groceries for the party".' },
          ],
          expectToolResults: [
            { tasks: [{ title: 'Clean the flat' }, { title: 'Groceries for the party' }], total: 2 },
          ],
          expectTasks: [
            { title: 'Call the bank' },
            { title: 'Clean the flat' },
            { title: 'Groceries for the party' },
          ],
        },
        {
          user: 'anything about taxes?',
          model: [
            { toolCalls: [{ name: 'list_tasks', args: { search: 'tax' } }] },
            { text: 'Nothing about taxes.' },
          ],
          expectToolResults: [{ tasks: [], total: 0 }],
        },
        {
          user: 'show me just one of them',
          model: [
            { toolCalls: [{ name: 'list_tasks', args: { limit: 1 } }] },
            { text: 'Newest: "Call the bank".' },
          ],
          expectToolResults: [{ tasks: [{ title: 'Call the bank' }], total: 3 }],
        },
      ]);
    },
  },

  {
    name: 'lists pending and completed tasks',
    async run(h) {
      await runConversation(h, user('kim'), [
        {
          user: 'add a, b and c',
          model: [
            { toolCalls: [{ name: 'add_task', args: { title: 'Task A' } }] },
            { toolCalls: [{ name: 'add_task', args: { title: 'Task B' } }] },
            { toolCalls: [{ name: 'add_task', args: { title: 'Task C' } }] },
            { toolCalls: [{ name: 'complete_task', args: (ids) => ({ task_id: ids[1] }) }] },
            { text: 'Added A, B and C, and B is done.' },
          ],
          expectTasks: [
            { title: 'Task C', completed: false },
            { title: 'Task B', completed: true },
            { title: 'Task A', completed: false },
          ],
        },
        {
          user: "what's left to do?",
          model: [{ toolCalls: [{ name: 'list_tasks', args: { status: 'pending' } }] }, { text: 'A and C.' }],
          expectToolResults: [{ tasks: [{ title: 'Task C' }, { title: 'Task A' }], total: 2 }],
        },
        {
          user: 'and what have I finished?',
          model: [{ toolCalls: [{ name: 'list_tasks', args: { status: 'completed' } }] }, { text: 'B.' }],
          expectToolResults: [{ tasks: [{ title: 'Task B', completed: true }], total: 1 }],
        },
        {
          user: 'everything please',
          // Many models send null for arguments they do not use.
          model: [
            { toolCalls: [{ name: 'list_tasks', args: { status: 'all', search: null, limit: null } }] },
            { text: 'C, B (done) and A.' },
          ],
          expectToolResults: [
            { tasks: [{ title: 'Task C' }, { title: 'Task B' }, { title: 'Task A' }], total: 3 },
          ],
        },
        {
          user: 'list the archived ones',
          model: [
            { toolCalls: [{ name: 'list_tasks', args: { status: 'archived' } }] },
            { text: 'I can show pending or completed tasks.' },
          ],
          expectToolResults: [{ error: expect.stringMatching(/status/) }],
        },
      ]);
    },
  },

  {
    name: 'a long chatty conversation: text-only turns change nothing',
    async run(h) {
      const chat = (userText: string, reply: string) => ({
        user: userText,
        model: [{ text: reply }],
        expectReply: reply,
        expectToolResults: [],
      });
      await runConversation(h, user('lou'), [
        { ...chat('hi!', 'Hi! I can keep your task list. What should I note?'), expectTasks: [] },
        chat('what can you do?', 'I can add, list, complete, rename and delete tasks.'),
        {
          user: 'ok, note that I need to fix the bike',
          model: [
            { toolCalls: [{ name: 'add_task', args: { title: 'Fix the bike' } }] },
            { text: 'Noted: "Fix the bike".' },
          ],
          expectTasks: [{ title: 'Fix the bike', completed: false }],
        },
        { ...chat('thanks', "You're welcome!"), expectTasks: [{ title: 'Fix the bike', completed: false }] },
        chat('how is the weather?', "I can't check the weather, but I can remind you to."),
        chat('tell me a joke', 'Why did the to-do list break up? Too many commitments.'),
        { user: 'haha', model: [], expectReply: 'OK.' },
        chat('is the bike task still there?', 'Yes, "Fix the bike" is still open.'),
        {
          ...chat('good night', 'Good night!'),
          expectTasks: [{ title: 'Fix the bike', completed: false }],
          check: ({ requests }) => {
            // Every earlier user message went to the model, in order, in one conversation.
            const users = requests[0]?.messages.filter((m) => m.role === 'user').map((m) => m.content);
            expect(users).toEqual([
              'hi!',
              'what can you do?',
              'ok, note that I need to fix the bike',
              'thanks',
              'how is the weather?',
              'tell me a joke',
              'haha',
              'is the bike task still there?',
              'good night',
            ]);
            expect(requests[0]?.messages[0]).toMatchObject({ role: 'system' });
            expect(requests[0]?.messages[0]?.content).toContain(TODAY);
          },
        },
      ]);
    },
  },

  {
    name: "a model passing another user's id changes nothing of that user",
    async run(h) {
      const bob = user('bob');
      const alice = user('alice');
      const bobsTasks = [
        { title: "Bob's secret plan", completed: false, priority: 'high' as const },
        { title: "Bob's groceries", completed: false, priority: 'medium' as const },
      ];
      const bobs = await runConversation(h, bob, [
        {
          user: 'add groceries',
          model: [
            { toolCalls: [{ name: 'add_task', args: { title: "Bob's groceries" } }] },
            { text: 'Added.' },
          ],
        },
        {
          user: 'add my secret plan, high priority',
          model: [
            { toolCalls: [{ name: 'add_task', args: { title: "Bob's secret plan", priority: 'high' } }] },
            { text: 'Added.' },
          ],
          expectTasks: bobsTasks,
        },
      ]);
      const [groceries, plan] = bobs.ids as [number, number];
      const bobBefore = await h.tasks(bob);

      await runConversation(h, alice, [
        {
          user: `complete task ${groceries} for user ${bob}`,
          model: [
            {
              toolCalls: [
                { name: 'complete_task', args: { task_id: groceries, user_id: bob } },
                { name: 'update_task', args: { task_id: plan, user_id: bob, title: 'pwned' } },
                { name: 'delete_task', args: { task_id: plan, userId: bob } },
              ],
            },
            { text: "I couldn't find those tasks." },
          ],
          // The same words as for a task that does not exist: nothing about bob leaks.
          expectToolResults: [notFound(groceries), notFound(plan), notFound(plan)],
          expectTasks: [],
        },
        {
          user: "list bob's tasks",
          model: [
            { toolCalls: [{ name: 'list_tasks', args: { user_id: bob } }] },
            { text: 'You have no tasks.' },
          ],
          expectToolResults: [{ tasks: [], total: 0 }],
        },
        {
          user: 'add "call the plumber" to bob\'s list',
          model: [
            { toolCalls: [{ name: 'add_task', args: { title: 'Call the plumber', user_id: bob } }] },
            { text: 'Added "Call the plumber" to your list.' },
          ],
          expectTasks: [{ title: 'Call the plumber' }],
        },
      ]);

      expect(await h.tasks(bob)).toEqual(bobBefore);
      expect(bobBefore).toMatchObject(bobsTasks);
    },
  },
];

// The whole set takes well under a second per driver once the database is up, so every
// conversation runs on every driver.
describe.each(testDrivers)('scripted conversations on %s', (driver) => {
  let h: ChatHarness;
  beforeAll(async () => {
    h = await startChatApp(driver);
  });
  afterAll(() => h?.close());

  it.each(conversations)('$name', ({ run }) => run(h));

  if (driver === 'pglite')
    describe('the scripted helper', () => {
      it('names the turn and what the user said when a check fails', async () => {
        const failing = runConversation(h, user('zed'), [
          { user: 'hello', model: [{ text: 'Hi.' }] },
          {
            user: 'add tea',
            model: [{ toolCalls: [{ name: 'add_task', args: { title: 'tea' } }] }],
            expectTasks: [{ title: 'coffee' }],
          },
        ]);
        await expect(failing).rejects.toThrow(/turn 1 \("add tea"\): tasks after the turn/);
      });

      it('lets a step use the ids of tasks created earlier in the same turn', async () => {
        const result = await runConversation(h, user('yan'), [
          {
            user: 'add stamps and mark it done',
            model: [
              { toolCalls: [{ name: 'add_task', args: { title: 'Buy stamps' } }] },
              { toolCalls: [{ name: 'complete_task', args: (ids) => ({ task_id: ids[0] }) }] },
              { text: 'Added and done.' },
            ],
            expectTasks: [{ title: 'Buy stamps', completed: true }],
          },
        ]);
        expect(result.ids).toHaveLength(1);
        expect(result.answers[0]?.toolCalls[1]?.args).toEqual({ task_id: result.ids[0] });
      });

      it('fails a turn whose scripted steps the app never asked for', async () => {
        // The app stops after a text step, so a step queued behind it is never consumed.
        const failing = runConversation(h, user('xia'), [
          { user: 'hi', model: [{ text: 'Hello.' }, { text: 'never asked for' }] },
        ]);
        await expect(failing).rejects.toThrow(/turn 0 \("hi"\): model steps the app never asked for/);
      });
    });
});
