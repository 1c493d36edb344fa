/**
 * @module instances/registry
 * Which processes are alive, known through Postgres. Every running process (a web instance, the
 * stdio MCP server, a worker) writes a liveness record at start and renews it every
 * `RENEW_EVERY_MS` with one statement: per process, never per request. A chat turn's lease names
 * the process running it (chat/turn-store.ts), so a lease whose process has not renewed within
 * `DEAD_AFTER_MS` can be taken over at once instead of after the whole lease: a process that was
 * killed (OOM, a lost node, an eviction without grace) frees its conversations within seconds.
 *
 * Why a missed renewal means dead: a living process renews five times within the bound; only one
 * whose event loop or database connection has been stuck for ten seconds misses them all, and
 * such a turn's END TURN then finds the lease taken and stores nothing (its attempt no longer holds
 * it), which is what a dead process's turn amounts to as well.
 *
 * The same records will say which instance runs a turn for relaying its live answer.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { type Database, queryRows } from '../db/client.ts';
import { errorFields, type Logger } from '../log.ts';

export type InstanceKind = 'web' | 'mcp' | 'worker';

/** How often a process renews its record. */
export const RENEW_EVERY_MS = 2000;
/** A process not seen for this long is dead: its leases may be taken over. */
export const DEAD_AFTER_MS = 10_000;
/** Records of processes gone this long are removed when another process starts. */
const FORGET_AFTER = '1 day';

export type InstanceRegistration = {
  /** This process's id, written on every lease it takes; undefined on PGlite (see below). */
  readonly id: string | undefined;
  /** Stops renewing and removes the record (a clean exit has released its leases already). */
  stop(): Promise<void>;
};

export type RegistryOptions = {
  kind: InstanceKind;
  logger?: Logger;
  /** Tests shorten it; production uses `RENEW_EVERY_MS`. */
  renewEveryMs?: number;
};

/** Registers this process and keeps its record fresh until `stop()`. */
export async function registerInstance(
  database: Database,
  { kind, logger, renewEveryMs = RENEW_EVERY_MS }: RegistryOptions,
): Promise<InstanceRegistration> {
  // An embedded database is open in one process only: there is no other process to tell, so no
  // record and no renewal (which would also write to its directory every 2 s). Its leases carry no
  // process and only expire, as before; a process restarted on the directory waits for them.
  if (database.driver === 'pglite') return { id: undefined, stop: async () => {} };
  const id = randomUUID();
  await database.run((db) =>
    queryRows(
      db,
      sql`with forgotten as (delete from instances where seen_at < now() - ${FORGET_AFTER}::interval)
          insert into instances (id, kind) values (${id}::uuid, ${kind})`,
    ),
  );
  let renewing: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    if (database.closed) return;
    renewing = database
      .run((db) => queryRows(db, sql`update instances set seen_at = now() where id = ${id}::uuid`), {
        idempotent: true,
      })
      // A missed renewal is harmless unless every one for DEAD_AFTER_MS is missed; the database
      // being away that long is logged by the requests that need it.
      .catch((error: unknown) => logger?.debug('instance renewal failed', errorFields(error)));
  }, renewEveryMs);
  // The renewal alone never keeps a process alive.
  timer.unref();
  return {
    id,
    async stop() {
      clearInterval(timer);
      await renewing;
      await database
        .run((db) => queryRows(db, sql`delete from instances where id = ${id}::uuid`))
        .catch(() => {});
    },
  };
}
