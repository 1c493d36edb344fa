/**
 * @module db/client
 * Builds the one database handle the app uses, from config. Four drivers behind one Drizzle
 * type: embedded PGlite (no server: the first-run default), `pg` over TCP, Neon's serverless
 * `Pool` over WebSocket, and Neon's HTTP query function. Nothing outside this file knows which
 * one is underneath. `close()` releases every socket, file and timer, so the process can exit.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { Pool as NeonPool, neon, neonConfig } from '@neondatabase/serverless';
import type { SQL } from 'drizzle-orm';
import { drizzle as drizzleNeonHttp } from 'drizzle-orm/neon-http';
import { drizzle as drizzleNeon } from 'drizzle-orm/neon-serverless';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { WebSocket } from 'ws';
import { type Config, isLocalHost } from '../config.ts';
import { Resilience, type ResilienceOptions } from './resilience.ts';
import * as schema from './schema.ts';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Rows of a raw SQL statement; every driver here answers `{ rows }`. */
export async function queryRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

export type PoolStats = { total: number; idle: number; waiting: number };

export type Database = {
  readonly db: Db;
  readonly driver: Config['db']['driver'];
  /** Runs database work with retries of transient errors and the circuit breaker. */
  run<T>(operation: (db: Db) => Promise<T>, options?: { idempotent?: boolean }): Promise<T>;
  /** One cheap statement under `timeoutMs`; true when the database answered. */
  ping(timeoutMs: number): Promise<boolean>;
  /** Pool figures where the driver has a pool. */
  poolStats(): PoolStats | undefined;
  close(): Promise<void>;
};

export type DatabaseOptions = {
  /** Called with the text of every statement the driver sends (tests count round trips). */
  onStatement?: (sql: string) => void;
  resilience?: Partial<ResilienceOptions>;
};

type Handle = { db: Db; close: () => Promise<void>; poolStats: () => PoolStats | undefined };

export async function createDatabase(
  settings: Config['db'],
  options: DatabaseOptions = {},
): Promise<Database> {
  const handle = await openHandle(settings, settings.url, options.onStatement);
  const resilience = new Resilience(options.resilience);
  let closed: Promise<void> | undefined;
  return {
    db: handle.db,
    driver: settings.driver,
    run: (operation, runOptions) => resilience.run(() => operation(handle.db), runOptions),
    async ping(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const query = handle.db.execute('select 1').then(
        () => true,
        () => false,
      );
      try {
        return await Promise.race([query, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    poolStats: handle.poolStats,
    close: () => {
      closed ??= handle.close();
      return closed;
    },
  };
}

/** Opens a driver on `url` (the app's URL, or the unpooled one for migrations). */
export async function openHandle(
  settings: Config['db'],
  url: string,
  onStatement?: (sql: string) => void,
): Promise<Handle> {
  switch (settings.driver) {
    case 'pglite':
      return openPglite(settings, url, onStatement);
    case 'pg':
      return openPg(settings, url, onStatement);
    case 'neon':
      return openNeonPool(settings, url, onStatement);
    case 'neon-http':
      return openNeonHttp(url);
  }
}

async function openPglite(settings: Config['db'], location: string, onStatement?: (sql: string) => void) {
  if (location !== 'memory') await mkdir(location, { recursive: true });
  const client = location === 'memory' ? new PGlite() : new PGlite(location);
  await client.waitReady;
  await client.exec(`set statement_timeout = ${settings.statementTimeoutMs}`);
  if (onStatement) {
    const query = client.query.bind(client);
    client.query = ((text: string, ...rest: unknown[]) => {
      onStatement(text);
      return (query as (...args: unknown[]) => unknown)(text, ...rest);
    }) as typeof client.query;
  }
  const db = drizzlePglite({ client, schema }) as unknown as Db;
  return { db, close: () => client.close(), poolStats: () => undefined };
}

function openPg(settings: Config['db'], url: string, onStatement?: (sql: string) => void): Handle {
  const pool = new pg.Pool({
    connectionString: url,
    max: settings.poolMax,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    statement_timeout: settings.statementTimeoutMs,
    query_timeout: settings.statementTimeoutMs + 1000,
    idleTimeoutMillis: 30_000,
    ssl: requiresTls(url) ? true : undefined,
  });
  // An idle client dying (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const naming = createNaming();
  pool.on('connect', (client) => wrapQueries(client, naming, onStatement));
  const db = drizzlePg({ client: pool, schema }) as unknown as Db;
  return { db, close: () => pool.end(), poolStats: () => poolFigures(pool) };
}

function openNeonPool(settings: Config['db'], url: string, onStatement?: (sql: string) => void): Handle {
  neonConfig.webSocketConstructor = WebSocket;
  if (settings.neonWsProxy) {
    // A local WebSocket-to-TCP proxy (like Neon's wsproxy) in front of a plain Postgres.
    const proxy = settings.neonWsProxy;
    neonConfig.wsProxy = (host, port) => `${proxy}/v2?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineConnect = false;
    neonConfig.pipelineTLS = false;
  }
  const pool = new NeonPool({
    connectionString: url,
    max: settings.poolMax,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    // Neon's pooler (PgBouncer) refuses statement_timeout as a startup parameter, so the
    // limit is enforced client-side here.
    query_timeout: settings.statementTimeoutMs,
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', () => {});
  const naming = createNaming();
  pool.on('connect', (client: unknown) => wrapQueries(client as pg.PoolClient, naming, onStatement));
  const db = drizzleNeon({ client: pool, schema }) as unknown as Db;
  return {
    db,
    close: () => pool.end(),
    poolStats: () => poolFigures(pool as unknown as pg.Pool),
  };
}

function openNeonHttp(url: string): Handle {
  // One HTTPS request per statement; there is no pool and nothing to close.
  const db = drizzleNeonHttp({ client: neon(url), schema }) as unknown as Db;
  return { db, close: async () => {}, poolStats: () => undefined };
}

// ---------------------------------------------------------------------------------------------
// Plan once. On `pg` and Neon's `Pool`, every statement that has parameters (all of the app's:
// BEGIN/END TURN, the tools', the read routes') goes out as a named prepared statement, named
// after its text. Each connection then sends the text and has it parsed once; Postgres keeps the
// statement for the connection's life, and after five runs uses a generic plan when it is no
// worse than the custom ones, so a turn's statements are no longer planned on every call
// (BEGIN TURN's planning cost several times its execution). Done here, under Drizzle, so no query
// site has to name anything, and a name can never meet a different text (pg refuses that).
// Statements without parameters (DDL, migrations, `select 1`) stay simple-protocol queries.
//
// Neon's pooler is PgBouncer in transaction mode, which since 1.21 (Neon runs it with
// max_prepared_statements set) tracks protocol-level named statements per client and prepares
// them on whichever server connection runs the next transaction. A pooler without that support
// answers "prepared statement ... does not exist" (26000) or "already exists" (42P05), both
// before the statement ran: that one statement is sent again unnamed, and the pool stops naming.
// PGlite and Neon's HTTP driver have no session to keep a statement in: they are left as they are.

type Naming = { enabled: boolean; names: Map<string, string> };

/** Most distinct statement texts given a name: the app has a few dozen; anything past is unnamed. */
const MAX_NAMED_STATEMENTS = 500;

function createNaming(): Naming {
  return { enabled: true, names: new Map() };
}

function nameFor(naming: Naming, text: string): string | undefined {
  let name = naming.names.get(text);
  if (name === undefined && naming.names.size < MAX_NAMED_STATEMENTS) {
    name = `tc_${createHash('sha256').update(text).digest('base64url').slice(0, 32)}`;
    naming.names.set(text, name);
  }
  return name;
}

const statementLost = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '26000' || code === '42P05';
};

type QueryConfig = { text?: string; name?: string; values?: unknown[]; submit?: unknown };
type Callback = (error: unknown, result?: unknown) => void;

function wrapQueries(client: pg.PoolClient, naming: Naming, onStatement?: (sql: string) => void): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
    const object = typeof config === 'object' && config !== null ? (config as QueryConfig) : undefined;
    const text = object ? object.text : String(config);
    const params = Array.isArray(values) ? values : object?.values;
    onStatement?.(String(text));
    const name =
      naming.enabled && object && !object.name && !object.submit && text && params && params.length > 0
        ? nameFor(naming, text)
        : undefined;
    if (!name) return query(config, values, callback);
    const named = { ...object, name };
    const unnamed = (error: unknown) => {
      if (!statementLost(error)) return false;
      naming.enabled = false;
      return true;
    };
    if (typeof values === 'function' || typeof callback === 'function') {
      const done = (typeof values === 'function' ? values : callback) as Callback;
      const args = typeof values === 'function' ? [] : [values];
      return query(named, ...args, (error: unknown, result: unknown) =>
        error && unnamed(error) ? query(config, ...args, done) : done(error, result),
      );
    }
    return (query(named, values) as Promise<unknown>).catch((error: unknown) => {
      if (unnamed(error)) return query(config, values);
      throw error;
    });
  };
}

function poolFigures(pool: pg.Pool): PoolStats {
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
}

/** Remote hosts get TLS even when the URL does not ask; local ones follow the URL. */
function requiresTls(url: string): boolean {
  const parsed = new URL(url);
  return !isLocalHost(decodeURIComponent(parsed.hostname)) && !parsed.searchParams.has('sslmode');
}
