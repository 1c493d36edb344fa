/**
 * @module chat/store/endings
 * A turn always ends: the lease is only for a process that died; a living process releases what it
 * holds, whatever failed after BEGIN TURN (the model, END TURN itself, the database going away for
 * seconds or minutes). This is the worker that makes it so:
 * - The failure ending (mark the turn failed, release the lease, store nothing) is retried with
 *   backoff for as long as the process lives, as a probe that the open circuit breaker does not
 *   refuse: a few hundred milliseconds after the database answers again, every lease this process
 *   held is free.
 * - A BEGIN TURN whose answer was lost (the connection died, the driver stopped waiting) may have
 *   committed after its client gave up: the attempt is "abandoned" the same way, found by its id.
 */
import { type Database, queryRows } from '../../db/client.ts';
import { DbUnavailableError } from '../../db/resilience.ts';
import type { Logger } from '../../log.ts';
import {
  type AbandonedBegin,
  abandonStatement,
  type FailedAttempt,
  failTurnStatement,
} from './statements.ts';

export type EndingsOptions = {
  /** Where failed endings are logged (no message text). */
  logger?: Logger;
  /** Given the endings still being retried, so shutdown can wait for them. */
  track?: (work: Promise<unknown>) => void;
  /**
   * How long after a first successful check an abandoned BEGIN TURN is looked for once more: a
   * statement delayed in the network may still arrive and commit after its client gave up.
   * The statement timeout plus a margin.
   */
  abandonConfirmMs?: number;
  /** First retry delay and cap of the failure endings' backoff. */
  retryBaseMs?: number;
  retryMaxMs?: number;
};

type Ending = {
  /** Runs the ending once: undefined when it is done, or in how many ms to check again. */
  run(): Promise<number | undefined>;
  /** No longer owed: written, or (an abandoned BEGIN) found absent once; a re-check is a bonus. */
  settle(): void;
  failures: number;
  dueAt: number;
};

/**
 * The endings this process still owes: failure endings that could not be written yet, and BEGIN
 * TURNs whose answer was lost. One worker retries them with capped exponential backoff (plus
 * jitter) for as long as the process lives, through `probe` runs that the open circuit breaker
 * lets through, and whose success closes it for every other request too. Stops when the
 * database is closed; a lease left then is what the lease's expiry is for.
 */
export class TurnEndings {
  readonly #database: Database;
  readonly #options: EndingsOptions;
  readonly #pending = new Map<string, Ending>();
  #worker: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(database: Database, options: EndingsOptions) {
    this.#database = database;
    this.#options = options;
  }

  get size(): number {
    return this.#pending.size;
  }

  fail(attempt: FailedAttempt, waitMs: number): Promise<void> {
    const firstTry = this.#add(`fail:${attempt.attemptId}`, async () => {
      const rows = await this.#database.run(
        (db) => queryRows<{ released: boolean }>(db, failTurnStatement(attempt)),
        { probe: true },
      );
      if (!rows[0]?.released) {
        const { conversationId, turnId, attemptId } = attempt;
        this.#options.logger?.debug('failed turn had no lease left', { conversationId, turnId, attemptId });
      }
      return undefined;
    });
    return Promise.race([firstTry, new Promise<void>((resolve) => setTimeout(resolve, waitMs).unref())]);
  }

  abandon(begin: AbandonedBegin): void {
    const confirmMs = this.#options.abandonConfirmMs ?? 11_000;
    let checkedAt: number | undefined;
    void this.#add(`abandon:${begin.attemptId}`, async () => {
      const rows = await this.#database.run(
        (db) => queryRows<{ found: boolean }>(db, abandonStatement(begin)),
        { probe: true },
      );
      if (rows[0]?.found) return undefined;
      // Not there: it never committed, or it is still on its way. Look once more, later.
      const now = Date.now();
      if (checkedAt !== undefined && now - checkedAt >= confirmMs) return undefined;
      checkedAt ??= now;
      return confirmMs - (now - checkedAt);
    });
  }

  /**
   * Adds an ending and tries it at once; resolves after that first try, whatever it gave. Until it
   * is no longer owed, it is given to `track` (shutdown waits for it, up to its deadline).
   */
  #add(key: string, run: Ending['run']): Promise<void> {
    if (this.#database.closed) return Promise.resolve();
    let tried!: () => void;
    const firstTry = new Promise<void>((resolve) => {
      tried = resolve;
    });
    let settle!: () => void;
    const owed = new Promise<void>((resolve) => {
      settle = resolve;
    });
    this.#options.track?.(owed);
    const ending: Ending = {
      failures: 0,
      dueAt: 0,
      settle,
      run: async () => {
        try {
          return await run();
        } finally {
          tried();
        }
      },
    };
    this.#pending.get(key)?.settle();
    this.#pending.set(key, ending);
    this.#start();
    return firstTry;
  }

  #start(): void {
    this.#wake?.();
    if (this.#worker) return;
    this.#worker = this.#work().finally(() => {
      this.#worker = undefined;
    });
  }

  async #work(): Promise<void> {
    const { retryBaseMs = 100, retryMaxMs = 1000 } = this.#options;
    while (this.#pending.size > 0 && !this.#database.closed) {
      const now = Date.now();
      const due = [...this.#pending].filter(([, e]) => e.dueAt <= now);
      for (const [key, ending] of due) {
        if (this.#database.closed) break;
        try {
          const again = await ending.run();
          ending.settle();
          if (again === undefined) this.#pending.delete(key);
          else {
            ending.failures = 0;
            ending.dueAt = Date.now() + again;
          }
        } catch (error) {
          ending.failures++;
          if (!(error instanceof DbUnavailableError) && ending.failures >= 10) {
            // Not an outage and not going away: the lease's expiry will end it.
            this.#options.logger?.error('could not end a turn; its lease will expire', { key });
            ending.settle();
            this.#pending.delete(key);
            continue;
          }
          const backoff = Math.min(retryMaxMs, retryBaseMs * 2 ** (ending.failures - 1));
          ending.dueAt = Date.now() + backoff / 2 + (Math.random() * backoff) / 2;
          // The database is still away: the other endings would fail the same way now.
          if (error instanceof DbUnavailableError) {
            for (const other of this.#pending.values()) other.dueAt = Math.max(other.dueAt, ending.dueAt);
            break;
          }
        }
      }
      const next = Math.min(...[...this.#pending.values()].map((e) => e.dueAt));
      const wait = Math.max(0, next - Date.now());
      if (this.#pending.size > 0 && wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          timer.unref();
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    }
    if (this.#database.closed) {
      for (const ending of this.#pending.values()) ending.settle();
      this.#pending.clear();
    }
  }
}
