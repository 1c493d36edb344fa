import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayIn } from '../src/time/zone.ts';
import { type ChatHarness, startChatApp } from './support/app.ts';
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
      env: {
        RATE_LIMIT_TURNS_PER_MINUTE: '100',
        USAGE_BUDGET_TOKENS_PER_DAY: '1000000000',
        APPROVAL_POLICY: 'destructive',
      },
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

  it('is 1 statement for each change tool call, undo_change included', async () => {
    const user = 'changer';
    // One call per step: the calls of one step run at the same time, in no set order.
    h.fake.reply(
      { toolCalls: [{ name: 'add_task', args: { title: 'undo me' } }] },
      { toolCalls: [{ name: 'update_task', args: { task_id: 1, title: 'renamed' } }] },
      { toolCalls: [{ name: 'complete_task', args: { task_id: 1 } }] },
      // (delete_task waits for approval under this file's policy: counted in the approval test below)
      { toolCalls: [{ name: 'undo_change', args: {} }] },
      { toolCalls: [{ name: 'undo_change', args: { change_id: 2 } }] },
      { text: 'done' },
    );
    statements.length = 0;
    const answer = await h.say(user, 'go');
    expect(answer.toolCalls.map((call) => call.result.change_id)).toEqual([1, 2, 3, 4, 5]);
    expect(statements).toHaveLength(2 + 5);
  });

  it('is 2 statements for a turn that asks for approval, and 2 + k for the decision that runs k calls', async () => {
    const { answer } = await countTurn(1);
    const taskId = answer.toolCalls[0]?.result.id;
    const { conversationId } = answer;
    // The asking turn: the call waits, stored by END TURN.
    h.fake.reply({ toolCalls: [{ name: 'delete_task', args: { task_id: taskId } }] });
    statements.length = 0;
    const asked = (await h.say('counter', 'delete it', { conversationId })) as {
      pendingApprovals?: { id: string }[];
    };
    expect(statements.length).toBe(2);
    const id = asked.pendingApprovals?.[0]?.id;
    // The decision: BEGIN TURN claims it, the approved call runs (1), the model goes on, END TURN.
    h.fake.reply({ text: 'deleted' });
    statements.length = 0;
    const res = await h.chat('counter', { conversationId, approvals: [{ id, approved: true }] });
    expect(res.status).toBe(200);
    expect(statements.length).toBe(3);
    // Denied: nothing runs.
    h.fake.reply({ toolCalls: [{ name: 'delete_task', args: { task_id: 999 } }] });
    const again = (await h.say('counter', 'delete more', { conversationId })) as {
      pendingApprovals?: { id: string }[];
    };
    h.fake.reply({ text: 'kept' });
    statements.length = 0;
    const denied = await h.chat('counter', {
      conversationId,
      approvals: [{ id: again.pendingApprovals?.[0]?.id, approved: false }],
    });
    expect(denied.status).toBe(200);
    expect(statements.length).toBe(2);
  });

  it('is 1 statement for each call on a repeating task: add, complete (moving it), reschedule, stop', async () => {
    h.fake.reply(
      {
        toolCalls: [
          {
            name: 'add_task',
            args: {
              title: 'gym',
              due_date: '2026-12-07',
              due_time: '07:00',
              repeat: 'FREQ=WEEKLY;BYDAY=MO,TH',
            },
          },
        ],
      },
      { toolCalls: [{ name: 'complete_task', args: { task_id: 1 } }] },
      { toolCalls: [{ name: 'update_task', args: { task_id: 1, due_date: '2026-12-15' } }] },
      { toolCalls: [{ name: 'complete_task', args: { task_id: 1 } }] },
      { toolCalls: [{ name: 'update_task', args: { task_id: 1, repeat: null } }] },
      { toolCalls: [{ name: 'list_tasks', args: { due: 'week' } }] },
      { text: 'done' },
    );
    statements.length = 0;
    const answer = await h.say('repeater', 'go');
    expect(
      answer.toolCalls.map((call) => [call.result.dueDate, call.result.completed, call.result.repeat]),
    ).toEqual([
      ['2026-12-07', false, 'FREQ=WEEKLY;BYDAY=MO,TH'],
      ['2026-12-10', false, 'FREQ=WEEKLY;BYDAY=MO,TH'],
      ['2026-12-15', false, 'FREQ=WEEKLY;BYDAY=MO,TH'],
      ['2026-12-17', false, 'FREQ=WEEKLY;BYDAY=MO,TH'],
      ['2026-12-17', false, null],
      [undefined, undefined, undefined],
    ]);
    expect(statements).toHaveLength(2 + 6);
  });

  it('is 1 statement for each MCP tool call, the stored time zone read inside it', async () => {
    const user = 'mcp-zoned';
    const zone = 'Pacific/Kiritimati';
    const saved = await h.app.request('/me', {
      method: 'PATCH',
      headers: { 'x-user-id': user, 'content-type': 'application/json' },
      body: JSON.stringify({ timezone: zone }),
    });
    expect(saved.status).toBe(200);
    const client = new Client({ name: 'taskchat-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL('http://localhost/mcp'), {
        requestInit: { headers: { 'x-user-id': user } },
        fetch: async (url, init) => h.app.request(String(url), init),
      }),
    );
    try {
      const counted = async (name: string, args: Record<string, unknown>) => {
        statements.length = 0;
        const result = await client.callTool({ name, arguments: args });
        expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
        return { count: statements.length, task: result.structuredContent as Record<string, any> };
      };
      const before = dayIn(zone);
      const added = await counted('add_task', {
        title: 'stretch',
        repeat: 'FREQ=DAILY',
        reminder: '2026-12-07T08:00:00Z',
      });
      expect(added.count).toBe(1);
      // Its first day is today in the stored zone, which no request named.
      expect([before, dayIn(zone)]).toContain(added.task.dueDate);
      expect((await counted('list_tasks', { due: 'today' })).count).toBe(1);
      expect((await counted('complete_task', { task_id: added.task.id })).count).toBe(1);
      expect((await counted('update_task', { task_id: added.task.id, due_date: '2027-03-01' })).count).toBe(
        1,
      );
    } finally {
      await client.close();
    }
  });
});
