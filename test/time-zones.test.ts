// The user's "today" is in their time zone (contract "Time."): the X-Timezone header, else the zone
// stored with PATCH /me, else the token's zoneinfo, else DEFAULT_TIMEZONE. The fake OpenAI server
// records the system prompt the model was given; the app's clock is pinned. The tools reckon in the
// same zone in a chat turn (the fake model's calls, and the offline model's "tomorrow"), over MCP
// and over REST, and a reminder moved with its task keeps its local time across a DST change.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { sign } from 'hono/jwt';
import { afterEach, describe, expect, it } from 'vitest';
import type { Task } from '../src/tasks/task.ts';
import { type ChatHarness, createTestApp, startChatApp, type TestApp } from './support/app.ts';
import { testConfig, testDrivers } from './support/db.ts';

type ToolResult = Record<string, any>;

/** An MCP client of `app` for `user`, with these extra headers (an X-Timezone). */
async function mcpClient(app: TestApp, user: string, headers: Record<string, string> = {}) {
  const client = new Client({ name: 'taskchat-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL('http://localhost/mcp'), {
      requestInit: { headers: { 'x-user-id': user, ...headers } },
      fetch: async (url, init) => app.request(String(url), init),
    }),
  );
  return {
    async call(name: string, args: Record<string, unknown>): Promise<ToolResult> {
      const result = await client.callTool({ name, arguments: args });
      if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content)}`);
      return result.structuredContent as ToolResult;
    },
    close: () => client.close(),
  };
}

const titles = (page: ToolResult) => (page.tasks as Task[]).map((task) => task.title);

// 10:30 UTC: already tomorrow at UTC+14, still yesterday at UTC-12.
const NOW = new Date('2026-12-05T10:30:00Z');

// Each test starts its own app and database: an embedded PGlite takes seconds on a busy machine.
const PGLITE_TIMEOUT_MS = 120_000;

describe.each(testDrivers)('time zones on %s', (driver) => {
  let h: ChatHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const systemPrompt = (harness: ChatHarness): string => {
    const system = harness.fake.requests.at(-1)?.messages.find((m: { role: string }) => m.role === 'system');
    return String(system?.content ?? '');
  };
  const me = (harness: ChatHarness, user: string, init: RequestInit = {}) =>
    harness.app.request('/me', {
      ...init,
      headers: { 'x-user-id': user, 'content-type': 'application/json', ...init.headers },
    });

  it(
    'gives the model the date, time and zone of the X-Timezone header',
    async () => {
      h = await startChatApp(driver, { now: () => NOW });
      await h.say('kiribati', 'hello');
      expect(systemPrompt(h)).toContain('Today is 2026-12-05;');

      const ahead = await h.chat(
        'kiribati',
        { message: 'what day is it' },
        { 'x-timezone': 'Pacific/Kiritimati' },
      );
      expect(ahead.status).toBe(200);
      expect(systemPrompt(h)).toContain("Today is 2026-12-06; the user's local time is 00:30");
      expect(systemPrompt(h)).toContain('time zone is Pacific/Kiritimati');

      const behind = await h.chat('baker', { message: 'what day is it' }, { 'x-timezone': 'Etc/GMT+12' });
      expect(behind.status).toBe(200);
      expect(systemPrompt(h)).toContain('Today is 2026-12-04;');
      expect(systemPrompt(h)).toContain('time zone is Etc/GMT+12');
    },
    PGLITE_TIMEOUT_MS,
  );

  it(
    'refuses an X-Timezone that is not an IANA name',
    async () => {
      h = await startChatApp(driver, { now: () => NOW });
      for (const zone of ['Mars/Olympus', '+02:00', '']) {
        const res = await h.chat('u', { message: 'hi' }, { 'x-timezone': zone });
        expect(res.status, zone).toBe(400);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
        // Over MCP too: no tool runs in a zone nobody asked for.
        const mcp = await h.app.request('/mcp', {
          method: 'POST',
          headers: {
            'x-user-id': 'u',
            'x-timezone': zone,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'tools/call',
            params: { name: 'list_tasks', arguments: {} },
          }),
        });
        expect(mcp.status, zone).toBe(400);
        expect(((await mcp.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
      }
      expect(h.fake.requests).toHaveLength(0);
    },
    PGLITE_TIMEOUT_MS,
  );

  it(
    'stores the zone PATCH /me sets and uses it for turns without a header',
    async () => {
      h = await startChatApp(driver, { now: () => NOW, env: { DEFAULT_TIMEZONE: 'America/New_York' } });
      expect(await (await me(h, 'traveller')).json()).toEqual({
        userId: 'traveller',
        timezone: 'America/New_York',
      });

      const bad = await me(h, 'traveller', {
        method: 'PATCH',
        body: JSON.stringify({ timezone: 'Nowhere/Town' }),
      });
      expect(bad.status).toBe(400);

      const set = await me(h, 'traveller', {
        method: 'PATCH',
        body: JSON.stringify({ timezone: 'Pacific/Kiritimati' }),
      });
      expect(set.status).toBe(200);
      expect(await set.json()).toEqual({ userId: 'traveller', timezone: 'Pacific/Kiritimati' });
      expect(await (await me(h, 'traveller')).json()).toEqual({
        userId: 'traveller',
        timezone: 'Pacific/Kiritimati',
      });
      // Another user keeps the default; a request's own header wins over the stored zone.
      expect(await (await me(h, 'homebody')).json()).toEqual({
        userId: 'homebody',
        timezone: 'America/New_York',
      });
      const header = await me(h, 'traveller', { headers: { 'x-timezone': 'Europe/Paris' } });
      expect(await header.json()).toEqual({ userId: 'traveller', timezone: 'Europe/Paris' });

      await h.say('traveller', 'hello');
      expect(systemPrompt(h)).toContain('Today is 2026-12-06;');
      await h.say('homebody', 'hello');
      expect(systemPrompt(h)).toContain('Today is 2026-12-05;');
      expect(systemPrompt(h)).toContain('time zone is America/New_York');
    },
    PGLITE_TIMEOUT_MS,
  );

  it(
    'takes the token’s zoneinfo claim when the user chose no zone, and their choice over it',
    async () => {
      h = await startChatApp(driver, { now: () => NOW });
      const secret = 'a-test-secret-that-is-long-enough-000';
      const app = createTestApp(h.db, { config: testConfig({ AUTH_JWT_SECRET: secret }), now: () => NOW });
      const exp = Math.floor(Date.now() / 1000) + 600;
      const token = await sign({ sub: 'oidc-user', exp, zoneinfo: 'Asia/Tokyo' }, secret, 'HS256');
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      expect(await (await app.request('/me', { headers })).json()).toEqual({
        userId: 'oidc-user',
        timezone: 'Asia/Tokyo',
      });
      const patch = { method: 'PATCH', headers, body: JSON.stringify({ timezone: 'Europe/Lisbon' }) };
      expect((await app.request('/me', patch)).status).toBe(200);
      expect(await (await app.request('/me', { headers })).json()).toEqual({
        userId: 'oidc-user',
        timezone: 'Europe/Lisbon',
      });
    },
    PGLITE_TIMEOUT_MS,
  );

  it(
    'gives the tools the same instant as different todays at UTC+14 and UTC-12, in chat and over MCP',
    async () => {
      h = await startChatApp(driver, { now: () => NOW });
      // Kiritimati's zone is stored (no request names it again); Baker Island's comes with each request.
      const stored = await me(h, 'kiritimati', {
        method: 'PATCH',
        body: JSON.stringify({ timezone: 'Pacific/Kiritimati' }),
      });
      expect(stored.status).toBe(200);
      const people: { user: string; headers: Record<string, string>; today: string; tomorrow: string }[] = [
        { user: 'kiritimati', headers: {}, today: '2026-12-06', tomorrow: '2026-12-07' },
        {
          user: 'baker',
          headers: { 'x-timezone': 'Etc/GMT+12' },
          today: '2026-12-04',
          tomorrow: '2026-12-05',
        },
      ];
      for (const person of people) {
        const mcp = await mcpClient(h.app, person.user, person.headers);
        try {
          for (const day of ['2026-12-04', '2026-12-05', '2026-12-06']) {
            await mcp.call('add_task', { title: `due ${day}`, due_date: day });
          }
          // Over MCP: the list's filters, and the date a task that needs one gets.
          expect(titles(await mcp.call('list_tasks', { due: 'today' })), person.user).toEqual([
            `due ${person.today}`,
          ]);
          const overdue = titles(await mcp.call('list_tasks', { due: 'overdue' }));
          expect(overdue, person.user).toEqual(
            ['due 2026-12-05', 'due 2026-12-04'].filter((title) => title < `due ${person.today}`),
          );
          expect((await mcp.call('add_task', { title: 'stretch', repeat: 'FREQ=DAILY' })).dueDate).toBe(
            person.today,
          );
        } finally {
          await mcp.close();
        }

        // In a chat turn: the model's calls reckon in the zone BEGIN TURN resolved.
        h.fake.reply(
          {
            toolCalls: [
              { name: 'list_tasks', args: { due: 'today' } },
              { name: 'list_tasks', args: { due: 'week' } },
              { name: 'add_task', args: { title: 'call the bank', due_time: '09:00' } },
            ],
          },
          { text: 'Done.' },
        );
        const res = await h.chat(person.user, { message: "what's due today?" }, person.headers);
        expect(res.status).toBe(200);
        const { toolCalls } = (await res.json()) as { toolCalls: { result: ToolResult }[] };
        const [today, week, added] = toolCalls.map((call) => call.result);
        // Due today: the task of that date, and the daily one added over MCP.
        expect(titles(today as ToolResult), person.user).toEqual(['stretch', `due ${person.today}`]);
        expect(
          titles(week as ToolResult).filter((title) => title.startsWith('due ')),
          person.user,
        ).toEqual(
          ['due 2026-12-06', 'due 2026-12-05', 'due 2026-12-04'].filter(
            (title) => title >= `due ${person.today}`,
          ),
        );
        expect(added, person.user).toMatchObject({ dueDate: person.today, dueTime: '09:00' });
      }

      // "tomorrow" through the offline model, on the same database and clock.
      const offline = createTestApp(h.db, {
        env: { CHAT_MODEL: 'offline', RATE_LIMIT_TURNS_PER_MINUTE: '0', APPROVAL_POLICY: 'none' },
        now: () => NOW,
      });
      for (const person of people) {
        const res = await offline.request('/chat', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-user-id': person.user, ...person.headers },
          body: JSON.stringify({ message: 'remind me tomorrow at 5pm to call mom' }),
        });
        expect(res.status).toBe(200);
        const { toolCalls } = (await res.json()) as { toolCalls: { name: string; result: ToolResult }[] };
        expect(toolCalls.map((call) => call.name)).toEqual(['add_task']);
        const offset = person.user === 'kiritimati' ? '+14:00' : '-12:00';
        expect(toolCalls[0]?.result, person.user).toMatchObject({
          title: 'call mom',
          dueDate: person.tomorrow,
          dueTime: '17:00',
          reminder: new Date(`${person.tomorrow}T17:00:00${offset}`).toISOString(),
        });
      }
    },
    PGLITE_TIMEOUT_MS,
  );

  it(
    'keeps a reminder at 09:00 Berlin time when its weekly task moves across a DST change',
    async () => {
      h = await startChatApp(driver, { now: () => NOW });
      const rest = (user: string, method: string, path: string, body?: unknown) =>
        h?.app.request(path, {
          method,
          headers: { 'x-user-id': user, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        }) as Promise<Response>;
      // The zone is the stored one for REST and chat, the request's header over MCP.
      expect(
        (await me(h, 'berlin', { method: 'PATCH', body: JSON.stringify({ timezone: 'Europe/Berlin' }) }))
          .status,
      ).toBe(200);
      const weekly = {
        title: 'team call',
        dueDate: '2026-03-23',
        repeat: 'FREQ=WEEKLY',
        reminder: '2026-03-23T09:00:00+01:00',
      };
      const berlin9 = {
        // Summer time began on Sunday 2026-03-29; it ended on Sunday 2026-10-25.
        '2026-03-23': '2026-03-23T08:00:00.000Z',
        '2026-03-30': '2026-03-30T07:00:00.000Z',
        '2026-04-06': '2026-04-06T07:00:00.000Z',
        '2026-10-19': '2026-10-19T07:00:00.000Z',
        '2026-10-26': '2026-10-26T08:00:00.000Z',
      };

      // REST: completing, then rescheduling across the autumn change.
      const added = (await (await rest('berlin', 'POST', '/tasks', weekly)).json()) as Task;
      expect(added.reminder).toBe(berlin9['2026-03-23']);
      const completed = (await (
        await rest('berlin', 'PATCH', `/tasks/${added.id}`, { completed: true })
      ).json()) as Task;
      expect(completed).toMatchObject({
        completed: false,
        dueDate: '2026-03-30',
        reminder: berlin9['2026-03-30'],
      });
      const rescheduled = (await (
        await rest('berlin', 'PATCH', `/tasks/${added.id}`, { dueDate: '2026-10-19' })
      ).json()) as Task;
      expect(rescheduled).toMatchObject({ dueDate: '2026-10-19', reminder: berlin9['2026-10-19'] });

      // MCP, with the zone in the request's header.
      const mcp = await mcpClient(h.app, 'berlin', { 'x-timezone': 'Europe/Berlin' });
      try {
        expect(await mcp.call('complete_task', { task_id: added.id })).toMatchObject({
          dueDate: '2026-10-26',
          reminder: berlin9['2026-10-26'],
        });
        expect(await mcp.call('update_task', { task_id: added.id, due_date: '2026-03-23' })).toMatchObject({
          reminder: berlin9['2026-03-23'],
        });
      } finally {
        await mcp.close();
      }

      // Chat: the tool call completes it in the zone of the turn.
      h.fake.reply(
        { toolCalls: [{ name: 'complete_task', args: { task_id: added.id } }] },
        { text: 'Done.' },
      );
      const answer = await h.say('berlin', 'done with the team call');
      expect(answer.toolCalls[0]?.result).toMatchObject({
        dueDate: '2026-03-30',
        reminder: berlin9['2026-03-30'],
      });
      h.fake.reply(
        { toolCalls: [{ name: 'complete_task', args: { task_id: added.id } }] },
        { text: 'Done.' },
      );
      const again = await h.say('berlin', 'and the next one');
      expect(again.toolCalls[0]?.result).toMatchObject({
        dueDate: '2026-04-06',
        reminder: berlin9['2026-04-06'],
      });
    },
    PGLITE_TIMEOUT_MS,
  );
});
