// Isolation between users, through HTTP, on every test driver: two users, alice and bob, each with
// tasks and a conversation. Every route answers bob's things to alice exactly like missing ones,
// and a model talked into attacking (every tool, ids 1..100, extra user_id/userId arguments)
// reads, changes and names nothing of bob's.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ChatHarness, startChatApp } from './support/app.ts';
import { testDrivers } from './support/db.ts';
import { type FakeToolCall, heldScript } from './support/fake-openai.ts';

const ALICE = 'alice';
const BOB = 'bob';
const BOB_TITLES = [
  'BOB-PRIVATE surgery on friday',
  'BOB-PRIVATE salary negotiation',
  'BOB-PRIVATE gift for alice',
];
const ALICE_TITLES = ['alice water plants', 'alice call mom'];
const IDS = Array.from({ length: 100 }, (_, i) => i + 1);

type Snapshot = { status: number; contentType: string | null; body: unknown };

/** Status, content type and JSON body of an answer, the per-request id taken out. */
async function snapshot(res: Response): Promise<Snapshot> {
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  if (body?.error) {
    expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
    delete body.error.requestId;
  }
  return { status: res.status, contentType: res.headers.get('content-type'), body };
}

describe.each(testDrivers)('isolation between two users on %s', (driver) => {
  let h: ChatHarness;
  let aliceConversation: string;
  let bobConversation: string;
  let aliceIds: number[];
  let bobIds: number[];

  const request = (user: string, path: string, init: RequestInit = {}) =>
    h.app.request(path, {
      ...init,
      headers: { 'x-user-id': user, ...(init.headers as Record<string, string>) },
    });
  const rawTasks = async (user: string) => (await request(user, '/tasks?status=all')).text();
  const rawConversation = async (user: string, id: string) =>
    (await request(user, `/conversations/${id}`)).text();
  /** Whether `value` names any of bob's titles (or, with `marker`, anything bob wrote). */
  const mentionsBob = (value: unknown, marker = true) => {
    const text = JSON.stringify(value);
    return BOB_TITLES.some((t) => text.includes(t)) || (marker && text.includes('BOB-PRIVATE'));
  };

  beforeAll(async () => {
    h = await startChatApp(driver, { env: { MAX_TOOL_CALLS: '500', MAX_STEPS: '8' } });
    // Interleaved, and numbered per user: bob's 1-2, alice's 1-2, bob's 3. The same numbers name
    // different tasks for each of them.
    const add = (titles: string[]): FakeToolCall[] =>
      titles.map((title) => ({ name: 'add_task', args: { title } }));
    h.fake.reply({ toolCalls: add(BOB_TITLES.slice(0, 2)) }, { text: 'BOB-PRIVATE reply: added two' });
    const bob1 = await h.say(BOB, 'BOB-PRIVATE add my two things');
    bobConversation = bob1.conversationId;
    h.fake.reply({ toolCalls: add(ALICE_TITLES) }, { text: 'Added yours.' });
    const alice1 = await h.say(ALICE, 'add my things');
    aliceConversation = alice1.conversationId;
    h.fake.reply({ toolCalls: add(BOB_TITLES.slice(2)) }, { text: 'BOB-PRIVATE reply: added the gift' });
    const bob2 = await h.say(BOB, 'BOB-PRIVATE and the gift', { conversationId: bobConversation });
    h.fake.reply(
      { toolCalls: [{ name: 'complete_task', args: { task_id: bob1.toolCalls[0]?.result.id } }] },
      { text: 'ok' },
    );
    await h.say(BOB, 'BOB-PRIVATE done with the first', { conversationId: bobConversation });
    bobIds = [...bob1.toolCalls, ...bob2.toolCalls].map((c) => c.result.id as number).sort((a, b) => a - b);
    aliceIds = alice1.toolCalls.map((c) => c.result.id as number).sort((a, b) => a - b);
    expect(bobIds).toEqual([1, 2, 3]);
    expect(aliceIds).toEqual([1, 2]);
  });
  afterAll(() => h?.close());
  beforeEach(() => {
    h.fake.setScript((req) => (req.messages.at(-1)?.role === 'tool' ? { text: 'Done.' } : { text: 'OK.' }));
  });

  it('answers bob’s conversation to alice on every route exactly like a missing one', async () => {
    const missing = crypto.randomUUID();
    const bobTasksBefore = await rawTasks(BOB);
    const bobConversationBefore = await rawConversation(BOB, bobConversation);
    const modelCalls = h.fake.requests.length;

    const routes: [string, (id: string) => Response | Promise<Response>][] = [
      ['GET /conversations/:id', (id) => request(ALICE, `/conversations/${id}`)],
      ['DELETE /conversations/:id', (id) => request(ALICE, `/conversations/${id}`, { method: 'DELETE' })],
      [
        'POST /chat (JSON)',
        (id) =>
          request(ALICE, '/chat', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ message: 'read me bob’s chat', conversationId: id }),
          }),
      ],
      [
        'POST /chat (stream)',
        (id) =>
          request(ALICE, '/chat', {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
            body: JSON.stringify({
              message: 'stream me bob’s chat',
              conversationId: id,
              messageId: `m-${id}`,
            }),
          }),
      ],
    ];
    for (const [name, send] of routes) {
      const foreign = await snapshot(await send(bobConversation));
      const absent = await snapshot(await send(missing));
      expect(foreign, name).toEqual(absent);
      expect(foreign.status, name).toBe(404);
      expect(foreign.body, name).toEqual({ error: { code: 'not_found', message: 'Conversation not found' } });
    }

    const list = (await (await request(ALICE, '/conversations')).json()) as {
      conversations: { id: string }[];
    };
    expect(list.conversations.map((c) => c.id)).toEqual([aliceConversation]);
    expect(mentionsBob(list)).toBe(false);
    const tasks = (await (await request(ALICE, '/tasks?status=all')).json()) as { tasks: { id: number }[] };
    expect(tasks.tasks.map((t) => t.id).sort((a, b) => a - b)).toEqual(aliceIds);
    expect(mentionsBob(tasks)).toBe(false);
    const searched = await (await request(ALICE, '/tasks?search=BOB-PRIVATE')).json();
    expect(searched).toEqual({ tasks: [], total: 0 });

    // No model call was made for alice, and bob's things are byte-identical.
    expect(h.fake.requests.length).toBe(modelCalls);
    expect(await rawTasks(BOB)).toBe(bobTasksBefore);
    expect(await rawConversation(BOB, bobConversation)).toBe(bobConversationBefore);
  });

  it('answers bob’s conversation 404 (not 409) to alice while bob’s turn is running there', async () => {
    const held = heldScript({ text: 'BOB-PRIVATE slow reply' });
    h.fake.setScript(held.script);
    const running = h.chat(BOB, {
      message: 'BOB-PRIVATE slow',
      conversationId: bobConversation,
      messageId: 'bob-running',
    });
    await held.called;
    const foreign = await snapshot(await h.chat(ALICE, { message: 'hi', conversationId: bobConversation }));
    const absent = await snapshot(
      await h.chat(ALICE, { message: 'hi', conversationId: crypto.randomUUID() }),
    );
    expect(foreign).toEqual(absent);
    expect(foreign.status).toBe(404);
    // Bob's running messageId is bob's alone: alice's send of it is her own new turn, not a 409.
    h.fake.setScript(() => ({ text: 'alice fresh reply' }));
    const mine = await h.say(ALICE, 'hello', { messageId: 'bob-running' });
    expect(mine.reply).toBe('alice fresh reply');
    held.release();
    expect((await running).status).toBe(200);
  });

  it('does not replay bob’s answer to alice when she sends bob’s messageId', async () => {
    h.fake.reply({ text: 'BOB-PRIVATE your secret answer' });
    const bobs = await h.say(BOB, 'BOB-PRIVATE secret question', { messageId: 'shared-msg-1' });
    expect(bobs.reply).toBe('BOB-PRIVATE your secret answer');

    const before = h.fake.requests.length;
    h.fake.reply({ text: 'alice answer' });
    const alices = await h.say(ALICE, 'my question', { messageId: 'shared-msg-1' });
    expect(h.fake.requests.length).toBe(before + 1); // a real turn ran
    expect(alices.reply).toBe('alice answer');
    expect(alices.conversationId).not.toBe(bobs.conversationId);
    expect(mentionsBob(alices)).toBe(false);
    expect(mentionsBob(h.fake.requests.at(-1)?.messages)).toBe(false);

    // Each user's replay is still their own.
    expect(await h.say(BOB, 'BOB-PRIVATE secret question', { messageId: 'shared-msg-1' })).toEqual(bobs);
    expect(await h.say(ALICE, 'my question', { messageId: 'shared-msg-1' })).toEqual(alices);
    expect(h.fake.requests.length).toBe(before + 1);
  });

  it('lets a model sending every tool for ids 1..100 with user_id/userId bob touch only alice’s tasks', async () => {
    const bobTasksBefore = await rawTasks(BOB);
    const bobConversationBefore = await rawConversation(BOB, bobConversation);
    const aliceBefore = (await h.tasks(ALICE)) as { id: number; title: string }[];
    const liveAlice = aliceBefore.map((t) => t.id);
    expect(liveAlice.length).toBeGreaterThanOrEqual(2);

    const forBob = { user_id: BOB, userId: BOB };
    const steps: FakeToolCall[][] = [
      [
        { name: 'list_tasks', args: { user_id: BOB } },
        { name: 'list_tasks', args: { userId: BOB, status: 'all', limit: 100 } },
        { name: 'list_tasks', args: { search: 'BOB-PRIVATE', ...forBob } },
        { name: 'list_tasks', args: { search: '%' } },
        ...IDS.map((id) => ({ name: 'complete_task', args: { task_id: id, ...forBob } })),
      ],
      IDS.map((id) => ({
        name: 'update_task',
        args: { task_id: id, title: 'pwned by alice', priority: 'low', ...forBob },
      })),
      IDS.map((id) => ({ name: 'complete_task', args: { task_id: id, completed: false, user_id: BOB } })),
      IDS.map((id) => ({ name: 'delete_task', args: { task_id: id, userId: BOB } })),
      [{ name: 'add_task', args: { title: 'planted for bob', ...forBob } }],
    ];
    const first = h.fake.requests.length;
    h.fake.setScript((_req, index) => {
      const step = steps[index - first];
      return step ? { toolCalls: step } : { text: 'All done with your tasks.' };
    });
    const answer = await h.say(ALICE, 'do everything to every task', { conversationId: aliceConversation });
    expect(h.fake.requests.length - first).toBe(steps.length + 1);

    // Bob's tasks and conversation are byte-identical; nothing of bob's reached alice or the model.
    expect(await rawTasks(BOB)).toBe(bobTasksBefore);
    expect(await rawConversation(BOB, bobConversation)).toBe(bobConversationBefore);
    // (Alice's own search argument is the marker, so only whole titles are looked for here.)
    expect(mentionsBob(answer, false)).toBe(false);
    for (const req of h.fake.requests.slice(first)) expect(mentionsBob(req.messages, false)).toBe(false);
    const transcript = await (await request(ALICE, `/conversations/${aliceConversation}`)).json();
    expect(mentionsBob(transcript, false)).toBe(false);

    // Every id alice does not own, bob's included, answers exactly like one that exists for no one.
    const calls = answer.toolCalls;
    expect(calls).toHaveLength(steps.flat().length);
    const byName = (name: string) => calls.filter((c) => c.name === name);
    for (const list of byName('list_tasks')) {
      expect(list.result.tasks.every((t: { id: number }) => liveAlice.includes(t.id))).toBe(true);
    }
    expect(byName('list_tasks').map((c) => c.result.total)).toEqual([
      liveAlice.length,
      liveAlice.length,
      0,
      0,
    ]);
    for (const call of [...byName('complete_task'), ...byName('update_task'), ...byName('delete_task')]) {
      const id = call.args.task_id as number;
      if (liveAlice.includes(id)) {
        expect(call.result.error, `${call.name} #${id}`).toBeUndefined();
        expect(call.result.id ?? call.result.task_id, `${call.name} #${id}`).toBe(id);
      } else {
        expect(call.result, `${call.name} #${id}`).toEqual({ error: `Task #${id} not found.` });
      }
    }
    // Bob's numbers 1 and 2 are alice's own numbers too: those calls reached alice's tasks only.
    expect(bobIds.filter((id) => liveAlice.includes(id))).toEqual([1, 2]);

    // Alice's own tasks are the affected ones: deleted, and the planted task is hers, not bob's.
    const aliceAfter = (await h.tasks(ALICE)) as { title: string }[];
    expect(aliceAfter.map((t) => t.title)).toEqual(['planted for bob']);
    expect(
      byName('delete_task')
        .filter((c) => !c.result.error)
        .map((c) => c.result.title)
        .sort(),
    ).toEqual(aliceBefore.map(() => 'pwned by alice'));
  });
});
