// The platform's probes through HTTP: /livez (the process serves; never the database), /readyz
// (the database answers in time and the server is not draining) and /health (the same, with the
// database's answer time, the breaker and the pool). The outage tests put our TCP fault proxy
// between the app and the real Postgres and cut, stall or slow it while the app runs.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.ts';
import { createDatabase, type Database } from '../src/db/client.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { Drain } from '../src/http/drain.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createServerDatabase, createTestDb, type TestDb, testConfig } from './support/db.ts';
import { heldScript, startFakeOpenAI } from './support/fake-openai.ts';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy.ts';
import { startMain } from './support/process.ts';
import { sleep } from './support/sleep.ts';

async function probe(app: TestApp, path: string) {
  const res = await app.request(path);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any };
}

/** Polls until `check` holds; fails with `what` after 15 s (a deadline for failing, not a speed assertion). */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

describe('probes on embedded Postgres', () => {
  let db: TestDb;
  let statements = 0;
  let app: TestApp;
  beforeAll(async () => {
    db = await createTestDb('pglite', { onStatement: () => statements++ });
    app = createTestApp(db);
  });
  afterAll(() => db?.drop());

  it('answers /livez without a statement, /readyz and /health with one', async () => {
    const before = statements;
    const live = await probe(app, '/livez');
    expect(live).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(statements).toBe(before);

    expect(await probe(app, '/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect(statements).toBe(before + 1);

    const health = await probe(app, '/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      db: 'ok',
      dbLatencyMs: expect.any(Number),
      breaker: 'closed',
      draining: false,
    });
    expect(['ok', 'degraded']).toContain(health.body.status);
    expect(health.body).not.toHaveProperty('pool'); // PGlite has none
    expect(statements).toBe(before + 2);
  });

  it('says when the offline command reader answers chat, and never names a real model', async () => {
    const withKey = createTestApp(db, { env: { OPENAI_API_KEY: 'test-key', CHAT_MODEL: 'gpt-5-mini' } });
    expect((await probe(withKey, '/health')).body).not.toHaveProperty('model');
    const offline = createTestApp(db, { env: { CHAT_MODEL: 'offline' } });
    expect((await probe(offline, '/health')).body).toMatchObject({ model: 'offline' });
  });

  it('needs no credentials, whatever the auth mode', async () => {
    const jwt = createTestApp(db, { env: { AUTH_JWT_SECRET: 'a-secret-of-at-least-32-characters!!' } });
    for (const path of ['/livez', '/readyz', '/health']) expect((await jwt.request(path)).status).toBe(200);
  });

  it('while draining: /readyz and /health 503 with Retry-After, /livez still 200, the rest 503 draining', async () => {
    const drain = new Drain();
    const draining = createTestApp(db, { drain });
    expect((await probe(draining, '/readyz')).status).toBe(200);
    drain.begin();

    const ready = await probe(draining, '/readyz');
    expect(ready).toMatchObject({ status: 503, body: { status: 'not_ready', reason: 'draining' } });
    expect(ready.retryAfter).toMatch(/^\d+$/);
    const health = await probe(draining, '/health');
    // The database itself is fine, and /health says so; the server is what is unavailable.
    expect(health).toMatchObject({
      status: 503,
      body: { status: 'unavailable', db: 'ok', draining: true, breaker: 'closed' },
    });
    expect(health.retryAfter).toMatch(/^\d+$/);
    expect(await probe(draining, '/livez')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const tasks = await draining.request('/tasks', { headers: { 'x-user-id': 'alice' } });
    expect(tasks.status).toBe(503);
    expect(((await tasks.json()) as any).error.code).toBe('draining');
  });
});

/** GET on a connection of its own: a draining server closes kept-alive ones under a pooling client. */
function getFresh(url: string): Promise<{ status: number; retryAfter: string | undefined; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: res.headers['retry-after'] as string | undefined,
          body: JSON.parse(text),
        }),
      );
    });
    req.on('error', reject);
  });
}

describe('probes of `npm start` after SIGTERM', () => {
  it('turns /readyz and /health 503 while a turn finishes, keeps /livez 200, then exits 0', async () => {
    const fake = await startFakeOpenAI();
    const held = heldScript({ text: 'done' });
    fake.setScript(held.script);
    const child = startMain({
      DATABASE_URL: 'pglite://memory',
      OPENAI_BASE_URL: fake.baseURL,
      OPENAI_API_KEY: 'test-key',
      CHAT_MODEL: 'fake-model',
    });
    try {
      const url = await child.listening;
      expect((await getFresh(`${url}/readyz`)).status).toBe(200);
      const turn = fetch(`${url}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-id': 'alice' },
        body: JSON.stringify({ message: 'hello' }),
      });
      await held.called;
      child.proc.kill('SIGTERM');
      // The drain has begun once the server refuses new work; the probes then say why.
      await until('the server drains', async () => (await getFresh(`${url}/tasks`)).status === 503);
      const ready = await getFresh(`${url}/readyz`);
      expect(ready).toMatchObject({ status: 503, body: { status: 'not_ready', reason: 'draining' } });
      expect(ready.retryAfter).toMatch(/^\d+$/);
      expect(await getFresh(`${url}/health`)).toMatchObject({
        status: 503,
        body: { status: 'unavailable', draining: true },
      });
      expect(await getFresh(`${url}/livez`)).toMatchObject({ status: 200, body: { status: 'ok' } });
      held.release();
      expect((await turn).status).toBe(200);
      expect(await child.exited).toBe(0);
    } finally {
      child.proc.kill('SIGKILL');
      await fake.close();
    }
  });
});

const serverUrl = process.env.TEST_DATABASE_URL;

describe.skipIf(!serverUrl)('probes through a Postgres outage (pg behind the fault proxy)', () => {
  let proxy: FaultProxy;
  let server: { url: string; drop(): Promise<void> };
  let config: Config;
  let database: Database;
  let app: TestApp;
  beforeAll(async () => {
    server = await createServerDatabase();
    const target = new URL(serverUrl as string);
    proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) });
    config = testConfig({
      DATABASE_URL: proxy.urlFor(server.url),
      DB_DRIVER: 'pg',
      DB_CONNECT_TIMEOUT_MS: '1000',
      HEALTH_DEGRADED_MS: '100',
    });
    database = await createDatabase(config.db, { resilience: { baseDelayMs: 1, maxDelayMs: 2 } });
    await migrateDatabase(config.db, database);
    app = createTestApp({ config, database });
  });
  afterAll(async () => {
    proxy?.heal();
    await database?.close();
    await proxy?.close();
    await server?.drop();
  });

  it('is ready with pool figures while the database answers', async () => {
    expect((await probe(app, '/readyz')).status).toBe(200);
    const health = await probe(app, '/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      db: 'ok',
      breaker: 'closed',
      pool: { total: expect.any(Number), idle: expect.any(Number), waiting: 0 },
    });
  });

  it('says degraded when the database answers slower than HEALTH_DEGRADED_MS', async () => {
    proxy.latency(300); // every round trip now costs at least 300 ms, over the 100 ms set above
    try {
      const health = await probe(app, '/health');
      expect(health).toMatchObject({ status: 200, body: { status: 'degraded', db: 'ok' } });
      expect(health.body.dbLatencyMs).toBeGreaterThanOrEqual(300);
      expect((await probe(app, '/readyz')).status).toBe(200); // slow is still ready
    } finally {
      proxy.latency(0);
    }
  });

  it('turns /readyz and /health 503 when the database is cut off, keeps /livez 200, and recovers', async () => {
    proxy.cut();
    const ready = await probe(app, '/readyz');
    expect(ready).toMatchObject({ status: 503, body: { status: 'not_ready', reason: 'db_unavailable' } });
    expect(ready.retryAfter).toMatch(/^\d+$/);
    expect(await probe(app, '/health')).toMatchObject({
      status: 503,
      body: { status: 'unavailable', db: 'unavailable', draining: false },
    });
    expect(await probe(app, '/livez')).toMatchObject({ status: 200, body: { status: 'ok' } });

    proxy.heal();
    await until('/readyz answers 200 again', async () => (await probe(app, '/readyz')).status === 200);
    expect((await probe(app, '/health')).body.db).toBe('ok');
  });

  it('is not ready while the database does not answer in time (a stalled network), live all along', async () => {
    proxy.stall();
    try {
      const [ready, live] = await Promise.all([probe(app, '/readyz'), probe(app, '/livez')]);
      expect(ready).toMatchObject({ status: 503, body: { reason: 'db_unavailable' } });
      expect(live.status).toBe(200);
    } finally {
      proxy.heal();
    }
    await until('/readyz answers 200 again', async () => (await probe(app, '/readyz')).status === 200);
  });
});
