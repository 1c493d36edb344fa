// Resumable answers and stop (issue 22), through the real interface: two app instances on one
// real database (as two processes behind a load balancer would be), the real @ai-sdk/openai
// provider against the fake OpenAI-compatible server holding its answer part-way, so a turn is
// certainly running while the test resumes or stops it. Redis paths use the machine's Redis with
// a key prefix of their own; the "killed Redis" test starts and kills a redis-server of its own.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationIdFor } from '../src/chat/store/ids.ts';
import { Inflight } from '../src/http/inflight.ts';
import { createLogger } from '../src/log.ts';
import { createRedis, type Redis } from '../src/relay/redis.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createTestDb, type TestDb, testDrivers } from './support/db.ts';
import { type FakeOpenAI, type FakeReply, startFakeOpenAI } from './support/fake-openai.ts';

const quiet = createLogger('silent');
/** .ci/run starts the machine's Redis; without one the Redis paths are not tested. */
const redisRuns =
  spawnSync('redis-cli', ['-p', '6379', 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG';
const ANSWER = 'alpha beta gamma delta epsilon zeta eta theta iota kappa';

type Instance = { app: TestApp; inflight: Inflight };

function instance(db: TestDb, redis?: Redis): Instance {
  const inflight = new Inflight();
  return {
    app: createTestApp(db, { inflight, redis }),
    inflight,
  };
}

const user = () => `u-${randomUUID()}`;
const uiBody = (chatId: string, text: string) => ({
  id: chatId,
  messages: [{ id: randomUUID(), role: 'user', parts: [{ type: 'text', text }] }],
});
const send = (i: Instance, userId: string, chatId: string, text = 'tell me') =>
  i.app.request('/chat', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user-id': userId },
    body: JSON.stringify(uiBody(chatId, text)),
  });
const resume = (i: Instance, userId: string, chatId: string) =>
  i.app.request(`/chat/${chatId}/stream`, { headers: { 'x-user-id': userId } });
const stop = (i: Instance, userId: string, chatId: string) =>
  i.app.request(`/chat/${chatId}/stop`, { method: 'POST', headers: { 'x-user-id': userId } });

/** Reads a response body as text until `until` holds for what was read; the rest via `rest()`. */
async function readUntil(res: Response, until: (text: string) => boolean) {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!until(text)) {
    const next = await reader.read();
    if (next.done) throw new Error(`stream ended before the expected part: ${text}`);
    text += decoder.decode(next.value, { stream: true });
  }
  return {
    text,
    async rest(): Promise<string> {
      for (let next = await reader.read(); !next.done; next = await reader.read())
        text += decoder.decode(next.value, { stream: true });
      return text;
    },
  };
}

const chunksOf = (sse: string) =>
  sse
    .split('\n\n')
    .map((e) => e.replace(/^data: /, ''))
    .filter((d) => d && d !== '[DONE]')
    .map((d) => JSON.parse(d));
const textOf = (sse: string) =>
  chunksOf(sse)
    .filter((c) => c.type === 'text-delta')
    .map((c) => c.delta)
    .join('');

/** A fake model answer held after its first few words until `release()`. */
function heldAnswer(reply: Omit<FakeReply & { text?: string }, 'pause'> = { text: ANSWER }) {
  let release!: () => void;
  const until = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { reply: { ...reply, pause: { afterEvents: 6, until } } as FakeReply, release };
}

async function storedMessages(i: Instance, userId: string, chatId: string) {
  const res = await i.app.request(`/conversations/${chatId}/messages`, { headers: { 'x-user-id': userId } });
  return ((await res.json()) as { messages: any[] }).messages;
}

describe.each(testDrivers)('resume and stop on two instances (%s)', (driver) => {
  let fake: FakeOpenAI;
  let db: TestDb;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    db = await createTestDb(driver, {
      extraEnv: {
        OPENAI_BASE_URL: fake.baseURL,
        OPENAI_API_KEY: 'test-key',
        CHAT_MODEL: 'fake-model',
        MODEL_MAX_RETRIES: '0',
        RATE_LIMIT_TURNS_PER_MINUTE: '0',
      },
    });
    a = instance(db);
    b = instance(db);
  });
  afterAll(async () => {
    await a?.inflight.idle();
    await b?.inflight.idle();
    await db?.drop();
    await fake?.close();
  });

  it('answers 204 to resume and stop when no turn is running', async () => {
    const u = user();
    expect((await resume(a, u, 'nothing-running')).status).toBe(204);
    expect((await stop(b, u, 'nothing-running')).status).toBe(204);
  });

  it('resumes a running answer on its own instance from its first part, byte for byte', async () => {
    const u = user();
    const held = heldAnswer();
    fake.reply(held.reply);
    const first = await readUntil(await send(a, u, 'same-instance'), (t) => t.includes('text-delta'));
    const resumed = await resume(a, u, 'same-instance');
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    held.release();
    const [original, again] = await Promise.all([first.rest(), resumed.text()]);
    expect(textOf(original)).toBe(ANSWER);
    expect(again).toBe(original);
  });

  it('gives the stored answer to a resume on another instance without Redis, once the turn ends', async () => {
    const u = user();
    const held = heldAnswer();
    fake.reply(held.reply);
    const first = await readUntil(await send(a, u, 'other-instance'), (t) => t.includes('text-delta'));
    const resumed = resume(b, u, 'other-instance');
    const response = await resumed;
    expect(response.status).toBe(200);
    held.release();
    const [original, stored] = await Promise.all([first.rest(), response.text()]);
    expect(textOf(stored)).toBe(ANSWER);
    const start = (sse: string) => chunksOf(sse).find((c) => c.type === 'start');
    expect(start(stored)).toEqual(start(original));
    expect(chunksOf(stored).at(-1)).toEqual(chunksOf(original).at(-1));
  });

  it('stops a turn from another instance: the text so far is stored as its answer, marked stopped', async () => {
    const u = user();
    const held = heldAnswer();
    fake.reply(held.reply);
    const first = await readUntil(await send(a, u, 'stop-me'), (t) => t.includes('text-delta'));
    expect((await stop(b, u, 'stop-me')).status).toBe(202);
    const sse = await first.rest();
    held.release();
    const partial = textOf(sse);
    expect(partial.length).toBeGreaterThan(0);
    expect(ANSWER.startsWith(partial.trim())).toBe(true);
    expect(partial.trim()).not.toBe(ANSWER);
    const finish = chunksOf(sse).find((c) => c.type === 'finish');
    expect(finish.messageMetadata.stopped).toBe(true);
    // Every text part it opened is closed before the finish, as in an answer that ran to its end.
    const chunks = chunksOf(sse);
    const ids = (type: string) => chunks.filter((c) => c.type === type).map((c) => c.id);
    expect(ids('text-start').length).toBeGreaterThan(0);
    expect(ids('text-end')).toEqual(ids('text-start'));
    expect(chunks.findLastIndex((c) => c.type === 'text-end')).toBeLessThan(
      chunks.findIndex((c) => c.type === 'finish'),
    );

    const messages = await storedMessages(b, u, 'stop-me');
    const answer = messages.at(-1);
    expect(answer.role).toBe('assistant');
    expect(answer.metadata.stopped).toBe(true);
    expect(
      answer.parts
        .filter((p: any) => p.type === 'text')
        .map((p: any) => p.text)
        .join(''),
    ).toBe(partial.trim());
    // The conversation is free again: the next message is answered.
    expect((await resume(b, u, 'stop-me')).status).toBe(204);
    fake.reply({ text: 'next answer' });
    expect(textOf(await (await send(b, u, 'stop-me', 'and now')).text())).toBe('next answer');
  });

  it('a stopped turn keeps every task change that already ran', async () => {
    const u = user();
    const held = heldAnswer({ text: ANSWER });
    fake.reply({ toolCalls: [{ name: 'add_task', args: { title: 'Buy milk' } }] });
    fake.reply(held.reply);
    const first = await readUntil(await send(a, u, 'stop-after-tool'), (t) => t.includes('text-delta'));
    expect((await stop(b, u, 'stop-after-tool')).status).toBe(202);
    await first.rest();
    held.release();
    const tasks = ((await (await b.app.request('/tasks', { headers: { 'x-user-id': u } })).json()) as any)
      .tasks;
    expect(tasks.map((t: any) => t.title)).toEqual(['Buy milk']);
    const answer = (await storedMessages(a, u, 'stop-after-tool')).at(-1);
    const tool = answer.parts.find((p: any) => p.type === 'tool-add_task');
    expect(tool.state).toBe('output-available');
    expect(tool.output.title).toBe('Buy milk');
  });

  it('a stopped JSON turn answers the text so far', async () => {
    const u = user();
    const calls = fake.requests.length;
    fake.reply({ hang: true });
    const answering = a.app.request('/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': u },
      body: JSON.stringify({ message: 'hello', messageId: 'json-stop' }),
    });
    // Once the model was called, the turn is running.
    while (fake.requests.length === calls) await new Promise((r) => setTimeout(r, 10));
    expect((await stop(b, u, conversationIdFor(u, 'json-stop'))).status).toBe(202);
    const res = await answering;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ reply: '', toolCalls: [] });
  });
});

/** A Redis client of the app's, connected. */
async function connectedRedis(url: string, prefix: string): Promise<Redis> {
  const redis = createRedis(url, quiet, prefix);
  for (let i = 0; i < 100 && !(await redis.ping(500)); i++) await new Promise((r) => setTimeout(r, 50));
  return redis;
}

/** A redis-server of this test's own, on a free port: the test may kill it. */
async function ownRedisServer(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const proc = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  return { url: `redis://127.0.0.1:${port}`, proc };
}

describe.skipIf(!redisRuns).each(testDrivers)('resume across instances through Redis (%s)', (driver) => {
  let fake: FakeOpenAI;
  let db: TestDb;
  const prefix = `taskchat-test-${randomUUID()}:`;
  const redises: Redis[] = [];
  const servers: ChildProcess[] = [];

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    db = await createTestDb(driver, {
      extraEnv: {
        OPENAI_BASE_URL: fake.baseURL,
        OPENAI_API_KEY: 'test-key',
        CHAT_MODEL: 'fake-model',
        MODEL_MAX_RETRIES: '0',
        RATE_LIMIT_TURNS_PER_MINUTE: '0',
      },
    });
  });
  afterAll(async () => {
    const shared = redises[0];
    if (shared?.client.isReady) {
      for await (const keys of shared.client.scanIterator({ MATCH: `${prefix}*` }))
        if (keys.length > 0) await shared.client.del(keys);
    }
    await Promise.all(redises.map((r) => r.close()));
    for (const proc of servers) proc.kill('SIGKILL');
    await db?.drop();
    await fake?.close();
  });

  async function twoInstances(url: string) {
    const [ra, rb] = [await connectedRedis(url, prefix), await connectedRedis(url, prefix)];
    redises.push(ra, rb);
    return { a: instance(db, ra), b: instance(db, rb) };
  }

  it('resumes on B a turn running on A, byte for byte the parts A sent', async () => {
    const { a, b } = await twoInstances('redis://127.0.0.1:6379');
    const u = user();
    const held = heldAnswer();
    fake.reply(held.reply);
    const first = await readUntil(await send(a, u, 'via-redis'), (t) => t.includes('text-delta'));
    const resumed = await resume(b, u, 'via-redis');
    expect(resumed.status).toBe(200);
    const early = await readUntil(resumed, (t) => t.includes('text-delta'));
    held.release();
    const [original, again] = await Promise.all([first.rest(), early.rest()]);
    expect(textOf(original)).toBe(ANSWER);
    expect(again).toBe(original);
    const health = (await (await b.app.request('/health')).json()) as any;
    expect(health.redis).toBe('ok');
    await a.inflight.idle();
  });

  it('a killed Redis mid-run: the turn still finishes and is stored; a resume falls back to it', async () => {
    const server = await ownRedisServer();
    servers.push(server.proc);
    const { a, b } = await twoInstances(server.url);
    const u = user();
    const held = heldAnswer();
    fake.reply(held.reply);
    const first = await readUntil(await send(a, u, 'redis-killed'), (t) => t.includes('text-delta'));
    server.proc.kill('SIGKILL');
    await new Promise((resolve) => server.proc.once('exit', resolve));
    const resumed = await resume(b, u, 'redis-killed');
    expect(resumed.status).toBe(200);
    held.release();
    const [original, fallback] = await Promise.all([first.rest(), resumed.text()]);
    expect(textOf(original)).toBe(ANSWER);
    expect(textOf(fallback)).toBe(ANSWER);
    const answer = (await storedMessages(b, u, 'redis-killed')).at(-1);
    expect(answer.parts.find((p: any) => p.type === 'text').text).toBe(ANSWER);
    const health = await b.app.request('/health');
    expect(health.status).toBe(200);
    expect(((await health.json()) as any).redis).toBe('unavailable');
    await a.inflight.idle();
  });
});
