// GET /metrics through the app, read with a strict Prometheus text parser: the exposition parses,
// and the counters move as chat turns, tool calls and statements happen (the statements counted
// at the driver must match what the metric says a turn cost). METRICS_TOKEN protects it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../src/db/client.ts';
import { DbUnavailableError } from '../src/db/resilience.ts';
import { createTaskRepository } from '../src/tasks/repository.ts';
import { type ChatHarness, createTestApp, startChatApp } from './support/app.ts';
import { createTestDb, testConfig, testDrivers } from './support/db.ts';
import { heldScript } from './support/fake-openai.ts';
import { type Family, parsePrometheus, sampleValue } from './support/prometheus.ts';
import { uiChunks } from './support/ui-stream.ts';

type Scrape = Map<string, Family>;

describe.each(testDrivers)('GET /metrics on %s', (driver) => {
  let h: ChatHarness;
  let statements = 0;
  beforeAll(async () => {
    h = await startChatApp(driver, { onStatement: () => statements++ });
  });
  afterAll(() => h?.close());

  async function scrape(): Promise<Scrape> {
    const res = await h.app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheus(await res.text());
  }
  const delta = (before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}) =>
    sampleValue(after, name, labels) - sampleValue(before, name, labels);

  it('parses, and a JSON turn with a tool call moves the turn, model, tool and statement counters', async () => {
    const before = await scrape();
    h.fake.reply({ toolCalls: [{ name: 'add_task', args: { title: 'buy milk' } }] }, { text: 'Added.' });
    statements = 0;
    await h.say('metrics-user', 'add buy milk');
    const counted = statements;
    const after = await scrape();

    const ok = { answer: 'json', outcome: 'ok' };
    expect(delta(before, after, 'taskchat_chat_turn_duration_seconds_count', ok)).toBe(1);
    expect(delta(before, after, 'taskchat_chat_turn_duration_seconds_sum', ok)).toBeGreaterThan(0);
    // BEGIN TURN, the tool's statement, END TURN: what the driver saw, and what the metric says.
    expect(counted).toBe(3);
    expect(delta(before, after, 'taskchat_chat_turn_statements_sum', { outcome: 'ok' })).toBe(counted);
    expect(delta(before, after, 'taskchat_db_statements_total')).toBe(counted);
    expect(delta(before, after, 'taskchat_tool_calls_total', { tool: 'add_task', outcome: 'ok' })).toBe(1);
    const modelCalls = { model: 'fake-model', outcome: 'ok' };
    expect(delta(before, after, 'taskchat_model_call_duration_seconds_count', modelCalls)).toBe(2);
    expect(delta(before, after, 'taskchat_model_tokens_total', { model: 'fake-model' })).toBeGreaterThan(0);
    expect(sampleValue(after, 'taskchat_chat_turns_in_flight')).toBe(0);
    expect(sampleValue(after, 'taskchat_db_breaker_state', { state: 'closed' })).toBe(1);
    expect(sampleValue(after, 'taskchat_db_breaker_state', { state: 'open' })).toBe(0);
    const pool = after.get('taskchat_db_pool_connections')?.samples ?? [];
    if (driver === 'pglite') expect(after.has('taskchat_db_pool_connections')).toBe(false);
    else expect(pool[0]?.value).toBeGreaterThanOrEqual(1);
  });

  it('counts a streamed turn when it is stored, a refused tool call, a replay and a refused turn', async () => {
    const before = await scrape();
    h.fake.reply(
      { toolCalls: [{ name: 'complete_task', args: { task_id: 999 } }] },
      { text: 'No such task.' },
    );
    const res = await h.chat(
      'metrics-user',
      { message: 'done 999', messageId: 'metrics-stream-1' },
      {
        accept: 'text/event-stream',
      },
    );
    expect(res.status).toBe(200);
    const parts: { type: string }[] = [];
    for await (const part of uiChunks(res)) parts.push(part);
    expect(parts.at(-1)?.type).toBe('finish');
    const replay = await h.chat('metrics-user', { message: 'done 999', messageId: 'metrics-stream-1' });
    expect(replay.status).toBe(200);
    const invalid = await h.chat('metrics-user', { message: '' });
    expect(invalid.status).toBe(400);
    const after = await scrape();

    expect(
      delta(before, after, 'taskchat_chat_turn_duration_seconds_count', { answer: 'stream', outcome: 'ok' }),
    ).toBe(1);
    expect(
      delta(before, after, 'taskchat_tool_calls_total', { tool: 'complete_task', outcome: 'refused' }),
    ).toBe(1);
    expect(delta(before, after, 'taskchat_chat_turn_duration_seconds_count', { outcome: 'replay' })).toBe(1);
    expect(delta(before, after, 'taskchat_chat_turn_duration_seconds_count', { outcome: 'refused' })).toBe(1);
    expect(sampleValue(after, 'taskchat_chat_turns_in_flight')).toBe(0);
  });
});

describe('GET /metrics while a turn runs, and with METRICS_TOKEN', () => {
  let h: ChatHarness;
  const token = 'metrics-token-0123456789';
  beforeAll(async () => {
    h = await startChatApp('pglite', { env: { METRICS_TOKEN: token } });
  });
  afterAll(() => h?.close());

  const scrape = async () => {
    const res = await h.app.request('/metrics', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return parsePrometheus(await res.text());
  };

  it('refuses a scrape without the token, or with another, as the contract 401', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: token },
    ];
    for (const headers of attempts) {
      const res = await h.app.request('/metrics', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await res.json()) as any).error.code).toBe('unauthorized');
    }
  });

  it('shows the turn in flight while the model works, and none after', async () => {
    const held = heldScript({ text: 'done' });
    h.fake.setScript(held.script);
    const turn = h.say('held-user', 'hello');
    await held.called;
    expect(sampleValue(await scrape(), 'taskchat_chat_turns_in_flight')).toBe(1);
    held.release();
    await turn;
    expect(sampleValue(await scrape(), 'taskchat_chat_turns_in_flight')).toBe(0);
  });
});

describe('model and tool calls that fail, in /metrics', () => {
  let h: ChatHarness;
  beforeAll(async () => {
    h = await startChatApp('pglite', { env: { MODEL_TIMEOUT_MS: '400' } });
  });
  afterAll(() => h?.close());

  const scrape = async () => parsePrometheus(await (await h.app.request('/metrics')).text());
  const model = (scrape: Scrape, outcome: string) =>
    sampleValue(scrape, 'taskchat_model_call_duration_seconds_count', { model: 'fake-model', outcome });

  it('counts a provider error as error and a streamed call cut by the time limit as aborted', async () => {
    const before = await scrape();
    h.fake.reply({ status: 500 });
    expect((await h.chat('failing-user', { message: 'hello' })).status).toBe(502);
    h.fake.reply({ status: 500 });
    const failed = await h.chat('failing-user', { message: 'hello' }, { accept: 'text/event-stream' });
    for await (const _ of uiChunks(failed));
    const middle = await scrape();
    expect(model(middle, 'error') - model(before, 'error')).toBe(2);
    expect(model(middle, 'ok') - model(before, 'ok')).toBe(0);

    h.fake.reply({ hang: true });
    const timedOut = await h.chat('failing-user', { message: 'hello' }, { accept: 'text/event-stream' });
    const parts: { type: string; errorText?: string }[] = [];
    for await (const part of uiChunks(timedOut)) parts.push(part);
    expect(parts.at(-1)).toMatchObject({ type: 'error' });
    const after = await scrape();
    expect(model(after, 'aborted') - model(middle, 'aborted')).toBe(1);
    expect(model(after, 'error') - model(middle, 'error')).toBe(0);
  });

  it('counts a tool call whose database is down as error', async () => {
    const db = h.db;
    const tasks = createTaskRepository(db.database);
    const app = createTestApp(db, {
      tasks: {
        ...tasks,
        add: async () => {
          throw new DbUnavailableError(1, { reason: 'timeout' });
        },
      },
    });
    h.fake.reply({ toolCalls: [{ name: 'add_task', args: { title: 'buy milk' } }] }, { text: 'Added.' });
    const res = await app.request('/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': 'outage-user' },
      body: JSON.stringify({ message: 'add buy milk' }),
    });
    expect(res.status).toBe(503);
    const after = parsePrometheus(await (await app.request('/metrics')).text());
    expect(sampleValue(after, 'taskchat_tool_calls_total', { tool: 'add_task', outcome: 'error' })).toBe(1);
    expect(sampleValue(after, 'taskchat_tool_calls_total', { tool: 'add_task', outcome: 'ok' })).toBe(0);
  });
});

describe('database errors in /metrics', () => {
  it('counts a refused connection by kind, then the open breaker', async () => {
    // A port nothing listens on: every attempt is refused at once.
    const config = testConfig({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
      DB_CONNECT_TIMEOUT_MS: '500',
    });
    const database = await createDatabase(config.db, {
      resilience: { attempts: 1, failureThreshold: 1, baseDelayMs: 1, maxDelayMs: 2 },
    });
    try {
      const app = createTestApp({ config, database });
      const headers = { 'x-user-id': 'alice' };
      expect((await app.request('/tasks', { headers })).status).toBe(503);
      expect((await app.request('/tasks', { headers })).status).toBe(503);
      const metrics = parsePrometheus(await (await app.request('/metrics')).text());
      expect(sampleValue(metrics, 'taskchat_db_errors_total', { kind: 'connect' })).toBe(1);
      expect(sampleValue(metrics, 'taskchat_db_errors_total', { kind: 'breaker_open' })).toBe(1);
      expect(sampleValue(metrics, 'taskchat_db_breaker_state', { state: 'open' })).toBe(1);
    } finally {
      await database.close();
    }
  });

  it('is not built from another app: each app has its own registry', async () => {
    const a = await createTestDb('pglite');
    try {
      const one = createTestApp(a);
      const two = createTestApp(a);
      await one.request('/tasks', { headers: { 'x-user-id': 'alice' } });
      const first = parsePrometheus(await (await one.request('/metrics')).text());
      const second = parsePrometheus(await (await two.request('/metrics')).text());
      expect(sampleValue(first, 'taskchat_db_statements_total')).toBe(1);
      expect(sampleValue(second, 'taskchat_db_statements_total')).toBe(0);
    } finally {
      await a.drop();
    }
  });
});
