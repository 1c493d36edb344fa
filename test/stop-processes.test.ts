// POST /chat/:id/stop between real processes (two `npm start` on one Postgres database): the
// stop reaches the process running the turn by Postgres LISTEN/NOTIFY without Redis, and by
// Redis pub/sub with REDIS_URL (the machine's Redis, under a key prefix no one else uses).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerDatabase } from './support/db.ts';
import { type FakeOpenAI, startFakeOpenAI } from './support/fake-openai.ts';
import { type Child, startMain } from './support/process.ts';

const serverUrl = process.env.TEST_DATABASE_URL;
/** .ci/run starts the machine's Redis; without one the Redis path is not tested. */
const redisRuns =
  spawnSync('redis-cli', ['-p', '6379', 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG';
const ANSWER = 'alpha beta gamma delta epsilon zeta eta theta iota kappa';

const transports: [string, Record<string, string>][] = [['postgres NOTIFY', {}]];
if (redisRuns) transports.push(['redis pub/sub', { REDIS_URL: 'redis://127.0.0.1:6379' }]);

describe.skipIf(!serverUrl).each(transports)(
  'stop from another process (%s)',
  (_name, extraEnv: Record<string, string>) => {
    let fake: FakeOpenAI;
    let database: Awaited<ReturnType<typeof createServerDatabase>>;
    let a: Child;
    let b: Child;

    beforeAll(async () => {
      fake = await startFakeOpenAI();
      database = await createServerDatabase();
      const env = {
        DATABASE_URL: database.url,
        DB_DRIVER: 'pg',
        OPENAI_BASE_URL: fake.baseURL,
        OPENAI_API_KEY: 'test-key',
        CHAT_MODEL: 'fake-model',
        MODEL_MAX_RETRIES: '0',
        ...extraEnv,
      };
      // One after the other: the first one migrates the database.
      a = startMain(env);
      await a.listening;
      b = startMain(env);
      await b.listening;
    }, 60_000);
    afterAll(async () => {
      for (const child of [a, b]) child?.proc.kill('SIGTERM');
      await Promise.all([a?.exited, b?.exited]);
      await database?.drop();
      await fake?.close();
    });

    it('stops the turn running on A and stores the text so far', async () => {
      const [urlA, urlB] = [await a.listening, await b.listening];
      const user = `u-${randomUUID()}`;
      let release!: () => void;
      const until = new Promise<void>((resolve) => {
        release = resolve;
      });
      fake.reply({ text: ANSWER, pause: { afterEvents: 6, until } });
      const headers = { 'content-type': 'application/json', 'x-user-id': user };
      const res = await fetch(`${urlA}/chat`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          id: 'cross',
          messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'tell me' }] }],
        }),
      });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let sse = '';
      while (!sse.includes('text-delta'))
        sse += decoder.decode((await reader.read()).value, { stream: true });
      const stopped = await fetch(`${urlB}/chat/cross/stop`, { method: 'POST', headers });
      expect(stopped.status).toBe(202);
      // The stream ends without the model going on: its answer stays held until after.
      for (let next = await reader.read(); !next.done; next = await reader.read())
        sse += decoder.decode(next.value, { stream: true });
      release();
      const finish = sse
        .split('\n\n')
        .map((e) => e.replace(/^data: /, ''))
        .filter((d) => d.startsWith('{'))
        .map((d) => JSON.parse(d))
        .find((c) => c.type === 'finish');
      expect(finish.messageMetadata.stopped).toBe(true);
      const messages = (await (
        await fetch(`${urlB}/conversations/cross/messages`, { headers })
      ).json()) as any;
      const text = messages.messages.at(-1).parts.find((p: any) => p.type === 'text').text;
      expect(ANSWER.startsWith(text)).toBe(true);
      expect(text).not.toBe(ANSWER);
    });
  },
);
