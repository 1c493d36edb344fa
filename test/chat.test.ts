import { readUIMessageStream, type UIMessage } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ChatHarness, startChatApp, TODAY } from './support/app.ts';
import { testDrivers } from './support/db.ts';
import { heldScript } from './support/fake-openai.ts';
import { sleep } from './support/sleep.ts';
import { uiChunks } from './support/ui-stream.ts';

async function conversation(h: ChatHarness, user: string, id: string) {
  const res = await h.get(user, `/conversations/${id}`);
  return { status: res.status, body: (await res.json()) as any };
}

describe.each(testDrivers)('POST /chat on %s', (driver) => {
  let h: ChatHarness;
  beforeAll(async () => {
    h = await startChatApp(driver, { env: { MODEL_TIMEOUT_MS: '1500', HISTORY_MESSAGES: '10' } });
  });
  afterAll(() => h?.close());
  beforeEach(() => {
    h.fake.setScript((req) => (req.messages.at(-1)?.role === 'tool' ? { text: 'Done.' } : { text: 'OK.' }));
  });

  it('runs every tool by the model’s call, with results in the answer and in the database', async () => {
    const user = 'tools-user';
    h.fake.reply(
      {
        toolCalls: [
          { name: 'add_task', args: { title: 'buy milk', due_date: '2026-11-24', priority: 'high' } },
        ],
      },
      { text: 'Added #1.' },
    );
    const added = await h.say(user, 'add buy milk tomorrow, high priority');
    expect(added.reply).toBe('Added #1.');
    expect(added.toolCalls).toEqual([
      {
        name: 'add_task',
        args: { title: 'buy milk', due_date: '2026-11-24', priority: 'high' },
        result: expect.objectContaining({
          title: 'buy milk',
          dueDate: '2026-11-24',
          priority: 'high',
          completed: false,
        }),
      },
    ]);
    const id = added.toolCalls[0]?.result.id as number;
    // The task is the result without the change id the change answered.
    expect(await h.tasks(user)).toEqual([{ ...added.toolCalls[0]?.result, change_id: undefined }]);
    const conversationId = added.conversationId;

    h.fake.reply(
      { toolCalls: [{ name: 'update_task', args: { task_id: id, title: 'buy oat milk' } }] },
      { text: 'Renamed.' },
    );
    const updated = await h.say(user, 'rename it to buy oat milk', { conversationId });
    expect(updated.toolCalls[0]?.result).toMatchObject({ id, title: 'buy oat milk' });

    h.fake.reply({ toolCalls: [{ name: 'complete_task', args: { task_id: id } }] }, { text: 'Done!' });
    await h.say(user, 'done with it', { conversationId });
    expect((await h.tasks(user, 'completed')).map((t) => t.id)).toEqual([id]);

    h.fake.reply(
      { toolCalls: [{ name: 'list_tasks', args: { status: 'completed' } }] },
      { text: 'One done.' },
    );
    const listed = await h.say(user, 'what is done?', { conversationId });
    expect(listed.toolCalls[0]?.result).toMatchObject({ total: 1, tasks: [{ id, completed: true }] });

    h.fake.reply({ toolCalls: [{ name: 'delete_task', args: { task_id: id } }] }, { text: 'Deleted.' });
    const deleted = await h.say(user, 'delete it', { conversationId });
    expect(deleted.toolCalls[0]?.result).toEqual({
      task_id: id,
      deleted: true,
      title: 'buy oat milk',
      change_id: expect.any(Number),
    });
    expect(await h.tasks(user)).toEqual([]);
  });

  it('runs several tool calls of one step, in order', async () => {
    const user = 'parallel-user';
    h.fake.reply(
      {
        toolCalls: [
          { name: 'add_task', args: { title: 'one' } },
          { name: 'add_task', args: { title: 'two' } },
          { name: 'add_task', args: { title: 'three' } },
        ],
      },
      { text: 'Added three.' },
    );
    const answer = await h.say(user, 'add one, two and three');
    expect(answer.toolCalls.map((c) => c.args.title)).toEqual(['one', 'two', 'three']);
    expect((await h.tasks(user)).map((t) => t.title).sort()).toEqual(['one', 'three', 'two']);
  });

  it('sends the stored history, tool calls and results included, on the next turn', async () => {
    const user = 'history-user';
    h.fake.reply({ toolCalls: [{ name: 'add_task', args: { title: 'water plants' } }] }, { text: 'Added.' });
    const first = await h.say(user, 'add water plants');
    const before = h.fake.requests.length;
    h.fake.reply({ text: 'You have one task.' });
    const second = await h.say(user, 'what did I add?', { conversationId: first.conversationId });
    expect(second.reply).toBe('You have one task.');
    const sent = h.fake.requests[before]?.messages ?? [];
    expect(sent[0]).toMatchObject({ role: 'system' });
    expect(sent[0].content).toContain(TODAY);
    expect(sent.slice(1).map((m: any) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant', 'user']);
    expect(sent[2].tool_calls[0].function).toMatchObject({ name: 'add_task' });
    expect(JSON.parse(sent[3].content)).toMatchObject({ title: 'water plants' });
    expect(sent.at(-1).content).toBe('what did I add?');

    const { body } = await conversation(h, user, first.conversationId);
    expect(body.messages.map((m: any) => [m.role, m.content])).toEqual([
      ['user', 'add water plants'],
      ['assistant', 'Added.'],
      ['user', 'what did I add?'],
      ['assistant', 'You have one task.'],
    ]);
    expect(body.messages[1].toolCalls).toEqual([
      {
        name: 'add_task',
        args: { title: 'water plants' },
        result: expect.objectContaining({ title: 'water plants' }),
      },
    ]);
  });

  it('answers another user’s conversation exactly like a missing one, without calling the model', async () => {
    const mine = await h.say('owner', 'hello');
    const before = h.fake.requests.length;
    const res = await h.chat('intruder', { message: 'hi', conversationId: mine.conversationId });
    expect(res.status).toBe(404);
    const missing = await h.chat('intruder', { message: 'hi', conversationId: crypto.randomUUID() });
    expect(missing.status).toBe(404);
    expect(await res.json()).toMatchObject({
      error: { code: 'not_found', message: 'Conversation not found' },
    });
    expect((await missing.json()).error.message).toBe('Conversation not found');
    expect(h.fake.requests.length).toBe(before);
    expect((await conversation(h, 'intruder', mine.conversationId)).status).toBe(404);
    expect(
      (
        await h.app.request(`/conversations/${mine.conversationId}`, {
          method: 'DELETE',
          headers: { 'x-user-id': 'intruder' },
        })
      ).status,
    ).toBe(404);
    expect((await conversation(h, 'owner', mine.conversationId)).status).toBe(200);
    const list = await (await h.get('intruder', '/conversations')).json();
    expect(list.conversations.map((c: any) => c.id)).not.toContain(mine.conversationId);
  });

  it('turns another user’s task ids into tool errors and changes nothing', async () => {
    h.fake.reply({ toolCalls: [{ name: 'add_task', args: { title: 'private plan' } }] }, { text: 'ok' });
    const victim = await h.say('victim', 'add private plan');
    const id = victim.toolCalls[0]?.result.id as number;
    h.fake.reply(
      {
        toolCalls: [
          { name: 'complete_task', args: { task_id: id, user_id: 'victim' } },
          { name: 'update_task', args: { task_id: id, title: 'pwned', userId: 'victim' } },
          { name: 'delete_task', args: { task_id: id } },
        ],
      },
      { text: 'Could not.' },
    );
    const attack = await h.say('attacker', 'mess with task');
    for (const call of attack.toolCalls) expect(call.result).toEqual({ error: `Task #${id} not found.` });
    expect(JSON.stringify(attack)).not.toContain('private plan');
    expect(await h.tasks('victim')).toEqual([{ ...victim.toolCalls[0]?.result, change_id: undefined }]);
  });

  it('replays a repeated messageId without calling the model or the tools again', async () => {
    const user = 'replay-user';
    h.fake.reply(
      { toolCalls: [{ name: 'add_task', args: { title: 'once only' } }] },
      { text: 'Added once.' },
    );
    const first = await h.say(user, 'add once only', { messageId: 'client-msg-1' });
    const before = h.fake.requests.length;
    const again = await h.say(user, 'add once only', { messageId: 'client-msg-1' });
    expect(again).toEqual(first);
    expect(h.fake.requests.length).toBe(before);
    expect((await h.tasks(user)).map((t) => t.title)).toEqual(['once only']);
    const { body } = await conversation(h, user, first.conversationId);
    expect(body.messages.filter((m: any) => m.role === 'user')).toHaveLength(1);
  });

  it('refuses a messageId sent again with a different message: 409 message_id_reused, no answer given', async () => {
    const user = 'reused-user';
    h.fake.reply({ text: 'Your rent is noted.' });
    const first = await h.say(user, 'remember the rent', { messageId: 'client-msg-2' });
    const before = h.fake.requests.length;
    const other = await h.chat(user, { message: 'delete everything', messageId: 'client-msg-2' });
    expect(other.status).toBe(409);
    const body = await other.json();
    expect(body.error.code).toBe('message_id_reused');
    expect(JSON.stringify(body)).not.toContain('Your rent is noted.');
    expect(h.fake.requests.length).toBe(before);
    // The first message keeps its answer, and nothing was stored for the refused one.
    expect(await h.say(user, 'remember the rent', { messageId: 'client-msg-2' })).toEqual(first);
    const { body: stored } = await conversation(h, user, first.conversationId);
    expect(stored.messages.map((m: any) => m.content)).toEqual(['remember the rent', 'Your rent is noted.']);
  });

  it('never interleaves two turns of one conversation', async () => {
    const user = 'busy-user';
    const first = await h.say(user, 'start');
    h.fake.setScript(async () => {
      await sleep(300);
      return { text: 'slow answer' };
    });
    const [a, b] = await Promise.all([
      h.chat(user, { message: 'one', conversationId: first.conversationId }),
      h.chat(user, { message: 'two', conversationId: first.conversationId }),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 409]);
    const busy = a.status === 409 ? a : b;
    expect((await busy.json()).error.code).toBe('conversation_busy');
    const { body } = await conversation(h, user, first.conversationId);
    expect(body.messages.map((m: any) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  });

  it('answers a repeated messageId with 409 while the first send is still running', async () => {
    const user = 'dup-running';
    const held = heldScript({ text: 'slow' });
    h.fake.setScript(held.script);
    const first = h.chat(user, { message: 'hello', messageId: 'm-running' });
    await held.called;
    const repeat = await h.chat(user, { message: 'hello', messageId: 'm-running' });
    expect(repeat.status).toBe(409);
    held.release();
    expect((await first).status).toBe(200);
  });

  it('runs a first send that races a copy of itself once: one conversation, one model run', async () => {
    const user = 'double-click';
    h.fake.setScript(async (req) => {
      await sleep(200);
      return req.messages.at(-1)?.role === 'tool'
        ? { text: 'Added.' }
        : { toolCalls: [{ name: 'add_task', args: { title: 'only once' } }] };
    });
    const before = h.fake.requests.length;
    const body = { message: 'add only once', messageId: 'first-send' };
    const [a, b] = await Promise.all([h.chat(user, body), h.chat(user, body)]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect(h.fake.requests.length - before).toBe(2); // one turn: the tool step and the answer
    expect((await h.tasks(user)).map((t) => t.title)).toEqual(['only once']);
    const list = await (await h.get(user, '/conversations')).json();
    expect(list.conversations).toHaveLength(1);
  });

  it('takes turns sent back to back, each seeing the previous reply', async () => {
    const user = 'rapid-user';
    let conversationId: string | undefined;
    for (let i = 0; i < 5; i++) {
      h.fake.reply({ text: `reply ${i}` });
      const answer = await h.say(user, `message ${i}`, conversationId ? { conversationId } : {});
      conversationId = answer.conversationId;
      const sent = h.fake.requests.at(-1)?.messages ?? [];
      if (i > 0) expect(sent.at(-2)).toMatchObject({ role: 'assistant', content: `reply ${i - 1}` });
    }
  });

  it('answers 502 when the provider fails, keeping the user message and storing no assistant message', async () => {
    const user = 'provider-fail';
    const ok = await h.say(user, 'first');
    h.fake.reply({ status: 500 });
    const res = await h.chat(user, {
      message: 'second',
      conversationId: ok.conversationId,
      messageId: 'fail-1',
    });
    expect(res.status).toBe(502);
    expect((await res.json()).error.code).toBe('model_error');
    const { body } = await conversation(h, user, ok.conversationId);
    expect(body.messages.map((m: any) => [m.role, m.content])).toEqual([
      ['user', 'first'],
      ['assistant', 'OK.'],
      ['user', 'second'],
    ]);

    // Sending it again runs the turn again without storing the user message twice.
    h.fake.reply({ text: 'second answer' });
    const retried = await h.say(user, 'second', { conversationId: ok.conversationId, messageId: 'fail-1' });
    expect(retried.reply).toBe('second answer');
    const after = await conversation(h, user, ok.conversationId);
    expect(after.body.messages.map((m: any) => m.content)).toEqual([
      'first',
      'OK.',
      'second',
      'second answer',
    ]);
  });

  it('answers 504 when the model does not answer in time, keeping the user message', async () => {
    const user = 'model-hang';
    h.fake.reply({ hang: true });
    const res = await h.chat(user, { message: 'anyone there?' });
    expect(res.status).toBe(504);
    expect((await res.json()).error.code).toBe('model_timeout');
    const list = await (await h.get(user, '/conversations')).json();
    const { body } = await conversation(h, user, list.conversations[0].id);
    expect(body.messages.map((m: any) => [m.role, m.content])).toEqual([['user', 'anyone there?']]);
    // The conversation is not left busy.
    expect((await h.say(user, 'still there?', { conversationId: body.id })).reply).toBe('OK.');
  });

  it.each([
    ['malformed JSON', '{"message":', 400],
    ['a missing message', {}, 400],
    ['a non-string message', { message: 42 }, 400],
    ['an empty message', { message: '   ' }, 400],
    ['an over-long message', { message: 'x'.repeat(8001) }, 400],
    ['a malformed conversation id', { message: 'hi', conversationId: 'nope' }, 400],
    ['a malformed messageId', { message: 'hi', messageId: 'has spaces in it' }, 400],
  ])('refuses %s with 400 invalid_request', async (_name, body, status) => {
    const res = await h.chat('bad-body', body);
    expect(res.status).toBe(status);
    expect((await res.json()).error.code).toBe('invalid_request');
  });

  it('refuses a body over the limit with 413 and closes the connection', async () => {
    const res = await h.chat('big-body', { message: 'x'.repeat(70_000) });
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect((await res.json()).error.code).toBe('payload_too_large');
  });

  it('streams the turn as a UI message stream with text and tool parts and the ids', async () => {
    const user = 'stream-user';
    h.fake.reply(
      { toolCalls: [{ name: 'add_task', args: { title: 'streamed task' } }] },
      { text: 'Added the streamed task.' },
    );
    const res = await h.chat(user, { message: 'add streamed task' }, { accept: 'text/event-stream' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const conversationId = res.headers.get('x-conversation-id');
    expect(conversationId).toBeTruthy();
    let last: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream: uiChunks(res) })) last = message;
    expect(last?.metadata).toEqual({ conversationId, messageId: res.headers.get('x-message-id') });
    const text = last?.parts
      .filter((p) => p.type === 'text')
      .map((p: any) => p.text)
      .join('');
    expect(text).toBe('Added the streamed task.');
    const toolPart = last?.parts.find((p) => p.type === 'tool-add_task') as any;
    expect(toolPart).toMatchObject({ state: 'output-available', input: { title: 'streamed task' } });
    expect(toolPart.output).toMatchObject({ title: 'streamed task' });
    // Stored by the time the stream finished: the next turn is not busy and sees it.
    const next = await h.say(user, 'next', { conversationId });
    expect(next.reply).toBe('OK.');
  });

  it('replays a repeated messageId as a stream with the same text and tool parts', async () => {
    const user = 'stream-replay';
    h.fake.reply({ toolCalls: [{ name: 'add_task', args: { title: 'replayed' } }] }, { text: 'Added it.' });
    const body = { message: 'add replayed', messageId: 'stream-replay-1' };
    const first = await h.say(user, body.message, { messageId: body.messageId });
    const before = h.fake.requests.length;
    const res = await h.chat(user, body, { accept: 'text/event-stream' });
    expect(res.headers.get('x-conversation-id')).toBe(first.conversationId);
    let last: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream: uiChunks(res) })) last = message;
    expect(h.fake.requests.length).toBe(before);
    expect(last?.metadata).toEqual({ conversationId: first.conversationId, messageId: 'stream-replay-1' });
    expect(last?.parts.filter((p) => p.type === 'text').map((p: any) => p.text)).toEqual(['Added it.']);
    const toolPart = last?.parts.find((p) => p.type === 'tool-add_task') as any;
    expect(toolPart).toMatchObject({ state: 'output-available', input: { title: 'replayed' } });
    expect(toolPart.output).toEqual(first.toolCalls[0]?.result);
  });

  it('stores a streamed turn even when the client disconnects', async () => {
    const user = 'gone-user';
    h.fake.setScript(async (req) => {
      await sleep(200);
      return req.messages.at(-1)?.role === 'tool'
        ? { text: 'Saved anyway.' }
        : { toolCalls: [{ name: 'add_task', args: { title: 'survives' } }] };
    });
    const controller = new AbortController();
    const res = await h.chat(user, { message: 'add survives' }, { accept: 'text/event-stream' });
    const conversationId = res.headers.get('x-conversation-id') as string;
    await res.body?.cancel();
    controller.abort();
    await h.inflight.idle();
    expect((await h.tasks(user)).map((t) => t.title)).toEqual(['survives']);
    const { body } = await conversation(h, user, conversationId);
    expect(body.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'Saved anyway.' });
  });

  it('reports a failure after the stream started as an error part and stores the turn as failed', async () => {
    const user = 'stream-fail';
    h.fake.reply({ status: 500 });
    const res = await h.chat(user, { message: 'hello' }, { accept: 'text/event-stream' });
    const text = await res.text();
    expect(text).toContain('"type":"error"');
    expect(text).not.toContain('"type":"finish"');
    await h.inflight.idle();
    const { body } = await conversation(h, user, res.headers.get('x-conversation-id') as string);
    expect(body.messages.map((m: any) => m.role)).toEqual(['user']);
  });

  it('sends a bounded history window that starts at a user message in a 60-turn conversation', async () => {
    const user = 'long-user';
    let conversationId: string | undefined;
    for (let i = 0; i < 60; i++) {
      // Every third turn uses a tool, so the window sometimes would start inside an exchange.
      if (i % 3 === 0)
        h.fake.reply({ toolCalls: [{ name: 'list_tasks', args: {} }] }, { text: `listed ${i}` });
      else h.fake.reply({ text: `chat ${i}` });
      const answer = await h.say(user, `turn ${i}`, conversationId ? { conversationId } : {});
      conversationId = answer.conversationId;
    }
    const last = h.fake.requests.at(-1)?.messages ?? [];
    const history = last.slice(1);
    expect(history.length).toBeLessThanOrEqual(10);
    expect(history[0].role).toBe('user');
    expect(history.at(-1)).toMatchObject({ role: 'user', content: 'turn 59' });
    const callIds = history.flatMap((m: any) => (m.tool_calls ?? []).map((c: any) => c.id));
    const resultIds = history.filter((m: any) => m.role === 'tool').map((m: any) => m.tool_call_id);
    expect(resultIds.sort()).toEqual(callIds.sort());
  });
});
