// Proves the test support itself: the fake OpenAI server is parsed by the real provider in
// both JSON and SSE modes, and the WebSocket bridge carries the Neon driver to local Postgres.
// If these fail, every other test's failure is suspect.
import { createOpenAI } from '@ai-sdk/openai';
import { neonConfig, Pool } from '@neondatabase/serverless';
import { APICallError, generateText, stepCountIs, streamText, tool } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { FakeOpenAI } from './support/fake-openai.ts';
import { lastUserText, startFakeOpenAI } from './support/fake-openai.ts';
import { sleep } from './support/sleep.ts';
import { startWsBridge } from './support/ws-bridge.ts';

describe('fake OpenAI server', () => {
  let fake: FakeOpenAI;
  let model: ReturnType<ReturnType<typeof createOpenAI>['chat']>;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    model = createOpenAI({ baseURL: fake.baseURL, apiKey: 'test-key' }).chat('fake-model');
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
  });

  function weatherTool(calls: unknown[]) {
    return tool({
      description: 'Weather for a city',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        calls.push(city);
        return { city, tempC: 21 };
      },
    });
  }

  it('generateText: tool call, then text; the tool result goes back to the model', async () => {
    const calls: unknown[] = [];
    fake.reply({ toolCalls: [{ name: 'weather', args: { city: 'Oslo' } }] }, { text: 'It is 21C in Oslo.' });
    const result = await generateText({
      model,
      tools: { weather: weatherTool(calls) },
      stopWhen: stepCountIs(5),
      prompt: 'Weather in Oslo?',
      maxRetries: 0,
    });
    expect(calls).toEqual(['Oslo']);
    expect(result.text).toBe('It is 21C in Oslo.');
    expect(fake.requests).toHaveLength(2);
    expect(lastUserText(fake.requests[0]!)).toBe('Weather in Oslo?');
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer test-key');
    expect(fake.requests[0]!.tools.map((t) => t.function.name)).toEqual(['weather']);
    const toolMsg = fake.requests[1]!.messages.at(-1);
    expect(toolMsg.role).toBe('tool');
    expect(toolMsg.tool_call_id).toMatch(/^call_\d+$/);
    expect(JSON.parse(toolMsg.content)).toEqual({ city: 'Oslo', tempC: 21 });
    expect(result.usage.inputTokens).toBeGreaterThan(0);
  });

  it('streamText: the same exchange over SSE, with the usage chunk', async () => {
    const calls: unknown[] = [];
    fake.reply({ toolCalls: [{ name: 'weather', args: { city: 'Rome' } }] }, { text: 'Sunny in Rome, 21C.' });
    const result = streamText({
      model,
      tools: { weather: weatherTool(calls) },
      stopWhen: stepCountIs(5),
      prompt: 'Weather in Rome?',
      maxRetries: 0,
    });
    let streamed = '';
    for await (const piece of result.textStream) streamed += piece;
    expect(streamed).toBe('Sunny in Rome, 21C.');
    expect(await result.text).toBe('Sunny in Rome, 21C.');
    expect(calls).toEqual(['Rome']);
    expect(fake.requests.every((r) => r.stream)).toBe(true);
    expect(fake.requests[1]!.messages.at(-1).role).toBe('tool');
    expect((await result.totalUsage).inputTokens).toBeGreaterThan(0);
  });

  it('default script: "OK." for a user message, "Done." after a tool result', async () => {
    const calls: unknown[] = [];
    fake.setScript((req, i) =>
      i === 0
        ? { toolCalls: [{ name: 'weather', args: { city: 'Lima' } }] }
        : { text: `echo:${lastUserText(req)}` },
    );
    fake.reply({ text: 'queued wins' });
    const queued = await generateText({ model, prompt: 'hi', maxRetries: 0 });
    expect(queued.text).toBe('queued wins');
    fake.setScript((req) => (req.messages.at(-1)?.role === 'tool' ? { text: 'Done.' } : { text: 'OK.' }));
    const plain = await generateText({ model, prompt: 'hi', maxRetries: 0 });
    expect(plain.text).toBe('OK.');
    fake.reply({ toolCalls: [{ name: 'weather', args: { city: 'Lima' } }] });
    const afterTool = await generateText({
      model,
      tools: { weather: weatherTool(calls) },
      stopWhen: stepCountIs(5),
      prompt: 'Lima?',
      maxRetries: 0,
    });
    expect(afterTool.text).toBe('Done.');
  });

  it('an HTTP 500 surfaces as an APICallError', async () => {
    fake.reply({ status: 500 });
    const err = await generateText({ model, prompt: 'boom', maxRetries: 0 }).catch((e: unknown) => e);
    expect(APICallError.isInstance(err)).toBe(true);
    expect((err as APICallError).statusCode).toBe(500);
    expect(fake.requests).toHaveLength(1);
  });

  it('two tool calls in one step both run, with distinct ids', async () => {
    for (const stream of [false, true]) {
      fake.requests.length = 0;
      const calls: unknown[] = [];
      fake.reply(
        {
          toolCalls: [
            { name: 'weather', args: { city: 'Paris' } },
            { name: 'weather', args: { city: 'Berlin' } },
          ],
        },
        { text: 'Both done.' },
      );
      const opts = {
        model,
        tools: { weather: weatherTool(calls) },
        stopWhen: stepCountIs(5),
        prompt: 'Paris and Berlin?',
        maxRetries: 0,
      };
      const text = stream ? await streamText(opts).text : (await generateText(opts)).text;
      expect(text).toBe('Both done.');
      expect([...calls].sort()).toEqual(['Berlin', 'Paris']);
      const toolMsgs = fake.requests[1]!.messages.filter((m) => m.role === 'tool');
      expect(toolMsgs).toHaveLength(2);
      expect(new Set(toolMsgs.map((m) => m.tool_call_id)).size).toBe(2);
    }
  });

  it('a hanging reply is ended by the abort signal, and close() does not wait for it', async () => {
    fake.reply({ hang: true });
    const err = await generateText({
      model,
      prompt: 'hang',
      maxRetries: 0,
      abortSignal: AbortSignal.timeout(200),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);

    const other = await startFakeOpenAI(() => ({ hang: true }));
    const otherModel = createOpenAI({ baseURL: other.baseURL, apiKey: 'k' }).chat('m');
    const pending = generateText({ model: otherModel, prompt: 'x', maxRetries: 0 }).catch((e: unknown) => e);
    await waitFor(() => other.requests.length === 1);
    await other.close();
    expect(await pending).toBeInstanceOf(Error);
  });
});

describe('WebSocket bridge for the Neon driver', () => {
  it('runs a query and an interactive transaction through @neondatabase/serverless', async () => {
    const bridge = await startWsBridge();
    neonConfig.wsProxy = (host, port) => `127.0.0.1:${bridge.port}/v2?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineConnect = false;
    neonConfig.pipelineTLS = false;
    const pool = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:5432/test', max: 2 });
    try {
      const { rows } = await pool.query('select 1 as x');
      expect(rows).toEqual([{ x: 1 }]);

      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('create temp table selftest (n int) on commit drop');
        await client.query('insert into selftest values (1), (2)');
        const sum = await client.query('select sum(n)::int as s from selftest');
        await client.query('COMMIT');
        expect(sum.rows).toEqual([{ s: 3 }]);
      } finally {
        client.release();
      }
    } finally {
      await pool.end();
      await bridge.close();
    }
  });

  it('refuses targets other than localhost', async () => {
    const bridge = await startWsBridge();
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${bridge.port}/v2?address=example.com:5432`);
      const code = await new Promise<number>((resolve) =>
        ws.addEventListener('close', (e) => resolve(e.code)),
      );
      expect(code).toBe(1008);
    } finally {
      await bridge.close();
    }
  });
});

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('waitFor timed out');
    await sleep(10);
  }
}
