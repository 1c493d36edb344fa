// Real databases for tests, never mocks: PGlite in memory always, and when TEST_DATABASE_URL is
// set (.ci/run sets it) a uniquely named database on the running server, reached through `pg`
// and through the Neon serverless driver via a local WebSocket bridge. Each is migrated with the
// committed migrations and dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Config, loadConfig } from '../../src/config.ts';
import { createDatabase, type Database, type DatabaseOptions } from '../../src/db/client.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { startWsBridge } from './ws-bridge.ts';

export type TestDriver = 'pglite' | 'pg' | 'neon';

const serverUrl = process.env.TEST_DATABASE_URL;

/** The drivers every database test runs on. */
export const testDrivers: TestDriver[] = serverUrl ? ['pglite', 'pg', 'neon'] : ['pglite'];

export type TestDb = {
  driver: TestDriver;
  /** Environment that points the app at this database (merge into a test config). */
  env: Record<string, string>;
  config: Config;
  database: Database;
  /** Closes the handle, drops the database, stops the bridge. */
  drop(): Promise<void>;
};

/** A config for tests: quiet logs, dev auth, the offline model unless overridden. */
export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: 'pglite://memory', ...env });
}

/** A fresh, migrated, uniquely named database on `driver`. */
export async function createTestDb(
  driver: TestDriver,
  options: DatabaseOptions & { extraEnv?: Record<string, string> } = {},
): Promise<TestDb> {
  const server = driver === 'pglite' ? undefined : await createServerDatabase();
  const bridge = driver === 'neon' ? await startWsBridge() : undefined;
  const env: Record<string, string> = server
    ? { DATABASE_URL: server.url, DB_DRIVER: driver }
    : { DATABASE_URL: 'pglite://memory', DB_DRIVER: 'pglite' };
  if (bridge) env.NEON_WS_PROXY = `127.0.0.1:${bridge.port}`;
  const config = testConfig({ ...env, ...options.extraEnv });
  const database = await createDatabase(config.db, options);
  await migrateDatabase(config.db, database);
  return {
    driver,
    env,
    config,
    database,
    async drop() {
      await database.close();
      await bridge?.close();
      await server?.drop();
    },
  };
}

/** Creates an empty database on the test server; `drop` removes it even with clients left. */
export async function createServerDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!serverUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = `taskchat_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => adminQuery(`drop database if exists ${name} with (force)`),
  };
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
