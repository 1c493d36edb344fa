import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatHarness, startChatApp } from './support/chat-app.ts';
import { testDrivers } from './support/db.ts';

// Counted at the driver (every query the pg/Neon client or PGlite is asked to run), so a hidden
// extra round trip anywhere in a turn fails this test.
describe.each(testDrivers)('statements per chat turn on %s', (driver) => {
  let h: ChatHarness;
  const statements: string[] = [];
  beforeAll(async () => {
    h = await startChatApp(driver, {
      onStatement: (text) => statements.push(text),
      // The budget's counter and the user's zone are read and written by the same two statements.
      env: { RATE_LIMIT_TURNS_PER_MINUTE: '100', USAGE_BUDGET_TOKENS_PER_DAY: '1000000000' },
    });
  });
  afterAll(() => h?.close());

  async function countTurn(tools: number, conversationId?: string) {
    const calls = Array.from({ length: tools }, (_, i) => ({
      name: 'add_task',
      args: { title: `task ${i}` },
    }));
    if (tools > 0) h.fake.reply({ toolCalls: calls }, { text: 'done' });
    else h.fake.reply({ text: 'hello' });
    statements.length = 0;
    const answer = await h.say('counter', 'go', conversationId ? { conversationId } : {});
    return { answer, count: statements.length };
  }

  it('is 2 statements plus 1 per tool call, with the rate limit and the token budget on, for new and long conversations', async () => {
    const first = await countTurn(0);
    expect(first.count).toBe(2);
    const conversationId = first.answer.conversationId;
    expect((await countTurn(1, conversationId)).count).toBe(3);
    expect((await countTurn(3, conversationId)).count).toBe(5);
    for (let i = 0; i < 20; i++) await countTurn(1, conversationId);
    expect((await countTurn(0, conversationId)).count).toBe(2);
  });
});
