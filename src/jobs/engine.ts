/**
 * @module jobs/engine
 * The job engine is graphile-worker (a job queue in Postgres): a job is a row, so a statement, a
 * trigger included, can queue, move or cancel one in its own transaction
 * (`graphile_worker.add_job(... job_key, run_at)`, `graphile_worker.remove_job(key)`), and the
 * work it stands for can never be lost or done for a change that rolled back. Runners take due
 * jobs with `FOR UPDATE SKIP LOCKED`, so any number of worker processes run each job once; LISTEN
 * on `jobs:insert` wakes them for new jobs, and they poll (POLL_INTERVAL_MS) for jobs that come
 * due later (a reminder's `run_at`).
 *
 * This module connects graphile-worker to whichever database the app runs on:
 * - `installJobSchema`: graphile-worker's own migrations (its `graphile_worker` schema), run by the
 *   app's migration step (db/migrate.ts) BEFORE the app's migrations, on every driver, so the
 *   app's triggers can call `graphile_worker.add_job` anywhere, the embedded PGlite included.
 * - `jobPool`: what the runner and the installer talk through. On `pg`, `neon` and `neon-http`, a
 *   `pg` Pool (TCP) on the direct URL, `DATABASE_URL_UNPOOLED` when set: the runner keeps one
 *   session LISTENing, which Neon's pooler (PgBouncer in transaction mode) cannot carry. On PGlite,
 *   the app's own PGlite behind a pool-shaped adapter (./embedded-pool.ts).
 */
import { runMigrations, Logger as WorkerLogger } from 'graphile-worker';
import pg from 'pg';
import { type Config, isLocalHost } from '../config.ts';
import type { Db } from '../db/client.ts';
import { errorFields, type Logger } from '../log.ts';
import { embeddedPglite, embeddedPool } from './embedded-pool.ts';

/** How often an idle runner looks for jobs that came due (new jobs wake it at once). */
export const POLL_INTERVAL_MS = 1000;
/** Jobs one runner works on at once. */
export const CONCURRENCY = 10;

export type JobPool = { pool: pg.Pool; close(): Promise<void> };

/**
 * The pool graphile-worker works through: over `db` (the app's own handle) on PGlite, else a new
 * `pg` Pool on the direct URL that `close` ends.
 */
export function jobPool(settings: Config['db'], db: Db | undefined, max = CONCURRENCY + 2): JobPool {
  if (settings.driver === 'pglite') {
    if (!db) throw new Error('the embedded database must be open to run jobs on it');
    return { pool: embeddedPool(embeddedPglite(db)), close: async () => {} };
  }
  const url = settings.migrationUrl;
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    // Remote hosts get TLS even when the URL does not ask (as db/client.ts does).
    ssl:
      !isLocalHost(decodeURIComponent(new URL(url).hostname)) && !new URL(url).searchParams.has('sslmode')
        ? true
        : undefined,
  });
  // graphile-worker reconnects its listener itself; an idle client dying must not end the process.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return { pool, close: () => pool.end() };
}

/** Brings graphile-worker's schema up to date (idempotent; safe with several processes at once). */
export async function installJobSchema(pool: pg.Pool, logger?: Logger): Promise<void> {
  await runMigrations({ pgPool: pool, logger: workerLogger(logger) });
}

/**
 * graphile-worker's log lines in ours. Its lines can carry a driver's message (SQL, values) after
 * a colon or "with error": only the words before, and the error's kind and code, are kept.
 */
export function workerLogger(logger: Logger | undefined): WorkerLogger {
  return new WorkerLogger(() => (level, message, meta) => {
    if (!logger) return;
    const fields: Record<string, unknown> = { component: 'jobs' };
    if (meta?.error) Object.assign(fields, errorFields(meta.error));
    const job = (meta as { job?: { id?: unknown; task_identifier?: unknown } } | undefined)?.job;
    if (job) Object.assign(fields, { jobId: job.id, task: job.task_identifier });
    const words = message.split(/:|\n| with error/, 1)[0]?.slice(0, 160) ?? 'job engine';
    if (level === 'error') logger.error(`jobs: ${words}`, fields);
    else if (level === 'warning') logger.warn(`jobs: ${words}`, fields);
    // "Worker connected", "Completed task ..." lines: a healthy runner's chatter.
    else logger.debug(`jobs: ${words}`, fields);
  });
}
