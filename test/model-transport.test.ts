// The app's fetch for the model provider (src/model/transport.ts), seen from the AI SDK: the real
// `@ai-sdk/openai` provider streams from a Chat Completions server that paces its tokens, once
// through Node's global fetch and once through ours. The text, tool calls, usage and finish must
// be the same; only the number of text deltas may shrink, and the first text must not be held.
// (Its failures are compared with the global fetch's in fault-support.test.ts.)
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, streamText, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelFetch } from '../src/model/transport.ts';
import { startFakeOpenAI } from './support/fake-openai.ts';
import { sleep } from './support/sleep.ts';

type Script = { tokens: number; paceMs: number; toolCall?: boolean; lineEnd?: '\n' | '\r\n'; gzip?: boolean };

const chunk = (delta: object, extra: object = {}) => ({
  id: 'chatcmpl-paced',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'paced-model',
  choices: [{ index: 0, delta, finish_reason: null }],
  ...extra,
});

/** A Chat Completions server whose stream is set per test: `tokens` words `paceMs` apart. */
function pacedServer(): Promise<{ server: Server; baseURL: string; set(script: Script): void }> {
  let script: Script = { tokens: 0, paceMs: 0 };
  const server = createServer(async (req, res) => {
    for await (const _ of req);
    const s = script;
    const end = s.lineEnd ?? '\n';
    const event = (data: unknown) => `data: ${JSON.stringify(data)}${end}${end}`;
    const events: string[] = [event(chunk({ role: 'assistant', content: '' }))];
    for (let i = 0; i < s.tokens; i++) events.push(event(chunk({ content: `w${i} ` })));
    if (s.toolCall) {
      const call = {
        index: 0,
        id: 'call_1',
        type: 'function',
        function: { name: 'add_task', arguments: '' },
      };
      events.push(event(chunk({ tool_calls: [call] })));
      for (const piece of ['{"title"', ':"milk"}'])
        events.push(event(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] })));
    }
    events.push(
      event({
        ...chunk({}),
        choices: [{ index: 0, delta: {}, finish_reason: s.toolCall ? 'tool_calls' : 'stop' }],
      }),
      event({
        ...chunk({}),
        choices: [],
        usage: { prompt_tokens: 7, completion_tokens: s.tokens, total_tokens: 7 + s.tokens },
      }),
      `data: [DONE]${end}${end}`,
    );
    if (s.gzip) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      res.end(gzipSync(events.join('')));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const [i, e] of events.entries()) {
      // The role chunk and the first token go at once; every token after waits `paceMs`.
      if (i > 1 && i <= s.tokens) await sleep(s.paceMs);
      res.write(e);
    }
    res.end();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        server,
        baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
        set: (s) => {
          script = s;
        },
      }),
    ),
  );
}

let paced: Awaited<ReturnType<typeof pacedServer>>;
beforeAll(async () => {
  paced = await pacedServer();
});
afterAll(() => new Promise<void>((resolve) => paced.server.close(() => resolve())));

const tools = {
  add_task: tool({
    description: 'Adds a task',
    inputSchema: jsonSchema<{ title: string }>({ type: 'object', properties: { title: { type: 'string' } } }),
  }),
};

/** One streamed model call: the text deltas with their arrival times, and what the call ended with. */
async function run(via: 'global' | 'ours', script: Script, batchMs = 50) {
  paced.set(script);
  const provider = createOpenAI({
    baseURL: paced.baseURL,
    apiKey: 'test',
    fetch: via === 'global' ? undefined : createModelFetch({ batchMs }),
  });
  const started = performance.now();
  const result = streamText({ model: provider.chat('paced-model'), prompt: 'hi', tools, maxRetries: 0 });
  const deltas: { text: string; at: number }[] = [];
  const calls: unknown[] = [];
  for await (const part of result.fullStream) {
    if (part.type === 'text-delta') deltas.push({ text: part.text, at: performance.now() - started });
    if (part.type === 'tool-call') calls.push({ name: part.toolName, input: part.input });
    if (part.type === 'error') throw part.error;
  }
  return {
    deltas,
    text: deltas.map((d) => d.text).join(''),
    calls,
    usage: (await result.usage).outputTokens,
    finish: await result.finishReason,
  };
}

describe('the model fetch (src/model/transport.ts) under the real provider', () => {
  it('joins text that comes faster than the batch: same text and ending, far fewer deltas', async () => {
    const script = { tokens: 40, paceMs: 5 };
    const global = await run('global', script);
    const ours = await run('ours', script);
    const words = Array.from({ length: 40 }, (_, i) => `w${i} `).join('');
    expect(global.text).toBe(words);
    expect(ours.text).toBe(words);
    expect(global.deltas.length).toBe(40);
    // About 200 ms of tokens in batches of 50 ms: a handful of deltas, not forty.
    expect(ours.deltas.length).toBeLessThanOrEqual(10);
    expect(ours.deltas.length).toBeGreaterThan(1);
    expect([ours.usage, ours.finish]).toEqual([global.usage, global.finish]);
  });

  it('never holds the first text, and sends text after a quiet spell at once', async () => {
    // A batch of a whole second: the first word still comes at once, the next two wait for it.
    const long = await run('ours', { tokens: 3, paceMs: 400 }, 1000);
    expect(long.deltas.map((d) => d.text)).toEqual(['w0 ', 'w1 w2 ']);
    expect(long.deltas[0]?.at).toBeLessThan(800);
    // Words further apart than the batch are not held at all.
    const short = await run('ours', { tokens: 3, paceMs: 400 }, 50);
    expect(short.deltas.map((d) => d.text)).toEqual(['w0 ', 'w1 ', 'w2 ']);
  });

  it('passes tool calls, the finish and usage through as the provider sent them', async () => {
    const script = { tokens: 5, paceMs: 1, toolCall: true };
    const global = await run('global', script);
    const ours = await run('ours', script);
    expect(ours.calls).toEqual([{ name: 'add_task', input: { title: 'milk' } }]);
    expect(ours).toMatchObject({ text: global.text, calls: global.calls, usage: 5, finish: 'tool-calls' });
  });

  it('reads streams with CRLF line ends and gzip bodies as the global fetch does', async () => {
    for (const script of [
      { tokens: 10, paceMs: 1, lineEnd: '\r\n' as const },
      { tokens: 10, paceMs: 0, gzip: true },
    ]) {
      const global = await run('global', script);
      const ours = await run('ours', script);
      expect(ours.text).toBe(global.text);
      expect(ours.text).toBe(Array.from({ length: 10 }, (_, i) => `w${i} `).join(''));
      expect([ours.usage, ours.finish]).toEqual([10, 'stop']);
    }
  });

  it('with a batch of 0 joins only what arrived together', async () => {
    const ours = await run('ours', { tokens: 6, paceMs: 120 }, 0);
    expect(ours.deltas.map((d) => d.text)).toEqual(['w0 ', 'w1 ', 'w2 ', 'w3 ', 'w4 ', 'w5 ']);
  });

  it('sends a call again on a new connection when a kept-alive one turns out closed, once', async () => {
    // A server that drops every connection on its second request, as one that closed an idle
    // connection just as the request was sent: that request never reached it.
    const served = new WeakSet<object>();
    let connections = 0;
    const dropping = createServer((req, res) => {
      if (served.has(req.socket)) {
        req.socket.destroy();
        return;
      }
      served.add(req.socket);
      const body = JSON.stringify({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1,
        model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    dropping.on('connection', () => connections++);
    await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve));
    try {
      const baseURL = `http://127.0.0.1:${(dropping.address() as AddressInfo).port}/v1`;
      const model = createOpenAI({ baseURL, apiKey: 'test', fetch: createModelFetch({ batchMs: 50 }) }).chat(
        'm',
      );
      for (let i = 0; i < 3; i++) {
        expect((await generateText({ model, prompt: 'hi', maxRetries: 0 })).text).toBe('hello');
      }
      expect(connections).toBe(3);
    } finally {
      dropping.closeAllConnections();
      await new Promise<void>((resolve) => dropping.close(() => resolve()));
    }
  });

  it('joins the Responses API’s text deltas of one output item too, and nothing else of it', async () => {
    const fake = await startFakeOpenAI();
    try {
      const text = 'one two three four five six seven eight nine ten';
      const read = async (fetch?: typeof globalThis.fetch) => {
        fake.reply({ text, reasoning: 'thinking it over' });
        const model = createOpenAI({ baseURL: fake.baseURL, apiKey: 'test', fetch }).responses('fake-model');
        const result = streamText({ model, prompt: 'hi', maxRetries: 0 });
        const deltas: string[] = [];
        let reasoning = '';
        for await (const part of result.fullStream) {
          if (part.type === 'text-delta') deltas.push(part.text);
          if (part.type === 'reasoning-delta') reasoning += part.text;
          if (part.type === 'error') throw part.error;
        }
        return {
          deltas,
          reasoning,
          usage: (await result.usage).outputTokens,
          finish: await result.finishReason,
        };
      };
      const global = await read();
      const ours = await read(createModelFetch({ batchMs: 50 }));
      expect(global.deltas.join('')).toBe(text);
      expect(ours.deltas.join('')).toBe(text);
      expect(global.deltas.length).toBeGreaterThan(3);
      // Sent in one write, the text arrives in one read: one delta.
      expect(ours.deltas.length).toBeLessThan(global.deltas.length);
      expect({ ...ours, deltas: undefined }).toEqual({ ...global, deltas: undefined });
    } finally {
      await fake.close();
    }
  });
});
