/**
 * Takes docs/chat-page.png: the chat page in Debian's Chromium with a short conversation (tool
 * cards, a completed task, the task panel), against the real app on an in-memory database. The
 * model is the tests' fake OpenAI-compatible server with a fixed script, so the picture is the
 * same on every run and needs no API key.
 *
 *   node scripts/screenshot.ts [output.png]
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ensurePageBuilt, launchChromium, startPageServer } from '../test/support/browser.ts';
import { type FakeScript, lastUserText } from '../test/support/fake-openai.ts';

const output = resolve(process.argv[2] ?? 'docs/chat-page.png');

const script: FakeScript = (req) => {
  const asked = lastUserText(req);
  if (req.messages.at(-1)?.role === 'tool') {
    return /pending/i.test(asked)
      ? { text: 'One thing left: call the plumber (high priority). Buy milk is done.' }
      : { text: 'Done: buy milk is due tomorrow, and calling the plumber is marked high priority.' };
  }
  if (/milk/i.test(asked)) {
    return {
      toolCalls: [
        { name: 'add_task', args: { title: 'buy milk', due_date: '2026-11-24' } },
        { name: 'add_task', args: { title: 'call the plumber', priority: 'high' } },
      ],
    };
  }
  if (/pending/i.test(asked)) return { toolCalls: [{ name: 'list_tasks', args: { status: 'pending' } }] };
  return { text: 'OK.' };
};

await ensurePageBuilt();
const [browser, server] = await Promise.all([launchChromium(), startPageServer()]);
try {
  server.fake.setScript(script);
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 }, deviceScaleFactor: 1 });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  await page.goto(server.url);
  await page.getByLabel('User name', { exact: true }).fill('alice');
  await page.getByRole('button', { name: 'Continue' }).click();

  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill('Remind me to buy milk tomorrow, and to call the plumber, that one is urgent');
  await box.press('Enter');
  await page.locator('.text', { hasText: 'Done: buy milk' }).waitFor();

  await page.getByRole('checkbox', { name: /^Complete #\d+ buy milk$/ }).click();
  await page.getByRole('checkbox', { name: /^Reopen #\d+ buy milk$/ }).waitFor({ state: 'attached' });

  await box.fill('What is still pending?');
  await box.press('Enter');
  await page.locator('.text', { hasText: 'One thing left' }).waitFor();
  // Let the last list refreshes land before the picture.
  await page.waitForLoadState('networkidle');

  mkdirSync(dirname(output), { recursive: true });
  await page.screenshot({ path: output });
  console.log(`wrote ${output}`);
} finally {
  await browser.close();
  await server.close();
}
