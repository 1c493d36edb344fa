// The benchmark's databases on a Postgres server: uniquely named `taskchat_bench_*`, created on
// demand and dropped at the end whatever happens (the caller runs `dropServerDatabases`, also on
// Ctrl-C). Used by the bench (./chat.ts) and the profiler (./profile.ts).
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

/** This run's tag: in every database name (the CPU monitor finds the run's backends by it). */
export const RUN_TAG = randomBytes(3).toString('hex');
const created: string[] = [];

/** Runs `text` on the server's admin database; the first column of each row, as text. */
export async function admin(text: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    const result = await client.query(text);
    return result.rows.map((row) => String(Object.values(row)[0]));
  } finally {
    await client.end();
  }
}

/** A new empty database on the server; its URL. */
export async function createServerDatabase(label: string): Promise<string> {
  const name = `taskchat_bench_${label}_${Date.now().toString(36)}_${RUN_TAG}`;
  await admin(`create database ${name}`);
  created.push(name);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops every database `createServerDatabase` made; a failure is reported, not thrown. */
export async function dropServerDatabases(report: (message: string) => void): Promise<void> {
  while (created.length > 0) {
    const name = created.pop() as string;
    await admin(`drop database if exists ${name} with (force)`).catch((error) =>
      report(`could not drop ${name}: ${(error as Error).message}`),
    );
  }
}
