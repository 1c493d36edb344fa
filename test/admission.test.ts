// Admission to the pool under load (src/db/admission.ts), on `pg` and Neon's Pool with a pool of
// one connection held by a transaction: a statement behind it waits and runs, even when it waits
// longer than the connect timeout; a statement beyond the wait queue, or one that waited its full
// time, is refused with the 503 error at once, and neither opens the circuit breaker (the database
// is busy, not down). Only with TEST_DATABASE_URL: PGlite has no pool.
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client.ts';
import { DbUnavailableError } from '../src/db/resilience.ts';
import { createTestDb, type TestDb, testDrivers } from './support/db.ts';

const pooled = testDrivers.filter((driver) => driver !== 'pglite');

/** Holds the pool's one connection in a transaction until `release()`. */
async function holdTheConnection(database: Database) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let held!: () => void;
  const holding = new Promise<void>((resolve) => {
    held = resolve;
  });
  const done = database.db.transaction(async (tx) => {
    await tx.execute('select 1');
    held();
    await released;
  });
  await holding;
  return { release, done };
}

const select = (database: Database) =>
  database.run((db) => db.execute('select 1 as one'), { idempotent: true });

/** The error a statement was refused with (undefined if it ran). */
const refusal = (database: Database) =>
  select(database).then(
    () => undefined,
    (error: unknown) => error as DbUnavailableError,
  );

describe.skipIf(pooled.length === 0).each(pooled)('admission to the pool on %s', (driver) => {
  let t: TestDb | undefined;
  afterEach(async () => {
    await t?.drop();
    t = undefined;
  });

  it('a statement waits for the busy connection past the connect timeout, then runs', async () => {
    t = await createTestDb(driver, {
      extraEnv: { DB_POOL_MAX: '1', DB_CONNECT_TIMEOUT_MS: '1000', DB_QUEUE_TIMEOUT_MS: '30000' },
    });
    const hold = await holdTheConnection(t.database);
    const waiting = select(t.database);
    // Held past the connect timeout and every retry the resilience layer would make: before the
    // queue had its own bound, the waiting statement failed with "timeout exceeded when trying to
    // connect" after three of them.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(t.database.poolStats()?.waiting).toBe(1);
    hold.release();
    await hold.done;
    await expect(waiting).resolves.toMatchObject({ rows: [{ one: 1 }] });
    expect(t.database.breakerState()).toBe('closed');
  });

  it('a full queue refuses the next statements at once with 503, without opening the breaker', async () => {
    t = await createTestDb(driver, {
      extraEnv: { DB_POOL_MAX: '1', DB_QUEUE_MAX: '1', DB_QUEUE_TIMEOUT_MS: '30000' },
    });
    const hold = await holdTheConnection(t.database);
    const waiting = select(t.database);
    // More refusals than the breaker's threshold of consecutive failures (5).
    const refused = await Promise.all(Array.from({ length: 8 }, () => refusal(t!.database)));
    for (const error of refused) {
      expect(error).toBeInstanceOf(DbUnavailableError);
      expect(error?.mayHaveRun).toBe(false);
      expect(error?.retryAfterSeconds).toBe(1);
    }
    expect(t.database.breakerState()).toBe('closed');
    hold.release();
    await hold.done;
    await expect(waiting).resolves.toMatchObject({ rows: [{ one: 1 }] });
    await expect(select(t.database)).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });

  it('a statement that waited its whole time is refused with 503 and the connection serves the next', async () => {
    t = await createTestDb(driver, { extraEnv: { DB_POOL_MAX: '1', DB_QUEUE_TIMEOUT_MS: '200' } });
    const hold = await holdTheConnection(t.database);
    const waited = await Promise.all(Array.from({ length: 6 }, () => refusal(t!.database)));
    for (const error of waited) {
      expect(error).toBeInstanceOf(DbUnavailableError);
      expect(error?.message).toBe('The database did not answer in time; try again shortly');
    }
    expect(t.database.breakerState()).toBe('closed');
    hold.release();
    await hold.done;
    await expect(select(t.database)).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });
});
