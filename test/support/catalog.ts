// The app's schema as Postgres itself describes it (tables, columns with types, defaults and
// nullability, identity, indexes, constraints, sequences), in a stable order, so two databases
// can be compared with one `toEqual`: a rollback test's proof that a down migration leaves
// exactly the schema that was there before.
import { sql } from 'drizzle-orm';
import { type Db, queryRows } from '../../src/db/client.ts';

export type Catalog = Record<'tables' | 'columns' | 'indexes' | 'constraints' | 'sequences', unknown[]>;

export async function dumpCatalog(db: Db): Promise<Catalog> {
  const [tables, columns, indexes, constraints, sequences] = await Promise.all([
    queryRows(
      db,
      sql`select table_name::text as name, table_type::text as type from information_schema.tables
          where table_schema = 'public' order by 1`,
    ),
    queryRows(
      db,
      // The column's rank, not its attnum: a column dropped and added again by a down and up
      // migration keeps its place in the order but leaves a gap in the numbers.
      sql`select table_name::text as table, column_name::text as column,
                 (rank() over (partition by table_name order by ordinal_position))::int as position,
                 data_type::text as type, udt_name::text as udt, column_default::text as default,
                 is_nullable::text as nullable, is_identity::text as identity,
                 identity_generation::text as generation, character_maximum_length::int as max_length
          from information_schema.columns where table_schema = 'public' order by 1, 3`,
    ),
    queryRows(
      db,
      sql`select tablename::text as table, indexname::text as name, indexdef::text as definition
          from pg_indexes where schemaname = 'public' order by 1, 2`,
    ),
    queryRows(
      db,
      sql`select conrelid::regclass::text as table, conname::text as name, contype::text as type,
                 pg_get_constraintdef(oid)::text as definition
          from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2`,
    ),
    queryRows(
      db,
      sql`select sequence_name::text as name, data_type::text as type, start_value::text as start,
                 minimum_value::text as min, maximum_value::text as max, increment::text as increment,
                 cycle_option::text as cycle
          from information_schema.sequences where sequence_schema = 'public' order by 1`,
    ),
  ]);
  return { tables, columns, indexes, constraints, sequences };
}
