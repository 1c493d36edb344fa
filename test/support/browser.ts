// A real browser against the real app for page tests: Debian's Chromium (/usr/bin/chromium)
// driven by playwright-core, never a browser Playwright downloads itself, and the whole service
// (createApp, PGlite, the fake OpenAI-compatible server) behind a real HTTP listener with the chat
// page mounted, so the page's fetches, streams, headers and Origin are the browser's own.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { Hono } from 'hono';
import { type Browser, chromium, type Page } from 'playwright-core';
import { pageRoutes } from '../../src/page/routes.ts';
import { type ChatHarness, listen, startChatApp } from './app.ts';
import type { FakeOpenAI } from './fake-openai.ts';

export const CHROMIUM = '/usr/bin/chromium';

// Without the background-networking flags Chromium keeps trying to reach Google's services,
// which this closed network refuses, many at a time (STACK-NOTES).
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Chromium with a fresh profile: `launch()` makes a new temporary user-data-dir per browser and
 * deletes it on close (a `--user-data-dir` argument is refused by Playwright). Each test then
 * takes its own context, so no cookie or localStorage leaks between tests.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install -y chromium\` (CI does this)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** Builds web/dist when it is missing or older than web/ (what `npm start` does first). */
export async function ensurePageBuilt(): Promise<void> {
  await promisify(execFile)(process.execPath, ['scripts/build-page.ts', '--if-stale'], {
    cwd: new URL('../..', import.meta.url),
  });
}

export type PageServer = {
  url: string;
  harness: ChatHarness;
  fake: FakeOpenAI;
  close(): Promise<void>;
};

/**
 * The app plus the page routes on 127.0.0.1, on a free port. The listener starts first so that
 * the app can be configured with its real origin (PUBLIC_URL), which the server's Origin check
 * compares the browser's `Origin` header with.
 */
export async function startPageServer(env: Record<string, string> = {}): Promise<PageServer> {
  let handler: (request: Request) => Response | Promise<Response> = () =>
    new Response('starting', { status: 503 });
  const listener = await listen((request) => handler(request));
  const { url } = listener;
  const harness = await startChatApp('pglite', { env: { PUBLIC_URL: url, ...env } });
  // The page first, as the app mounts it: ahead of authentication.
  const outer = new Hono();
  outer.route('/', pageRoutes());
  outer.all('*', (c) => harness.app.fetch(c.req.raw));
  handler = (request) => outer.fetch(request);
  return {
    url,
    harness,
    fake: harness.fake,
    async close() {
      await listener.close();
      await harness.close();
    },
  };
}

/** What the page logged as errors; a test prints them when it fails, to say why. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return errors;
}

/** Signs in through the dialog the page shows on a first visit (dev mode: a user name). */
export async function signIn(p: Page, user: string): Promise<void> {
  await p.getByRole('heading', { name: 'Who are you?' }).waitFor();
  await p.getByLabel('User name', { exact: true }).fill(user);
  await p.getByRole('button', { name: 'Continue' }).click();
  await p.getByRole('heading', { name: 'What needs doing?' }).waitFor();
}
