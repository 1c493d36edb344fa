// `db:rollback`: every migration can be undone, undoing leaves exactly the schema that was there
// before it, and drizzle's migrator applies an undone migration again. On every test driver,
// compared through Postgres's own catalog, not through our idea of the schema.
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDatabase, type Db, queryRows } from '../src/db/client.ts';
import { MIGRATION_LOCK, MIGRATIONS_FOLDER, migrateDatabase } from '../src/db/migrate.ts';
import {
  DOWN_FOLDER,
  RollbackFailed,
  RollbackRefused,
  type RollbackTarget,
  readDownStatements,
  readJournal,
  rollbackDatabase,
} from '../src/db/rollback.ts';
import { createTaskRepository } from '../src/tasks/repository.ts';
import { type Catalog, dumpCatalog } from './support/catalog.ts';
import {
  createServerDatabase,
  createTestDb,
  type TestDb,
  type TestDriver,
  testConfig,
  testDrivers,
} from './support/db.ts';
import { sleep } from './support/sleep.ts';

const journal = readJournal();
const tags = journal.map((entry) => entry.tag);
const newest = tags.at(-1)!;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const onServer = process.env.TEST_DATABASE_URL ? describe : describe.skip;
const SQL_WORDS = /\b(select|insert|update|delete|drop|create|alter|from|where)\b/i;

describe('down migrations', () => {
  it('every migration in the journal has a down file with statements in it', () => {
    const missing = tags.filter((tag) => !existsSync(join(DOWN_FOLDER, `${tag}.sql`)));
    expect(missing, 'write drizzle/down/<tag>.sql for these (see drizzle/down/README.md)').toEqual([]);
    for (const tag of tags) expect(readDownStatements(tag).length, tag).toBeGreaterThan(0);
  });

  it('every down file belongs to a migration in the journal', () => {
    const downs = readdirSync(DOWN_FOLDER)
      .filter((file) => file.endsWith('.sql'))
      .map((file) => file.slice(0, -'.sql'.length));
    expect(downs.filter((tag) => !tags.includes(tag))).toEqual([]);
  });
});

// Each of these migrates and undoes the whole chain (thirteen migrations and the job engine's
// schema), on PGlite several times over: minutes on a busy 2-core machine, not the default 30 s.
vi.setConfig({ testTimeout: 180_000 });

describe.each(testDrivers)('rollback on %s', (driver) => {
  let t: TestDb;
  beforeEach(async () => {
    t = await createTestDb(driver);
  });
  afterEach(async () => {
    await t.drop();
  });

  const rollback = (target?: RollbackTarget) => rollbackDatabase(t.config.db, target, t.database);
  const catalog = () => dumpCatalog(t.database.db);
  const appliedCount = () =>
    count(t.database.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);

  it('undoing every migration empties the schema; migrating again rebuilds the same schema', async () => {
    const before = await catalog();
    expect(await rollback({ all: true })).toEqual([...tags].reverse());
    expect(await catalog()).toEqual((await references(driver))[0]);
    expect(await appliedCount()).toBe(0);

    await migrateDatabase(t.config.db, t.database);
    expect(await catalog()).toEqual(before);
    expect(await appliedCount()).toBe(tags.length);
  });

  it('rolling back to each migration leaves exactly the schema that migration left', async () => {
    const expected = await references(driver);
    for (let keep = tags.length - 2; keep >= 0; keep--) {
      expect(await rollback({ to: tags[keep] })).toEqual([tags[keep + 1]]);
      expect(await catalog(), `after rolling back to ${tags[keep]}`).toEqual(expected[keep + 1]);
    }
  });

  it('rolling back the newest migration and migrating again round-trips and keeps older data', async () => {
    const before = await catalog();
    // Written the way the app writes tasks, so it fits whatever the newest schema is.
    await createTaskRepository(t.database).add(
      'ann',
      { title: 'kept through the rollback' },
      { source: 'rest' },
    );

    expect(await rollback()).toEqual([newest]);
    expect(await appliedCount()).toBe(tags.length - 1);
    expect(await catalog()).toEqual((await references(driver))[tags.length - 1]);

    await migrateDatabase(t.config.db, t.database);
    expect(await appliedCount()).toBe(tags.length);
    expect(await catalog()).toEqual(before);
    const titles = await queryRows<{ title: string }>(t.database.db, sql`select title from tasks`);
    expect(titles).toEqual([{ title: 'kept through the rollback' }]);
  });

  it('refuses in one line, changing nothing, when there is nothing to undo or the tag is unknown', async () => {
    const before = await catalog();
    const refusals = [
      await rollback({ to: 'no_such_migration' }).catch((e: unknown) => e),
      await rollback({ to: newest }).catch((e: unknown) => e),
    ];
    expect(await catalog()).toEqual(before);
    await rollback({ all: true });
    refusals.push(await rollback().catch((e: unknown) => e));

    expect(refusals.map((e) => (e as Error).message)).toEqual([
      expect.stringContaining('unknown migration "no_such_migration"'),
      `nothing to undo: ${newest} is the newest applied migration`,
      'nothing to undo: no migration is applied',
    ]);
    for (const refusal of refusals) {
      expect(refusal).toBeInstanceOf(RollbackRefused);
      expect((refusal as Error).message).not.toMatch(/\n/);
      expect((refusal as Error).message).not.toMatch(SQL_WORDS);
    }
  });

  it('a down migration that fails part-way leaves its migration fully applied', async () => {
    // The second statement of 0001's down (dropping rate_limits) fails on a dependent view, after
    // the first one put an index back: the transaction must take that index away again.
    const target = '0001_rate_limits';
    if (newest !== target) await rollback({ to: target }); // 0001 is then the newest applied
    await t.database.db.execute(sql`create view recent_limits as select * from rate_limits`);
    const before = await catalog();
    const failure = await rollback().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RollbackFailed);
    expect((failure as RollbackFailed).tag).toBe(target);
    expect((failure as Error).message).not.toMatch(SQL_WORDS);
    expect(await catalog()).toEqual(before);
    expect(await appliedCount()).toBe(tags.indexOf(target) + 1);
  });

  it.skipIf(driver === 'pglite')('waits for the migration lock that migrations hold', async () => {
    const holder = new pg.Client({ connectionString: t.config.db.migrationUrl });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
      const running = rollback();
      // The rollback's session queues on the lock: Postgres shows it as an ungranted advisory lock.
      while ((await waitingOnLock(holder)) === 0) await sleep(20);
      expect(await appliedCount()).toBe(tags.length);
      await holder.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      expect(await running).toEqual([newest]);
      expect(await appliedCount()).toBe(tags.length - 1);
    } finally {
      await holder.end();
    }
  });
});

onServer('npm run db:rollback', () => {
  it('undoes the newest migration through DATABASE_URL_UNPOOLED, and db:migrate applies it again', async () => {
    const db = await createServerDatabase();
    const missing = new URL(db.url);
    missing.pathname = '/taskchat_no_such_database';
    // The pooled URL leads nowhere: only the unpooled one can make this work.
    const env = { DATABASE_URL: missing.toString(), DATABASE_URL_UNPOOLED: db.url };
    const database = await createDatabase(testConfig({ DATABASE_URL: db.url }).db);
    try {
      await migrateDatabase(testConfig(env).db);
      const applied = () =>
        count(database.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);

      const undone = await npmRun(['db:rollback'], env);
      expect(undone).toMatchObject({ code: 0, stderr: '' });
      expect(undone.stdout).toContain(`undid ${newest} (pg,`);
      expect(await applied()).toBe(tags.length - 1);

      const unknown = await npmRun(['db:rollback', '--', '--to', 'nope'], env);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toBe(
        `db:rollback failed: unknown migration "nope"; known: ${tags.join(', ')}\n`,
      );

      const nothing = await npmRun(['db:rollback', '--', '--to', tags.at(-2)!], env);
      expect(nothing.code).toBe(1);
      expect(nothing.stderr).toBe(
        `db:rollback failed: nothing to undo: ${tags.at(-2)} is the newest applied migration\n`,
      );

      expect((await npmRun(['db:migrate'], env)).code).toBe(0);
      expect(await applied()).toBe(tags.length);
    } finally {
      await database.close();
      await db.drop();
    }
  });
});

/** `npm run --silent <args>` in the project, with only the given environment (and PATH, HOME). */
function npmRun(args: string[], env: Record<string, string>) {
  const child = spawn('npm', ['run', '--silent', ...args], {
    cwd: ROOT,
    // This Node (24) first on PATH, so the script's `node` is the one running the tests.
    env: {
      PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
      HOME: process.env.HOME ?? '/tmp',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    // npm's own warnings about this machine's npmrc are not the CLI's output.
    child.once('close', (code) => resolve({ code, stdout, stderr: stderr.replace(/^npm warn .*\n/gm, '') })),
  );
}

async function count(db: Db, query: ReturnType<typeof sql>): Promise<number> {
  const [row] = await queryRows<{ n: number }>(db, query);
  return Number(row?.n);
}

async function waitingOnLock(client: pg.Client): Promise<number> {
  const result = await client.query(
    `select count(*)::int as n from pg_locks
     where locktype = 'advisory' and not granted and objid = $1
       and database = (select oid from pg_database where datname = current_database())`,
    [MIGRATION_LOCK],
  );
  return result.rows[0].n;
}

// The catalog of a fresh database after the first i migrations (i = 0: none), built by drizzle's
// own migrator from a copy of drizzle/ cut down to those: what a rollback must get back to.
// Postgres 15 and PGlite (Postgres 18) describe some things differently, so one set for each.
const built = new Map<string, Promise<Catalog[]>>();
const scratch = mkdtempSync(join(tmpdir(), 'taskchat-journal-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function references(driver: TestDriver): Promise<Catalog[]> {
  const family = driver === 'pglite' ? 'pglite' : 'server';
  let catalogs = built.get(family);
  if (!catalogs) {
    catalogs = buildReferences(family);
    built.set(family, catalogs);
  }
  return catalogs;
}

async function buildReferences(family: 'pglite' | 'server'): Promise<Catalog[]> {
  const catalogs: Catalog[] = [];
  for (let i = 0; i <= tags.length; i++) {
    const folder = journalPrefix(`${family}-${i}`, i);
    if (family === 'pglite') {
      const client = new PGlite();
      try {
        const db = drizzlePglite({ client });
        await migratePglite(db, { migrationsFolder: folder });
        catalogs.push(await dumpCatalog(db as unknown as Db));
      } finally {
        await client.close();
      }
    } else {
      const server = await createServerDatabase();
      const database = await createDatabase(testConfig({ DATABASE_URL: server.url }).db);
      try {
        await migratePg(database.db as never, { migrationsFolder: folder });
        catalogs.push(await dumpCatalog(database.db));
      } finally {
        await database.close();
        await server.drop();
      }
    }
  }
  return catalogs;
}

function journalPrefix(name: string, length: number): string {
  const folder = join(scratch, name);
  mkdirSync(join(folder, 'meta'), { recursive: true });
  for (const { tag } of journal.slice(0, length))
    copyFileSync(join(MIGRATIONS_FOLDER, `${tag}.sql`), join(folder, `${tag}.sql`));
  const full = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  writeFileSync(
    join(folder, 'meta', '_journal.json'),
    JSON.stringify({ ...full, entries: full.entries.slice(0, length) }),
  );
  return folder;
}
