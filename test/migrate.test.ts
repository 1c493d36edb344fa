import { readFileSync } from 'node:fs';
import { is } from 'drizzle-orm';
import { PgTable } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, migrateDatabase } from '../src/db/migrate.ts';
import * as schema from '../src/db/schema.ts';
import { createServerDatabase, testConfig } from './support/db.ts';

const journal = JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as {
  entries: unknown[];
};

const onServer = process.env.TEST_DATABASE_URL ? describe : describe.skip;

onServer('migrations at start-up', () => {
  it('apply once when several instances start at the same moment', async () => {
    const db = await createServerDatabase();
    try {
      const config = testConfig({ DATABASE_URL: db.url });
      // Four instances of a fresh deploy, each migrating before it serves.
      await Promise.all(Array.from({ length: 4 }, () => migrateDatabase(config.db)));
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const applied = await client.query('select count(*)::int as n from drizzle.__drizzle_migrations');
      const tables = await client.query(
        "select count(*)::int as n from information_schema.tables where table_schema = 'public'",
      );
      await client.end();
      expect(applied.rows[0].n).toBe(journal.entries.length);
      expect(tables.rows[0].n).toBe(Object.values(schema).filter((value) => is(value, PgTable)).length);
    } finally {
      await db.drop();
    }
  });
});
