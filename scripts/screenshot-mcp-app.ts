/**
 * Takes docs/mcp-app.png: the MCP app (`ui://taskchat/tasks`) as an MCP Apps host renders it for a
 * `list_tasks` result, in Debian's Chromium. The host is the tests' local host page (the ext-apps
 * SDK's AppBridge, test/support/mcp-host), the server the real app on an in-memory database, and
 * the tasks are made over MCP, so the picture is the same on every run.
 *
 *   node scripts/screenshot-mcp-app.ts [output.png]
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { ensurePageBuilt, launchChromium, startPageServer } from '../test/support/browser.ts';
import { bundleHost, hostCsp, hostPage } from '../test/support/mcp-host/page.ts';

const output = resolve(process.argv[2] ?? 'docs/mcp-app.png');

await ensurePageBuilt();
const [browser, server, hostScript] = await Promise.all([launchChromium(), startPageServer(), bundleHost()]);
const client = new Client({ name: 'taskchat-screenshot', version: '1.0.0' });
try {
  const headers = { 'x-user-id': 'alice' };
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', server.url), { requestInit: { headers } }),
  );
  const tasks = [
    { title: 'buy milk', due_date: '2026-11-24' },
    { title: 'call the plumber', priority: 'high' },
    { title: 'book train tickets for the holidays', due_date: '2026-12-01', priority: 'low' },
    { title: 'renew the passport' },
  ];
  for (const args of tasks) await client.callTool({ name: 'add_task', arguments: args });
  await client.callTool({ name: 'complete_task', arguments: { task_id: 1 } });
  const listed = await client.callTool({ name: 'list_tasks', arguments: {} });
  const { contents } = await client.readResource({ uri: 'ui://taskchat/tasks' });
  const resource = contents[0] as unknown as { text: string; _meta: { ui: { csp: object } } };

  const context = await browser.newContext({ viewport: { width: 480, height: 420 }, deviceScaleFactor: 1 });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  await page.exposeFunction('hostCallTool', (params: { name: string; arguments?: Record<string, unknown> }) =>
    client.callTool({ name: params.name, arguments: params.arguments ?? {} }),
  );
  await page.setContent(hostPage(hostScript, hostCsp(resource._meta.ui.csp)));
  await page.evaluate(([html, result]) => window.showApp(html, {}, result as never), [
    resource.text,
    listed,
  ] as const);
  const view = page.frameLocator('iframe');
  // A change made in the view itself, through the host: tick the plumber.
  await view.getByRole('checkbox', { name: 'Complete #2 call the plumber' }).click();
  await view.getByRole('checkbox', { name: 'Reopen #2 call the plumber' }).waitFor();

  mkdirSync(dirname(output), { recursive: true });
  await page.locator('iframe').screenshot({ path: output });
  console.log(`wrote ${output}`);
} finally {
  await client.close();
  await browser.close();
  await server.close();
}
