// Approvals on the chat page in a real Chromium: a delete waits with Approve / Deny on its card,
// the click is useChat's addToolApprovalResponse (sent by sendAutomaticallyWhen), and a pending
// approval is still there, decidable, after a reload. The model is the scripted fake server.
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { approvalScript } from '../support/approvals.ts';
import {
  collectPageErrors,
  ensurePageBuilt,
  launchChromium,
  type PageServer,
  startPageServer,
} from '../support/browser.ts';

let browser: Browser;
let server: PageServer;
let page: Page;
let errors: string[];

beforeAll(async () => {
  await ensurePageBuilt();
  [browser, server] = await Promise.all([
    launchChromium(),
    startPageServer({ APPROVAL_POLICY: 'destructive' }),
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

beforeEach(() => server.fake.setScript(approvalScript));

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && errors.length > 0) console.error(errors.join('\n'));
  await page?.context().close();
});

/** A fresh visitor, signed in, with one task "old report" (#1) added through the chat. */
async function openWithTask(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
  errors = collectPageErrors(page);
  await page.goto(server.url);
  await page.getByRole('heading', { name: 'Who are you?' }).waitFor();
  await page.getByLabel('User name', { exact: true }).fill(`approver-${randomUUID().slice(0, 8)}`);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'What needs doing?' }).waitFor();
  await send(page, 'add old report');
  await taskRow(page, 'old report').waitFor();
  return page;
}

async function send(p: Page, text: string): Promise<void> {
  const box = p.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

const taskRow = (p: Page, title: string) => p.locator('.task-panel li.task', { hasText: title });
const asking = (p: Page) =>
  p.locator('.tool-card[data-state="approval-requested"]', { hasText: 'Delete #1?' });

describe('approvals on the chat page', () => {
  it('Approve runs the delete and the answer goes on in the same message', async () => {
    const p = await openWithTask();
    await send(p, 'delete 1');
    await asking(p).waitFor();
    expect(await taskRow(p, 'old report').count()).toBe(1);

    await asking(p).getByRole('button', { name: 'Approve' }).click();
    await p.locator('.tool-card[data-state="output-available"]', { hasText: 'Deleted #1' }).waitFor();
    await taskRow(p, 'old report').waitFor({ state: 'detached' });
    // One answer: the card and the model's reply to the result in the same assistant message.
    const answer = p.locator('li.message.assistant', { hasText: 'Deleted #1' });
    await answer.locator('.text', { hasText: '"deleted":true' }).waitFor();
  });

  it('Deny keeps the task and says it was not run', async () => {
    const p = await openWithTask();
    await send(p, 'delete 1');
    await asking(p).getByRole('button', { name: 'Deny' }).click();
    await p.locator('.tool-card[data-state="output-denied"]', { hasText: 'Did not delete #1' }).waitFor();
    // The model was told: the SDK's denial result.
    await p.locator('li.message.assistant .text', { hasText: 'execution denied' }).waitFor();
    expect(await taskRow(p, 'old report').count()).toBe(1);
  });

  it('a pending approval is still there after a reload, and Approve works then', async () => {
    const p = await openWithTask();
    await send(p, 'delete 1');
    await asking(p).waitFor();
    await p.reload();
    await asking(p).getByRole('button', { name: 'Approve' }).click();
    await p.locator('.tool-card[data-state="output-available"]', { hasText: 'Deleted #1' }).waitFor();
    await taskRow(p, 'old report').waitFor({ state: 'detached' });
  });
});
