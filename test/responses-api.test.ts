// Chat turns over the OpenAI Responses API (OPENAI_API=responses, the default with OpenAI
// itself): the real @ai-sdk/openai responses model against the fake server's /v1/responses, in
// JSON and SSE. History is reloaded from Postgres, so what the provider sends for earlier turns
// must be whole items, never `item_reference`s to items only OpenAI would hold.
import { readUIMessageStream, type UIMessage } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ChatHarness, startChatApp } from './support/app.ts';
import { testDrivers } from './support/db.ts';
import { defaultScript, type FakeRequest, lastUserText } from './support/fake-openai.ts';
import { uiChunks } from './support/ui-stream.ts';

const inputOf = (req: FakeRequest | undefined): any[] => req?.body.input ?? [];
const typesOf = (input: any[]) => input.map((item) => item.type ?? `message:${item.role}`);

describe.each(testDrivers)('Responses API on %s', (driver) => {
  let h: ChatHarness;
  beforeAll(async () => {
    h = await startChatApp(driver, { env: { OPENAI_API: 'responses', MODEL_TIMEOUT_MS: '3000' } });
  });
  afterAll(() => h?.close());
  beforeEach(() => h.fake.setScript(defaultScript));

  it('runs a tool call then a text answer; the second request carries the call and its output', async () => {
    const user = 'json-user';
    const before = h.fake.requests.length;
    h.fake.reply(
      { toolCalls: [{ name: 'add_task', args: { title: 'buy milk', priority: 'high' } }] },
      { text: 'Added #1.' },
    );
    const answer = await h.say(user, 'add buy milk, high priority');
    expect(answer.reply).toBe('Added #1.');
    expect(answer.toolCalls).toEqual([
      {
        name: 'add_task',
        args: { title: 'buy milk', priority: 'high' },
        result: expect.objectContaining({ title: 'buy milk', priority: 'high', completed: false }),
      },
    ]);
    expect(await h.tasks(user)).toEqual([{ ...answer.toolCalls[0]?.result, change_id: undefined }]);

    const [first, second] = h.fake.requests.slice(before);
    expect(h.fake.requests).toHaveLength(before + 2);
    expect(first).toMatchObject({ api: 'responses', stream: false });
    expect(first?.headers.authorization).toBe('Bearer test-key');
    expect(first?.body).toMatchObject({ model: 'fake-model', store: false });
    expect(first?.tools.map((t) => [t.type, t.name])).toContainEqual(['function', 'add_task']);
    expect(lastUserText(first as FakeRequest)).toBe('add buy milk, high priority');

    const input = inputOf(second);
    expect(typesOf(input)).toEqual([
      'message:system',
      'message:user',
      'function_call',
      'function_call_output',
    ]);
    const call = input[2];
    expect(call).toMatchObject({ type: 'function_call', name: 'add_task' });
    expect(JSON.parse(call.arguments)).toEqual({ title: 'buy milk', priority: 'high' });
    expect(input[3]).toMatchObject({ type: 'function_call_output', call_id: call.call_id });
    expect(JSON.parse(input[3].output)).toMatchObject({ title: 'buy milk' });
    // The same exchange as the fake reads it, in chat-message terms.
    expect(second?.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: call.call_id });
  });

  it('sends the previous turn from Postgres as whole items, with store: false and no item_reference', async () => {
    const user = 'history-user';
    h.fake.reply({ toolCalls: [{ name: 'add_task', args: { title: 'water plants' } }] }, { text: 'Added.' });
    const first = await h.say(user, 'add water plants');
    const before = h.fake.requests.length;
    h.fake.reply({ text: 'You have one task.' });
    const second = await h.say(user, 'what did I add?', { conversationId: first.conversationId });
    expect(second.reply).toBe('You have one task.');

    const sent = h.fake.requests[before];
    expect(sent?.body.store).toBe(false);
    expect(sent?.body.previous_response_id).toBeUndefined();
    const input = inputOf(sent);
    expect(input.some((item) => item.type === 'item_reference')).toBe(false);
    expect(typesOf(input)).toEqual([
      'message:system',
      'message:user',
      'function_call',
      'function_call_output',
      'message:assistant',
      'message:user',
    ]);
    expect(input[2]).toMatchObject({
      name: 'add_task',
      arguments: JSON.stringify({ title: 'water plants' }),
    });
    expect(input[3].call_id).toBe(input[2].call_id);
    expect(JSON.parse(input[3].output)).toMatchObject({ title: 'water plants' });
    expect(input[4]).toEqual({ role: 'assistant', content: 'Added.' });
    expect(input[5]).toEqual({ role: 'user', content: [{ type: 'input_text', text: 'what did I add?' }] });
  });

  it('streams a turn with a tool call to the end, and stores it', async () => {
    const user = 'stream-user';
    const before = h.fake.requests.length;
    h.fake.reply(
      { toolCalls: [{ name: 'add_task', args: { title: 'streamed task' } }] },
      { text: 'Added the streamed task.' },
    );
    const res = await h.chat(user, { message: 'add streamed task' }, { accept: 'text/event-stream' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const conversationId = res.headers.get('x-conversation-id') as string;
    let last: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream: uiChunks(res) })) last = message;
    const text = last?.parts
      .filter((p) => p.type === 'text')
      .map((p: any) => p.text)
      .join('');
    expect(text).toBe('Added the streamed task.');
    const toolPart = last?.parts.find((p) => p.type === 'tool-add_task') as any;
    expect(toolPart).toMatchObject({ state: 'output-available', input: { title: 'streamed task' } });
    expect(toolPart.output).toMatchObject({ title: 'streamed task' });

    const turn = h.fake.requests.slice(before);
    expect(turn.map((r) => [r.api, r.stream])).toEqual([
      ['responses', true],
      ['responses', true],
    ]);
    expect(typesOf(inputOf(turn[1])).slice(-2)).toEqual(['function_call', 'function_call_output']);
    expect((await h.tasks(user)).map((t) => t.title)).toEqual(['streamed task']);

    // Stored by the time the stream finished: the next turn sees it, as whole items.
    const next = await h.say(user, 'next', { conversationId });
    expect(next.reply).toBe('OK.');
    const input = inputOf(h.fake.requests.at(-1));
    expect(input.some((item) => item.type === 'item_reference')).toBe(false);
    expect(input.at(-2)).toEqual({ role: 'assistant', content: 'Added the streamed task.' });
  });

  it('answers 502 model_error when the provider answers 500', async () => {
    h.fake.reply({ status: 500 });
    const res = await h.chat('fail-user', { message: 'hello' });
    expect(res.status).toBe(502);
    expect((await res.json()).error.code).toBe('model_error');
    expect(h.fake.requests.at(-1)?.api).toBe('responses');
  });

  it('the fake refuses an item_reference to an item it does not hold, as OpenAI does', async () => {
    const res = await fetch(`${h.fake.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fake-model', input: [{ type: 'item_reference', id: 'msg_elsewhere' }] }),
    });
    expect(res.status).toBe(404);
    expect((await res.json()).error.message).toContain('msg_elsewhere');
  });
});

// gpt-5-mini is a reasoning model to the provider: its reasoning items must go back with the
// next requests; with store: false that is only possible as encrypted content.
describe.each(testDrivers)('Responses API with a reasoning model on %s', (driver) => {
  let h: ChatHarness;
  beforeAll(async () => {
    h = await startChatApp(driver, {
      env: { OPENAI_API: 'responses', CHAT_MODEL: 'gpt-5-mini', MODEL_TIMEOUT_MS: '3000' },
    });
  });
  afterAll(() => h?.close());

  for (const mode of ['json', 'stream'] as const) {
    it(`asks for encrypted reasoning and sends reasoning back in full (${mode})`, async () => {
      const user = `reasoning-${mode}`;
      h.fake.reply(
        { reasoning: 'needs a tool', toolCalls: [{ name: 'add_task', args: { title: 'think' } }] },
        { reasoning: 'done', text: 'Added.' },
      );
      const headers: Record<string, string> = mode === 'stream' ? { accept: 'text/event-stream' } : {};
      const res = await h.chat(user, { message: 'add think' }, headers);
      expect(res.status).toBe(200);
      const body = await res.text();
      await h.inflight.idle();
      const conversationId =
        mode === 'stream' ? (res.headers.get('x-conversation-id') ?? '') : JSON.parse(body).conversationId;
      expect((await h.tasks(user)).map((t) => t.title)).toEqual(['think']);
      // Stored for the model, not streamed to the client.
      if (mode === 'stream') expect(body).not.toContain('"type":"reasoning-');

      const before = h.fake.requests.length;
      h.fake.reply({ reasoning: '', text: 'One task.' });
      const next = await h.say(user, 'how many?', { conversationId });
      expect(next.reply).toBe('One task.');

      const sent = h.fake.requests[before];
      expect(sent?.body).toMatchObject({ store: false, include: ['reasoning.encrypted_content'] });
      const input = inputOf(sent);
      expect(input.some((item) => item.type === 'item_reference')).toBe(false);
      expect(typesOf(input)).toEqual([
        'message:developer',
        'message:user',
        'reasoning',
        'function_call',
        'function_call_output',
        'reasoning',
        'message:assistant',
        'message:user',
      ]);
      expect(input[2]).toMatchObject({
        id: expect.stringMatching(/^rs_/),
        encrypted_content: `enc:${input[2].id}`,
        summary: [{ type: 'summary_text', text: 'needs a tool' }],
      });
      expect(input[5].encrypted_content).toBe(`enc:${input[5].id}`);
      expect(input[6]).toEqual({ role: 'assistant', content: 'Added.' });
    });
  }
});
