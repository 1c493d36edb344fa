// Reminders (contract "Reminders", "Repeating tasks", `npm run worker`): a task's reminder is
// scheduled, moved or cancelled by the statement that changes the task, from REST, a chat tool and
// MCP alike, and at its instant the worker delivers it exactly once, however many workers run;
// late (flagged) when no worker ran at its time. Checked the way the other channels see it: the
// `reminder_deliveries` rows and the `taskchat_events` notifications (LISTEN), on the embedded
// PGlite (runners in this process, each with its own pool adapter) and on the Postgres server
// through `pg` (runners with their own pools, and real `npm run worker` processes).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { embeddedPglite } from '../src/jobs/embedded-pool.ts';
import { type JobRunner, startJobRunner } from '../src/jobs/runner.ts';
import { createLogger } from '../src/log.ts';
import { startServer } from '../src/server.ts';
import { createTaskRepository } from '../src/tasks/repository.ts';
import { type ChatHarness, listen, startChatApp } from './support/app.ts';
import { createServerDatabase, createTestDb, type TestDb, testConfig, testDrivers } from './support/db.ts';
import { openEventStream } from './support/event-stream.ts';
import { lastUserText } from './support/fake-openai.ts';
import { sleep, until } from './support/sleep.ts';

const WORKER_CLI = fileURLToPath(new URL('../src/jobs/worker-cli.ts', import.meta.url));
// An embedded PGlite takes seconds to start on a busy machine; a reminder test waits seconds too.
const TIMEOUT_MS = 120_000;
const quiet = createLogger('silent');

type Delivery = {
  id: string;
  user_id: string;
  task_id: number;
  remind_at: string;
  delivered_at: string;
  late: boolean;
  task: Record<string, unknown>;
};
type ReminderEvent = { type: string; userId: string; deliveryId: string };

/** An instant `ms` from now, as a client would send it. */
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const instant = (value: string) => new Date(value).getTime();

/** Follows `taskchat_events` as every instance does: pglite.listen, or LISTEN on a `pg` session. */
async function followEvents(db: TestDb): Promise<{ events: ReminderEvent[]; stop(): Promise<void> }> {
  const events: ReminderEvent[] = [];
  const take = (payload: string | undefined) => {
    const event = JSON.parse(payload ?? '{}') as ReminderEvent;
    if (event.type === 'reminder') events.push(event);
  };
  if (db.driver === 'pglite') {
    const pglite = embeddedPglite(db.database.db);
    const stop = await pglite.listen('taskchat_events', take);
    return { events, stop: () => stop() };
  }
  const client = new pg.Client({ connectionString: db.env.DATABASE_URL });
  await client.connect();
  client.on('notification', (message) => take(message.payload));
  await client.query('LISTEN taskchat_events');
  return { events, stop: () => client.end() };
}

const deliveriesOf = (db: TestDb, user: string) =>
  queryRows<Delivery>(
    db.database.db,
    sql`select id, user_id, task_id, remind_at::text, delivered_at::text, late, task
        from reminder_deliveries where user_id = ${user} order by task_id, remind_at`,
  );

const reminderJobsOf = (db: TestDb, user: string) =>
  queryRows<{ key: string; run_at: string }>(
    db.database.db,
    sql`select key, run_at::text from graphile_worker.jobs
        where task_identifier = 'reminder' and key like ${`reminder:%:${user}`}`,
  );

describe.each(testDrivers.filter((driver) => driver !== 'neon'))('reminders on %s', (driver) => {
  let h: ChatHarness;
  let follow: Awaited<ReturnType<typeof followEvents>>;
  let runners: JobRunner[] = [];

  beforeAll(async () => {
    h = await startChatApp(driver);
    // "remind <instant>": the model adds a task with that reminder through its tool.
    h.fake.setScript((req) => {
      const text = lastUserText(req);
      if (req.messages.at(-1)?.role === 'tool') return { text: 'Done.' };
      if (text.startsWith('remind ')) {
        return {
          toolCalls: [{ name: 'add_task', args: { title: 'water the plants', reminder: text.slice(7) } }],
        };
      }
      return { text: 'OK.' };
    });
    follow = await followEvents(h.db);
  }, TIMEOUT_MS);
  afterEach(async () => {
    await Promise.all(runners.map((runner) => runner.stop()));
    runners = [];
  });
  afterAll(async () => {
    await follow?.stop();
    await h?.close();
  });

  /** `n` runners, each with its own pool (on PGlite: its own adapter over the one database). */
  async function startRunners(n: number) {
    for (let i = 0; i < n; i++) {
      runners.push(await startJobRunner({ config: h.db.config, database: h.db.database, logger: quiet }));
    }
  }
  const rest = async (user: string, method: string, path: string, body?: unknown) => {
    const res = await h.app.request(path, {
      method,
      headers: { 'x-user-id': user, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(res.status, `${method} ${path}`).toBeLessThan(300);
    return res.status === 204 ? undefined : ((await res.json()) as Record<string, any>);
  };

  it(
    'delivers each reminder once at its instant with three runners, the task as GET /tasks/:id shows it',
    async () => {
      const user = `three-${driver}`;
      await startRunners(3);
      const at = inMs(1500);
      const added = [];
      for (let i = 1; i <= 6; i++)
        added.push(await rest(user, 'POST', '/tasks', { title: `call ${i}`, reminder: at }));

      const rows = await until('six deliveries', async () => {
        const found = await deliveriesOf(h.db, user);
        return found.length >= 6 ? found : undefined;
      });
      // Time for a second delivery of any of them, were there one to make.
      await sleep(1500);
      expect(await deliveriesOf(h.db, user)).toEqual(rows);
      expect(rows.map((row) => row.task_id)).toEqual(added.map((task) => task?.id));
      for (const row of rows) {
        expect(instant(row.remind_at)).toBe(instant(at));
        expect(instant(row.delivered_at)).toBeGreaterThanOrEqual(instant(at));
        expect(row.late).toBe(false);
        expect(row.task).toEqual(await rest(user, 'GET', `/tasks/${row.task_id}`));
      }
      const mine = follow.events.filter((event) => event.userId === user);
      expect(mine.map((event) => event.deliveryId).sort()).toEqual(rows.map((row) => row.id).sort());
      expect(await reminderJobsOf(h.db, user)).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it(
    'a task deleted, completed or with its reminder cleared before its time gets none; a moved one goes out at its new time only',
    async () => {
      const user = `changed-${driver}`;
      await startRunners(1);
      const at = inMs(3000);
      const [deleted, completed, cleared, moved] = await Promise.all(
        ['deleted', 'completed', 'cleared', 'moved'].map((title) =>
          rest(user, 'POST', '/tasks', { title, reminder: at }),
        ),
      );
      const later = inMs(4500);
      await rest(user, 'DELETE', `/tasks/${deleted?.id}`);
      await rest(user, 'PATCH', `/tasks/${completed?.id}`, { completed: true });
      await rest(user, 'PATCH', `/tasks/${cleared?.id}`, { reminder: null });
      await rest(user, 'PATCH', `/tasks/${moved?.id}`, { reminder: later });
      expect((await reminderJobsOf(h.db, user)).map((job) => job.key)).toEqual([
        `reminder:${moved?.id}:${user}`,
      ]);

      const [row] = await until('the moved reminder', async () => {
        const found = await deliveriesOf(h.db, user);
        return found.length > 0 ? found : undefined;
      });
      await sleep(1000);
      const rows = await deliveriesOf(h.db, user);
      expect(rows).toHaveLength(1);
      expect(row).toMatchObject({ task_id: moved?.id, late: false });
      expect(instant(row!.remind_at)).toBe(instant(later));
      expect(instant(row!.delivered_at)).toBeGreaterThanOrEqual(instant(later));
      expect(follow.events.filter((event) => event.userId === user)).toEqual([
        { type: 'reminder', userId: user, deliveryId: row!.id },
      ]);
    },
    TIMEOUT_MS,
  );

  it(
    "reaches the user's open GET /events stream once, as the task with late: false, and no one else's",
    async () => {
      const user = `events-${driver}`;
      const server = await listen(h.app.fetch);
      try {
        const mine = await openEventStream(`${server.url}/events`, { 'x-user-id': user });
        const theirs = await openEventStream(`${server.url}/events`, { 'x-user-id': `${user}-other` });
        await startRunners(2);
        const task = await rest(user, 'POST', '/tasks', { title: 'take the bins out', reminder: inMs(1500) });
        const event = await mine.waitFor((e) => e.event === 'reminder', 15_000);
        expect(JSON.parse(event.data)).toEqual({
          task: await rest(user, 'GET', `/tasks/${task?.id}`),
          late: false,
        });
        // Time for a second one, were there one to send.
        await sleep(1500);
        expect(mine.events.filter((e) => e.event === 'reminder')).toHaveLength(1);
        expect(theirs.events).toEqual([]);
        mine.close();
        theirs.close();
      } finally {
        await server.close();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'a reminder set through a chat tool (the model) and through MCP is scheduled and delivered too',
    async () => {
      const user = `sources-${driver}`;
      await startRunners(1);
      // Each job is looked at right after the call that made it: a reminder a few seconds ahead may
      // be delivered (its job gone) before a slow machine has made the next call.
      const jobAt = async (at: string) =>
        (await reminderJobsOf(h.db, user)).some((job) => instant(job.run_at) === instant(at));
      const byChat = inMs(4000);
      const answer = await h.say(user, `remind ${byChat}`);
      expect(answer.toolCalls.map((call) => call.name)).toEqual(['add_task']);
      expect(await jobAt(byChat)).toBe(true);

      const listener = await listen(h.app.fetch);
      const client = new Client({ name: 'taskchat-test', version: '1.0.0' });
      try {
        await client.connect(
          new StreamableHTTPClientTransport(new URL('/mcp', listener.url), {
            requestInit: { headers: { 'x-user-id': user } },
          }),
        );
        const byMcp = inMs(4000);
        const result = await client.callTool({
          name: 'add_task',
          arguments: { title: 'by mcp', reminder: byMcp },
        });
        expect(result.isError).toBeFalsy();
        expect(await jobAt(byMcp)).toBe(true);

        const rows = await until('both deliveries', async () => {
          const found = await deliveriesOf(h.db, user);
          return found.length >= 2 ? found : undefined;
        });
        expect(rows.map((row) => [row.task.title, instant(row.remind_at), row.late])).toEqual([
          ['water the plants', instant(byChat), false],
          ['by mcp', instant(byMcp), false],
        ]);
      } finally {
        await client.close();
        await listener.close();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'completing a repeating task moves its reminder with the due date, and the next one is delivered',
    async () => {
      const user = `repeat-${driver}`;
      // Set up while no worker runs: the first occurrence's reminder is a day old, and completing
      // the task moves it to a moment from now (the next day's occurrence).
      const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      const next = new Date(Date.now() + 1500);
      const first = new Date(next.getTime() - 86_400_000).toISOString();
      const task = await rest(user, 'POST', '/tasks', {
        title: 'water the plants',
        dueDate: yesterday,
        repeat: 'FREQ=DAILY',
        reminder: first,
      });
      const completed = await rest(user, 'PATCH', `/tasks/${task?.id}`, { completed: true });
      expect(completed).toMatchObject({ completed: false, reminder: next.toISOString() });
      expect((await reminderJobsOf(h.db, user)).map((job) => instant(job.run_at))).toEqual([next.getTime()]);

      await startRunners(1);
      const [row] = await until('the next occurrence', async () => {
        const found = await deliveriesOf(h.db, user);
        return found.length > 0 ? found : undefined;
      });
      await sleep(500);
      expect(await deliveriesOf(h.db, user)).toHaveLength(1);
      expect(instant(row!.remind_at)).toBe(next.getTime());
      expect(row).toMatchObject({ late: false, task: { dueDate: completed?.dueDate, completed: false } });
    },
    TIMEOUT_MS,
  );

  it(
    'a reminder whose time came while no worker ran is delivered once, late, when one starts',
    async () => {
      const user = `late-${driver}`;
      const at = inMs(200);
      await rest(user, 'POST', '/tasks', { title: 'missed', reminder: at });
      // More than the 5 s past which a delivery counts as late, with no runner anywhere.
      await sleep(instant(at) + 5500 - Date.now());
      expect(await deliveriesOf(h.db, user)).toEqual([]);

      await startRunners(2);
      const [row] = await until('the late delivery', async () => {
        const found = await deliveriesOf(h.db, user);
        return found.length > 0 ? found : undefined;
      });
      await sleep(500);
      expect(await deliveriesOf(h.db, user)).toHaveLength(1);
      expect(row).toMatchObject({ late: true, task: { title: 'missed' } });
      expect(follow.events.filter((event) => event.userId === user)).toHaveLength(1);
    },
    TIMEOUT_MS,
  );
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('`npm run worker` processes', () => {
  let t: TestDb;
  let follow: Awaited<ReturnType<typeof followEvents>>;
  const workers: { proc: ChildProcess; output(): string; exited: Promise<number | null> }[] = [];

  beforeAll(async () => {
    t = await createTestDb('pg');
    follow = await followEvents(t);
  }, TIMEOUT_MS);
  // No worker outlives its test (one left running would deliver the next test's reminders).
  afterEach(async () => {
    for (const worker of workers) if (worker.proc.exitCode === null) worker.proc.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exited));
    workers.length = 0;
  });
  afterAll(async () => {
    await follow?.stop();
    await t?.drop();
  });

  /** `node src/jobs/worker-cli.ts` (what `npm run worker` runs), started and working. */
  async function startWorker() {
    const proc = spawn(process.execPath, [WORKER_CLI], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: t.env.DATABASE_URL!, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    proc.stdout?.on('data', (chunk) => (text += chunk));
    proc.stderr?.on('data', (chunk) => (text += chunk));
    const worker = {
      proc,
      output: () => text,
      exited: new Promise<number | null>((resolve) => proc.once('exit', resolve)),
    };
    workers.push(worker);
    await until('the worker to start', async () =>
      text.includes('"msg":"worker started"') ? true : undefined,
    );
    return worker;
  }
  const addTask = (user: string, title: string, reminder: string) =>
    createTaskRepository(t.database).add(user, { title, reminder }, { source: 'rest' });

  it(
    'three workers deliver each reminder once; SIGTERM stops each cleanly',
    async () => {
      const started = await Promise.all([startWorker(), startWorker(), startWorker()]);
      const user = 'processes';
      const at = inMs(2000);
      for (let i = 0; i < 20; i++) await addTask(user, `task ${i}`, at);

      const rows = await until('twenty deliveries', async () => {
        const found = await deliveriesOf(t, user);
        return found.length >= 20 ? found : undefined;
      });
      await sleep(1500);
      expect(await deliveriesOf(t, user)).toEqual(rows);
      expect(new Set(rows.map((row) => row.task_id)).size).toBe(20);
      expect(rows.every((row) => !row.late && instant(row.remind_at) === instant(at))).toBe(true);
      expect(follow.events.filter((event) => event.userId === user)).toHaveLength(20);

      for (const worker of started) worker.proc.kill('SIGTERM');
      expect(await Promise.all(started.map((worker) => worker.exited))).toEqual([0, 0, 0]);
      for (const worker of started) expect(worker.output()).toContain('"msg":"stopped"');
    },
    TIMEOUT_MS,
  );

  it(
    'a reminder due while every worker was down is delivered once, late, by the first to start',
    async () => {
      const user = 'all-down';
      const at = inMs(200);
      await addTask(user, 'missed', at);
      await sleep(instant(at) + 5500 - Date.now());
      expect(await deliveriesOf(t, user)).toEqual([]);

      const worker = await startWorker();
      const [row] = await until('the late delivery', async () => {
        const found = await deliveriesOf(t, user);
        return found.length > 0 ? found : undefined;
      });
      await sleep(500);
      expect(await deliveriesOf(t, user)).toHaveLength(1);
      expect(row).toMatchObject({
        late: true,
        task: { title: 'missed', reminder: new Date(at).toISOString() },
      });
      worker.proc.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    },
    TIMEOUT_MS,
  );
});

describe('the worker of `npm start` (startServer)', () => {
  const onServer = testDrivers.includes('pg');
  let where: { env: Record<string, string>; drop(): Promise<void> } | undefined;
  afterAll(async () => {
    await where?.drop();
  });

  /** A server on one durable database shared by both servers: the Postgres server's, else a PGlite directory. */
  async function serve(env: Record<string, string>) {
    if (!where) {
      if (onServer) {
        const db = await createServerDatabase();
        where = { env: { DATABASE_URL: db.url }, drop: db.drop };
      } else {
        const dir = await mkdtemp(join(tmpdir(), 'taskchat-worker-'));
        where = {
          env: { DATABASE_URL: `pglite://${dir}` },
          drop: () => rm(dir, { recursive: true, force: true }),
        };
      }
    }
    return startServer(testConfig({ ...where.env, PORT: '0', ...env }), quiet);
  }
  const health = async (url: string) =>
    (await (await fetch(`${url}/health`)).json()) as Record<string, unknown>;
  const post = (url: string, user: string, body: unknown) =>
    fetch(`${url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': user },
      body: JSON.stringify(body),
    });

  it(
    'runs the worker by default and says so in /health, and its drain ends it; WORKER=false runs none',
    async () => {
      const off = await serve({ WORKER: 'false' });
      try {
        expect(await health(off.url)).not.toHaveProperty('worker');
        expect((await post(off.url, 'no-worker', { title: 'unseen', reminder: inMs(300) })).status).toBe(201);
        await sleep(2000);
        expect(await queryRows(off.database.db, sql`select id from reminder_deliveries`)).toEqual([]);
      } finally {
        await off.close();
      }

      const on = await serve({});
      let closed = false;
      try {
        expect(await health(on.url)).toMatchObject({ worker: 'running' });
        // The reminder the WORKER=false server scheduled waited in the database for a worker.
        const rows = await until('the waiting reminder', async () => {
          const found = await queryRows<{ user_id: string }>(
            on.database.db,
            sql`select user_id from reminder_deliveries`,
          );
          return found.length > 0 ? found : undefined;
        });
        expect(rows).toEqual([{ user_id: 'no-worker' }]);
        await on.close();
        closed = true;
      } finally {
        if (!closed) await on.close();
      }
      if (onServer) {
        // Nothing of the server is left connected: the runner's own pool ended with the drain.
        const client = new pg.Client({ connectionString: where!.env.DATABASE_URL });
        await client.connect();
        try {
          const { rows } = await client.query(
            'select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
          );
          expect(rows[0].n).toBe(0);
        } finally {
          await client.end();
        }
      }
    },
    TIMEOUT_MS,
  );
});
