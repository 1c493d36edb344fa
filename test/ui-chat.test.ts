// The AI SDK's own chat client against the real app, as a UI built on `useChat` uses it: the
// framework-free `AbstractChat` with a minimal in-memory `ChatState` (what @ai-sdk/react's Chat
// adds is React state), and `DefaultChatTransport` with nothing but its URL and the dev-mode user
// header, talking HTTP to a real listener. The server is the whole app over a real database and
// the fake OpenAI-compatible server.
import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ChatHarness, type Listener, listen, startChatApp } from './support/app.ts';
import { testDrivers } from './support/db.ts';
import { type FakeScript, lastUserText } from './support/fake-openai.ts';
import { type Metadata, NodeChat } from './support/node-chat.ts';
import { uiChunks } from './support/ui-stream.ts';

type Message = UIMessage<Metadata>;

// A model that does what the newest user message says, once per turn: "add X" adds task X,
// "done N" completes task #N; then it confirms.
const commandScript: FakeScript = (req) => {
  if (req.messages.at(-1)?.role === 'tool') return { text: `Done: ${lastUserText(req)}.` };
  const text = lastUserText(req);
  const add = /^add (.+)$/.exec(text);
  if (add) return { toolCalls: [{ name: 'add_task', args: { title: add[1] } }] };
  const done = /^done (\d+)$/.exec(text);
  if (done) return { toolCalls: [{ name: 'complete_task', args: { task_id: Number(done[1]) } }] };
  return { text: 'OK.' };
};

describe.each(testDrivers)('the AI SDK chat client on %s', (driver) => {
  let h: ChatHarness;
  let listener: Listener;
  let base: string;
  const statements: string[] = [];

  beforeAll(async () => {
    h = await startChatApp(driver, { onStatement: (text) => statements.push(text) });
    listener = await listen(h.app.fetch);
    base = listener.url;
  });
  afterAll(async () => {
    await listener?.close();
    await h?.close();
  });
  beforeEach(() => h.fake.setScript(commandScript));

  const chatFor = (user: string, id?: string, messages?: Message[]) =>
    new NodeChat({
      id,
      messages,
      transport: new DefaultChatTransport({ api: `${base}/chat`, headers: { 'x-user-id': user } }),
    });

  async function send(chat: NodeChat, text: string) {
    await chat.sendMessage({ text });
    if (chat.status !== 'ready') throw new Error(`chat ${chat.status}: ${chat.error?.message}`);
    return chat.messages.at(-1) as Message;
  }

  async function stored(user: string, id: string) {
    const res = await h.get(user, `/conversations/${encodeURIComponent(id)}/messages`);
    return {
      status: res.status,
      messages: res.ok ? ((await res.json()) as { messages: Message[] }).messages : [],
    };
  }

  // What a client holds and what it reads back must match: ids, roles, parts; and the assistant
  // messages' metadata (the client's own user messages carry none).
  const shape = (messages: Message[]) =>
    messages.map((m) => ({
      id: m.id,
      role: m.role,
      parts: m.parts,
      ...(m.role === 'assistant' ? { metadata: m.metadata } : {}),
    }));

  const conversationsOf = async (user: string) =>
    ((await (await h.get(user, '/conversations')).json()) as { conversations: { id: string }[] })
      .conversations;

  it('completes a 3-turn conversation with a tool call in each, in one stored conversation that reads back equal', async () => {
    const user = 'ui-three';
    const chat = chatFor(user, 'my-own-chat-id');
    const first = await send(chat, 'add buy milk');
    const conversationId = first.metadata?.conversationId as string;
    await send(chat, 'add walk the dog');
    await send(chat, 'done 1');

    expect(chat.messages.map((m) => m.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
    const tools = chat.messages.flatMap((m) => m.parts.filter((p) => p.type.startsWith('tool-'))) as any[];
    expect(tools.map((p) => [p.type, p.state])).toEqual([
      ['tool-add_task', 'output-available'],
      ['tool-add_task', 'output-available'],
      ['tool-complete_task', 'output-available'],
    ]);
    expect(tools[2].output).toMatchObject({ id: 1, title: 'buy milk', completed: true });
    expect(chat.messages.at(-1)?.parts.at(-1)).toEqual({
      type: 'text',
      text: 'Done: done 1.',
      state: 'done',
    });
    expect(chat.messages.at(-1)?.metadata).toEqual({ conversationId, createdAt: expect.any(String) });

    // One conversation, listed by its UUID; its messages read back as the client holds them,
    // by the UUID and by the client's own id alike.
    expect((await conversationsOf(user)).map((c) => c.id)).toEqual([conversationId]);
    const byUuid = await stored(user, conversationId);
    expect(shape(byUuid.messages)).toEqual(shape(chat.messages));
    expect(byUuid.messages.filter((m) => m.role === 'user').map((m) => m.metadata?.conversationId)).toEqual([
      conversationId,
      conversationId,
      conversationId,
    ]);
    expect((await stored(user, 'my-own-chat-id')).messages).toEqual(byUuid.messages);
    expect((await h.tasks(user)).map((t) => [t.title, t.completed])).toEqual([
      ['walk the dog', false],
      ['buy milk', true],
    ]);
  });

  it('resumes a conversation from GET /conversations with useChat({ id, messages }) and continues it', async () => {
    const user = 'ui-resume';
    const first = chatFor(user);
    await send(first, 'add water the plants');
    const [listed] = await conversationsOf(user);
    const id = listed?.id as string;
    const { messages } = await stored(user, id);

    const reopened = chatFor(user, id, messages);
    const answer = await send(reopened, 'add repot the fern');
    expect(answer.metadata?.conversationId).toBe(id);
    expect((await conversationsOf(user)).map((c) => c.id)).toEqual([id]);
    expect(shape((await stored(user, id)).messages)).toEqual(shape(reopened.messages));
    // The model saw the whole conversation, from the server's history, not the client's copy.
    const lastRequest = h.fake.requests.findLast((r) => lastUserText(r) === 'add repot the fern');
    expect(lastRequest?.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual([
      'add water the plants',
      'add repot the fern',
    ]);
  });

  it('keeps two users with the same chat id apart, and answers 404 to another user’s conversation id', async () => {
    const alice = chatFor('ui-alice', 'shared-id');
    await send(alice, 'add alice’s task');
    const bob = chatFor('ui-bob', 'shared-id');
    await send(bob, 'add bob’s task');
    const [aliceConversation] = await conversationsOf('ui-alice');
    const [bobConversation] = await conversationsOf('ui-bob');
    expect(aliceConversation?.id).not.toBe(bobConversation?.id);
    expect((await h.tasks('ui-bob')).map((t) => t.title)).toEqual(['bob’s task']);

    const intruder = chatFor('ui-bob', aliceConversation?.id);
    await intruder.sendMessage({ text: 'add sneaky' });
    expect(intruder.status).toBe('error');
    expect(JSON.parse(intruder.error?.message ?? '{}').error.code).toBe('not_found');
    expect((await stored('ui-bob', aliceConversation?.id as string)).status).toBe(404);
    expect((await h.tasks('ui-alice')).map((t) => t.title)).toEqual(['alice’s task']);
  });

  it('regenerates an answer in place: a new answer id, the old one left out, and no second task', async () => {
    const user = 'ui-regenerate';
    const chat = chatFor(user);
    const first = await send(chat, 'add call mum');
    const firstTool = first.parts.find((p) => p.type === 'tool-add_task');
    expect(firstTool).toMatchObject({ state: 'output-available' });

    await chat.regenerate();
    expect(chat.status).toBe('ready');
    const second = chat.messages.at(-1) as Message;
    expect(chat.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(second.id).not.toBe(first.id);
    expect(await h.tasks(user)).toHaveLength(1);
    // The model was shown what the first answer's tool call did, and answered from there.
    const regenerated = h.fake.requests.at(-1);
    expect(regenerated?.messages.at(-1)).toMatchObject({ role: 'tool' });
    expect(regenerated?.messages.filter((m) => m.role === 'user')).toHaveLength(1);

    const conversationId = second.metadata?.conversationId as string;
    expect(shape((await stored(user, conversationId)).messages)).toEqual(shape(chat.messages));
    // The next turn's model history holds the question once, the tool exchange, and the new answer only.
    await send(chat, 'thanks');
    const next = h.fake.requests.at(-1);
    expect(next?.messages.filter((m) => m.role !== 'system').map((m) => m.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
      'user',
    ]);
    expect(shape((await stored(user, conversationId)).messages)).toEqual(shape(chat.messages));
  });

  it('keeps the answer standing when a regenerate fails, and replaces it when one succeeds', async () => {
    const user = 'ui-regenerate-fails';
    const chat = chatFor(user);
    const first = await send(chat, 'add fix the bike');
    const conversationId = first.metadata?.conversationId as string;
    h.fake.reply({ status: 500 });
    await chat.regenerate();
    expect(chat.status).toBe('error');
    const afterFailure = await stored(user, conversationId);
    expect(afterFailure.messages.map((m) => m.id)).toEqual([chat.messages[0]?.id, first.id]);

    await chat.regenerate();
    expect(chat.status).toBe('ready');
    const second = chat.messages.at(-1) as Message;
    expect(second.id).not.toBe(first.id);
    expect(shape((await stored(user, conversationId)).messages)).toEqual(shape(chat.messages));
    // The contract's transcript leaves the replaced answer out too.
    const transcript = (await (await h.get(user, `/conversations/${conversationId}`)).json()) as any;
    expect(transcript.messages.map((m: any) => [m.role, m.content])).toEqual([
      ['user', 'add fix the bike'],
      ['assistant', 'Done: add fix the bike.'],
    ]);
    expect(await h.tasks(user)).toHaveLength(1);
  });

  it('puts an answer regenerated by a stale client after its own question, ahead of later turns', async () => {
    const user = 'ui-stale';
    const tab1 = chatFor(user, 'stale-chat');
    const a1 = await send(tab1, 'add first thing');
    const tab2 = chatFor(user, 'stale-chat', structuredClone(tab1.messages));
    await send(tab2, 'add second thing');
    await tab1.regenerate();
    expect(tab1.status).toBe('ready');
    const conversationId = a1.metadata?.conversationId as string;
    const { messages } = await stored(user, conversationId);
    const [u1, regenerated] = tab1.messages;
    expect(messages.map((m) => m.id)).toEqual([
      u1?.id,
      regenerated?.id,
      tab2.messages[2]?.id,
      tab2.messages[3]?.id,
    ]);
    expect(shape(messages.slice(0, 2))).toEqual(shape(tab1.messages));
    // The model was asked the regenerated question last, after the later turn.
    expect(lastUserText(h.fake.requests.at(-1) as any)).toBe('add first thing');
    expect((await h.tasks(user)).map((t) => t.title).sort()).toEqual(['first thing', 'second thing']);
    // Later turns show the model each answer after its own question, as the view does.
    const tab3 = chatFor(user, conversationId, messages);
    await send(tab3, 'hello');
    const texts = (h.fake.requests.at(-1)?.messages ?? [])
      .filter((m) => (m.role === 'user' || m.role === 'assistant') && m.content)
      .map((m) => m.content);
    expect(texts).toEqual([
      'add first thing',
      'Done: add first thing.',
      'add second thing',
      'Done: add second thing.',
      'hello',
    ]);
  });

  it('regenerating never repeats a task change, even when the model makes the same call again', async () => {
    const user = 'ui-regenerate-naive';
    const chat = chatFor(user);
    await send(chat, 'add book the dentist');
    // A naive model: it adds the task again whatever the history says.
    h.fake.reply(
      { toolCalls: [{ name: 'add_task', args: { title: 'book the dentist' } }] },
      { text: 'Added.' },
    );
    await chat.regenerate();
    expect(chat.status).toBe('ready');
    const tasks = await h.tasks(user);
    expect(tasks.map((t) => t.title)).toEqual(['book the dentist']);
    // The answer shows the change the turn made (recorded), and the repeat answered from that record.
    const answer = chat.messages.at(-1) as Message;
    const tools = answer.parts.filter((p) => p.type === 'tool-add_task') as any[];
    // Both carry the one change the turn made (the task as stored, and the change's id).
    const added = { ...tasks[0], change_id: 1 };
    expect(tools.map((p) => [p.state, p.output])).toEqual([
      ['output-available', added],
      ['output-available', added],
    ]);
    const conversationId = answer.metadata?.conversationId as string;
    expect(shape((await stored(user, conversationId)).messages)).toEqual(shape(chat.messages));
  });

  it('shows a tool error as an output-error part while the model receives {"error": ...}', async () => {
    const user = 'ui-tool-error';
    const chat = chatFor(user);
    const answer = await send(chat, 'done 42');
    const tool = answer.parts.find((p) => p.type === 'tool-complete_task');
    expect(tool).toEqual({
      type: 'tool-complete_task',
      toolCallId: expect.any(String),
      state: 'output-error',
      input: { task_id: 42 },
      errorText: 'Task #42 not found.',
    });
    const toolMessage = h.fake.requests.at(-1)?.messages.at(-1);
    expect(toolMessage?.role).toBe('tool');
    expect(JSON.parse(toolMessage?.content)).toEqual({ error: 'Task #42 not found.' });
    const conversationId = answer.metadata?.conversationId as string;
    expect(shape((await stored(user, conversationId)).messages)).toEqual(shape(chat.messages));

    // Calls the SDK itself refuses (arguments that do not parse, a tool that does not exist) too.
    h.fake.reply(
      {
        toolCalls: [
          { name: 'add_task', rawArguments: '{"title": "half' },
          { name: 'drop_tables', args: {} },
        ],
      },
      { text: 'Sorry.' },
    );
    const refused = await send(chat, 'try something');
    const tools = refused.parts.filter((p) => p.type !== 'text') as any[];
    expect(tools.map((p) => [p.type, p.state, p.input])).toEqual([
      ['tool-add_task', 'output-error', {}],
      ['tool-drop_tables', 'output-error', {}],
    ]);
    expect(tools.map((p) => p.errorText)).toEqual([
      expect.stringContaining('Invalid arguments'),
      expect.stringContaining('There is no tool named "drop_tables"'),
    ]);
    expect(shape((await stored(user, conversationId)).messages)).toEqual(shape(chat.messages));
  });

  it('answers GET /chat/:id/stream with 204, so resuming a chat finds nothing to resume', async () => {
    const res = await h.get('ui-resume-stream', '/chat/any-chat-id/stream');
    expect(res.status).toBe(204);
    const chat = chatFor('ui-resume-stream', 'any-chat-id');
    await chat.resumeStream();
    expect(chat.status).toBe('ready');
    expect(chat.messages).toEqual([]);
  });

  it('replays a repeated message id with the same assistant id, parts and metadata, running nothing', async () => {
    const user = 'ui-replay';
    const chat = chatFor(user, 'replay-chat');
    const answer = await send(chat, 'add replay me');
    const body = { id: 'replay-chat', messages: chat.messages.slice(0, 1), trigger: 'submit-message' };
    const requests = h.fake.requests.length;
    const res = await h.chat(user, body);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    let replayed: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream: uiChunks(res) })) replayed = message;
    expect(replayed).toEqual(answer);
    expect(h.fake.requests.length).toBe(requests);
    expect(await h.tasks(user)).toHaveLength(1);
  });

  it('answers the UI body with the stream whatever Accept says', async () => {
    const message = { id: 'accept-1', role: 'user', parts: [{ type: 'text', text: 'hello' }] };
    const res = await h.chat(
      'ui-accept',
      { id: 'accept-chat', messages: [message] },
      { accept: 'application/json' },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    let last: UIMessage | undefined;
    for await (const m of readUIMessageStream({ stream: uiChunks(res) })) last = m;
    expect(last?.parts).toEqual([{ type: 'text', text: 'OK.', state: 'done' }]);
  });

  // Over a real listener the stream is written to the socket by the app itself (http/node-body.ts),
  // not read from a web stream by the adapter: the same events, headers and ending as in-process.
  const uiBody = (chatId: string, id: string, text: string) =>
    JSON.stringify({ id: chatId, messages: [{ id, role: 'user', parts: [{ type: 'text', text }] }] });

  it('over HTTP, sends SSE events with the UI stream headers, X-Request-Id and [DONE] last', async () => {
    const res = await fetch(`${base}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': 'ui-http' },
      body: uiBody('http-chat', 'http-1', 'add over the wire'),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(res.headers.get('x-conversation-id')).toMatch(/^[0-9a-f-]{36}$/);
    const events = (await res.text()).split('\n\n');
    expect(events.pop()).toBe('');
    expect(events.pop()).toBe('data: [DONE]');
    const chunks = events.map(
      (event) => JSON.parse(event.replace(/^data: /, '')) as { type: string; delta?: string },
    );
    expect(chunks.map((c) => c.type).filter((type, i, all) => type !== all[i - 1])).toEqual([
      'start',
      'tool-input-start',
      'tool-input-delta',
      'tool-input-available',
      'tool-output-available',
      'text-start',
      'text-delta',
      'text-end',
      'finish',
    ]);
    expect(chunks.map((c) => c.delta ?? '').join('')).toBe('Done: add over the wire.');
  });

  it('over HTTP, a client that leaves mid-answer does not stop the turn: the whole answer is stored', async () => {
    const user = 'ui-left';
    const answer = 'This answer goes on after the reader has left.';
    let release = () => {};
    const until = new Promise<void>((resolve) => {
      release = resolve;
    });
    h.fake.reply({ text: answer, pause: { afterEvents: 3, until } });
    const left = new AbortController();
    const res = await fetch(`${base}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': user },
      body: uiBody('left-chat', 'left-1', 'tell me'),
      signal: left.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let read = '';
    while (!read.includes('"type":"text-delta"'))
      read += decoder.decode((await reader.read()).value, { stream: true });
    left.abort();
    await reader.cancel().catch(() => {});
    release();
    await h.inflight.idle();
    const { messages } = await stored(user, 'left-chat');
    expect(messages.at(-1)?.parts).toEqual([{ type: 'text', text: answer, state: 'done' }]);
  });

  it('costs 2 statements plus 1 per tool call, as the contract body does', async () => {
    const chat = chatFor('ui-statements');
    statements.length = 0;
    await send(chat, 'hello');
    expect(statements).toHaveLength(2);
    statements.length = 0;
    await send(chat, 'add count me');
    expect(statements).toHaveLength(3);
    statements.length = 0;
    await chat.regenerate();
    expect(statements).toHaveLength(2);
  });

  it.each([
    ['a non-string id', { id: 7, messages: [] }, 'id: id must be a string'],
    [
      'an over-long id',
      { id: 'x'.repeat(129), messages: [{}] },
      'id: id must be 1-128 printable ASCII characters',
    ],
    ['no messages', { id: 'c', messages: [] }, 'messages: messages must not be empty'],
    ['an unknown trigger', { id: 'c', messages: [{}], trigger: 'resume-stream' }, 'trigger: trigger must be'],
    [
      'an assistant message last',
      { id: 'c', messages: [{ id: 'a', role: 'assistant', parts: [] }] },
      'messages.0.parts: the newest message must be a user message, or an assistant message with',
    ],
    [
      'a newest message without an id',
      { id: 'c', messages: [{ role: 'user', parts: [{ type: 'text', text: 'hi' }] }] },
      'messages.0.id: id must be a string',
    ],
    [
      'a newest message without text',
      { id: 'c', messages: [{ id: 'm', role: 'user', parts: [{ type: 'file', url: 'x' }] }] },
      'messages.0.parts: the message has no text',
    ],
    [
      'a NUL character',
      { id: 'c', messages: [{ id: 'm', role: 'user', parts: [{ type: 'text', text: 'a\u0000b' }] }] },
      'messages.0.parts.0.text: text must not contain NUL characters',
    ],
  ])('refuses %s with 400 invalid_request naming the field', async (_name, body, message) => {
    const res = await h.chat('ui-bad', body);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('invalid_request');
    expect(error.message).toContain(message);
  });
});
