import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../src/db/client.ts';
import { createTestApp } from './support/app.ts';
import { createServerDatabase, testConfig } from './support/db.ts';
import { startMain } from './support/process.ts';

const run = promisify(execFile);
const MIGRATE_CLI = fileURLToPath(new URL('../src/db/migrate-cli.ts', import.meta.url));
const CLOSED = 'postgres://postgres:hunter2secret@127.0.0.1:1/none';
const serverTests = process.env.TEST_DATABASE_URL ? describe : describe.skip;

describe('npm start', () => {
  it('with no environment serves /health on embedded Postgres and stops cleanly on SIGTERM', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'taskchat-'));
    const child = startMain({}, cwd);
    try {
      const url = await child.listening;
      const res = await fetch(`${url}/health`);
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({ db: 'ok', dbLatencyMs: expect.any(Number), breaker: 'closed' });
      // `degraded` only says the first query was slower than HEALTH_DEGRADED_MS on a busy machine.
      expect(['ok', 'degraded']).toContain(body.status);
      child.proc.kill('SIGTERM');
      expect(await child.exited).toBe(0);
      expect(child.output()).toContain('AUTH_MODE=dev');
    } finally {
      child.proc.kill('SIGKILL');
      await rm(cwd, { recursive: true, force: true });
    }
  });

  it('warns at a production start of PUBLIC_URL unset, the offline model and an open /metrics; not once they are set', async () => {
    const production = {
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: 's'.repeat(32),
      DATABASE_URL: 'pglite://memory',
    };
    const configured = {
      ...production,
      PUBLIC_URL: 'https://tasks.example.com',
      OPENAI_API_KEY: 'sk-test-not-used',
      METRICS_TOKEN: 'm'.repeat(16),
    };
    const warnings = ['PUBLIC_URL is not set', 'CHAT_MODEL is offline', 'METRICS_TOKEN is not set'];
    for (const [env, warned] of [
      [production, true],
      [configured, false],
    ] as const) {
      const child = startMain(env);
      try {
        await child.listening;
        child.proc.kill('SIGTERM');
        expect(await child.exited).toBe(0);
        const said = warnings.filter((warning) => child.output().includes(warning));
        expect(said, JSON.stringify(env)).toEqual(warned ? warnings : []);
      } finally {
        child.proc.kill('SIGKILL');
      }
    }
    // Two starts of the real entry point, which a busy machine makes slow.
  }, 120_000);

  it('stops with one clear line when a setting is invalid', async () => {
    const child = startMain({ PORT: 'eighty' });
    expect(await child.exited).toBe(1);
    expect(child.output().trim()).toBe('taskchat: PORT must be a whole number');
  });

  it('fails start-up with one line, and no password, when the database port is closed', async () => {
    const child = startMain({ DATABASE_URL: CLOSED, DB_CONNECT_TIMEOUT_MS: '1000' });
    expect(await child.exited).toBe(1);
    const lines = child.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('start-up failed');
    expect(lines[0]).toContain('ECONNREFUSED');
    expect(child.output()).not.toContain('hunter2secret');
  });

  serverTests('npm run db:migrate', () => {
    it('applies the migrations through DATABASE_URL_UNPOOLED and exits', async () => {
      const db = await createServerDatabase();
      try {
        // The pooled URL points nowhere: only the unpooled one may be used.
        const { stdout } = await run(process.execPath, [MIGRATE_CLI], {
          env: { PATH: process.env.PATH ?? '', DATABASE_URL: CLOSED, DATABASE_URL_UNPOOLED: db.url },
        });
        expect(stdout).toContain('migrations applied (pg');
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        const { rows } = await client.query(
          "select count(*)::int as n from information_schema.tables where table_schema = 'public' and table_name in ('tasks', 'conversations', 'messages', 'turns')",
        );
        await client.end();
        expect(rows[0].n).toBe(4);
      } finally {
        await db.drop();
      }
    });
  });

  serverTests('with DATABASE_URL on a fresh server database', () => {
    it('migrates it at start-up and serves health 200 with pool figures', async () => {
      const db = await createServerDatabase();
      const child = startMain({ DATABASE_URL: db.url });
      try {
        const url = await child.listening;
        const res = await fetch(`${url}/health`);
        expect(res.status).toBe(200);
        const body = await res.json();
        expect(body).toMatchObject({
          status: 'ok',
          db: 'ok',
          pool: { total: expect.any(Number), idle: expect.any(Number), waiting: 0 },
        });
        child.proc.kill('SIGTERM');
        expect(await child.exited).toBe(0);
      } finally {
        child.proc.kill('SIGKILL');
        await db.drop();
      }
    });
  });
});

describe('GET /health', () => {
  it('answers 503 with Retry-After when the database cannot be reached, naming no password', async () => {
    const config = testConfig({ DATABASE_URL: CLOSED, DB_CONNECT_TIMEOUT_MS: '500' });
    const database = await createDatabase(config.db);
    try {
      const app = createTestApp({ config, database });
      const res = await app.request('/health');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBeTruthy();
      const text = await res.text();
      expect(JSON.parse(text)).toMatchObject({ status: 'unavailable', db: 'unavailable' });
      expect(text).not.toContain('hunter2secret');
    } finally {
      await database.close();
    }
  });
});

describe('database outage', () => {
  it('answers chat and task routes with 503 db_unavailable and Retry-After, then fails fast', async () => {
    const config = testConfig({ DATABASE_URL: CLOSED, DB_CONNECT_TIMEOUT_MS: '500' });
    const database = await createDatabase(config.db, { resilience: { baseDelayMs: 1, maxDelayMs: 2 } });
    try {
      const app = createTestApp({ config, database });
      const headers = { 'content-type': 'application/json', 'x-user-id': 'alice' };
      for (let i = 0; i < 5; i++) {
        const res = await app.request('/chat', {
          method: 'POST',
          headers,
          body: JSON.stringify({ message: 'hi' }),
        });
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        const text = await res.text();
        expect(JSON.parse(text).error.code).toBe('db_unavailable');
        expect(text).not.toContain('hunter2secret');
      }
      // The breaker is open now: no connection is tried, and Retry-After is the time until the
      // breaker's next trial (5 s) rather than the 1 s of a single failed attempt.
      const tasks = await app.request('/tasks', { headers });
      expect(tasks.status).toBe(503);
      expect(tasks.headers.get('retry-after')).toBe('5');
    } finally {
      await database.close();
    }
  });
});

describe('errors', () => {
  it('unknown routes answer 404 in the contract shape, other requests need a user', async () => {
    const config = testConfig();
    const database = await createDatabase(config.db);
    try {
      const app = createTestApp({ config, database });
      const res = await app.request('/nope', { headers: { 'x-user-id': 'alice' } });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'not_found', message: expect.any(String) } });
      const anonymous = await app.request('/tasks');
      expect(anonymous.status).toBe(401);
      expect((await anonymous.json()).error.code).toBe('unauthorized');
    } finally {
      await database.close();
    }
  });
});
