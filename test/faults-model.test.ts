// Fault tests, the model side (issue 9): a scripted provider that fails in every way, through HTTP
// POST /chat on embedded Postgres. Each numbered defect of the issue has its test here or in the
// other faults-*.test.ts files; at the end, every response, stored message and log line of this
// file is searched for leaked internals.
import { readUIMessageStream, type UIMessage } from 'ai';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { type FakeOpenAI, startFakeOpenAI } from './support/fake-openai.ts';
import { type FaultApp, findLeaks, newTranscript, startFaultApp } from './support/fault-app.ts';
import { uiChunks } from './support/ui-stream.ts';

const transcript = newTranscript();
let fake: FakeOpenAI;
let h: FaultApp;
let seq = 0;
const newUser = () => `fault-user-${++seq}`;

beforeAll(async () => {
  fake = await startFakeOpenAI();
  h = await startFaultApp({ databaseUrl: 'pglite://memory', fake, transcript });
});
afterAll(async () => {
  await h?.close();
  await fake?.close();
});

/** The UI message stream of a response body, as useChat reads it: the last message and the raw chunks. */
async function readStream(text: string) {
  const res = new Response(text);
  const chunks: any[] = [];
  for (const line of text.split('\n\n')) {
    const data = line.replace(/^data: /, '').trim();
    if (data && data !== '[DONE]') chunks.push(JSON.parse(data));
  }
  let last: UIMessage | undefined;
  for await (const message of readUIMessageStream({ stream: uiChunks(res) })) last = message;
  return { last, chunks };
}

async function transcriptOf(user: string, conversationId: string) {
  return (await h.get(user, `/conversations/${conversationId}`)).json();
}

describe('defect 2: U+0000 and lone surrogates from the model', () => {
  it('are cleaned out of the reply and tool arguments, stored as answered, and the conversation goes on', async () => {
    const user = newUser();
    fake.reply(
      { toolCalls: [{ name: 'add_task', args: { title: 'buy\u0000 milk', description: 'x\ud800y' } }] },
      { text: 'Added\u0000 it \ud83d' },
    );
    const res = await h.chat(user, { message: 'add buy milk', messageId: 'nul-1' });
    expect(res.status, res.text).toBe(200);
    const answer = res.json();
    expect(answer.reply).toBe('Added it \ufffd');
    expect(answer.toolCalls).toMatchObject([
      {
        name: 'add_task',
        args: { title: 'buy milk', description: 'x\ufffdy' },
        result: { title: 'buy milk' },
      },
    ]);
    const stored = await transcriptOf(user, answer.conversationId);
    expect(stored.messages.at(-1)).toMatchObject({ role: 'assistant', content: answer.reply });
    expect(stored.messages.flatMap((m: any) => m.toolCalls ?? [])).toEqual(answer.toolCalls);

    // Streamed, the client sees exactly what is stored.
    fake.reply({ text: 'nul\u0000 in a \ud800stream' });
    const streamed = await h.chat(
      user,
      { message: 'again', conversationId: answer.conversationId, messageId: 'nul-2' },
      { accept: 'text/event-stream' },
    );
    const { last } = await readStream(streamed.text);
    const text = last?.parts.map((p: any) => (p.type === 'text' ? p.text : '')).join('');
    expect(text).toBe('nul in a \ufffdstream');
    const after = await transcriptOf(user, answer.conversationId);
    expect(after.messages.at(-1)).toMatchObject({ role: 'assistant', content: text });

    fake.reply({ text: 'still here' });
    const next = await h.chat(user, { message: 'next', conversationId: answer.conversationId });
    expect(next.status).toBe(200);
  });
});

describe("defect 3: the SDK's own tool errors", () => {
  it('reach the client, the model and the store in our words, with no class name or parser message', async () => {
    const user = newUser();
    fake.reply(
      {
        toolCalls: [
          { name: 'add_task', rawArguments: '{"title": "buy' },
          { name: 'drop_tables', args: {} },
        ],
      },
      { text: 'Sorry.' },
    );
    const before = fake.requests.length;
    const res = await h.chat(user, { message: 'add buy' });
    expect(res.status, res.text).toBe(200);
    const answer = res.json();
    expect(answer.toolCalls.map((c: any) => c.result)).toEqual([
      { error: 'Invalid arguments: the arguments must be a JSON object; nothing was done.' },
      {
        error:
          'There is no tool named "drop_tables"; the tools are add_task, list_tasks, complete_task, update_task, delete_task, undo_change.',
      },
    ]);
    // What the model was sent after the failed calls: the contract's {"error": ...}, in our words.
    const toolMessages = fake.requests[before + 1]?.messages.filter((m: any) => m.role === 'tool');
    expect(toolMessages?.map((m: any) => JSON.parse(m.content))).toEqual(
      answer.toolCalls.map((c: any) => c.result),
    );
    const stored = await transcriptOf(user, answer.conversationId);
    expect(stored.messages.flatMap((m: any) => m.toolCalls ?? []).map((c: any) => c.result)).toEqual(
      answer.toolCalls.map((c: any) => c.result),
    );

    // The same in a stream's tool parts.
    fake.reply({ toolCalls: [{ name: 'add_task', rawArguments: '{"title": "x' }] }, { text: 'Sorry.' });
    const streamed = await h.chat(
      user,
      { message: 'add x', conversationId: answer.conversationId },
      { accept: 'text/event-stream' },
    );
    const { chunks } = await readStream(streamed.text);
    expect(chunks.filter((c) => c.type === 'tool-input-error').map((c) => c.errorText)).toEqual([
      'Invalid arguments: the arguments must be a JSON object; nothing was done.',
    ]);
    // Said once: the SDK's tool error for the same refused call is not a second part.
    expect(chunks.filter((c) => c.type === 'tool-output-error')).toEqual([]);
    expect(findLeaks([res.text, streamed.text, JSON.stringify(fake.requests.slice(before))])).toEqual([]);
  });
});

describe('defect 6: a re-run after a failure', () => {
  it('does not repeat the task change the failed attempt made, and shows it to the model', async () => {
    const user = newUser();
    // The first attempt adds the task, then the provider fails.
    fake.reply({ toolCalls: [{ name: 'add_task', args: { title: 'buy milk' } }] }, { status: 500 });
    const failed = await h.chat(user, { message: 'add buy milk', messageId: 'rerun-1' });
    expect(failed.status).toBe(502);
    expect((await h.get(user, '/tasks')).json().tasks.map((t: any) => t.title)).toEqual(['buy milk']);

    // Sent again, the same (naive) model makes the same call.
    const firstOfRerun = fake.requests.length;
    fake.reply(
      { toolCalls: [{ name: 'add_task', args: { title: 'buy milk', priority: null } }] },
      { text: 'Added.' },
    );
    const res = await h.chat(user, { message: 'add buy milk', messageId: 'rerun-1' });
    expect(res.status, res.text).toBe(200);
    const tasks = (await h.get(user, '/tasks')).json().tasks;
    expect(tasks.map((t: any) => t.title)).toEqual(['buy milk']);
    const answer = res.json();
    expect(answer.toolCalls.map((c: any) => [c.name, c.result.id])).toEqual([
      ['add_task', tasks[0].id],
      ['add_task', tasks[0].id],
    ]);
    // The re-run's model was shown what the earlier attempt did, after the question.
    const sent = fake.requests[firstOfRerun]?.messages ?? [];
    const question = sent.findLastIndex((m: any) => m.role === 'user');
    expect(sent[question]?.content).toBe('add buy milk');
    expect(sent[question + 1]?.tool_calls?.[0]?.function).toMatchObject({ name: 'add_task' });
    expect(JSON.parse(sent[question + 2]?.content ?? '{}')).toMatchObject({
      id: tasks[0].id,
      title: 'buy milk',
    });
    // A stream replay of it is unchanged; a different send adds for real.
    fake.reply(
      { toolCalls: [{ name: 'add_task', args: { title: 'buy milk' } }] },
      { text: 'Added another.' },
    );
    await h.chat(user, { message: 'add buy milk again', conversationId: answer.conversationId });
    expect((await h.get(user, '/tasks')).json().tasks).toHaveLength(2);
  });
});

describe('defect 8: provider errors are 502 whatever the timer says', () => {
  it('a provider answering 500 to every retry until the time limit is 502, streamed too, and so is a truncated body', async () => {
    const slow = await startFaultApp({
      databaseUrl: 'pglite://memory',
      fake,
      transcript,
      env: { MODEL_MAX_RETRIES: '2', MODEL_TIMEOUT_MS: '3000' },
    });
    const provider = 'The model provider failed; your message was kept, send it again to retry';
    try {
      // Each attempt fails; the time limit runs out while the SDK waits to retry.
      fake.setScript(() => ({ status: 500 }));
      const [json, streamed] = await Promise.all([
        slow.chat(newUser(), { message: 'hello' }),
        slow.chat(newUser(), { message: 'hello' }, { accept: 'text/event-stream' }),
      ]);
      expect(json.status).toBe(502);
      expect(json.json().error).toMatchObject({ code: 'model_error', message: provider });
      const { chunks } = await readStream(streamed.text);
      expect(chunks.filter((c) => c.type === 'error')).toEqual([{ type: 'error', errorText: provider }]);

      // The body starts, then stops: cut off, or never finished before the time limit.
      fake.setScript(() => ({
        text: 'a reply long enough to be cut in the middle',
        cut: { afterBytes: 40 },
      }));
      const cut = slow.chat(newUser(), { message: 'hello' });
      fake.setScript(() => ({
        text: 'a reply long enough to be cut in the middle',
        cut: { afterBytes: 40, ending: 'hang' },
      }));
      const stalled = slow.chat(newUser(), { message: 'hello' });
      for (const res of await Promise.all([cut, stalled])) {
        expect(res.status).toBe(502);
        expect(res.json().error.code).toBe('model_error');
      }
    } finally {
      fake.setScript((req) => (req.messages.at(-1)?.role === 'tool' ? { text: 'Done.' } : { text: 'OK.' }));
      await slow.close();
    }
  });

  it('a provider that never answers is still 504', async () => {
    const quick = await startFaultApp({
      databaseUrl: 'pglite://memory',
      fake,
      transcript,
      env: { MODEL_TIMEOUT_MS: '300' },
    });
    try {
      fake.reply({ hang: true });
      const res = await quick.chat(newUser(), { message: 'anyone?' });
      expect(res.status).toBe(504);
    } finally {
      await quick.close();
    }
  });
});

describe('defect 9: stream error parts', () => {
  it('a provider stream cut mid-way ends with the contract sentence, not the SDK default', async () => {
    const user = newUser();
    fake.reply({ text: 'this answer will be cut off half way through', cut: { afterEvents: 3 } });
    const res = await h.chat(user, { message: 'talk' }, { accept: 'text/event-stream' });
    const { chunks } = await readStream(res.text);
    const errors = chunks.filter((c) => c.type === 'error');
    expect(errors).toEqual([
      {
        type: 'error',
        errorText: 'The model provider failed; your message was kept, send it again to retry',
      },
    ]);
    expect(chunks.some((c) => c.type === 'finish')).toBe(false);
  });

  it('a provider stream that ends cleanly before its finish event fails the same way, storing no answer', async () => {
    const user = newUser();
    fake.reply({
      text: 'this answer will be cut off half way through',
      cut: { afterEvents: 3, ending: 'end' },
    });
    const res = await h.chat(user, { message: 'talk' }, { accept: 'text/event-stream' });
    const { chunks } = await readStream(res.text);
    expect(chunks.filter((c) => c.type === 'error')).toEqual([
      {
        type: 'error',
        errorText: 'The model provider failed; your message was kept, send it again to retry',
      },
    ]);
    expect(chunks.some((c) => c.type === 'finish')).toBe(false);
    // The part that arrived is not kept as if it were the whole reply: only the message is.
    const conversationId = res.headers.get('x-conversation-id') as string;
    const { messages } = await transcriptOf(user, conversationId);
    expect(messages.map((m: { role: string }) => m.role)).toEqual(['user']);
  });
});

describe('defect 7: text Postgres cannot store, from a client', () => {
  it.each([
    ['a NUL in the message', { message: 'hello\u0000world' }, 'message'],
    ['a lone surrogate in the message', { message: 'hi \ud800 there' }, 'message'],
    ['a NUL in an ignored field', { message: 'hi', extra: 'a\u0000b' }, 'extra'],
  ])('POST /chat with %s is 400 naming the field', async (_what, body, field) => {
    const res = await h.chat(newUser(), body);
    expect(res.status).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(`^${field}: `),
    });
  });

  it('GET /tasks?search=a%00b is 400 naming search', async () => {
    const res = await h.get(newUser(), '/tasks?search=a%00b');
    expect(res.status).toBe(400);
    expect(res.json().error.message).toMatch(/^search: /);
  });

  it('over MCP, list_tasks with a NUL in search is an isError result', async () => {
    const post = (body: unknown) =>
      h.app.request('/mcp', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'x-user-id': 'mcp-nul',
        },
        body: JSON.stringify(body),
      });
    const res = await post({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'list_tasks', arguments: { search: 'a\u0000b' } },
    });
    const body = await res.json();
    expect(body.error).toBeUndefined();
    expect(body.result).toMatchObject({
      isError: true,
      content: [{ type: 'text', text: expect.stringContaining('search must not contain NUL characters') }],
    });
  });
});

describe('everything this file made the app say', () => {
  it('holds no SQL, query parameters, SDK class names or parser messages', async () => {
    const stored = await queryRows<{ text: string }>(
      h.database.db,
      sql`select content::text as text from messages union all select coalesce(answer::text, '') from turns`,
    );
    const leaks = findLeaks([...transcript.responses, ...transcript.logs, ...stored.map((r) => r.text)]);
    expect(leaks).toEqual([]);
    expect(transcript.logs.length).toBeGreaterThan(10);
  });
});
