// The MCP app as a host renders it, in a real Chromium: the test plays the host (Claude, ChatGPT,
// VS Code) with the ext-apps SDK's own host module (test/support/mcp-host/host.ts). A real MCP
// client reads `list_tasks`' `ui://` resource from the real server, the host page puts it into a
// sandboxed iframe under the CSP its `_meta.ui` declares and hands it a real `list_tasks` result;
// every click then arrives as a `tools/call` the host makes with that client, and the server's
// own list must show the change. Undo is checked once the server offers `undo_change`; until
// then the view must not offer it.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import {
  type CallToolRequest,
  type CallToolResult,
  Client,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { collectPageErrors, ensurePageBuilt, launchChromium } from '../support/browser.ts';
import { createTestDb, type TestDb } from '../support/db.ts';
import { bundleHost, hostCsp, hostPage } from '../support/mcp-host/page.ts';

let t: TestDb;
let server: Server;
let url: URL;
let browser: Browser;
let hostScript: string;
let page: Page | undefined;
let errors: string[] = [];

beforeAll(async () => {
  await ensurePageBuilt();
  [t, browser, hostScript] = await Promise.all([createTestDb('pglite'), launchChromium(), bundleHost()]);
  const app = createApp({ config: t.config, database: t.database });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      url = new URL(`http://127.0.0.1:${info.port}/mcp`);
      resolve();
    }) as Server;
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await t?.drop();
});

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && errors.length > 0) {
    console.error(`the host page in "${context.task.name}":\n${errors.join('\n')}`);
  }
  await page?.context().close();
});

async function connect(user: string): Promise<Client> {
  const client = new Client({ name: 'taskchat-test-host', version: '1.0.0' });
  const headers = { 'x-user-id': user };
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
  return client;
}

async function callOk(client: Client, name: string, args: Record<string, unknown>) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  return result;
}

const row = (view: FrameLocator, id: number) => view.locator(`li.task[data-task-id="${id}"]`);

it('renders a real list_tasks result and ticks, reopens, renames (and undoes) through the host', async () => {
  const client = await connect(`app-${randomUUID().slice(0, 8)}`);
  try {
    for (const title of ['buy milk', 'call the dentist', 'water the plants']) {
      await callOk(client, 'add_task', { title });
    }
    await callOk(client, 'complete_task', { task_id: 3 });

    // What a host does first: find the tool's UI resource and read it over MCP.
    const { tools } = await client.listTools();
    const resourceUri = tools.find((tool) => tool.name === 'list_tasks')?._meta?.ui as
      | { resourceUri?: string }
      | undefined;
    expect(resourceUri?.resourceUri).toBe('ui://taskchat/tasks');
    const undoOffered = tools.some((tool) => tool.name === 'undo_change');
    const { contents } = await client.readResource({ uri: 'ui://taskchat/tasks' });
    const resource = contents[0] as unknown as {
      text: string;
      mimeType: string;
      _meta: { ui: { csp: object } };
    };
    expect(resource.mimeType).toBe('text/html;profile=mcp-app');

    const listed = await callOk(client, 'list_tasks', {});

    const context = await browser.newContext({ viewport: { width: 520, height: 480 } });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    errors = collectPageErrors(page);
    const requests: string[] = [];
    context.on('request', (request) => requests.push(request.url()));
    // The view's request as the host passes it on: the tool and its arguments (the view's own
    // progress token stays between view and host).
    const calls: Array<Pick<CallToolRequest['params'], 'name' | 'arguments'>> = [];
    await page.exposeFunction(
      'hostCallTool',
      async ({ name, arguments: args }: CallToolRequest['params']) => {
        calls.push({ name, arguments: args });
        return client.callTool({ name, arguments: args });
      },
    );
    await page.setContent(hostPage(hostScript, hostCsp(resource._meta.ui.csp)));
    await page.evaluate(([html, result]) => window.showApp(html, {}, result), [
      resource.text,
      listed,
    ] as const);

    const view = page.frameLocator('iframe[title="taskchat tasks"]');
    await view.getByText('3 tasks').waitFor();
    expect(await view.locator('li.task .task-title').allInnerTexts()).toEqual([
      '#2 call the dentist',
      '#1 buy milk',
      '#3 water the plants',
    ]);
    expect(await view.getByRole('checkbox', { name: 'Reopen #3 water the plants' }).isChecked()).toBe(true);

    // Tick: one tools/call, and the server has it (the box turns when the result is in).
    await view.getByRole('checkbox', { name: 'Complete #1 buy milk' }).click();
    await view.getByRole('checkbox', { name: 'Reopen #1 buy milk' }).waitFor();
    expect(calls).toEqual([{ name: 'complete_task', arguments: { task_id: 1, completed: true } }]);
    const task = async (id: number) => {
      const { structuredContent } = await callOk(client, 'list_tasks', {});
      return (structuredContent as { tasks: Array<{ id: number }> }).tasks.find((t) => t.id === id);
    };
    expect(await task(1)).toMatchObject({ completed: true });

    if (undoOffered) {
      // The change's result carried a change_id: Undo puts the task back through undo_change.
      await view.getByRole('button', { name: 'Undo' }).click();
      await view.getByRole('checkbox', { name: 'Complete #1 buy milk' }).waitFor();
      expect(calls[1]).toEqual({ name: 'undo_change', arguments: { change_id: expect.any(Number) } });
      expect(await task(1)).toMatchObject({ completed: false });
    } else {
      // Without undo_change there is nothing to undo with: no button that would fail.
      expect(await view.getByRole('button', { name: 'Undo' }).count()).toBe(0);
    }

    // Reopen the done one.
    await view.getByRole('checkbox', { name: 'Reopen #3 water the plants' }).click();
    await view.getByRole('checkbox', { name: 'Complete #3 water the plants' }).waitFor();
    expect(calls.at(-1)).toEqual({ name: 'complete_task', arguments: { task_id: 3, completed: false } });
    expect(await task(3)).toMatchObject({ completed: false });

    // Rename: the row's title in a text box, Enter keeps it.
    await view.getByRole('button', { name: 'Rename #2 call the dentist' }).click();
    const box = view.getByRole('textbox', { name: 'New title for #2' });
    await box.fill('call the dentist about Friday');
    await box.press('Enter');
    await row(view, 2).getByText('call the dentist about Friday').waitFor();
    expect(calls.at(-1)).toEqual({
      name: 'update_task',
      arguments: { task_id: 2, title: 'call the dentist about Friday' },
    });
    expect(await task(2)).toMatchObject({ title: 'call the dentist about Friday' });

    // A refusal is the server's own sentence, shown in the view; nothing else changes.
    await callOk(client, 'delete_task', { task_id: 2 });
    await view.getByRole('button', { name: 'Rename #2 call the dentist about Friday' }).click();
    await box.fill('gone');
    await box.press('Enter');
    await view.getByRole('alert').getByText('Task #2 not found.').waitFor();

    // Everything the view needed came with the document: the browser fetched nothing.
    expect(requests.filter((request) => !/^(about|data):/.test(request))).toEqual([]);
    expect(errors).toEqual([]);
  } finally {
    await client.close();
  }
}, 90_000);
