/**
 * @module jobs/embedded-pool
 * graphile-worker speaks to Postgres through a `pg.Pool`. With the embedded PGlite (one process,
 * one in-memory or on-disk database, no server to connect to) there is no pool to give it, so this
 * module makes the app's own PGlite look like one: the few calls graphile-worker makes (checked in
 * node_modules/graphile-worker/dist: migrate.js, main.js, worker.js, helpers.js, lib.js) and nothing
 * more.
 *
 * - `pool.connect()` (promise or callback style) hands out a client; `client.release()` returns it.
 *   Every client is the same PGlite underneath, which runs one statement at a time anyway.
 * - `client.query(text | {text, values}, values?)`: with values, one statement through
 *   `pglite.query` (extended protocol, as pg does); without, `pglite.exec` (simple protocol, several
 *   statements allowed: graphile-worker's migrations are multi-statement texts).
 * - `LISTEN "x"` / `UNLISTEN "x"` are not sent as such: they go to `pglite.listen`, whose callbacks
 *   become the client's `notification` events, as pg's are. (A NOTIFY of any statement of the app,
 *   a trigger's included, reaches them when that statement commits.)
 * - `begin` ... `commit`/`rollback` (graphile-worker's migrations) hold a PGlite transaction, during
 *   which the app's other statements wait, as they would for a connection in a real transaction.
 * - bigint columns come back as strings, as pg returns them (job ids are bigints).
 */
import { EventEmitter } from 'node:events';
import type { PGlite, Results, Transaction } from '@electric-sql/pglite';
import type pg from 'pg';
import type { Db } from '../db/client.ts';

type Target = Pick<Transaction, 'query' | 'exec'>;
type QueryResult = { rows: unknown[]; rowCount: number; fields: unknown[]; command?: string };
type QueryConfig = { text: string; values?: unknown[] };

const INT8 = 20;
// pg's parsing of bigint (a string: a JS number would lose digits past 2^53).
const PARSERS = { parsers: { [INT8]: (value: string) => value } };

const LISTENING = /^\s*(UN)?LISTEN\s+("(?:[^"]|"")+"|[\w$]+)\s*;?\s*$/i;
const TRANSACTION = /^\s*(begin|commit|rollback)\s*;?\s*$/i;
/** Thrown into the held transaction's callback to make PGlite roll it back. */
const ROLLBACK = Symbol('rollback');

/** The app's PGlite under its Drizzle handle (drizzle keeps the client it was given as `$client`). */
export function embeddedPglite(db: Db): PGlite {
  const client = (db as unknown as { $client?: PGlite }).$client;
  if (!client || typeof client.listen !== 'function') throw new Error('not a PGlite database');
  return client;
}

/** A `pg.Pool`-shaped object over `pglite`, enough for graphile-worker (see the module header). */
export function embeddedPool(pglite: PGlite): pg.Pool {
  return new EmbeddedPool(pglite) as unknown as pg.Pool;
}

class EmbeddedPool extends EventEmitter {
  readonly #pglite: PGlite;
  /** graphile-worker warns when this is below its concurrency; PGlite has no such limit. */
  readonly options = { max: 100 };
  totalCount = 0;
  idleCount = 0;
  waitingCount = 0;

  constructor(pglite: PGlite) {
    super();
    this.#pglite = pglite;
    // graphile-worker warns about a pool without these; a PGlite client has no socket to lose.
    this.on('error', () => {});
    this.on('connect', () => {});
  }

  connect(callback?: (error: Error | undefined, client?: EmbeddedClient, release?: () => void) => void) {
    const client = new EmbeddedClient(this.#pglite);
    this.emit('connect', client);
    this.emit('acquire', client);
    if (callback) {
      callback(undefined, client, () => void client.release());
      return undefined;
    }
    return Promise.resolve(client);
  }

  async query(config: string | QueryConfig, values?: unknown[]) {
    const client = new EmbeddedClient(this.#pglite);
    try {
      return await client.query(config, values);
    } finally {
      await client.release();
    }
  }

  async end() {}
}

class EmbeddedClient extends EventEmitter {
  readonly #pglite: PGlite;
  readonly #listening = new Map<string, () => Promise<void>>();
  #transaction: { tx: Transaction; commit(): void; rollback(): void; done: Promise<void> } | undefined;

  constructor(pglite: PGlite) {
    super();
    this.#pglite = pglite;
  }

  async query(config: string | QueryConfig, values?: unknown[]): Promise<QueryResult> {
    const text = typeof config === 'string' ? config : config.text;
    const params = values ?? (typeof config === 'string' ? undefined : config.values);
    if (params === undefined) {
      const statements = splitListens(text);
      if (statements) {
        for (const [unlisten, channel] of statements)
          await (unlisten ? this.#unlisten : this.#listen)(channel);
        return { rows: [], rowCount: 0, fields: [] };
      }
      const control = TRANSACTION.exec(text)?.[1]?.toLowerCase();
      if (control) {
        await this.#control(control as 'begin' | 'commit' | 'rollback');
        return { rows: [], rowCount: 0, fields: [], command: control.toUpperCase() };
      }
      const results = await this.#target().exec(text, PARSERS);
      return shape(results.at(-1));
    }
    return shape(await this.#target().query(text, params, PARSERS));
  }

  /** Stops this client's listening (pg would end the session's LISTENs with the connection). */
  async release(): Promise<void> {
    for (const stop of this.#listening.values()) await stop().catch(() => {});
    this.#listening.clear();
    if (this.#transaction) await this.#control('rollback').catch(() => {});
  }

  #target(): Target {
    return this.#transaction?.tx ?? this.#pglite;
  }

  #listen = async (channel: string) => {
    if (this.#listening.has(channel)) return;
    const name = channel.startsWith('"') ? channel.slice(1, -1).replaceAll('""', '"') : channel.toLowerCase();
    const deliver = (payload: string) => {
      this.emit('notification', { processId: 0, channel: name, payload });
    };
    await this.#pglite.listen(channel, deliver);
    // Not the function listen() returns: it sends UNLISTEN with the name unquoted, which fails for
    // graphile-worker's channels ("jobs:insert"); unlisten() with the name as given does not.
    this.#listening.set(channel, () => this.#pglite.unlisten(channel, deliver));
  };

  #unlisten = async (channel: string) => {
    const stop = this.#listening.get(channel);
    this.#listening.delete(channel);
    await stop?.();
  };

  async #control(command: 'begin' | 'commit' | 'rollback'): Promise<void> {
    if (command === 'begin') {
      if (this.#transaction) throw new Error('a transaction is already open on this client');
      await new Promise<void>((started, failed) => {
        const done: Promise<void> = this.#pglite
          .transaction(
            (tx) =>
              new Promise<void>((commit, rollback) => {
                this.#transaction = { tx, commit: () => commit(), rollback: () => rollback(ROLLBACK), done };
                started();
              }),
          )
          .catch((error: unknown) => {
            if (error === ROLLBACK) return;
            failed(error); // BEGIN itself failed; after it, the commit's caller gets the error
            throw error;
          });
        // Awaited by the commit; a failed BEGIN already went to `failed`.
        done.catch(() => {});
      });
      return;
    }
    const open = this.#transaction;
    if (!open) return;
    this.#transaction = undefined;
    if (command === 'commit') open.commit();
    else open.rollback();
    await open.done;
  }
}

/** `LISTEN a; LISTEN "b:c";` as [unlisten?, channel] pairs; undefined when the text is anything else. */
function splitListens(text: string): [boolean, string][] | undefined {
  if (!/^\s*(UN)?LISTEN\b/i.test(text)) return undefined;
  const pairs: [boolean, string][] = [];
  for (const part of text.split(/;(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    if (part.trim() === '') continue;
    const match = LISTENING.exec(part);
    if (!match) return undefined;
    pairs.push([match[1] !== undefined, match[2] as string]);
  }
  return pairs;
}

function shape(result: Results | undefined): QueryResult {
  if (!result) return { rows: [], rowCount: 0, fields: [] };
  return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length, fields: result.fields };
}
