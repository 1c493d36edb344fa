/**
 * @module db/rollback
 * Undoes applied migrations with the hand-written down files in `drizzle/down/<tag>.sql`
 * (drizzle-kit writes none; see drizzle/down/README.md), so a bad release's schema change can be
 * taken back without restoring a backup.
 *
 * How drizzle's migrator keeps its books, which is what makes a rollback re-appliable: it records
 * each applied migration as a row `(hash, created_at)` in `drizzle.__drizzle_migrations`, where
 * `created_at` is the journal entry's `when`. On the next run it reads only the row with the
 * greatest `created_at` and applies every journal entry whose `when` is greater; the hash is
 * stored but never compared. So undoing a migration = running its down file and deleting its row,
 * in one transaction; a later `migrate` then applies it again.
 *
 * Runs through the unpooled URL under the migration lock (`withMigrationLock`), newest first, one
 * transaction per migration: a failure leaves the database at the last migration fully undone.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { Config } from '../config.ts';
import { type Database, type Db, queryRows } from './client.ts';
import { MIGRATIONS_FOLDER, withMigrationLock } from './migrate.ts';

export const DOWN_FOLDER = join(MIGRATIONS_FOLDER, 'down');

const BOOKKEEPING = sql`"drizzle"."__drizzle_migrations"`;

export type JournalEntry = { tag: string; when: number };

/** What to undo: the newest applied migration (default), all newer than `to`, or every one. */
export type RollbackTarget = { to?: string; all?: boolean };

/** A rollback that was not attempted; `message` is one line for a person, without SQL. */
export class RollbackRefused extends Error {
  override name = 'RollbackRefused';
}

/** A down migration failed; its transaction was rolled back, so `tag` is still applied. */
export class RollbackFailed extends Error {
  override name = 'RollbackFailed';
  readonly tag: string;
  constructor(tag: string, options: { cause: unknown }) {
    super(`undoing ${tag} failed; it is still applied`, options);
    this.tag = tag;
  }
}

/** The migrations drizzle-kit generated, oldest first. */
export function readJournal(folder = MIGRATIONS_FOLDER): JournalEntry[] {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as {
    entries: { idx: number; tag: string; when: number }[];
  };
  return [...journal.entries].sort((a, b) => a.idx - b.idx).map(({ tag, when }) => ({ tag, when }));
}

/** The statements of `tag`'s down file, split where drizzle-kit splits its up files. */
export function readDownStatements(tag: string, folder = DOWN_FOLDER): string[] {
  let text: string;
  try {
    text = readFileSync(join(folder, `${tag}.sql`), 'utf8');
  } catch {
    throw new RollbackRefused(`${tag} has no down migration (drizzle/down/${tag}.sql)`);
  }
  // PGlite runs one statement per query, so each chunk goes alone; comment-only chunks are dropped.
  return text
    .split('--> statement-breakpoint')
    .map((chunk) => chunk.trim())
    .filter((chunk) => chunk.replace(/^\s*--.*$/gm, '').trim() !== '');
}

/**
 * Undoes migrations and returns the tags undone, newest first. PGlite with the app's own handle
 * (one process owns the files) works through that handle; every other case opens the unpooled URL
 * under the migration lock. Neon's HTTP driver has no transactions, so there it uses Neon's
 * WebSocket driver on the same URL.
 */
export async function rollbackDatabase(
  settings: Config['db'],
  target: RollbackTarget = {},
  database?: Database,
): Promise<string[]> {
  if (target.all && target.to !== undefined) throw new RollbackRefused('choose either --to <tag> or --all');
  const journal = readJournal();
  if (database && settings.driver === 'pglite') return database.run((db) => undo(db, journal, target));
  const driver = settings.driver === 'neon-http' ? 'neon' : settings.driver;
  return withMigrationLock({ ...settings, driver }, (db) => undo(db, journal, target));
}

async function undo(db: Db, journal: JournalEntry[], target: RollbackTarget): Promise<string[]> {
  const plan = choose(journal, await appliedStamps(db), target);
  const steps = plan.map((entry) => ({ ...entry, statements: readDownStatements(entry.tag) }));
  const undone: string[] = [];
  for (const step of steps) {
    try {
      await db.transaction(async (tx) => {
        for (const statement of step.statements) await tx.execute(sql.raw(statement));
        await tx.execute(sql`delete from ${BOOKKEEPING} where created_at = ${step.when}`);
      });
    } catch (error) {
      throw new RollbackFailed(step.tag, { cause: error });
    }
    undone.push(step.tag);
  }
  return undone;
}

/** The `created_at` of every applied migration, newest first (empty when none ever ran). */
async function appliedStamps(db: Db): Promise<number[]> {
  const [table] = await queryRows<{ name: string | null }>(
    db,
    sql`select to_regclass('"drizzle"."__drizzle_migrations"')::text as name`,
  );
  if (!table?.name) return [];
  const rows = await queryRows<{ created_at: string }>(
    db,
    sql`select created_at::text as created_at from ${BOOKKEEPING}
        where created_at is not null order by created_at desc`,
  );
  return rows.map((row) => Number(row.created_at));
}

/** The journal entries to undo, newest first; refuses before anything is changed. */
function choose(journal: JournalEntry[], applied: number[], target: RollbackTarget): JournalEntry[] {
  const byWhen = new Map(journal.map((entry) => [entry.when, entry]));
  let stamps: number[];
  if (target.to !== undefined) {
    const keep = journal.find((entry) => entry.tag === target.to);
    if (!keep) {
      throw new RollbackRefused(
        `unknown migration "${target.to}"; known: ${journal.map((e) => e.tag).join(', ')}`,
      );
    }
    if (!applied.includes(keep.when)) throw new RollbackRefused(`${keep.tag} is not applied`);
    stamps = applied.filter((when) => when > keep.when);
    if (stamps.length === 0) {
      throw new RollbackRefused(`nothing to undo: ${keep.tag} is the newest applied migration`);
    }
  } else {
    if (applied.length === 0) throw new RollbackRefused('nothing to undo: no migration is applied');
    stamps = target.all ? applied : applied.slice(0, 1);
  }
  return stamps.map((when) => {
    const entry = byWhen.get(when);
    if (!entry) {
      // Applied by a newer build whose journal this one does not have.
      throw new RollbackRefused(
        `the database has a migration this build does not know (from ${new Date(when).toISOString()}); ` +
          'roll back with the build that applied it',
      );
    }
    return entry;
  });
}
