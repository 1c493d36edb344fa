// What a newcomer types to the offline model, through the real interface: the app over HTTP
// (POST /chat, JSON answer) on a real PGlite database with CHAT_MODEL=offline and today pinned to
// Monday 2026-11-23. Each phrasing runs in a fresh conversation of a fresh user; tasks it refers
// to are seeded first through the same chat, and ids are read back from those answers (written
// `{milk}` below), so the table holds whether ids are global or per user.
import { readUIMessageStream, type UIMessage } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatHarness, startChatApp, TODAY } from './support/app.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { uiChunks } from './support/ui-stream.ts';

type Call = [name: string, args: Record<string, unknown>];
type Case = {
  say: string;
  calls: Call[];
  seed?: keyof typeof SEEDS;
  /** Sent after the seed, in the same conversation (e.g. "list", for "the second one"). */
  before?: string[];
  /** Checked instead of the reply the last call implies. */
  reply?: RegExp;
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

  misses: [
    { say: 'lsit', calls: [], reply: /try "list" or "help"\.$/ },
    { say: 'ad buy milk', calls: [], reply: /try "add buy milk" or "help"\.$/ },
    { say: 'delte 3', calls: [], reply: /try "delete 3" or "help"\.$/ },
    { say: 'compelte 2', calls: [], reply: /try "complete 2" or "help"\.$/ },
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

let h: ChatHarness;
let users = 0;

beforeAll(async () => {
  h = await startChatApp('pglite', { env: { CHAT_MODEL: 'offline' } });
});
afterAll(async () => {
  await h?.close();
});

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
  const user = `phrasing-${++users}`;
  const ids: Record<string, number> = {};
  let conversationId: string | undefined;
  const send = async (message: string) => {
    const answer = await h.say(user, message, conversationId ? { conversationId } : {});
    conversationId = answer.conversationId;
    return answer;
  };
  for (const [key, message] of c.seed ? SEEDS[c.seed] : []) {
    const answer = await send(fill(message, ids));
    if (key) ids[key] = answer.toolCalls[0]?.result.id;
    expect(answer.toolCalls.at(-1)?.result.error, message).toBeUndefined();
  }
  for (const message of c.before ?? []) await send(fill(message, ids));
  const answer = await send(fill(c.say, ids));
  return { answer, ids };
}

const total = Object.values(classes).reduce((n, cases) => n + cases.length, 0);

describe(`the offline model reads ${total} phrasings (today is Monday ${TODAY})`, () => {
  it('has at least 150 phrasings, at least 10 in every class', () => {
    expect(total).toBeGreaterThanOrEqual(150);
    for (const [name, cases] of Object.entries(classes))
      expect(cases.length, name).toBeGreaterThanOrEqual(10);
  });

  for (const [name, cases] of Object.entries(classes)) {
    describe(name, () => {
      it.each(cases.map((c) => [c.say, c] as const))('%s', async (_say, c) => {
        const { answer, ids } = await run(c);
        expect(answer.toolCalls.map((call) => [call.name, call.args])).toEqual(
          c.calls.map(([tool, args]) => [tool, fillArgs(args, ids)]),
        );
        for (const call of answer.toolCalls) expect(call.result?.error, call.name).toBeUndefined();
        const last = c.calls.at(-1);
        const expected = c.reply ?? (last ? impliedReply(last) : MISS);
        expect(answer.reply).toMatch(expected);
        if (!c.reply && last) {
          // An action names the task it touched by its real id.
          const id = (answer.toolCalls.at(-1)?.args as { task_id?: number } | undefined)?.task_id;
          if (id !== undefined) expect(answer.reply).toContain(`#${id} `);
        }
        if (c.calls.length === 0) expect(answer.reply).toMatch(MISS);
      });
    });
  }
});

describe('what the offline model says about itself', () => {
  it('the first answer of a conversation says it is a command reader, not an AI, and how to get one', async () => {
    const user = `self-${++users}`;
    const first = await h.say(user, 'add buy milk tomorrow !high');
    expect(first.reply).toBe(
      'Added #' +
        first.toolCalls[0]?.result.id +
        ' "buy milk" (due 2026-11-24, high priority).\n' +
        '(This is taskchat\'s offline command reader, not an AI: set OPENAI_API_KEY on the server for a real model; "help" shows what I understand.)',
    );
    const second = await h.say(user, 'list', { conversationId: first.conversationId });
    expect(second.reply).not.toContain('OPENAI_API_KEY');
  });

  it('a first answer that is a miss is still one sentence, and names OPENAI_API_KEY', async () => {
    const answer = await h.say(`self-${++users}`, 'blah blah');
    expect(answer.toolCalls).toEqual([]);
    expect(answer.reply).toBe(
      'I didn\'t understand that (I\'m an offline command reader, not an AI; set OPENAI_API_KEY for a real one); try "add blah blah", "find blah" or "help".',
    );
  });

  it('help shows the help, honestly', async () => {
    const answer = await h.say(`self-${++users}`, 'help');
    expect(answer.toolCalls).toEqual([]);
    expect(answer.reply).toContain('offline command reader, not an AI model');
    expect(answer.reply).toContain('OPENAI_API_KEY');
    expect(answer.reply).toContain('"mark the milk one done"');
  });

  it.each(['delete all my tasks', 'clear completed', 'mark everything done', 'delete {one} and {two}'])(
    'refuses changes to many tasks at once, changing nothing: %s',
    async (message) => {
      const user = `self-${++users}`;
      const one = await h.say(user, 'add one');
      const two = await h.say(user, 'add two', { conversationId: one.conversationId });
      const ids = { one: one.toolCalls[0]?.result.id, two: two.toolCalls[0]?.result.id };
      const answer = await h.say(user, fill(message, ids), { conversationId: one.conversationId });
      expect(answer.toolCalls).toEqual([]);
      expect(answer.reply).toMatch(/^I change one task at a time, so nothing was changed/);
      expect(await h.tasks(user)).toHaveLength(2);
    },
  );

  it('streams a lookup and the action it leads to as one UI message, like any model', async () => {
    const user = `self-${++users}`;
    const added = await h.say(user, 'add buy milk');
    const res = await h.chat(
      user,
      { message: 'I finished buying milk', conversationId: added.conversationId },
      { accept: 'text/event-stream' },
    );
    expect(res.status).toBe(200);
    let last: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream: uiChunks(res) })) last = message;
    const parts = (last?.parts ?? []).filter((p) => p.type !== 'step-start') as any[];
    expect(parts.map((p) => [p.type, p.state, p.input])).toEqual([
      ['tool-list_tasks', 'output-available', { status: 'pending', search: 'milk' }],
      ['tool-complete_task', 'output-available', { task_id: added.toolCalls[0]?.result.id }],
      ['text', 'done', undefined],
    ]);
    expect(parts[2].text).toBe(`Marked #${added.toolCalls[0]?.result.id} "buy milk" done.`);
    expect(await h.tasks(user, 'completed')).toHaveLength(1);
  });

  it('says so when "the second one" has no list to point into', async () => {
    const user = `self-${++users}`;
    const added = await h.say(user, 'add one');
    const answer = await h.say(user, 'delete the second one', { conversationId: added.conversationId });
    expect(answer.toolCalls).toEqual([]);
    expect(answer.reply).toMatch(/^I haven't shown you a list in this conversation yet/);
  });
});

describe('the issue examples, verbatim, on a fresh database', () => {
  let fresh: TestDb;
  let app: ChatHarness;
  beforeAll(async () => {
    fresh = await createTestDb('pglite', {
      extraEnv: { CHAT_MODEL: 'offline', RATE_LIMIT_TURNS_PER_MINUTE: '0' },
    });
    app = await startChatApp('pglite', { db: fresh });
  });
  afterAll(async () => {
    await app?.close();
    await fresh?.drop();
  });

  it('a newcomer adds, asks, completes and deletes in their own words', async () => {
    const user = 'newcomer';
    let conversationId: string | undefined;
    const say = async (message: string) => {
      const answer = await app.say(user, message, conversationId ? { conversationId } : {});
      conversationId = answer.conversationId;
      return { calls: answer.toolCalls.map((c) => [c.name, c.args]), reply: answer.reply };
    };
    expect(await say('add buy milk tomorrow')).toMatchObject({
      calls: [['add_task', { title: 'buy milk', due_date: '2026-11-24' }]],
      reply: expect.stringMatching(/^Added #1 "buy milk" \(due 2026-11-24\)\.\n\(This is taskchat's offline/),
    });
    expect(await say('Add a task to call the dentist on Friday')).toEqual({
      calls: [['add_task', { title: 'call the dentist', due_date: '2026-11-27' }]],
      reply: 'Added #2 "call the dentist" (due 2026-11-27).',
    });
    expect(await say('add pay rent !urgent')).toEqual({
      calls: [['add_task', { title: 'pay rent', priority: 'high' }]],
      reply: 'Added #3 "pay rent" (high priority).',
    });
    expect(await say("what's on my list?")).toEqual({
      calls: [['list_tasks', { status: 'all' }]],
      reply: [
        'Your tasks (3):',
        '#3 [ ] pay rent (high)',
        '#2 [ ] call the dentist (due 2026-11-27)',
        '#1 [ ] buy milk (due 2026-11-24)',
      ].join('\n'),
    });
    expect(await say('I finished buying milk')).toEqual({
      calls: [
        ['list_tasks', { status: 'pending', search: 'milk' }],
        ['complete_task', { task_id: 1 }],
      ],
      reply: 'Marked #1 "buy milk" done.',
    });
    expect(await say('show me pending tasks')).toEqual({
      calls: [['list_tasks', { status: 'pending' }]],
      reply: [
        'Pending tasks (2):',
        '#3 [ ] pay rent (high)',
        '#2 [ ] call the dentist (due 2026-11-27)',
      ].join('\n'),
    });
    expect(await say('delete task 2')).toEqual({
      calls: [['delete_task', { task_id: 2 }]],
      reply: 'Deleted #2 "call the dentist".',
    });
    expect(await say('remind me to pay rent next monday, high priority')).toEqual({
      calls: [['add_task', { title: 'pay rent', due_date: '2026-11-30', priority: 'high' }]],
      reply: 'Added #4 "pay rent" (due 2026-11-30, high priority).',
    });
    expect(await say('add buy milk')).toMatchObject({ calls: [['add_task', { title: 'buy milk' }]] });
    expect(await say('mark the milk one done')).toEqual({
      calls: [
        ['list_tasks', { status: 'pending', search: 'milk' }],
        ['complete_task', { task_id: 5 }],
      ],
      reply: 'Marked #5 "buy milk" done.',
    });
    expect(await say('mark the rent one done')).toEqual({
      calls: [['list_tasks', { status: 'pending', search: 'rent' }]],
      reply:
        '2 pending tasks match "rent": #4 "pay rent" and #3 "pay rent". Which one do you mean? Answer with its #id or "the first one".',
    });
    expect(await say('#3')).toEqual({
      calls: [['complete_task', { task_id: 3 }]],
      reply: 'Marked #3 "pay rent" done.',
    });
    expect(await say('list?')).toEqual({
      calls: [['list_tasks', { status: 'all' }]],
      reply: [
        'Your tasks (4):',
        '#5 [x] buy milk',
        '#4 [ ] pay rent (due 2026-11-30, high)',
        '#3 [x] pay rent (high)',
        '#1 [x] buy milk (due 2026-11-24)',
      ].join('\n'),
    });
  });
});
