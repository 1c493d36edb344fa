/**
 * @module db/client
 * Builds the one database handle the app uses, from config. Four drivers behind one Drizzle
 * type: embedded PGlite (no server: the first-run default), `pg` over TCP, Neon's serverless
 * `Pool` over WebSocket, and Neon's HTTP query function. Nothing outside this file knows which
 * one is underneath. `close()` releases every socket, file and timer, so the process can exit.
 */
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
import { type BreakerState, Resilience, type ResilienceOptions } from './resilience.ts';
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
  if (onStatement) pool.on('connect', (client) => countStatements(client, onStatement));
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
  if (onStatement)
    pool.on('connect', (client: unknown) => countStatements(client as pg.PoolClient, onStatement));
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

function countStatements(client: pg.PoolClient, onStatement: (sql: string) => void): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (config: unknown, ...rest: unknown[]) => {
    onStatement(typeof config === 'string' ? config : String((config as { text?: string }).text));
    return query(config, ...rest);
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
