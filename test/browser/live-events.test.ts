// The page follows GET /events in a real Chromium: a task added over MCP appears in the open
// panel without a reload, two tabs of one user stay in step, and a reminder shows in the page
// (and as the browser's notification once the person allowed it).
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startJobRunner } from '../../src/jobs/runner.ts';
import { createLogger } from '../../src/log.ts';
import {
  collectPageErrors,
  ensurePageBuilt,
  launchChromium,
  type PageServer,
  signIn,
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

const taskRow = (p: Page, title: string) => p.locator('.task-panel li.task', { hasText: title });
const user = () => `live-${randomUUID().slice(0, 8)}`;

/** One MCP tool call as a host makes it, for `userId`. */
async function mcpCall(userId: string, name: string, args: Record<string, unknown>): Promise<void> {
  const client = new Client({ name: 'live-events-browser-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', server.url), {
      requestInit: { headers: { 'x-user-id': userId } },
    }),
  );
  try {
    const result = await client.callTool({ name, arguments: args });
    expect(result.isError ?? false).toBe(false);
  } finally {
    await client.close();
  }
}

const mcpAddTask = (userId: string, title: string) => mcpCall(userId, 'add_task', { title });
const mcpUpdateTask = (userId: string, taskId: number, fields: Record<string, unknown>) =>
  mcpCall(userId, 'update_task', { task_id: taskId, ...fields });

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
    // The reminder, set a moment ahead over MCP, is delivered by a real job runner on the page
    // server's database (npm start runs one in-process the same way).
    await mcpUpdateTask(me, 1, { reminder: new Date(Date.now() + 1500).toISOString() });
    const { config, database } = server.harness.db;
    const runner = await startJobRunner({ config, database, logger: createLogger('silent') });
    onTestFinished(() => runner.stop());
    await p.locator('.reminder-notice', { hasText: 'Pay the rent' }).waitFor();
    expect(
      await p.evaluate(() => (window as unknown as { shownNotifications: string[] }).shownNotifications),
    ).toEqual(['Reminder: Pay the rent']);
  });
});
