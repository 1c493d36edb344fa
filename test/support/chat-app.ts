// The whole service in-process for chat tests: a real database (see db.ts), the real
// @ai-sdk/openai provider pointed at the fake OpenAI-compatible server, and the Hono app called
// through `app.request` exactly as HTTP clients call it.
import { createApp } from '../../src/app.ts';
import { Inflight } from '../../src/http/inflight.ts';
import { createTestDb, type TestDb, type TestDriver } from './db.ts';
import { type FakeOpenAI, startFakeOpenAI } from './fake-openai.ts';

export const TODAY = '2026-11-23';

export type ChatHarness = Awaited<ReturnType<typeof startChatApp>>;

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
      extraEnv: {
        OPENAI_BASE_URL: fake.baseURL,
        OPENAI_API_KEY: 'test-key',
        CHAT_MODEL: 'fake-model',
        MODEL_MAX_RETRIES: '0',
        RATE_LIMIT_TURNS_PER_MINUTE: '0',
        ...options.env,
      },
    }));
  const inflight = new Inflight();
  const app = createApp({
    config: db.config,
    database: db.database,
    inflight,
    ...(options.now ? { now: options.now } : { today: () => TODAY }),
  });

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
