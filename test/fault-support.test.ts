// Proves the fault-test infrastructure through real connections before any fault test relies on
// it: the TCP fault proxy in front of a real Postgres (through `pg`), the private cluster that a
// test may crash and restart on the same port, and every failure mode of the fake OpenAI server
// as the real @ai-sdk/openai provider reports it, on Chat Completions and the Responses API.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { createOpenAI } from '@ai-sdk/openai';
import type { LanguageModel } from 'ai';
import {
  APICallError,
  generateText,
  InvalidToolInputError,
  NoSuchToolError,
  stepCountIs,
  streamText,
  tool,
} from 'ai';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createModelFetch } from '../src/model/transport.ts';
import { type FakeOpenAI, type FakeReply, startFakeOpenAI } from './support/fake-openai.ts';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy.ts';
import { type PgCluster, startPgCluster } from './support/pg-cluster.ts';
import { sleep } from './support/sleep.ts';

/** Polls `check` until it is true; fails with `what` after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

/** Settles to a tagged value so a test can check whether a promise is still pending. */
function track<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  return { settled: () => done, promise };
}

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('private cluster and fault proxy', () => {
  let cluster: PgCluster;
  let dbUrl: string;
  const clients: (pg.Client | pg.Pool)[] = [];

  beforeAll(async () => {
    cluster = await startPgCluster();
    dbUrl = await cluster.createDatabase();
  });
  afterAll(() => cluster?.destroy());
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => {})));
  });

  /** A connected client whose connection errors are recorded instead of crashing the test. */
  async function connect(url: string): Promise<pg.Client & { errors: Error[] }> {
    const client = Object.assign(new pg.Client({ connectionString: url }), { errors: [] as Error[] });
    client.on('error', (err) => client.errors.push(err));
    clients.push(client);
    await client.connect();
    return client;
  }

  describe('fault proxy', () => {
    let proxy: FaultProxy;
    let proxiedUrl: string;

    beforeEach(async () => {
      proxy = await startFaultProxy({ host: cluster.host, port: cluster.port });
      proxiedUrl = proxy.urlFor(dbUrl);
    });
    afterEach(() => proxy.close());

    it('urlFor swaps only host and port', () => {
      expect(proxy.urlFor('postgres://postgres:pw@db.example:5432/app?sslmode=disable')).toBe(
        `postgres://postgres:pw@127.0.0.1:${proxy.port}/app?sslmode=disable`,
      );
    });

    it('forwards queries and counts connections opened and open', async () => {
      const client = await connect(proxiedUrl);
      expect((await client.query('select 1 as x')).rows).toEqual([{ x: 1 }]);
      const second = await connect(proxiedUrl);
      expect(proxy.connectionsOpened).toBe(2);
      expect(proxy.connectionsOpen).toBe(2);
      await second.end();
      await until('the closed connection is no longer counted', () => proxy.connectionsOpen === 1);
      expect(proxy.connectionsOpened).toBe(2);
      expect(client.errors).toEqual([]);
    });

    it('latency: a query on an open connection costs at least one added round trip', async () => {
      const client = await connect(proxiedUrl);
      proxy.latency(200);
      const started = performance.now();
      await client.query('select 1');
      // A sanity lower bound only (one round trip = 200 ms); not a speed assertion.
      expect(performance.now() - started).toBeGreaterThanOrEqual(195);
      proxy.latency(0);
      expect((await client.query('select 2 as x')).rows).toEqual([{ x: 2 }]);
    });

    it('latency keeps byte order per connection when it is lowered mid-flight', async () => {
      const echo = net.createServer((socket) => socket.pipe(socket));
      await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
      const echoProxy = await startFaultProxy({
        host: '127.0.0.1',
        port: (echo.address() as net.AddressInfo).port,
      });
      try {
        const socket = net.connect({ host: '127.0.0.1', port: echoProxy.port });
        let received = '';
        socket.on('data', (b) => {
          received += b.toString();
        });
        await new Promise((resolve) => socket.once('connect', resolve));
        echoProxy.latency(300);
        socket.write('a');
        await sleep(20);
        echoProxy.latency(0);
        socket.write('b'); // due at once, but must not overtake 'a'
        await until('both bytes came back', () => received.length === 2);
        expect(received).toBe('ab');
        socket.destroy();
      } finally {
        await echoProxy.close();
        await new Promise((resolve) => echo.close(resolve));
      }
    });

    it('stall: queries and new connections wait, then complete after heal', async () => {
      const client = await connect(proxiedUrl);
      proxy.stall();
      expect(proxy.mode).toBe('stalled');
      const query = track(client.query('select 1 as x'));
      const late = Object.assign(new pg.Client({ connectionString: proxiedUrl }), { errors: [] as Error[] });
      clients.push(late);
      const lateConnect = track(late.connect());
      await until('the proxy accepted the new connection', () => proxy.connectionsOpened === 2);
      await sleep(300);
      expect(query.settled()).toBe(false);
      expect(lateConnect.settled()).toBe(false);
      proxy.heal();
      expect((await query.promise).rows).toEqual([{ x: 1 }]);
      await lateConnect.promise;
      expect((await late.query('select 3 as x')).rows).toEqual([{ x: 3 }]);
      expect(client.errors).toEqual([]);
    });

    it('cut: a query in flight fails, new connections fail at once, heal lets a new one work', async () => {
      const client = await connect(proxiedUrl);
      proxy.stall(); // so the query is certainly in flight when the cut comes
      const query = client.query('select 1');
      // Held by the proxy, so no unread bytes remain in the kernel (a close would then be a RST).
      await until('the proxy holds the query', () => proxy.bytesHeld > 0);
      proxy.cut();
      await expect(query).rejects.toThrow(/Connection terminated/);
      expect(client.errors.map((e) => e.message)).toEqual([expect.stringMatching(/Connection terminated/)]);
      expect(proxy.connectionsOpen).toBe(0);

      const refused = new pg.Client({ connectionString: proxiedUrl });
      refused.on('error', () => {});
      await expect(refused.connect()).rejects.toThrow();

      proxy.heal();
      const after = await connect(proxiedUrl);
      expect((await after.query('select 4 as x')).rows).toEqual([{ x: 4 }]);
    });

    it('cut with reset: the client sees ECONNRESET', async () => {
      const client = await connect(proxiedUrl);
      proxy.cut({ reset: true });
      await until('the client saw its connection die', () => client.errors.length > 0);
      expect(client.errors[0]).toMatchObject({ code: 'ECONNRESET' });
      proxy.heal();
    });
  });

  describe('private cluster', () => {
    it('stop immediate, start again: same port, committed rows kept, clients reconnect', async () => {
      const port = cluster.port;
      const client = await connect(dbUrl);
      await client.query('create table if not exists crash_check (v int)');
      await client.query('insert into crash_check values (42)');
      const pool = new pg.Pool({ connectionString: dbUrl, max: 2 });
      const poolErrors: Error[] = [];
      pool.on('error', (err) => poolErrors.push(err));
      clients.push(pool);
      await pool.query('select 1'); // leaves an idle client in the pool

      await cluster.stop('immediate');
      expect(cluster.running).toBe(false);
      await until('the client saw the crash', () => client.errors.length > 0);
      expect(await portRefuses(port)).toBe(true);
      await expect(pool.query('select 1')).rejects.toThrow(/ECONNREFUSED/);

      await cluster.start();
      expect(cluster.port).toBe(port);
      const again = await connect(dbUrl);
      expect((await again.query('select v from crash_check')).rows).toEqual([{ v: 42 }]);
      // The pool drops the client that died and opens a new one.
      expect((await pool.query('select 5 as x')).rows).toEqual([{ x: 5 }]);
      expect(poolErrors.length).toBeGreaterThan(0);
    });

    it('stop fast terminates sessions with 57P01, and start brings it back', async () => {
      const client = await connect(dbUrl);
      await cluster.stop('fast');
      await until('the session was terminated', () => client.errors.length > 0);
      expect(client.errors[0]).toMatchObject({ code: '57P01' });
      await cluster.start();
      const again = await connect(cluster.url);
      expect((await again.query('select 6 as x')).rows).toEqual([{ x: 6 }]);
    });

    it('through the proxy, a stopped target is a closed connection, and a restarted one works', async () => {
      const proxy = await startFaultProxy({ host: cluster.host, port: cluster.port });
      try {
        await cluster.stop('immediate');
        const refused = new pg.Client({ connectionString: proxy.urlFor(dbUrl) });
        refused.on('error', () => {});
        await expect(refused.connect()).rejects.toThrow();
        await cluster.start();
        const client = await connect(proxy.urlFor(dbUrl));
        expect((await client.query('select 7 as x')).rows).toEqual([{ x: 7 }]);
      } finally {
        await proxy.close();
      }
    });
  });
});

describe('private cluster cleanup', () => {
  const module = fileURLToPath(new URL('./support/pg-cluster.ts', import.meta.url));

  // A child process starts a cluster, reports it, then ends without destroy().
  function childCluster(ending: 'exit' | 'SIGKILL'): Promise<{ dir: string; port: number; code: unknown }> {
    const end = ending === 'exit' ? 'process.exit(3)' : "process.kill(process.pid, 'SIGKILL')";
    const source = `import { startPgCluster } from ${JSON.stringify(module)};
      const c = await startPgCluster();
      console.log(JSON.stringify({ dir: c.dir, port: c.port }));
      ${end};`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b) => {
      out += b;
    });
    child.stderr.on('data', (b) => {
      out += b;
    });
    return new Promise((resolve, reject) => {
      child.once('exit', (code, signal) => {
        try {
          resolve({ ...JSON.parse(out.trim().split('\n').at(-1) ?? ''), code: code ?? signal });
        } catch {
          reject(new Error(`child failed:\n${out}`));
        }
      });
    });
  }

  it('destroy() stops the server and removes the directory', async () => {
    const c = await startPgCluster();
    expect(existsSync(c.dir)).toBe(true);
    await c.destroy();
    expect(existsSync(c.dir)).toBe(false);
    expect(await portRefuses(c.port)).toBe(true);
    await c.destroy(); // idempotent
  });

  it('a process that exits or is killed without destroy() leaves no server and no directory', async () => {
    const [exited, killed] = await Promise.all([childCluster('exit'), childCluster('SIGKILL')]);
    expect(exited.code).toBe(3);
    expect(killed.code).toBe('SIGKILL');
    // The exit hook is synchronous: gone by the time the process is.
    expect(existsSync(exited.dir)).toBe(false);
    expect(await portRefuses(exited.port)).toBe(true);
    // The watchdog notices within about a second.
    await until('the watchdog removed the killed process’s cluster', () => !existsSync(killed.dir));
    expect(await portRefuses(killed.port)).toBe(true);
  });
});

// Through Node's global fetch and through the app's own (src/model/transport.ts), which must fail
// exactly as the global one does for the SDK to classify its failures alike.
describe.each([
  ['chat', 'global fetch'],
  ['responses', 'global fetch'],
  ['chat', 'the app’s model fetch'],
  ['responses', 'the app’s model fetch'],
] as const)('fake OpenAI failure modes (%s API, %s)', (api, via) => {
  let fake: FakeOpenAI;
  let model: LanguageModel;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    const provider = createOpenAI({
      baseURL: fake.baseURL,
      apiKey: 'test-key',
      fetch: via === 'global fetch' ? undefined : createModelFetch({ batchMs: 50 }),
    });
    model = api === 'chat' ? provider.chat('fake-model') : provider.responses('fake-model');
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
  });

  async function generate(reply: FakeReply, abortSignal?: AbortSignal) {
    fake.reply(reply);
    return generateText({ model, prompt: 'hi', maxRetries: 0, abortSignal });
  }

  /** Streams one answer and collects what a consumer sees: the text, and every error reported. */
  async function stream(reply: FakeReply, abortSignal?: AbortSignal) {
    fake.reply(reply);
    const errors: unknown[] = [];
    const result = streamText({
      model,
      prompt: 'hi',
      maxRetries: 0,
      abortSignal,
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    let text = '';
    try {
      for await (const piece of result.textStream) text += piece;
    } catch (err) {
      errors.push(err);
    }
    const finishReason = await Promise.resolve(result.finishReason).catch((err: unknown) => {
      errors.push(err);
      return undefined;
    });
    return { text, errors, finishReason };
  }

  const TEXT = 'one two three four five six seven eight';

  it('an error status carries the OpenAI error body into APICallError, streamed or not', async () => {
    const failure = generate({ status: 500 });
    await expect(failure).rejects.toBeInstanceOf(APICallError);
    await expect(failure).rejects.toMatchObject({
      statusCode: 500,
      message: 'fake-openai error 500',
      isRetryable: true,
    });

    const custom = {
      error: { message: 'overloaded', type: 'server_error', param: null, code: 'overloaded' },
    };
    const streamed = await stream({ status: 503, body: custom });
    expect(streamed.errors[0]).toBeInstanceOf(APICallError);
    expect(streamed.errors[0]).toMatchObject({ statusCode: 503, message: 'overloaded' });
    expect(streamed.text).toBe('');
  });

  it('an error status can carry headers (a 429 with Retry-After, retried by the SDK)', async () => {
    fake.reply({ status: 429, headers: { 'retry-after': '0' } }, { text: 'after the retry' });
    const result = await generateText({ model, prompt: 'hi', maxRetries: 1 });
    expect(result.text).toBe('after the retry');
    expect(fake.requests).toHaveLength(2);
  });

  it('a stream cut mid-way: part of the text, then a retryable connection error', async () => {
    const { text, errors } = await stream({ text: TEXT, cut: true });
    expect(text.length).toBeGreaterThan(0);
    expect(TEXT.startsWith(text) && text !== TEXT).toBe(true);
    expect(errors[0]).toBeInstanceOf(APICallError);
    expect(errors[0]).toMatchObject({
      isRetryable: true,
      cause: expect.objectContaining({ message: 'terminated' }),
    });
  });

  it('a stream cut after a chosen number of events', async () => {
    const { text, errors } = await stream({ text: TEXT, cut: { afterEvents: 1 } });
    expect(text).toBe('');
    expect(errors[0]).toBeInstanceOf(APICallError);
  });

  it('a stream that ends early without its finish: partial text, finish "interrupted", no error', async () => {
    const { text, errors, finishReason } = await stream({ text: TEXT, cut: { ending: 'end' } });
    expect(TEXT.startsWith(text) && text.length > 0 && text !== TEXT).toBe(true);
    expect(errors).toEqual([]);
    expect(finishReason).toBe('interrupted');
  });

  it('an in-stream error event: partial text, then the provider’s error, finish "error"', async () => {
    const { text, errors, finishReason } = await stream({
      text: TEXT,
      cut: { ending: 'error', error: { message: 'upstream fell over' } },
    });
    expect(text.length).toBeGreaterThan(0);
    expect(errors.map(String)).toEqual([expect.stringContaining('upstream fell over')]);
    expect(finishReason).toBe('error');
    // Not streamed, the same fault is an HTTP 500 with that message.
    await expect(
      generate({ text: TEXT, cut: { ending: 'error', error: { message: 'upstream fell over' } } }),
    ).rejects.toMatchObject({ statusCode: 500, message: 'upstream fell over' });
  });

  it('a JSON body cut with the connection destroyed: a retryable APICallError', async () => {
    await expect(generate({ text: TEXT, cut: true })).rejects.toMatchObject({
      name: 'AI_APICallError',
      isRetryable: true,
      cause: expect.objectContaining({ message: 'terminated' }),
    });
    await expect(generate({ text: TEXT, cut: { afterBytes: 0 } })).rejects.toBeInstanceOf(APICallError);
  });

  it('a JSON body cut but ended cleanly: "Invalid JSON response", not retryable', async () => {
    await expect(generate({ text: TEXT, cut: { ending: 'end', afterBytes: 40 } })).rejects.toMatchObject({
      name: 'AI_APICallError',
      message: 'Invalid JSON response',
      isRetryable: false,
    });
  });

  it('never answering (or stopping mid-stream) lasts until the client aborts', async () => {
    const hang = track(generate({ hang: true }, AbortSignal.timeout(300)));
    await until('the request reached the fake', () => fake.requests.length === 1);
    await expect(hang.promise).rejects.toMatchObject({ name: 'TimeoutError' });

    const json = generate({ text: TEXT, cut: { ending: 'hang' } }, AbortSignal.timeout(300));
    await expect(json).rejects.toMatchObject({ name: 'TimeoutError' });

    const streamed = await stream({ text: TEXT, cut: { ending: 'hang' } }, AbortSignal.timeout(300));
    expect(streamed.text.length).toBeGreaterThan(0);
    expect(streamed.errors[0]).toMatchObject({ name: 'TimeoutError' });
  });

  it('reply text with U+0000 arrives as sent, streamed or not', async () => {
    const text = 'before\u0000after and more';
    expect((await generate({ text })).text).toBe(text);
    const streamed = await stream({ text });
    expect(streamed.text).toBe(text);
    expect(streamed.errors).toEqual([]);
  });

  describe.each(['generate', 'stream'] as const)('tool calls (%s)', (mode) => {
    const executed: unknown[] = [];
    const tools = {
      add_task: tool({
        description: 'Adds a task',
        inputSchema: z.object({ title: z.string() }),
        execute: async (input) => {
          executed.push(input);
          return { ok: true };
        },
      }),
    };

    async function turn(first: FakeReply) {
      executed.length = 0;
      fake.reply(first, { text: 'Finished.' });
      const options = { model, tools, prompt: 'add it', maxRetries: 0, stopWhen: stepCountIs(3) };
      if (mode === 'generate') {
        const result = await generateText(options);
        return { text: result.text, steps: result.steps };
      }
      const result = streamText(options);
      return { text: await result.text, steps: await result.steps };
    }

    /** What the model was sent back for the first step's call (the tool message of step 2). */
    const toolMessageSentBack = () => fake.requests[1]!.messages.find((m: any) => m.role === 'tool');

    it('arguments with U+0000 reach the tool as sent', async () => {
      const { steps } = await turn({ toolCalls: [{ name: 'add_task', args: { title: 'milk\u0000' } }] });
      expect(executed).toEqual([{ title: 'milk\u0000' }]);
      expect(steps[0]!.content.find((p) => p.type === 'tool-result')).toBeDefined();
    });

    it('invalid JSON arguments: a tool-error (InvalidToolInputError), the tool not run, the error sent back', async () => {
      const { text, steps } = await turn({
        toolCalls: [{ name: 'add_task', rawArguments: '{"title": "mi' }],
      });
      expect(executed).toEqual([]);
      const call = steps[0]!.content.find((p) => p.type === 'tool-call');
      expect(call).toMatchObject({ toolName: 'add_task', invalid: true });
      expect(InvalidToolInputError.isInstance((call as { error?: unknown }).error)).toBe(true);
      // The tool-error part carries the error as text.
      expect(steps[0]!.content.find((p) => p.type === 'tool-error')).toMatchObject({
        toolName: 'add_task',
        error: expect.stringMatching(/^AI_InvalidToolInputError/),
      });
      expect(toolMessageSentBack().content).toContain('Invalid input for tool add_task');
      expect(text).toBe('Finished.');
    });

    it('a tool that does not exist: a tool-error (NoSuchToolError), nothing run, the error sent back', async () => {
      const { text, steps } = await turn({ toolCalls: [{ name: 'drop_database', args: {} }] });
      expect(executed).toEqual([]);
      const call = steps[0]!.content.find((p) => p.type === 'tool-call');
      expect(call).toMatchObject({ toolName: 'drop_database', invalid: true });
      expect(NoSuchToolError.isInstance((call as { error?: unknown }).error)).toBe(true);
      expect(steps[0]!.content.find((p) => p.type === 'tool-error')).toMatchObject({
        toolName: 'drop_database',
        error: expect.stringMatching(/^AI_NoSuchToolError/),
      });
      expect(toolMessageSentBack().content).toContain("unavailable tool 'drop_database'");
      expect(text).toBe('Finished.');
    });
  });
});
