// The app in-process for fault tests, with everything it says kept: each response body (JSON, UI
// streams read to the end), every log line at debug level, so a test can grep all of it for
// leaked internals afterwards (`findLeaks`). The database is whatever URL the test gives (the
// fault proxy in front of a private cluster, usually); the model is the fake OpenAI server. The app
// itself is app.ts's createTestApp.
import type { Config } from '../../src/config.ts';
import { createDatabase, type Database } from '../../src/db/client.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import type { ResilienceOptions } from '../../src/db/resilience.ts';
import { Drain } from '../../src/http/drain.ts';
import { Inflight } from '../../src/http/inflight.ts';
import { createLogger } from '../../src/log.ts';
import { createTestApp, fakeModelEnv } from './app.ts';
import { testConfig } from './db.ts';
import type { FakeOpenAI } from './fake-openai.ts';

/** Everything the app said during a test file: response bodies and log lines. */
export type Transcript = { responses: string[]; logs: string[] };

export const newTranscript = (): Transcript => ({ responses: [], logs: [] });

/** A response read to the end. */
export type Answer = { status: number; headers: Headers; text: string; json: () => any };

export type FaultApp = Awaited<ReturnType<typeof startFaultApp>>;

export async function startFaultApp(options: {
  databaseUrl: string;
  fake: FakeOpenAI;
  transcript: Transcript;
  env?: Record<string, string>;
  migrate?: boolean;
  resilience?: Partial<ResilienceOptions>;
}) {
  const config: Config = testConfig({
    DATABASE_URL: options.databaseUrl,
    DB_DRIVER: options.databaseUrl.startsWith('pglite://') ? 'pglite' : 'pg',
    ...fakeModelEnv(options.fake),
    DB_CONNECT_TIMEOUT_MS: '1000',
    ...options.env,
  });
  const database: Database = await createDatabase(config.db, { resilience: options.resilience });
  if (options.migrate !== false) await migrateDatabase(config.db, database);
  const logger = createLogger('debug', (line) => options.transcript.logs.push(line));
  const inflight = new Inflight();
  const drain = new Drain();
  const app = createTestApp({ config, database }, { logger, inflight, drain });

  async function record(res: Response): Promise<Answer> {
    const text = await res.text();
    options.transcript.responses.push(text);
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
  }

  const chat = async (user: string, body: unknown, headers: Record<string, string> = {}) =>
    record(
      await app.request('/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-id': user, ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    );
  const get = async (user: string, path: string) =>
    record(await app.request(path, { headers: { 'x-user-id': user } }));

  return {
    app,
    config,
    database,
    inflight,
    drain,
    chat,
    get,
    async close() {
      await inflight.idle();
      await database.close();
    },
  };
}

// What must never reach a client, the model's history or a log line: SQL, query parameters, the
// SDK's error class names, parser messages, driver and ORM wording.
const LEAKS: [string, RegExp][] = [
  ['SQL', /\b(insert into|delete from|select\s[^"]{0,200}?\sfrom|update\s+"?\w+"?\s+set|returning\s+")/i],
  ['query parameters', /params:/i],
  ['an AI SDK class name', /\bAI_[A-Za-z]+/],
  ['a parser message', /SyntaxError|Unexpected token|Unterminated string/],
  ['a driver or ORM message', /Failed query|DrizzleQueryError|Query read timeout|canceling statement/i],
];

/** Every text of `texts` that leaks something, with what it leaks (empty: nothing leaked). */
export function findLeaks(texts: string[]): string[] {
  const found: string[] = [];
  for (const text of texts) {
    for (const [what, re] of LEAKS) {
      const match = re.exec(text);
      if (match) found.push(`${what}: ...${text.slice(Math.max(0, match.index - 60), match.index + 80)}...`);
    }
  }
  return found;
}
