// The service in-process for tests, built one way everywhere. `createTestApp` is the one place a
// test calls createApp: over a test database (see db.ts) or a database a test made itself (a
// closed port, a fault proxy), with the config's environment and the app's parts (logger, drain,
// stores, observability) overridable, and today pinned. `startChatApp` adds the real
// @ai-sdk/openai provider pointed at the fake OpenAI-compatible server and the helpers chat tests
// use; `listen` puts any app behind a real HTTP listener when a client needs a URL.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type AppDeps, createApp } from '../../src/app.ts';
import type { Config } from '../../src/config.ts';
import type { Database } from '../../src/db/client.ts';
import { Inflight } from '../../src/http/inflight.ts';
import { createTestDb, type TestDb, type TestDriver, testConfig } from './db.ts';
import { type FakeOpenAI, startFakeOpenAI } from './fake-openai.ts';

/** The date the model is told it is, so that "tomorrow" has one meaning in every test. */
export const TODAY = '2026-11-23';

/** The app's model is the fake OpenAI-compatible server, with no retries and no rate limit. */
export const fakeModelEnv = (fake: FakeOpenAI): Record<string, string> => ({
  OPENAI_BASE_URL: fake.baseURL,
  OPENAI_API_KEY: 'test-key',
  CHAT_MODEL: 'fake-model',
  MODEL_MAX_RETRIES: '0',
  RATE_LIMIT_TURNS_PER_MINUTE: '0',
  // Tool calls run straight away unless a test is about approvals (those set the policy).
  APPROVAL_POLICY: 'none',
});

export type TestApp = ReturnType<typeof createApp>;

export type TestAppOptions = Partial<Omit<AppDeps, 'database'>> & {
  /** Environment over the database's own (`db.env`), for a config other than `db.config`. */
  env?: Record<string, string>;
};

/**
 * The app over `db`. Its config is `options.config`, else `db.env` with `options.env` on top, else
 * `db.config`; everything else of `options` goes to createApp as is.
 */
export function createTestApp(
  db: { config: Config; database: Database; env?: Record<string, string> },
  { env, config, ...deps }: TestAppOptions = {},
): TestApp {
  return createApp({
    // A test that gives the app's clock gets the model's date from it, in the user's zone.
    ...(deps.now ? {} : { today: () => TODAY }),
    ...deps,
    config: config ?? (env ? testConfig({ ...db.env, ...env }) : db.config),
    database: db.database,
  });
}

export type Listener = { server: Server; port: number; url: string; close(): Promise<void> };

/** `fetch` (an app's, usually) served on 127.0.0.1 on a free port. */
export async function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<Listener> {
  const server = await new Promise<Server>((resolve, reject) => {
    const started = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started as Server));
    started.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type ChatHarness = Awaited<ReturnType<typeof startChatApp>>;

/**
 * The whole service for chat tests: a fresh database on `driver` (or `options.db`), the fake model
 * (a new one, or `options.fake`), and helpers that call the app through `app.request` exactly as
 * HTTP clients do. `close` waits for running turns, then drops what it created.
 */
export async function startChatApp(
  driver: TestDriver,
  options: {
    env?: Record<string, string>;
    onStatement?: (sql: string) => void;
    fake?: FakeOpenAI;
    db?: TestDb;
    /** The app's clock; given, the model's date follows it in the user's zone instead of TODAY. */
    now?: () => Date;
  } = {},
) {
  const fake = options.fake ?? (await startFakeOpenAI());
  const db =
    options.db ??
    (await createTestDb(driver, {
      onStatement: options.onStatement,
      extraEnv: { ...fakeModelEnv(fake), ...options.env },
    }));
  const inflight = new Inflight();
  const app = createTestApp(db, { inflight, ...(options.now ? { now: options.now } : {}) });

  const chat = (user: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request('/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': user, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const get = (user: string, path: string) => app.request(path, { headers: { 'x-user-id': user } });

  return {
    fake,
    db,
    app,
    inflight,
    chat,
    get,
    /** POST /chat expecting 200; returns the JSON answer. */
    async say(user: string, message: string, extra: Record<string, unknown> = {}) {
      const res = await chat(user, { message, ...extra });
      if (res.status !== 200) throw new Error(`POST /chat ${res.status}: ${await res.text()}`);
      return (await res.json()) as {
        conversationId: string;
        messageId: string;
        reply: string;
        toolCalls: { name: string; args: Record<string, unknown>; result: any }[];
      };
    },
    async tasks(user: string, status = 'all') {
      const res = await get(user, `/tasks?status=${status}`);
      return ((await res.json()) as { tasks: any[] }).tasks;
    },
    async close() {
      await inflight.idle();
      if (!options.db) await db.drop();
      if (!options.fake) await fake.close();
    },
  };
}
