// `npm run bench:reminders`: the background worker under a burst. 10,000 reminders fall due in the
// same minute; 3 `npm run worker` processes (src/jobs/worker-cli.ts, as deployed) deliver them. On a
// database of its own on the Postgres server (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the
// local one). Two shapes of the same minute:
//   burst:  all 10,000 at one instant (everyone's "remind me at 9:00"): how fast the workers drain
//           a backlog, i.e. reminders delivered per second, and the lag that backlog makes;
//   spread: 10,000 spread evenly over the minute (about 167 a second): whether the workers keep up.
// Lag = delivered_at - remind_at, read from reminder_deliveries (the database's clock on both).
// BENCH_REMINDERS (default 10000) and BENCH_SHAPES (default "burst,spread") change the run.
import { type ChildProcess, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { createServerDatabase, dropServerDatabases } from './databases.ts';

const REMINDERS = Number(process.env.BENCH_REMINDERS ?? 10_000);
const SHAPES = (process.env.BENCH_SHAPES ?? 'burst,spread').split(',') as ('burst' | 'spread')[];
const WORKERS = 3;
const USERS = 100;
const LEAD_SECONDS = Number(process.env.BENCH_LEAD_SECONDS ?? 60);
const WORKER_CLI = fileURLToPath(new URL('../src/jobs/worker-cli.ts', import.meta.url));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function startWorker(url: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [WORKER_CLI], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: url, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let text = '';
    proc.stdout?.on('data', (chunk) => {
      text += chunk;
      if (text.includes('"msg":"worker started"')) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
  });
}

type Figures = {
  /** Writing the tasks, the trigger's add_job included, per task (100 tasks per statement). */
  insertMsPerTask: number;
  delivered: number;
  late: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  wallSeconds: number;
};

async function run(shape: 'burst' | 'spread', url: string, workers: ChildProcess[]): Promise<Figures> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('truncate reminder_deliveries, tasks, task_counters');
    // Far enough ahead that all the tasks are in (the trigger queues one job per task) before the
    // first is due, even on a busy machine; checked below.
    const { rows } = await client.query<{ start: Date }>(
      `select date_trunc('second', now()) + interval '${LEAD_SECONDS} seconds' as start`,
    );
    const insertStart = Date.now();
    const start = rows[0]!.start;
    const spreadSeconds = shape === 'burst' ? 0 : 60;
    // One statement per user's share, as the app would have written them one by one: the trigger
    // on tasks (migration 0010) queues each reminder's job.
    const perUser = Math.ceil(REMINDERS / USERS);
    for (let u = 0; u < USERS; u++) {
      const count = Math.min(perUser, REMINDERS - u * perUser);
      if (count <= 0) break;
      await client.query(
        `insert into tasks (user_id, id, title, reminder)
         select $1, n, 'reminder ' || n,
                $2::timestamptz + make_interval(secs => $3::float8 * ((n - 1) * $5 + $4) / $6)
         from generate_series(1, $7::int) as n`,
        [`bench-${u}`, start, spreadSeconds, u, USERS, REMINDERS, count],
      );
    }
    const insertMs = Date.now() - insertStart;
    const queued = await client.query<{ n: string; early: boolean }>(
      `select count(*) as n, clock_timestamp() < $1::timestamptz as early
       from graphile_worker.jobs where task_identifier = 'reminder'`,
      [start],
    );
    if (!queued.rows[0]!.early) throw new Error(`the tasks took ${insertMs} ms to write: raise LEAD_SECONDS`);
    if (Number(queued.rows[0]!.n) !== REMINDERS) throw new Error(`queued ${queued.rows[0]!.n} jobs`);
    const wallStart = Date.now();
    const deadline = start.getTime() + spreadSeconds * 1000 + 300_000;
    for (;;) {
      const done = await client.query<{ n: string }>('select count(*) as n from reminder_deliveries');
      if (Number(done.rows[0]!.n) >= REMINDERS) break;
      if (Date.now() > deadline) throw new Error(`only ${done.rows[0]!.n} delivered after 5 minutes`);
      if (workers.some((worker) => worker.exitCode !== null)) throw new Error('a worker exited');
      await sleep(250);
    }
    const wallSeconds = (Date.now() - Math.max(wallStart, start.getTime())) / 1000;
    const result = await client.query<Record<string, string>>(
      `select count(*) as delivered, count(*) filter (where late) as late,
              extract(epoch from max(delivered_at) - min(remind_at)) as span,
              extract(epoch from percentile_cont(0.5) within group (order by delivered_at - remind_at)) as p50,
              extract(epoch from percentile_cont(0.99) within group (order by delivered_at - remind_at)) as p99,
              extract(epoch from max(delivered_at - remind_at)) as max
       from reminder_deliveries`,
    );
    const row = result.rows[0]!;
    return {
      insertMsPerTask: insertMs / REMINDERS,
      delivered: Number(row.delivered),
      late: Number(row.late),
      perSecond: Number(row.delivered) / Number(row.span),
      p50: Number(row.p50),
      p99: Number(row.p99),
      max: Number(row.max),
      wallSeconds,
    };
  } finally {
    await client.end();
  }
}

const workers: ChildProcess[] = [];
try {
  const url = await createServerDatabase('reminders');
  await migrateDatabase(loadConfig({ DATABASE_URL: url }).db);
  workers.push(...(await Promise.all(Array.from({ length: WORKERS }, () => startWorker(url)))));
  console.log(
    `${REMINDERS} reminders, ${WORKERS} worker processes (10 jobs at once each), load average ${loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    '| shape | delivered | late (> 5 s) | delivered/s | lag p50 | lag p99 | lag max | task write with its job |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const shape of SHAPES) {
    const f = await run(shape, url, workers);
    const s = (seconds: number) => `${seconds.toFixed(2)} s`;
    console.log(
      `| ${shape} | ${f.delivered} | ${f.late} | ${f.perSecond.toFixed(0)} | ${s(f.p50)} | ${s(f.p99)} | ${s(f.max)} | ${f.insertMsPerTask.toFixed(2)} ms |`,
    );
  }
  console.log(
    `load average after: ${loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}`,
  );
} catch (error) {
  console.error(`bench:reminders failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  for (const worker of workers) worker.kill('SIGTERM');
  await Promise.all(
    workers.map((worker) =>
      worker.exitCode !== null ? undefined : new Promise((resolve) => worker.once('exit', resolve)),
    ),
  );
  await dropServerDatabases((message) => console.error(message));
}
