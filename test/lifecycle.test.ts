import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../src/db/client.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { startServer } from '../src/server.ts';
import { createTaskRepository } from '../src/tasks/repository.ts';
import { startChatApp } from './support/app.ts';
import { createServerDatabase, type TestDriver, testConfig, testDrivers } from './support/db.ts';
import { type FakeOpenAI, startFakeOpenAI } from './support/fake-openai.ts';
import { sleep } from './support/sleep.ts';

/** A database that outlives one app: a PGlite directory, or a database on the server. */
async function durableDatabase(driver: TestDriver) {
  if (driver === 'pglite') {
    const dir = await mkdtemp(join(tmpdir(), 'taskchat-pglite-'));
    return {
      env: { DATABASE_URL: `pglite://${dir}` },
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const server = await createServerDatabase();
  return { env: { DATABASE_URL: server.url, DB_DRIVER: 'pg' }, drop: server.drop };
}

describe('state lives in Postgres only', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(() => fake?.close());

  const modelEnv = () => ({
    OPENAI_BASE_URL: fake.baseURL,
    OPENAI_API_KEY: 'k',
    CHAT_MODEL: 'fake',
    MODEL_MAX_RETRIES: '0',
  });

  it.each(testDrivers.filter((d) => d !== 'neon'))(
    'a conversation continues after an app restart on %s',
    async (driver) => {
      const durable = await durableDatabase(driver);
      try {
        const config = testConfig({ ...durable.env, ...modelEnv() });
        const first = await startChatApp(driver, { db: await openDb(driver, config), fake });
        fake.reply(
          { toolCalls: [{ name: 'add_task', args: { title: 'survive restart' } }] },
          { text: 'Added.' },
        );
        const answer = await first.say('restart-user', 'add survive restart');
        await first.close();
        await first.db.database.close();

        const second = await startChatApp(driver, { db: await openDb(driver, config), fake });
        const seen = fake.requests.length;
        fake.reply({ text: 'Still here.' });
        await second.say('restart-user', 'are you still there?', { conversationId: answer.conversationId });
        const sent = fake.requests[seen]?.messages.map((m: any) => m.role);
        expect(sent).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'user']);
        expect((await second.tasks('restart-user')).map((t) => t.title)).toEqual(['survive restart']);
        await second.close();
        await second.db.database.close();
      } finally {
        await durable.drop();
      }
    },
  );

  /** A fresh handle on the durable database, as a restarted process would open it. */
  async function openDb(driver: TestDriver, config: ReturnType<typeof testConfig>) {
    const database = await createDatabase(config.db);
    await migrateDatabase(config.db, database);
    return { driver, env: {}, config, database, drop: () => database.close() };
  }

  it('graceful shutdown lets an in-flight turn and a disconnected stream finish and be stored', async () => {
    const durable = await durableDatabase('pglite');
    try {
      const config = testConfig({ ...durable.env, ...modelEnv(), PORT: '0', LOG_LEVEL: 'silent' });
      const server = await startServer(config);
      fake.setScript(async (req) => {
        await sleep(400);
        return req.messages.at(-1)?.role === 'tool'
          ? { text: 'Stored before exit.' }
          : {
              toolCalls: [
                { name: 'add_task', args: { title: `in flight: ${req.messages.at(-1)?.content}` } },
              ],
            };
      });
      const post = (message: string, headers: Record<string, string> = {}) =>
        fetch(`${server.url}/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-user-id': 'shutdown-user', ...headers },
          body: JSON.stringify({ message }),
        });
      const json = post('json');
      const streamed = await post('stream', { accept: 'text/event-stream' });
      await streamed.body?.cancel();
      await sleep(100);
      const closing = server.close(10_000);
      const res = await json;
      expect(res.status).toBe(200);
      expect((await res.json()).reply).toBe('Stored before exit.');
      await closing;
      // Refused once closed.
      await expect(post('late')).rejects.toThrow();

      const database = await createDatabase(config.db);
      const tasks = await createTaskRepository(database).list('shutdown-user', { status: 'all', limit: 10 });
      expect(tasks.tasks.map((t) => t.title).sort()).toEqual(['in flight: json', 'in flight: stream']);
      await database.close();
    } finally {
      fake.setScript((req) => (req.messages.at(-1)?.role === 'tool' ? { text: 'Done.' } : { text: 'OK.' }));
      await durable.drop();
    }
  });
});
