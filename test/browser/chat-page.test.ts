// The chat page in a real Chromium against the real app: the AI SDK's useChat with its default
// request body, the server's UI message stream, the conversation and task routes, and what a
// person sees and clicks. The model is the fake OpenAI-compatible server, scripted per test.
import { randomUUID } from 'node:crypto';
import { sign } from 'hono/jwt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  collectPageErrors,
  ensurePageBuilt,
  launchChromium,
  type PageServer,
  signIn,
  startPageServer,
} from '../support/browser.ts';
import { type FakeScript, lastUserText } from '../support/fake-openai.ts';

let browser: Browser;
let server: PageServer;
let page: Page;
let errors: string[];

beforeAll(async () => {
  await ensurePageBuilt();
  [browser, server] = await Promise.all([launchChromium(), startPageServer()]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function openPage(url = server.url): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  // Well under the test timeout, so a failure names the element it waited for.
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
  errors = collectPageErrors(page);
  await page.goto(url);
  return page;
}

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') {
    // What the person would have read: the page's own error messages say why a step stalled.
    const alerts = await page.getByRole('alert').allInnerTexts();
    const said = [...alerts.map((a) => `alert: ${a}`), ...errors];
    if (said.length > 0) console.error(`the page in "${context.task.name}":\n${said.join('\n')}`);
  }
  await page?.context().close();
});

async function send(p: Page, text: string): Promise<void> {
  const box = p.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

function assistantText(p: Page, text: string) {
  return p.locator('li.message.assistant .text', { hasText: text });
}

function toolCard(p: Page, text: string | RegExp) {
  return p.locator('.tool-card', { hasText: text });
}

function taskRow(p: Page, title: string) {
  return p.locator('.task-panel li.task', { hasText: title });
}

const user = () => `page-${randomUUID().slice(0, 8)}`;

/** "buy milk" as the model would do it: add_task, then a sentence about the result. */
function buyMilkScript(
  replyText: (n: number) => string = () => 'I added buy milk for tomorrow.',
): FakeScript {
  let answers = 0;
  return (req) => {
    if (req.messages.at(-1)?.role === 'tool') return { text: replyText(++answers) };
    if (/milk/i.test(lastUserText(req))) {
      return { toolCalls: [{ name: 'add_task', args: { title: 'buy milk', due_date: '2026-11-24' } }] };
    }
    return { text: 'OK.' };
  };
}

describe('the chat page', () => {
  it('on a dev-mode server asks for a user name only', async () => {
    const p = await openPage();
    await p.getByRole('heading', { name: 'Who are you?' }).waitFor();
    await p.getByLabel('User name', { exact: true }).waitFor();
    expect(await p.getByLabel('Access token (JWT)').count()).toBe(0);
  });

  it('on a jwt server asks for a token, which lets the person in', async () => {
    const secret = 'a-page-test-secret-of-at-least-32-characters';
    const jwtServer = await startPageServer({ AUTH_JWT_SECRET: secret });
    try {
      const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
      context.setDefaultTimeout(10_000);
      page = await context.newPage();
      errors = collectPageErrors(page);
      await page.goto(jwtServer.url);
      await page.getByRole('heading', { name: 'Who are you?' }).waitFor();
      const tokenField = page.getByLabel('Bearer token', { exact: true });
      await tokenField.waitFor();
      expect(await page.getByLabel('User name', { exact: true }).count()).toBe(0);
      const now = Math.floor(Date.now() / 1000);
      await tokenField.fill(
        await sign({ sub: 'page-token-user', iat: now, exp: now + 600 }, secret, 'HS256'),
      );
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: 'What needs doing?' }).waitFor();
    } finally {
      await jwtServer.close();
    }
  });

  it('loads without credentials and asks for a user name, which it keeps', async () => {
    const p = await openPage();
    await signIn(p, 'page-first-visit');
    expect(await p.getByRole('button', { name: 'page-first-visit' }).isVisible()).toBe(true);
    expect(await p.evaluate(() => localStorage.getItem('taskchat.credentials'))).toContain(
      'page-first-visit',
    );

    await p.reload();
    await p.getByRole('heading', { name: 'What needs doing?' }).waitFor();
    expect(await p.getByRole('heading', { name: 'Who are you?' }).count()).toBe(0);
  });

  it('sends the AI SDK default body, streams the reply, shows the tool card and the new task', async () => {
    server.fake.setScript(buyMilkScript());
    const p = await openPage();
    await signIn(p, user());
    const bodies: any[] = [];
    p.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/chat') {
        bodies.push(request.postDataJSON());
      }
    });

    await send(p, 'Remind me to buy milk tomorrow');

    await toolCard(p, 'Added #1 buy milk, due 2026-11-24').waitFor();
    await assistantText(p, 'I added buy milk for tomorrow.').waitFor();
    await taskRow(p, 'buy milk').waitFor();
    expect(await taskRow(p, 'buy milk').textContent()).toContain('due 2026-11-24');
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({ trigger: 'submit-message', messages: [{ role: 'user' }] });
    expect(bodies[0].id).toBe(decodeURIComponent(new URL(p.url()).hash.replace('#/c/', '')));
    // The conversation shows up in the list once the turn ended.
    await p.locator('.conversations li', { hasText: 'buy milk' }).waitFor();
  });

  it('reopens a conversation from the list after a reload, tool cards included', async () => {
    server.fake.setScript(buyMilkScript());
    const p = await openPage();
    await signIn(p, user());
    await send(p, 'Remind me to buy milk tomorrow');
    await assistantText(p, 'I added buy milk for tomorrow.').waitFor();

    await p.goto(server.url); // no hash: a new, empty conversation
    await p.getByRole('heading', { name: 'What needs doing?' }).waitFor();
    await p.locator('.conversations li', { hasText: 'buy milk' }).getByRole('button').first().click();

    await toolCard(p, /Added #\d+ buy milk, due 2026-11-24/).waitFor();
    await assistantText(p, 'I added buy milk for tomorrow.').waitFor();
    expect(await p.locator('li.message.user', { hasText: 'Remind me to buy milk tomorrow' }).count()).toBe(1);
  });

  it('after a reload, highlights the open conversation and shows its last reply to the end', async () => {
    // The first run: a list taller than the window, answered by the offline command reader, whose
    // note makes the page show its banner above the conversation once the reply is read.
    const lines = Array.from({ length: 40 }, (_, i) => `#${i + 1} [ ] task number ${i + 1}`);
    const note = "(This is taskchat's offline command reader, not an AI.)";
    server.fake.setScript(() => ({ text: `Your tasks (40):\n${lines.join('\n')}\n${note}` }));
    const p = await openPage();
    await signIn(p, user());
    await send(p, 'list');
    await assistantText(p, note).waitFor();
    await p.locator('.conversations li', { hasText: 'list' }).waitFor();

    await p.reload();

    await assistantText(p, note).waitFor();
    const active = p.locator('.conversations li.active');
    await active.waitFor();
    expect(await active.textContent()).toContain('list');
    // Once the page has settled (the banner shown, the task panel loaded), the reply's end is on screen.
    await p.getByRole('note').getByText('offline command reader').waitFor();
    await p.locator('.task-panel').getByText('No tasks yet.').waitFor();
    expect(await lastReplyEndVisible(p)).toBe(true);
  });

  it('regenerates the last answer without adding the task twice', async () => {
    server.fake.setScript(buyMilkScript((n) => `Answer ${n}: buy milk is on your list.`));
    const p = await openPage();
    const name = user();
    await signIn(p, name);
    await send(p, 'Remind me to buy milk tomorrow');
    await assistantText(p, 'Answer 1: buy milk is on your list.').waitFor();

    await p.getByRole('button', { name: 'Regenerate answer' }).click();

    await assistantText(p, 'Answer 2: buy milk is on your list.').waitFor();
    expect(await assistantText(p, 'Answer 1').count()).toBe(0);
    await p.getByRole('button', { name: 'Regenerate answer' }).waitFor();
    expect(await server.harness.tasks(name)).toHaveLength(1);
    expect(await p.locator('.task-panel li.task').count()).toBe(1);
  });

  it('completes a task from the panel, and the chat sees it done', async () => {
    server.fake.setScript(buyMilkScript());
    const p = await openPage();
    const name = user();
    await signIn(p, name);
    await send(p, 'Remind me to buy milk tomorrow');
    await taskRow(p, 'buy milk').waitFor();

    await p.getByRole('checkbox', { name: /^Complete #\d+ buy milk$/ }).click();

    await p.getByRole('checkbox', { name: /^Reopen #\d+ buy milk$/ }).waitFor({ state: 'attached' });
    // The panel ticks the box at once and sends the PATCH after: the server may not have it yet.
    await expect
      .poll(async () => (await server.harness.tasks(name, 'completed')).map((t) => t.title))
      .toEqual(['buy milk']);

    server.fake.setScript((req) =>
      req.messages.at(-1)?.role === 'tool'
        ? { text: 'Nothing is pending.' }
        : { toolCalls: [{ name: 'list_tasks', args: { status: 'pending' } }] },
    );
    await send(p, 'What is still pending?');
    await toolCard(p, 'Listed 0 pending tasks').waitFor();
    await assistantText(p, 'Nothing is pending.').waitFor();
  });

  it('explains a provider failure, and Retry sends the same message again', async () => {
    let calls = 0;
    server.fake.setScript(() => (++calls === 1 ? { status: 500 } : { text: 'Back online.' }));
    const p = await openPage();
    const name = user();
    await signIn(p, name);
    await send(p, 'hello there');

    const alert = p.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/model|provider|stopped/i);

    await alert.getByRole('button', { name: 'Retry' }).click();

    await assistantText(p, 'Back online.').waitFor();
    expect(await p.getByRole('alert').count()).toBe(0);
    expect(await p.locator('li.message.user').count()).toBe(1);
    // The server kept the message once: the retry re-ran that turn instead of storing it again.
    const id = decodeURIComponent(new URL(p.url()).hash.replace('#/c/', ''));
    const res = await server.harness.get(name, `/conversations/${id}/messages`);
    expect(res.status).toBe(200);
    const { messages } = (await res.json()) as { messages: { role: string }[] };
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
  });
});

describe('the chat page with the offline command reader', () => {
  let offline: PageServer;
  beforeAll(async () => {
    offline = await startPageServer({ CHAT_MODEL: 'offline' });
  }, 120_000);
  afterAll(async () => {
    await offline?.close();
  });

  it('says it is a command reader, not an AI, on the empty page, with examples from today', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    errors = collectPageErrors(page);
    await page.goto(offline.url);
    await signIn(page, user());

    // Before any message: the empty page itself says what answers.
    const note = page.locator('.empty-state .offline-note');
    await note.waitFor();
    expect(await note.textContent()).toMatch(/offline command reader, not an AI/);
    const chips = await page.locator('.empty-state .chip').allTextContents();
    const nextMonth = new Date(new Date().getFullYear(), new Date().getMonth() + 1, 1).toLocaleString(
      'en-US',
      {
        month: 'long',
      },
    );
    expect(chips).toContain(`add pay rent on ${nextMonth} 1, high priority`);
    // No example carries a fixed date, which would one day be in the past.
    for (const chip of chips) expect(chip).not.toMatch(/\d{4}-\d{2}-\d{2}/);
    expect(await page.getByRole('note').textContent()).toMatch(/offline command reader/);

    // An example is a command it reads.
    await page.locator('.empty-state .chip', { hasText: 'add buy milk tomorrow' }).click();
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');
    await assistantText(page, 'Added #1 "buy milk" (due 2026-11-24).').waitFor();
    await taskRow(page, 'buy milk').waitFor();
  });

  it('undoes an add from its card: the task leaves the panel and the server', async () => {
    const p = await openPage(offline.url);
    const name = user();
    await signIn(p, name);
    await send(p, 'add buy bread');
    await taskRow(p, 'buy bread').waitFor();
    const card = p.locator('.tool-card-row', { hasText: 'Added #1 buy bread' });

    await card.getByRole('button', { name: 'Undo' }).click();

    await card.getByRole('status').filter({ hasText: 'Undone: #1 removed' }).waitFor();
    await taskRow(p, 'buy bread').waitFor({ state: 'detached' });
    expect(await offline.harness.tasks(name)).toEqual([]);
  });

  it('undoes from the chat: "undo" removes the task, and Redo on its card puts it back', async () => {
    const p = await openPage(offline.url);
    const name = user();
    await signIn(p, name);
    await send(p, 'add buy bread');
    await taskRow(p, 'buy bread').waitFor();

    await send(p, 'undo');

    await toolCard(p, 'Undid: removed #1 buy bread').waitFor();
    await assistantText(p, 'Undone: #1 "buy bread" is removed again.').waitFor();
    await taskRow(p, 'buy bread').waitFor({ state: 'detached' });
    expect(await offline.harness.tasks(name)).toEqual([]);

    await p.locator('.tool-card-row', { hasText: 'Undid:' }).getByRole('button', { name: 'Redo' }).click();
    await taskRow(p, 'buy bread').waitFor();
    expect((await offline.harness.tasks(name)).map((t) => [t.id, t.title])).toEqual([[1, 'buy bread']]);
  });

  it("shows the server's sentence when a card's change cannot be undone any more", async () => {
    const p = await openPage(offline.url);
    const name = user();
    await signIn(p, name);
    await send(p, 'add water the plants');
    await taskRow(p, 'water the plants').waitFor();
    await p.getByRole('checkbox', { name: 'Complete #1 water the plants' }).click();
    await p.locator('.panel-undo', { hasText: 'Completed #1 water the plants' }).waitFor();

    await p.locator('.tool-card-row', { hasText: 'Added #1' }).getByRole('button', { name: 'Undo' }).click();

    await p
      .getByRole('status')
      .filter({ hasText: 'Task #1 was completed after that (change #2); undo that change first.' })
      .waitFor();
    expect((await offline.harness.tasks(name)).map((t) => [t.title, t.completed])).toEqual([
      ['water the plants', true],
    ]);
  });

  it('undoes a tick in the panel: the task is open again, on the page and on the server', async () => {
    const p = await openPage(offline.url);
    const name = user();
    await signIn(p, name);
    await send(p, 'add call mom');
    await taskRow(p, 'call mom').waitFor();

    await p.getByRole('checkbox', { name: 'Complete #1 call mom' }).click();
    const ticked = p.locator('.panel-undo', { hasText: 'Completed #1 call mom' });
    await ticked.getByRole('button', { name: 'Undo' }).click();

    await ticked.getByRole('status').filter({ hasText: 'Undone: #1 call mom is back as it was' }).waitFor();
    await p.getByRole('checkbox', { name: 'Complete #1 call mom' }).waitFor();
    expect((await offline.harness.tasks(name)).map((t) => [t.title, t.completed])).toEqual([
      ['call mom', false],
    ]);
  });
});

/** Whether the bottom of the newest reply is inside the visible part of the message list. */
function lastReplyEndVisible(p: Page): Promise<boolean> {
  return p.evaluate(() => {
    const list = document.querySelector('.messages')?.getBoundingClientRect();
    const replies = document.querySelectorAll('li.message.assistant');
    const reply = replies[replies.length - 1]?.getBoundingClientRect();
    return Boolean(list && reply && reply.bottom <= list.bottom + 1 && reply.bottom > list.top);
  });
}

describe('an answer outlives the page', () => {
  const ANSWER = 'alpha beta gamma delta epsilon zeta eta theta iota kappa';

  /** The next answer, held after its first words until `release()`. */
  function heldAnswer() {
    let release!: () => void;
    const until = new Promise<void>((resolve) => {
      release = resolve;
    });
    server.fake.reply({ text: ANSWER, pause: { afterEvents: 6, until } });
    return release;
  }

  it('a reload mid-answer shows the answer again and follows it to its end', async () => {
    const p = await openPage();
    await signIn(p, user());
    const release = heldAnswer();
    await send(p, 'tell me the letters');
    await assistantText(p, 'alpha').waitFor();
    await p.reload();
    await p.locator('li.message.user', { hasText: 'tell me the letters' }).waitFor();
    // The page asked for the running answer: it shows what was written before the reload.
    await assistantText(p, 'alpha').waitFor();
    release();
    await assistantText(p, ANSWER).waitFor();
    expect(await p.locator('li.message.assistant').count()).toBe(1);
  });

  it('Stop stops the answer on the server and keeps the text so far', async () => {
    const p = await openPage();
    await signIn(p, user());
    const release = heldAnswer();
    await send(p, 'tell me the letters');
    await assistantText(p, 'alpha').waitFor();
    await p.getByRole('button', { name: 'Stop' }).click();
    await p.getByRole('button', { name: 'Send' }).waitFor();
    release();
    // What the server stored is the answer so far: a reload shows it, not the rest.
    await server.harness.inflight.idle();
    await p.reload();
    await assistantText(p, 'alpha').waitFor();
    const stored = await p.locator('li.message.assistant .text').allInnerTexts();
    expect(stored.join(' ')).not.toContain('kappa');
  });
});
