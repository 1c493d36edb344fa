// The page follows GET /events in a real Chromium: a task added over MCP appears in the open
// panel without a reload, two tabs of one user stay in step, and a reminder shows in the page
// (and as the browser's notification once the person allowed it).
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { sql } from 'drizzle-orm';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client.ts';
import {
  collectPageErrors,
  ensurePageBuilt,
  launchChromium,
  type PageServer,
  startPageServer,
} from '../support/browser.ts';

let browser: Browser;
let server: PageServer;
let context: BrowserContext;
let errors: string[];

beforeAll(async () => {
  await ensurePageBuilt();
  [browser, server] = await Promise.all([launchChromium(), startPageServer()]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

afterEach(async (test) => {
  if (test.task.result?.state === 'fail' && errors.length > 0) console.error(errors.join('\n'));
  await context?.close();
});

async function newContext(): Promise<BrowserContext> {
  context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  context.setDefaultTimeout(10_000);
  errors = [];
  return context;
}

async function openTab(url = server.url): Promise<Page> {
  const page = await context.newPage();
  errors.push(...collectPageErrors(page));
  await page.goto(url);
  return page;
}

async function signIn(p: Page, user: string): Promise<void> {
  await p.getByRole('heading', { name: 'Who are you?' }).waitFor();
  await p.getByLabel('User name', { exact: true }).fill(user);
  await p.getByRole('button', { name: 'Continue' }).click();
  await p.getByRole('heading', { name: 'What needs doing?' }).waitFor();
}

const taskRow = (p: Page, title: string) => p.locator('.task-panel li.task', { hasText: title });
const user = () => `live-${randomUUID().slice(0, 8)}`;

async function mcpAddTask(userId: string, title: string): Promise<void> {
  const client = new Client({ name: 'live-events-browser-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', server.url), {
      requestInit: { headers: { 'x-user-id': userId } },
    }),
  );
  try {
    await client.callTool({ name: 'add_task', arguments: { title } });
  } finally {
    await client.close();
  }
}

describe('the page follows live events', () => {
  it('shows a task added over MCP in the open panel without a reload', async () => {
    await newContext();
    const p = await openTab();
    const me = user();
    await signIn(p, me);
    await p.locator('.task-panel', { hasText: 'No tasks yet' }).waitFor();
    let reloads = 0;
    p.on('framenavigated', (frame) => {
      if (frame === p.mainFrame()) reloads++;
    });
    await mcpAddTask(me, 'Water the plants');
    await taskRow(p, 'Water the plants').waitFor();
    expect(reloads).toBe(0);
  });

  it('keeps two tabs of one user in step', async () => {
    await newContext();
    const first = await openTab();
    const me = user();
    await signIn(first, me);
    await mcpAddTask(me, 'Book the flights');
    await taskRow(first, 'Book the flights').waitFor();
    // Same browser profile: the second tab is the same person.
    const second = await openTab();
    await taskRow(second, 'Book the flights').waitFor();
    await taskRow(first, 'Book the flights').getByRole('checkbox').click();
    await second.locator('.done-tasks li.task', { hasText: 'Book the flights' }).waitFor();
  });

  it('shows a reminder in the page, and as a notification once allowed', async () => {
    await newContext();
    await context.grantPermissions(['notifications'], { origin: server.url });
    // Counts the notifications the page creates, each still the browser's own.
    await context.addInitScript(() => {
      const Real = window.Notification;
      const shown: string[] = [];
      (window as unknown as { shownNotifications: string[] }).shownNotifications = shown;
      window.Notification = class extends Real {
        constructor(title: string, options?: NotificationOptions) {
          super(title, options);
          shown.push(title);
        }
      } as typeof Notification;
    });
    const p = await openTab();
    const me = user();
    await signIn(p, me);
    await mcpAddTask(me, 'Pay the rent');
    await taskRow(p, 'Pay the rent').waitFor();
    const { database } = server.harness.db;
    // The reminders helper's table and its job's statement (INTERFACES.md), until that branch is merged.
    await database.run((d) =>
      d.execute(sql`create table if not exists reminder_deliveries (
        id text primary key, user_id text not null, task_id integer not null,
        remind_at timestamptz not null, delivered_at timestamptz not null default now(),
        late boolean not null, task jsonb not null, unique (user_id, task_id, remind_at))`),
    );
    const task = { id: 1, title: 'Pay the rent', completed: false };
    await database.run((d) =>
      queryRows(
        d,
        sql`with delivered as (
              insert into reminder_deliveries (id, user_id, task_id, remind_at, late, task)
              values (${randomUUID()}, ${me}, 1, now(), false, ${JSON.stringify(task)}::jsonb)
              returning id, user_id)
            select pg_notify('taskchat_events',
              json_build_object('type', 'reminder', 'userId', user_id, 'deliveryId', id)::text)
            from delivered`,
      ),
    );
    await p.locator('.reminder-notice', { hasText: 'Pay the rent' }).waitFor();
    expect(
      await p.evaluate(() => (window as unknown as { shownNotifications: string[] }).shownNotifications),
    ).toEqual(['Reminder: Pay the rent']);
  });
});
