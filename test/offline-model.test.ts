// The offline command reader wired into the app: a few whole conversations over HTTP (POST /chat)
// on a real PGlite database with CHAT_MODEL=offline and today pinned to Monday 2026-11-23. What it
// reads, phrasing by phrasing, is tested against the model itself (src/model/offline.test.ts);
// these check that the route gives it the system prompt, the tools with their real schemas and the
// stored history it reads, and that its calls change the real list.
import { readUIMessageStream, type UIMessage } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatHarness, startChatApp } from './support/app.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { uiChunks } from './support/ui-stream.ts';

let db: TestDb;
let app: ChatHarness;

beforeAll(async () => {
  db = await createTestDb('pglite', {
    extraEnv: { CHAT_MODEL: 'offline', RATE_LIMIT_TURNS_PER_MINUTE: '0', APPROVAL_POLICY: 'none' },
  });
  app = await startChatApp('pglite', { db });
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

/** One conversation of `user`: each message sent with the conversation id of the first answer. */
function conversation(user: string) {
  let conversationId: string | undefined;
  return async (message: string) => {
    const answer = await app.say(user, message, conversationId ? { conversationId } : {});
    conversationId = answer.conversationId;
    return { calls: answer.toolCalls.map((c) => [c.name, c.args]), reply: answer.reply };
  };
}

describe('the offline reader through the chat route', () => {
  it('a newcomer adds, asks, completes and deletes in their own words', async () => {
    const say = conversation('newcomer');
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
    expect(await say('delete task 2')).toEqual({
      calls: [['delete_task', { task_id: 2 }]],
      reply: 'Deleted #2 "call the dentist".',
    });
    expect(await say('add pay rent next monday')).toMatchObject({
      calls: [['add_task', { title: 'pay rent' }]],
    });
    expect(await say('mark the rent one done')).toEqual({
      calls: [['list_tasks', { status: 'pending', search: 'rent' }]],
      reply:
        '2 pending tasks match "rent": #4 "pay rent" and #3 "pay rent". Which one do you mean? Answer with its #id or "the first one".',
    });
    // "it" after the question is one of the two: nothing changes until the user chooses.
    expect(await say('make it high priority')).toEqual({
      calls: [],
      reply: 'Which one do you mean by "it": #4 "pay rent" or #3 "pay rent"? Name it by its #id.',
    });
    expect(await say('#4')).toEqual({
      calls: [['update_task', { task_id: 4, priority: 'high' }]],
      reply: 'Set #4 "pay rent" to high priority.',
    });
    expect(await say('done 3')).toMatchObject({ calls: [['complete_task', { task_id: 3 }]] });
    expect((await app.tasks('newcomer')).map((t) => [t.id, t.completed])).toEqual([
      [4, false],
      [3, true],
      [1, true],
    ]);
  });

  it('reads the issue sentences: several tasks at once, shorthand, fillers, and a repeat', async () => {
    const say = conversation('issue');
    expect(
      await say('I need to pay rent on the 1st, call the dentist, and buy a birthday gift for Sam by Friday'),
    ).toMatchObject({
      calls: [
        ['add_task', { title: 'pay rent', due_date: '2026-12-01' }],
        ['add_task', { title: 'call the dentist' }],
        ['add_task', { title: 'buy a birthday gift for Sam', due_date: '2026-11-27' }],
      ],
    });
    expect(await say('the dentist one is done')).toEqual({
      calls: [
        ['list_tasks', { status: 'pending', search: 'dentist' }],
        ['complete_task', { task_id: 2 }],
      ],
      reply: 'Marked #2 "call the dentist" done.',
    });
    expect((await say('pls ad pick up dry cleaning tmrw')).calls).toEqual([
      ['add_task', { title: 'pick up dry cleaning', due_date: '2026-11-24' }],
    ]);
    expect((await say('actually make the gift high priority')).calls).toEqual([
      ['list_tasks', { search: 'gift' }],
      ['update_task', { task_id: 3, priority: 'high' }],
    ]);
    // The tools take `repeat` and `reminder`: a clean title, the first Monday, the rule, and a
    // reminder at 09:00 (no time was said) in the user's zone (UTC here).
    expect(await say('remind me every monday to water the plants')).toMatchObject({
      calls: [
        [
          'add_task',
          {
            title: 'water the plants',
            due_date: '2026-11-23',
            repeat: 'FREQ=WEEKLY;BYDAY=MO',
            reminder: '2026-11-23T09:00:00+00:00',
          },
        ],
      ],
      reply: expect.stringMatching(
        /^Added #5 "water the plants" \(due 2026-11-23, repeats every monday, reminder at 09:00\)/,
      ),
    });
    expect((await app.tasks('issue', 'completed')).map((t) => t.title)).toEqual(['call the dentist']);
    expect((await app.tasks('issue')).map((t) => t.title)).toEqual([
      'water the plants',
      'pick up dry cleaning',
      'buy a birthday gift for Sam',
      'call the dentist',
      'pay rent',
    ]);
  });

  it('refuses to change many tasks at once, changing nothing', async () => {
    const say = conversation('bulk');
    await say('add one, add two');
    await say('add walk the dog and feed the cat tomorrow');
    const before = await app.tasks('bulk');
    expect(await say('delete all my tasks')).toMatchObject({
      calls: [],
      reply: expect.stringMatching(/^I change one task at a time, so nothing was changed/),
    });
    expect(await app.tasks('bulk')).toEqual(before);
  });

  it('undoes each action from the chat: after every "undo" the list is as it was before that action', async () => {
    const user = 'undoer';
    const say = conversation(user);
    // The task as the user sees it: an undo stamps updatedAt anew.
    const state = async () => (await app.tasks(user)).map(({ updatedAt: _, ...task }) => task);

    await say('add buy milk');
    expect(await say('undo that')).toEqual({
      calls: [['undo_change', { change_id: 1 }]],
      reply: 'Undone: #1 "buy milk" is removed again.',
    });
    expect(await state()).toEqual([]);

    await say('add call the dentist');
    const open = await state();
    expect(open).toMatchObject([{ id: 2, title: 'call the dentist', completed: false }]);
    for (const action of [
      'done 2',
      'rename 2 to call Dr. Smith',
      'move 2 to friday',
      'make 2 high priority',
    ]) {
      expect((await say(action)).calls).toHaveLength(1);
      expect(await state()).not.toEqual(open);
      expect((await say('undo')).calls, action).toEqual([['undo_change', { change_id: expect.any(Number) }]]);
      expect(await state(), action).toEqual(open);
    }

    // Reopening, undone: done again; one more "undo" walks back to before the completion.
    await say('done 2');
    await say('reopen 2');
    expect((await say('undo')).reply).toBe('Undone: #2 "call the dentist" is done again.');
    expect(await state()).toMatchObject([{ id: 2, completed: true }]);
    expect((await say('undo')).reply).toBe('Undone: #2 "call the dentist" is open again.');
    expect(await state()).toEqual(open);

    // A delete, undone: the task is back with its own number.
    await say('delete 2');
    expect(await state()).toEqual([]);
    expect(await say('undo')).toMatchObject({
      reply: 'Undone: #2 "call the dentist" is back, with its number.',
    });
    expect(await state()).toEqual(open);

    // "the last two": the two newest changes, newest first.
    await say('done 2');
    await say('make it high priority');
    expect(await say('undo the last two')).toMatchObject({
      calls: [
        ['undo_change', { change_id: expect.any(Number) }],
        ['undo_change', { change_id: expect.any(Number) }],
      ],
      reply: 'Undone: #2 "call the dentist" is back as it was. Undone: #2 "call the dentist" is open again.',
    });
    expect(await state()).toEqual(open);
  });

  it('streams a lookup and the action it leads to as one UI message, like any model', async () => {
    const added = await app.say('streamer', 'add buy milk');
    const res = await app.chat(
      'streamer',
      { message: 'I finished buying milk', conversationId: added.conversationId },
      { accept: 'text/event-stream' },
    );
    expect(res.status).toBe(200);
    let last: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream: uiChunks(res) })) last = message;
    const parts = (last?.parts ?? []).filter((p) => p.type !== 'step-start') as any[];
    expect(parts.map((p) => [p.type, p.state, p.input])).toEqual([
      ['tool-list_tasks', 'output-available', { status: 'pending', search: 'milk' }],
      ['tool-complete_task', 'output-available', { task_id: 1 }],
      ['text', 'done', undefined],
    ]);
    expect(parts[2].text).toBe('Marked #1 "buy milk" done.');
    expect(await app.tasks('streamer', 'completed')).toHaveLength(1);
  });
});
