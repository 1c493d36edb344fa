// Issue 23: every turn's model usage is stored (JSON, streamed, failed and regenerated turns),
// GET /usage sums it per day in the user's zone, and USAGE_BUDGET_TOKENS_PER_DAY refuses the
// next turn until the user's midnight, across instances, with no extra statement per turn.
import { afterEach, describe, expect, it } from 'vitest';
import { Inflight } from '../src/http/inflight.ts';
import { type ChatHarness, createTestApp, startChatApp } from './support/app.ts';
import { testDrivers } from './support/db.ts';

// 20:00 UTC is 21:00 in Paris: the Parisian's day ends in 3 hours.
const NOW = new Date('2026-12-05T20:00:00Z');
const PRICES = { 'fake-model': { inputPerMTok: 1, outputPerMTok: 10, cachedInputPerMTok: 0.5 } };

type UsageBody = {
  days: {
    date: string;
    turns: number;
    inputTokens: number;
    cachedInputTokens: number;
    outputTokens: number;
    costUsd: number | null;
  }[];
  total: {
    turns: number;
    inputTokens: number;
    cachedInputTokens: number;
    outputTokens: number;
    costUsd: number | null;
  };
  budget: { tokensPerDay: number | null; usedToday: number; resetsAt: string | null };
};

// Each test starts its own app and database: an embedded PGlite takes seconds on a busy machine.
const PGLITE_TIMEOUT_MS = 120_000;

describe.each(testDrivers)('usage on %s', (driver) => {
  let h: ChatHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const usageOf = async (harness: ChatHarness, user: string, headers: Record<string, string> = {}) => {
    const res = await harness.app.request('/usage', { headers: { 'x-user-id': user, ...headers } });
    expect(res.status).toBe(200);
    return (await res.json()) as UsageBody;
  };
  const uiBody = (chatId: string, messageId: string, text: string, trigger?: string) => ({
    id: chatId,
    messages: [{ role: 'user', id: messageId, parts: [{ type: 'text', text }] }],
    ...(trigger ? { trigger } : {}),
  });

  it(
    'sums exactly what the provider reported, for JSON, streamed, failed and regenerated turns',
    async () => {
      h = await startChatApp(driver, { now: () => NOW, env: { MODEL_PRICES: JSON.stringify(PRICES) } });
      const { fake } = h;
      const user = 'spender';
      fake.reply({ text: 'one', usage: { input: 100, output: 10, cachedInput: 40, reasoning: 3 } });
      await h.say(user, 'first');

      fake.reply({ text: 'two', usage: { input: 200, output: 20 } });
      const streamed = await h.chat(user, { message: 'second' }, { accept: 'text/event-stream' });
      expect(streamed.status).toBe(200);
      await streamed.text();

      // A tool step is spent, then the provider fails: the turn fails, its first call's tokens count.
      fake.reply(
        { toolCalls: [{ name: 'add_task', args: { title: 'x' } }], usage: { input: 300, output: 30 } },
        { status: 500 },
      );
      const failed = await h.chat(user, { message: 'third' });
      expect(failed.status).toBe(502);

      fake.reply({ text: 'four', usage: { input: 400, output: 40 } });
      await (await h.chat(user, uiBody('regen-chat', 'm-4', 'fourth'))).text();
      fake.reply({ text: 'four again', usage: { input: 500, output: 50 } });
      const regenerated = await h.chat(user, uiBody('regen-chat', 'm-4', 'fourth', 'regenerate-message'));
      expect(regenerated.status).toBe(200);
      await regenerated.text();
      await h.inflight.idle();

      const usage = await usageOf(h, user);
      const totals = { turns: 5, inputTokens: 1500, cachedInputTokens: 40, outputTokens: 150 };
      expect(usage.total).toMatchObject(totals);
      // (1460 uncached × $1 + 40 cached × $0.5 + 150 output × $10) per million tokens
      expect(usage.total.costUsd).toBeCloseTo(0.00298, 10);
      expect(usage.days).toHaveLength(1);
      expect(usage.days[0]).toMatchObject({ date: '2026-12-05', ...totals });
      expect(usage.budget).toEqual({ tokensPerDay: null, usedToday: 1650, resetsAt: null });
      // Another user's usage is theirs alone.
      expect((await usageOf(h, 'someone-else')).total).toMatchObject({ turns: 0, inputTokens: 0 });
    },
    PGLITE_TIMEOUT_MS,
  );

  it(
    'reads the Responses API’s usage too, streamed and not',
    async () => {
      h = await startChatApp(driver, { now: () => NOW, env: { OPENAI_API: 'responses' } });
      h.fake.reply({ text: 'json', usage: { input: 1000, output: 100, cachedInput: 600, reasoning: 40 } });
      await h.say('responder', 'first');
      h.fake.reply({ text: 'stream', usage: { input: 2000, output: 200, cachedInput: 1200 } });
      const streamed = await h.chat('responder', { message: 'second' }, { accept: 'text/event-stream' });
      await streamed.text();
      await h.inflight.idle();
      expect(h.fake.requests.map((r) => [r.api, r.stream])).toEqual([
        ['responses', false],
        ['responses', true],
      ]);
      const usage = await usageOf(h, 'responder');
      expect(usage.total).toEqual({
        turns: 2,
        inputTokens: 3000,
        cachedInputTokens: 1800,
        outputTokens: 300,
        costUsd: null,
      });
    },
    PGLITE_TIMEOUT_MS,
  );

  it(
    'refuses the next turn once the day is spent, on every instance, until the user’s midnight',
    async () => {
      h = await startChatApp(driver, { now: () => NOW, env: { USAGE_BUDGET_TOKENS_PER_DAY: '100' } });
      const { fake } = h;
      const paris = { 'x-timezone': 'Europe/Paris' };
      fake.reply({ text: 'spent', usage: { input: 80, output: 30 } });
      await h.say('alice', 'spend it', {});
      // The same database behind a second instance: the counter, not the process, refuses.
      const other = createTestApp(h.db, { inflight: new Inflight(), now: () => NOW });
      const refused = await other.request('/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-id': 'alice', ...paris },
        body: JSON.stringify({ message: 'one more' }),
      });
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('budget_exhausted');
      expect(refused.headers.get('retry-after')).toBe(String(3 * 3600));
      expect(fake.requests.at(-1)?.messages.some((m: { content: unknown }) => m.content === 'one more')).toBe(
        false,
      );

      fake.reply({ text: 'fine' });
      expect((await h.say('bob', 'my turn')).reply).toBe('fine');

      const usage = await usageOf(h, 'alice', paris);
      expect(usage.budget).toEqual({
        tokensPerDay: 100,
        usedToday: 110,
        resetsAt: '2026-12-05T23:00:00.000Z',
      });
    },
    PGLITE_TIMEOUT_MS,
  );

  it(
    'counts the offline model’s turns at zero tokens and zero cost',
    async () => {
      h = await startChatApp(driver, {
        now: () => NOW,
        env: { CHAT_MODEL: 'offline', MODEL_PRICES: JSON.stringify(PRICES) },
      });
      await h.say('offline-user', 'add buy milk');
      const usage = await usageOf(h, 'offline-user');
      expect(usage.total).toEqual({
        turns: 1,
        inputTokens: 0,
        cachedInputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
      });
    },
    PGLITE_TIMEOUT_MS,
  );

  it(
    'refuses days that are not a whole number from 1 to 366',
    async () => {
      h = await startChatApp(driver);
      const res = await h.app.request('/usage?days=0', { headers: { 'x-user-id': 'u' } });
      expect(res.status).toBe(400);
    },
    PGLITE_TIMEOUT_MS,
  );
});
