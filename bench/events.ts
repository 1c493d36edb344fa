// `npm run bench:events`: what open event streams cost (GET /events, src/events/). Two real
// server processes (`node src/main.ts`) on one Postgres database, as two instances behind a load
// balancer: A holds the streams, B takes the changes. This process is only the clients, so A's
// memory is the server's own.
//
// - memory: A's RSS (from /proc) before and after opening STREAMS streams, per stream;
// - latency: from just before a POST /tasks is sent to B until the change's event has arrived on
//   every stream that should get it, in two shapes: one stream per user (each change goes to one
//   stream; CHANGES changes for random users), and every stream for ONE user (each change fans
//   out to all of them: the worst case of one read and one encoding shared by STREAMS streams).
//
// Streams are opened in batches (BATCH at a time) through an http.Agent without a socket limit:
// opening a thousand at once overflowed the accept queue of the first version and hung.
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { createServerDatabase, dropServerDatabases } from './databases.ts';
import { busyPercent, MEMORY_PROBE, type Memory, processMemory } from './machine.ts';

const STREAMS = Number(process.env.EVENTS_STREAMS ?? 1000);
const BATCH = 100;
const CHANGES = Number(process.env.EVENTS_CHANGES ?? 200);
const FANOUT_CHANGES = Number(process.env.EVENTS_FANOUT_CHANGES ?? 50);
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

type Server = { proc: ChildProcess; url: string };

function startServer(databaseUrl: string): Promise<Server> {
  const proc = spawn(process.execPath, ['--expose-gc', '--import', MEMORY_PROBE, MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'info',
      RATE_LIMIT_TURNS_PER_MINUTE: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"msg":"taskchat listening","url":"([^"]+)"/.exec(output);
      if (match?.[1]) {
        // Listening: its request log lines are not kept.
        output = '';
        proc.stdout?.off('data', onData);
        proc.stdout?.resume();
        resolve({ proc, url: match[1] });
      }
    };
    proc.stdout?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`server exited ${code}:\n${output}${errors}`)));
  });
}

/** One open stream: the time each change id first arrived on it. */
type Stream = { arrived: Map<number, number>; request: http.ClientRequest };

function openStream(server: Server, userId: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const arrived = new Map<number, number>();
    const request = http.get(
      `${server.url}/events`,
      { agent, headers: { 'x-user-id': userId, accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET /events answered ${res.statusCode}`));
          res.resume();
          return;
        }
        res.setEncoding('utf8');
        let rest = '';
        res.on('data', (text: string) => {
          const at = performance.now();
          rest += text;
          let start = rest.indexOf('id: ');
          while (start >= 0) {
            const end = rest.indexOf('\n', start);
            if (end < 0) break;
            arrived.set(Number(rest.slice(start + 4, end)), at);
            start = rest.indexOf('id: ', end);
          }
          rest = rest.slice(rest.lastIndexOf('\n') + 1);
        });
        res.on('error', () => {});
        resolve({ arrived, request });
      },
    );
    request.on('error', reject);
  });
}

async function openMany(server: Server, users: (i: number) => string): Promise<Stream[]> {
  const streams: Stream[] = [];
  for (let i = 0; i < STREAMS; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, STREAMS - i) }, (_, j) =>
      openStream(server, users(i + j)),
    );
    streams.push(...(await Promise.all(batch)));
  }
  return streams;
}

async function addTask(server: Server, userId: string, title: string): Promise<void> {
  const res = await fetch(`${server.url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user-id': userId },
    body: JSON.stringify({ title }),
  });
  if (res.status !== 201) throw new Error(`POST /tasks answered ${res.status}`);
}

/** Waits until `done()` or `ms` passed; false on time out. */
async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return true;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const ms = (value: number) => `${value.toFixed(1)} ms`;

function closeAll(streams: Stream[]) {
  for (const stream of streams) stream.request.destroy();
}

const servers: Server[] = [];
try {
  const url = await createServerDatabase('events');
  // One at a time: both migrate, and the first does it.
  const a = await startServer(url);
  servers.push(a);
  const b = await startServer(url);
  servers.push(b);
  const load = [os.loadavg()[0]];
  const busy = [await busyPercent()];

  // Warm both (JIT, pools, the prepared statements), then A's memory with no stream open.
  const warm = await openMany(a, (i) => `warm-${i % 10}`);
  for (let i = 0; i < 20; i++) await addTask(b, `warm-${i % 10}`, `warm ${i}`);
  closeAll(warm);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const before = await processMemory(a.proc.pid as number);

  // One stream per user.
  const opened = performance.now();
  const streams = await openMany(a, (i) => `user-${i}`);
  const openSeconds = (performance.now() - opened) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const after = await processMemory(a.proc.pid as number);
  const perUser: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const who = Math.floor(Math.random() * STREAMS);
    const stream = streams[who] as Stream;
    const id = stream.arrived.size + 1;
    const sent = performance.now();
    await addTask(b, `user-${who}`, `change ${i}`);
    if (!(await until(() => stream.arrived.has(id), 10_000))) throw new Error(`change ${id} never arrived`);
    perUser.push((stream.arrived.get(id) as number) - sent);
  }
  closeAll(streams);
  await new Promise((resolve) => setTimeout(resolve, 500));

  // Every stream for one user: each change fans out to all of them.
  const fans = await openMany(a, () => 'one-user');
  const fanOut: number[] = [];
  for (let id = 1; id <= FANOUT_CHANGES; id++) {
    const sent = performance.now();
    await addTask(b, 'one-user', `fan-out ${id}`);
    if (!(await until(() => fans.every((s) => s.arrived.has(id)), 10_000))) {
      throw new Error(`change ${id} did not reach every stream`);
    }
    fanOut.push(Math.max(...fans.map((s) => s.arrived.get(id) as number)) - sent);
  }
  closeAll(fans);
  load.push(os.loadavg()[0]);
  busy.push(await busyPercent());

  perUser.sort((x, y) => x - y);
  fanOut.sort((x, y) => x - y);
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  const perStream = (key: keyof Memory) => `${((after[key] - before[key]) / 1024 / STREAMS).toFixed(1)} KiB`;
  console.log(
    `open event streams on instance A: ${STREAMS} (opened in ${openSeconds.toFixed(1)} s, ${BATCH} at a time)`,
  );
  console.log(
    `A after a full GC: RSS ${mib(before.rss)} -> ${mib(after.rss)} (${perStream('rss')} per stream), JS heap ${mib(before.heapUsed)} -> ${mib(after.heapUsed)} (${perStream('heapUsed')} per stream), buffers ${perStream('external')} per stream`,
  );
  console.log(
    `one stream per user, change through B -> its stream on A (${CHANGES} changes): p50 ${ms(percentile(perUser, 50))}, p99 ${ms(percentile(perUser, 99))}, max ${ms(perUser.at(-1) as number)}`,
  );
  console.log(
    `${STREAMS} streams of one user, change through B -> all of them (${FANOUT_CHANGES} changes): p50 ${ms(percentile(fanOut, 50))}, p99 ${ms(percentile(fanOut, 99))}, max ${ms(fanOut.at(-1) as number)}`,
  );
  console.log(
    `machine: ${os.availableParallelism()} cores, load average ${load.map((l) => l?.toFixed(1)).join(' -> ')}, all cores busy ${busy.map((x) => x.toFixed(0)).join('% -> ')}% (before -> after)`,
  );
} finally {
  for (const server of servers) server.proc.kill('SIGTERM');
  await Promise.all(
    servers.map(
      (server) =>
        new Promise((resolve) =>
          server.proc.exitCode === null ? server.proc.once('exit', resolve) : resolve(null),
        ),
    ),
  );
  agent.destroy();
  await dropServerDatabases((message) => console.error(message));
}
