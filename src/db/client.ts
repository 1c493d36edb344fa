/**
 * @module db/client
 * Builds the one database handle the app uses, from config. Four drivers behind one Drizzle
 * type: embedded PGlite (no server: the first-run default), `pg` over TCP, Neon's serverless
 * `Pool` over WebSocket, and Neon's HTTP query function. Nothing outside this file knows which
 * one is underneath. `close()` releases every socket, file and timer, so the process can exit.
 *
 * An embedded PGlite directory is open in one process at a time: two processes on one directory
 * (two `npm start`, or `npm start` plus the stdio MCP server) each keep their own copy of the
 * database in memory and overwrite each other's writes. A lock file in the directory makes the
 * second opener stop at start-up with one line, before it writes anything.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Pool as NeonPool, neon, neonConfig } from '@neondatabase/serverless';
import { type Placeholder, type Query, type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import { drizzle as drizzleNeonHttp } from 'drizzle-orm/neon-http';
import { drizzle as drizzleNeon } from 'drizzle-orm/neon-serverless';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import {
  type PgDatabase,
  PgDialect,
  type PgPreparedQuery,
  type PgQueryResultHKT,
  type PreparedQueryConfig,
} from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { WebSocket } from 'ws';
import { type Config, isLocalHost } from '../config.ts';
import { admitToPool } from './admission.ts';
import { type BreakerState, Resilience, type ResilienceOptions } from './resilience.ts';
import * as schema from './schema.ts';
import { databaseInUse } from './startup-error.ts';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Rows of a raw SQL statement; every driver here answers `{ rows }`. */
export async function queryRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/**
 * A statement whose SQL text is rendered once. Drizzle renders a `sql` template or a query builder
 * into text and parameters on every call, walking and class-checking every chunk: for the three
 * statements of a turn (BEGIN TURN is kilobytes of text and forty-odd values) that was about a
 * tenth of a turn's Node CPU. Here the statement is written once with named placeholders
 * (`values.userId`), rendered at its first use, and each call only binds this call's values
 * through Drizzle's prepared query for whichever driver is underneath. On `pg` and Neon's Pool the
 * text still goes out as a named server-side statement (see "Plan once" below).
 *
 *   const byId = preparedStatement<{ id: string }>((v) => sql`select * from t where id = ${v.id}`);
 *   const rows = await byId<{ id: string }>(db, { id });
 */
export function preparedStatement<Values extends Record<string, unknown>>(
  build: (values: Placeholders<Values>) => SQLWrapper,
): <Row>(db: Db, values: Values) => Promise<Row[]> {
  let query: Query | undefined;
  const prepared = new WeakMap<Db, PgPreparedQuery<PreparedQueryConfig>>();
  return async <Row>(db: Db, values: Values) => {
    query ??= dialect.sqlToQuery(build(placeholders as never).getSQL());
    let statement = prepared.get(db);
    if (!statement) {
      statement = db._.session.prepareQuery(query, undefined, undefined, false);
      prepared.set(db, statement);
    }
    return ((await statement.execute(values)) as { rows: Row[] }).rows;
  };
}

/** Drizzle's placeholder for each value of a prepared statement. */
export type Placeholders<Values> = { readonly [K in keyof Values]: Placeholder<K & string> };

const dialect = new PgDialect();

/** `placeholders.name` is Drizzle's placeholder for the value called `name`. */
const placeholders = new Proxy({}, { get: (_, name) => sql.placeholder(String(name)) });

export type PoolStats = { total: number; idle: number; waiting: number };

export type Database = {
  readonly db: Db;
  readonly driver: Config['db']['driver'];
  /**
   * Runs database work with retries of transient errors and the circuit breaker. `probe`: once,
   * even while the breaker is open (see Resilience.run).
   */
  run<T>(operation: (db: Db) => Promise<T>, options?: { idempotent?: boolean; probe?: boolean }): Promise<T>;
  /** True once `close()` was called: background work stops then. */
  readonly closed: boolean;
  /** One cheap statement under `timeoutMs`; true when the database answered. */
  ping(timeoutMs: number): Promise<boolean>;
  /** Pool figures where the driver has a pool. */
  poolStats(): PoolStats | undefined;
  /** The circuit breaker of `run`: `open` while calls fail fast with 503. */
  breakerState(): BreakerState;
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
    get closed() {
      return closed !== undefined;
    },
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
    breakerState: () => resilience.state,
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
  let unlock = async () => {};
  if (location !== 'memory') {
    await mkdir(location, { recursive: true });
    unlock = await lockDirectory(location);
  }
  let client: PGlite;
  try {
    client = location === 'memory' ? new PGlite() : new PGlite(location);
    await client.waitReady;
  } catch (error) {
    await unlock();
    throw error;
  }
  await client.exec(`set statement_timeout = ${settings.statementTimeoutMs}`);
  if (onStatement) {
    const query = client.query.bind(client);
    client.query = ((text: string, ...rest: unknown[]) => {
      onStatement(text);
      return (query as (...args: unknown[]) => unknown)(text, ...rest);
    }) as typeof client.query;
  }
  const db = drizzlePglite({ client, schema }) as unknown as Db;
  return {
    db,
    close: async () => {
      await client.close();
      await unlock();
    },
    poolStats: () => undefined,
  };
}

const LOCK_FILE = 'taskchat.lock';
/** Directories this process has open: a second open in the same process is refused too. */
const openDirectories = new Set<string>();

/**
 * Takes `<directory>/taskchat.lock` (created exclusively, holding this process's pid and host) or
 * refuses with `databaseInUse`. A lock whose process is gone (killed, crashed) is taken over; so
 * is one naming this very pid from an earlier life (a container restarted with the same pid).
 * Returns the release, which removes the file.
 */
async function lockDirectory(directory: string): Promise<() => Promise<void>> {
  const absolute = resolvePath(directory);
  if (openDirectories.has(absolute)) throw databaseInUse(absolute, 'this same process');
  const file = join(absolute, LOCK_FILE);
  const mine = JSON.stringify({ pid: process.pid, host: hostname() });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, mine, { flag: 'wx' });
      openDirectories.add(absolute);
      return async () => {
        openDirectories.delete(absolute);
        if ((await readFile(file, 'utf8').catch(() => '')) === mine) await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
    const holder = await readFile(file, 'utf8').then(
      (text) => JSON.parse(text) as { pid?: unknown; host?: unknown },
      () => ({}) as { pid?: unknown; host?: unknown },
    );
    const pid = typeof holder.pid === 'number' ? holder.pid : undefined;
    if (holder.host !== undefined && holder.host !== hostname()) {
      throw databaseInUse(
        absolute,
        `a process on host ${String(holder.host)} (remove ${file} if it is gone)`,
      );
    }
    if (pid !== undefined && pid !== process.pid && processAlive(pid)) {
      throw databaseInUse(absolute, `another process (pid ${pid})`);
    }
    // The holder is gone: take the lock over.
    await rm(file, { force: true });
  }
  throw databaseInUse(absolute, 'another process');
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
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
  const waiting = admitToPool(pool as never, admissionOf(settings));
  const db = drizzlePg({ client: pool, schema }) as unknown as Db;
  return { db, close: () => pool.end(), poolStats: () => poolFigures(pool, waiting) };
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
  const waiting = admitToPool(pool as never, admissionOf(settings));
  const db = drizzleNeon({ client: pool, schema }) as unknown as Db;
  return {
    db,
    close: () => pool.end(),
    poolStats: () => poolFigures(pool as unknown as pg.Pool, waiting),
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

// Texts are looked up by length, then compared: Drizzle renders a new string per call, and a Map
// keyed by the text would hash all of it (BEGIN TURN is kilobytes) on every statement.
type Naming = { enabled: boolean; count: number; byLength: Map<number, { text: string; name: string }[]> };

/** Most distinct statement texts given a name: the app has a few dozen; anything past is unnamed. */
const MAX_NAMED_STATEMENTS = 500;

function createNaming(): Naming {
  return { enabled: true, count: 0, byLength: new Map() };
}

function nameFor(naming: Naming, text: string): string | undefined {
  const known = naming.byLength.get(text.length);
  const found = known?.find((entry) => entry.text === text);
  if (found) return found.name;
  if (naming.count >= MAX_NAMED_STATEMENTS) return undefined;
  const name = `tc_${createHash('sha256').update(text).digest('base64url').slice(0, 32)}`;
  if (known) known.push({ text, name });
  else naming.byLength.set(text.length, [{ text, name }]);
  naming.count++;
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

/** Statements wait at the gate (db/admission.ts), no longer in the pool's own queue. */
function poolFigures(pool: pg.Pool, waiting: () => number): PoolStats {
  return { total: pool.totalCount, idle: pool.idleCount, waiting: waiting() + pool.waitingCount };
}

function admissionOf(settings: Config['db']) {
  return { connections: settings.poolMax, maxWaiting: settings.queueMax, waitMs: settings.queueTimeoutMs };
}

/** Remote hosts get TLS even when the URL does not ask; local ones follow the URL (LISTEN too). */
export function requiresTls(url: string): boolean {
  const parsed = new URL(url);
  return !isLocalHost(decodeURIComponent(parsed.hostname)) && !parsed.searchParams.has('sslmode');
}
