/**
 * @module db/migrate
 * Applies the committed drizzle-kit migrations in `drizzle/`, on whichever driver is configured,
 * through the direct (unpooled) URL when one is set: Neon's pooler is not made for DDL. First it
 * brings the job engine's own schema (graphile-worker's, jobs/engine.ts) up to date, so the app's
 * migrations and triggers can queue jobs on every driver, the embedded PGlite included.
 */
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { migrate as migrateNeonHttp } from 'drizzle-orm/neon-http/migrator';
import { migrate as migrateNeon } from 'drizzle-orm/neon-serverless/migrator';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { Config } from '../config.ts';
import { installJobSchema, jobPool } from '../jobs/engine.ts';
import { createDatabase, type Database, type Db, openHandle } from './client.ts';
import { describeStartupFailure } from './startup-error.ts';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

type AnyMigrate = (db: never, config: { migrationsFolder: string }) => Promise<void>;

const MIGRATORS: Record<Config['db']['driver'], AnyMigrate> = {
  pglite: migratePglite as AnyMigrate,
  pg: migratePg as AnyMigrate,
  neon: migrateNeon as AnyMigrate,
  'neon-http': migrateNeonHttp as AnyMigrate,
};

// Any fixed number: instances of taskchat starting together queue on it, so one migrates and the
// others find nothing left to do. `db:rollback` takes the same lock, so it never interleaves with a
// migration.
export const MIGRATION_LOCK = 7_262_024;

/**
 * Brings the schema up to date. With PGlite (one process owns the files) it migrates through the
 * app's own handle. Otherwise under `withMigrationLock`, because drizzle's migrator is not safe to
 * run twice at once (several instances of a deploy starting together).
 */
export async function migrateDatabase(settings: Config['db'], database?: Database): Promise<void> {
  const migrate = MIGRATORS[settings.driver];
  const config = { migrationsFolder: MIGRATIONS_FOLDER };
  const migrateAll = async (db: Db) => {
    const jobs = jobPool(settings, db, 1);
    try {
      await installJobSchema(jobs.pool);
    } finally {
      await jobs.close();
    }
    await migrate(db as never, config);
  };
  if (database && settings.driver === 'pglite') {
    await database.run(migrateAll);
    return;
  }
  await withMigrationLock(settings, migrateAll);
}

/**
 * Runs `work` on one short-lived connection to the unpooled URL while holding the session
 * advisory lock (a pool of one, so the lock's session is the one doing the work). Neon's HTTP
 * driver has no session to hold a lock on, so there it runs unlocked.
 */
export async function withMigrationLock<T>(settings: Config['db'], work: (db: Db) => Promise<T>): Promise<T> {
  const handle = await openHandle({ ...settings, poolMax: 1 }, settings.migrationUrl);
  const locking = settings.driver !== 'neon-http';
  try {
    if (locking) await handle.db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK})`);
    return await work(handle.db);
  } finally {
    // Closing the session releases the lock too; unlocking first keeps waiters from waiting on close.
    if (locking) await handle.db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK})`).catch(() => {});
    await handle.close();
  }
}

/**
 * The app's database, open and migrated, for a process that starts serving (`npm start`, the stdio
 * MCP server). A failure closes what was opened and becomes one line in a person's words: which
 * variable, which host, why (never SQL, never the password).
 */
export async function openMigratedDatabase(settings: Config['db']): Promise<Database> {
  let database: Database | undefined;
  try {
    database = await createDatabase(settings);
    await migrateDatabase(settings, database);
    return database;
  } catch (error) {
    await database?.close().catch(() => {});
    throw describeStartupFailure(error, settings);
  }
}
