import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyDbError, DbUnavailableError, Resilience } from '../src/db/resilience.ts';
import { tasks } from '../src/db/schema.ts';
import { createTestDb, type TestDb } from './support/db.ts';

// A port nothing listens on: connecting fails at once with ECONNREFUSED, a real driver error.
const CLOSED = 'postgres://postgres:hunter2@127.0.0.1:1/none';

async function refusedQuery(): Promise<never> {
  const client = new pg.Client({ connectionString: CLOSED, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
  } finally {
    await client.end().catch(() => {});
  }
  throw new Error('unreachable');
}

const quick = { baseDelayMs: 1, maxDelayMs: 2 };

describe('transient database errors', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb('pglite');
  });
  afterAll(() => t?.drop());

  it('classifies a refused connection as transient and a unique violation as not', async () => {
    const refused = await refusedQuery().catch((e) => e);
    expect(classifyDbError(refused)).toBe('connect');
    await t.database.db.insert(tasks).values({ id: 1, userId: 'u', title: 'a' });
    const duplicate = await t.database.db
      .execute('insert into tasks (id, user_id, title) values (1, $$u$$, $$b$$)')
      .catch((e) => e);
    expect(duplicate).toBeInstanceOf(Error);
    expect(classifyDbError(duplicate)).toBe('other');
  });

  it('retries a refused connection and succeeds when the database answers', async () => {
    const resilience = new Resilience(quick);
    let attempts = 0;
    const value = await resilience.run(async () => {
      attempts++;
      if (attempts === 1) await refusedQuery();
      return t.database.ping(1000);
    });
    expect(value).toBe(true);
    expect(attempts).toBe(2);
  });

  it('gives up after its attempts with DbUnavailableError', async () => {
    const resilience = new Resilience({ ...quick, attempts: 3 });
    let attempts = 0;
    const error = await resilience
      .run(async () => {
        attempts++;
        return refusedQuery();
      })
      .catch((e) => e);
    expect(error).toBeInstanceOf(DbUnavailableError);
    expect(attempts).toBe(3);
  });

  it('does not retry a unique violation, and passes it on unchanged', async () => {
    const resilience = new Resilience(quick);
    let attempts = 0;
    const error = await resilience
      .run(async () => {
        attempts++;
        return t.database.db.execute(
          'insert into tasks (id, user_id, title) overriding system value values (1, $$u$$, $$c$$)',
        );
      })
      .catch((e) => e);
    expect(attempts).toBe(1);
    expect(error).not.toBeInstanceOf(DbUnavailableError);
    expect(classifyDbError(error)).toBe('other');
  });

  it('opens the breaker after repeated failures, fails fast, then closes after a successful trial', async () => {
    let now = 0;
    const resilience = new Resilience({
      ...quick,
      attempts: 1,
      failureThreshold: 2,
      openMs: 5000,
      now: () => now,
    });
    let calls = 0;
    const failing = async () => {
      calls++;
      return refusedQuery();
    };
    await expect(resilience.run(failing)).rejects.toBeInstanceOf(DbUnavailableError);
    await expect(resilience.run(failing)).rejects.toBeInstanceOf(DbUnavailableError);
    expect(resilience.state).toBe('open');

    const fast = await resilience.run(failing).catch((e) => e);
    expect(fast).toBeInstanceOf(DbUnavailableError);
    expect(fast.retryAfterSeconds).toBe(5);
    expect(calls).toBe(2); // the open breaker did not call the database

    now = 5000;
    expect(resilience.state).toBe('half-open');
    // A failed trial re-opens it at once.
    await expect(resilience.run(failing)).rejects.toBeInstanceOf(DbUnavailableError);
    expect(resilience.state).toBe('open');

    now = 10_000;
    expect(await resilience.run(() => t.database.ping(1000))).toBe(true);
    expect(resilience.state).toBe('closed');
  });
});
