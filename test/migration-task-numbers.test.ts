// The committed migration that numbers tasks per user renumbers existing tasks in creation order
// and starts each user's counter after them; its down migration gives them global ids again.
// Checked on data written before it, on PGlite and (when TEST_DATABASE_URL is set) Postgres.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SQL, sql } from 'drizzle-orm';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { describe, expect, it } from 'vitest';
import { createDatabase, queryRows } from '../src/db/client.ts';
import { createServerDatabase, testConfig } from './support/db.ts';

const engines = process.env.TEST_DATABASE_URL ? (['pglite', 'pg'] as const) : (['pglite'] as const);
const TAG = '0004_task_numbers_per_user';

/** A copy of drizzle/ whose journal stops before (or just after) the migration under test. */
async function migrationsUpTo(tag: string, inclusive: boolean): Promise<string> {
  const source = fileURLToPath(new URL('../drizzle', import.meta.url));
  const dir = await mkdtemp(join(tmpdir(), 'taskchat-migrations-'));
  await cp(source, dir, { recursive: true });
  const journalPath = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((entry) => entry.tag === tag);
  expect(at).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, inclusive ? at + 1 : at);
  await writeFile(journalPath, JSON.stringify(journal));
  return dir;
}

describe.each(engines)(`migration ${TAG} on %s`, (engine) => {
  it('renumbers each user’s tasks 1..n by creation order and counts on from there; down undoes it', async () => {
    const before = await migrationsUpTo(TAG, false);
    const after = await migrationsUpTo(TAG, true);
    const server = engine === 'pg' ? await createServerDatabase() : undefined;
    const config = testConfig(server ? { DATABASE_URL: server.url, DB_DRIVER: 'pg' } : {});
    const database = await createDatabase(config.db);
    const migrate = (folder: string) =>
      engine === 'pg'
        ? migratePg(database.db as never, { migrationsFolder: folder })
        : migratePglite(database.db as never, { migrationsFolder: folder });
    const rows = <T>(query: SQL) => queryRows<T>(database.db, query);
    try {
      await migrate(before);
      // Global ids 1..6, interleaved across users; bob's 'b-late' was created before 'b-early' by
      // the clock although its id is higher, and ann's id 3 is deleted (a gap).
      await rows(sql`insert into tasks (user_id, title, created_at) values
        ('ann', 'a-1', '2026-01-01T10:00Z'), ('bob', 'b-early', '2026-01-01T12:00Z'),
        ('ann', 'gone', '2026-01-01T10:30Z'), ('ann', 'a-2', '2026-01-01T11:00Z'),
        ('bob', 'b-late', '2026-01-01T11:30Z'), ('cy', 'c-1', '2026-01-02T09:00Z')`);
      await rows(sql`delete from tasks where title = 'gone'`);

      await migrate(after);
      const numbered = await rows<{ user_id: string; id: number; title: string }>(
        sql`select user_id, id, title from tasks order by user_id, id`,
      );
      expect(numbered).toEqual([
        { user_id: 'ann', id: 1, title: 'a-1' },
        { user_id: 'ann', id: 2, title: 'a-2' },
        { user_id: 'bob', id: 1, title: 'b-late' },
        { user_id: 'bob', id: 2, title: 'b-early' },
        { user_id: 'cy', id: 1, title: 'c-1' },
      ]);
      // Adding as the schema of this migration numbers a task (the counter row, bumped in the
      // insert; today's repository needs later migrations' columns): the counters it left count on.
      const add = async (user: string, title: string) => {
        const [row] = await rows<{ id: number }>(sql`
          with n as (insert into task_counters (user_id, last_task_id) values (${user}, 1)
                     on conflict (user_id) do update set last_task_id = task_counters.last_task_id + 1
                     returning last_task_id)
          insert into tasks (id, user_id, title) select last_task_id, ${user}, ${title} from n returning id`);
        return row?.id;
      };
      expect(await add('ann', 'a-3')).toBe(3);
      expect(await add('bob', 'b-3')).toBe(3);
      expect(await add('dee', 'd-1')).toBe(1);
      const bobs = await rows<{ id: number; title: string }>(
        sql`select id, title from tasks where user_id = 'bob' order by id desc`,
      );
      expect(bobs.map((task) => [task.id, task.title])).toEqual([
        [3, 'b-3'],
        [2, 'b-early'],
        [1, 'b-late'],
      ]);

      // Down: one global sequence again, by creation order, and inserts take the next id from it.
      const down = await readFile(
        fileURLToPath(new URL(`../drizzle/down/${TAG}.sql`, import.meta.url)),
        'utf8',
      );
      for (const statement of down.split('--> statement-breakpoint')) await rows(sql.raw(statement));
      const global = await rows<{ id: number; title: string }>(sql`select id, title from tasks order by id`);
      expect(global.map((task) => task.title)).toEqual([
        'a-1',
        'a-2',
        'b-late',
        'b-early',
        'c-1',
        'a-3',
        'b-3',
        'd-1',
      ]);
      expect(global.map((task) => task.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const [added] = await rows<{ id: number }>(
        sql`insert into tasks (user_id, title) values ('ann', 'after down') returning id`,
      );
      expect(added?.id).toBe(9);
      const counters = await rows<{ n: number }>(
        sql`select count(*)::int as n from information_schema.tables where table_name = 'task_counters'`,
      );
      expect(counters).toEqual([{ n: 0 }]);
    } finally {
      await database.close();
      await server?.drop();
      await rm(before, { recursive: true, force: true });
      await rm(after, { recursive: true, force: true });
    }
  });
});
