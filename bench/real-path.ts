// The real-path rows: the app as it is deployed, in a process of its own started like `npm start`
// (src/main.ts: @hono/node-server, the app's own migrations, pool and logging at info), talking to
// its model over HTTP (./model-server.ts, another process: OpenAI-compatible Chat Completions,
// JSON or SSE, tokens sent one event each at a set pace), on a Postgres database of the bench's
// own. Clients are real HTTP clients over loopback, each a new user sending one 1-tool turn, many
// at once. What a row reports is the server process's CPU per turn (utime + stime from
// /proc/<pid>/stat over the row), the model server's and Postgres's beside it, time to first byte
// and latency, answers that were not 200, and the server's resident memory per turn in flight.
//
//   BENCH_ONLY=real npm run bench        (these rows alone, about two minutes)
//
// Beside the in-process rows (zero-latency model inside the app's process, `app.request`), these
// show what the HTTP server, the provider's HTTP call and SSE parsing, and the UI stream's socket
// writes cost, and how the app holds up with a thousand turns open while the model streams.
import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type CpuSplit, createCpuMonitor, listenOverflows, processRssKb, waitForQuiet } from './machine.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
/** BENCH_APP_DIR: run the app from another checkout (e.g. main's, for a before/after pair). */
const APP_DIR = process.env.BENCH_APP_DIR ?? REPO;
/** A row during which other programs used more than this share of all cores is measured again. */
const DISTURBED_PERCENT = 15;

export type TurnResult = { status: number; ttfbMs: number; ms: number; ok: boolean; error?: string };

export type RealPath = {
  serverPid: number;
  modelPid: number;
  url: string;
  /** The model's next replies: `tokens` text tokens, one SSE event each `paceMs` apart when streamed. */
  setReply(tokens: number, paceMs: number): Promise<void>;
  /** Connections opened to the model server and model requests so far (keep-alive check). */
  modelStats(): Promise<{ connections: number; requests: number }>;
  /** `count` new users at once, one "add ..." turn each; resolves when every answer is read. */
  batch(count: number, stream: boolean): Promise<TurnResult[]>;
  /** SIGTERM (the server drains and exits 0: a `--cpu-prof` profile is written then). */
  close(): Promise<void>;
};

type Child = { process: ChildProcess; pid: number };

function spawnNode(args: string[], env: NodeJS.ProcessEnv, cwd = REPO): Child {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['pipe', 'pipe', 'inherit'] });
  if (child.pid === undefined) throw new Error(`could not start ${args.join(' ')}`);
  return { process: child, pid: child.pid };
}

async function stop(child: Child, signal: NodeJS.Signals): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  const exited = new Promise((resolve) => child.process.once('exit', resolve));
  child.process.kill(signal);
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startModelServer(): Promise<Child & { port: number }> {
  const child = spawnNode([fileURLToPath(new URL('./model-server.ts', import.meta.url))], {
    PATH: process.env.PATH,
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.process.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.process.once('exit', (code) => reject(new Error(`model server exited with ${code}`)));
  });
  return { ...child, port };
}

function call(
  url: string,
  path: string,
  init: { method: string; headers?: Record<string, string>; body?: string; agent?: Agent },
): Promise<{ status: number; text: string; ttfbMs: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      { method: init.method, headers: init.headers, agent: init.agent },
      (res) => {
        let ttfbMs = Number.NaN;
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => {
          if (Number.isNaN(ttfbMs)) ttfbMs = performance.now() - t0;
          parts.push(part);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8'), ttfbMs }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** What a failed answer said: the stream's error part, or the start of the body. */
function failureOf(text: string): string {
  const part = /data: (\{"type":"error".*?)\n/.exec(text)?.[1];
  return (part ?? text).slice(0, 200);
}

/** Starts the model server, then the app (src/main.ts) on `databaseUrl`; `nodeArgs` go to the app's node. */
export async function startRealPath(options: {
  databaseUrl: string;
  runTag: string;
  nodeArgs?: string[];
  /** The checkout whose app runs (default BENCH_APP_DIR, else this one). */
  appDir?: string;
  /** More environment for the app (e.g. `{ MODEL_STREAM_BATCH_MS: '100' }`). */
  env?: Record<string, string>;
}): Promise<RealPath> {
  const model = await startModelServer();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawnNode(
    [...(options.nodeArgs ?? []), 'src/main.ts'],
    {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: options.databaseUrl,
      DB_DRIVER: 'pg',
      OPENAI_BASE_URL: `http://127.0.0.1:${model.port}/v1`,
      OPENAI_API_KEY: 'bench',
      OPENAI_API: 'chat',
      CHAT_MODEL: 'bench-model',
      AUTH_MODE: 'dev',
      // One user per turn here, but a thousand of them from one address: no limit in the way.
      RATE_LIMIT_TURNS_PER_MINUTE: '0',
      ...(process.env.BENCH_POOL_MAX ? { DB_POOL_MAX: process.env.BENCH_POOL_MAX } : {}),
      ...options.env,
    },
    options.appDir ?? APP_DIR,
  );
  // Logs at info, one line a request, read and dropped as a log collector would.
  server.process.stdout?.resume();
  // Generous: on a machine shared with others' test runs a start can take a minute.
  const deadline = performance.now() + 180_000;
  try {
    for (;;) {
      if (server.process.exitCode !== null) throw new Error(`the app exited with ${server.process.exitCode}`);
      const live = await call(url, '/livez', { method: 'GET' }).catch(() => undefined);
      if (live?.status === 200) break;
      if (performance.now() > deadline) throw new Error('the app did not start in 180 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop(server, 'SIGKILL');
    model.process.stdin?.end();
    await stop(model, 'SIGTERM');
    throw error;
  }
  let users = 0;
  return {
    serverPid: server.pid,
    modelPid: model.pid,
    url,
    async setReply(tokens, paceMs) {
      await call(`http://127.0.0.1:${model.port}`, '/bench/reply', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tokens, paceMs }),
      });
    },
    async modelStats() {
      const res = await call(`http://127.0.0.1:${model.port}`, '/bench/stats', { method: 'GET' });
      return JSON.parse(res.text) as { connections: number; requests: number };
    },
    async batch(count, stream) {
      // A fresh agent per batch: new users open new connections, and no socket is reused after
      // the server's keep-alive timeout may have closed it.
      const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
      const body = JSON.stringify({ message: 'add real path task' });
      const results = await Promise.all(
        Array.from({ length: count }, async (): Promise<TurnResult> => {
          const t0 = performance.now();
          try {
            const res = await call(url, '/chat', {
              method: 'POST',
              agent,
              headers: {
                'content-type': 'application/json',
                'content-length': String(Buffer.byteLength(body)),
                'x-user-id': `bench-real-${options.runTag}-${++users}`,
                ...(stream ? { accept: 'text/event-stream' } : {}),
              },
              body,
            });
            const ms = performance.now() - t0;
            const ok =
              res.status === 200 &&
              (stream
                ? res.text.includes('"type":"finish"') && res.text.includes('"tool-output-available"')
                : (JSON.parse(res.text) as { toolCalls?: unknown[] }).toolCalls?.length === 1);
            return {
              status: res.status,
              ttfbMs: res.ttfbMs,
              ms,
              ok,
              ...(ok ? {} : { error: `${res.status}: ${failureOf(res.text)}` }),
            };
          } catch (error) {
            return {
              status: 0,
              ttfbMs: Number.NaN,
              ms: performance.now() - t0,
              ok: false,
              error: String(error),
            };
          }
        }),
      );
      agent.destroy();
      return results;
    },
    async close() {
      await stop(server, 'SIGTERM');
      model.process.stdin?.end();
      await stop(model, 'SIGTERM');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The rows.

export type RealRow = {
  label: string;
  answer: 'JSON' | 'stream';
  tokens: number;
  paceMs: number;
  /** Turns started at once in each batch. */
  atOnce: number;
  turns: number;
  completed: number;
  status503: number;
  otherFailures: number;
  firstFailure?: string;
  ttfbP50: number;
  ttfbP99: number;
  p50: number;
  p99: number;
  serverMsPerTurn: number;
  modelMsPerTurn: number;
  postgresMsPerTurn: number;
  /** Peak resident memory of the server over the row minus before it, per turn in flight. */
  rssKbPerTurn: number;
  /** New connections to the model per model request: near 0 when the app keeps them alive. */
  modelConnectionsPerCall: number;
  /** Connections the kernel dropped during the row because a listen queue was full (machine-wide). */
  listenOverflows: number;
  cpu: CpuSplit | undefined;
};

type RowPlan = {
  label: string;
  stream: boolean;
  tokens: number;
  paceMs: number;
  atOnce: number;
  batches: number;
  warmupBatches: number;
};

export const REAL_ROWS: RowPlan[] = [
  {
    label: 'JSON, 200-token reply',
    stream: false,
    tokens: 200,
    paceMs: 0,
    atOnce: 200,
    batches: 3,
    warmupBatches: 2,
  },
  {
    label: 'stream, empty reply',
    stream: true,
    tokens: 0,
    paceMs: 0,
    atOnce: 200,
    batches: 3,
    warmupBatches: 2,
  },
  {
    label: 'stream, 200 tokens, 10 ms apart',
    stream: true,
    tokens: 200,
    paceMs: 10,
    atOnce: 200,
    batches: 3,
    warmupBatches: 1,
  },
  {
    label: 'stream, 40 tokens over 10 s, 1,000 at once',
    stream: true,
    tokens: 40,
    paceMs: 250,
    atOnce: 1000,
    batches: 1,
    warmupBatches: 2,
  },
];

const percentile = (values: number[], q: number) => {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1))] as number;
};

async function measureRow(path: RealPath, plan: RowPlan, runTag: string, log: (m: string) => void) {
  // Warm-up (JIT, pool connections, the model's keep-alive sockets) at full speed: the same
  // replies unpaced, at most 200 turns at once.
  await path.setReply(plan.tokens, 0);
  for (let i = 0; i < plan.warmupBatches; i++) await path.batch(Math.min(200, plan.atOnce), plan.stream);
  await path.setReply(plan.tokens, plan.paceMs);
  let kept: RealRow | undefined;
  for (let attempt = 1; attempt <= 2; attempt++) {
    await waitForQuiet(log);
    const monitor = createCpuMonitor(`_${runTag}`, undefined, {
      server: path.serverPid,
      model: path.modelPid,
    });
    const statsBefore = await path.modelStats();
    const rssBefore = processRssKb(path.serverPid);
    const overflowsBefore = listenOverflows();
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, processRssKb(path.serverPid));
    }, 100);
    monitor.open();
    const results: TurnResult[] = [];
    for (let i = 0; i < plan.batches; i++) results.push(...(await path.batch(plan.atOnce, plan.stream)));
    monitor.close();
    clearInterval(sampler);
    const statsAfter = await path.modelStats();
    const overflows = listenOverflows() - overflowsBefore;
    const cpu = monitor.result();
    const completed = results.filter((r) => r.ok);
    const failed = results.filter((r) => !r.ok);
    const perTurn = (ms: number | undefined) => (ms ?? Number.NaN) / results.length;
    const row: RealRow = {
      label: plan.label,
      answer: plan.stream ? 'stream' : 'JSON',
      tokens: plan.tokens,
      paceMs: plan.paceMs,
      atOnce: plan.atOnce,
      turns: results.length,
      completed: completed.length,
      status503: results.filter((r) => r.status === 503).length,
      otherFailures: failed.filter((r) => r.status !== 503).length,
      firstFailure: failed[0]?.error,
      ttfbP50: percentile(
        results.map((r) => r.ttfbMs),
        0.5,
      ),
      ttfbP99: percentile(
        results.map((r) => r.ttfbMs),
        0.99,
      ),
      p50: percentile(
        completed.map((r) => r.ms),
        0.5,
      ),
      p99: percentile(
        completed.map((r) => r.ms),
        0.99,
      ),
      serverMsPerTurn: perTurn(cpu?.childrenMs.server),
      modelMsPerTurn: perTurn(cpu?.childrenMs.model),
      postgresMsPerTurn: perTurn(cpu?.postgresMs),
      rssKbPerTurn: (rssPeak - rssBefore) / plan.atOnce,
      // The two stats calls open a connection each.
      modelConnectionsPerCall:
        (statsAfter.connections - statsBefore.connections - 1) /
        Math.max(1, statsAfter.requests - statsBefore.requests),
      listenOverflows: overflows,
      cpu,
    };
    log(
      `  real ${row.label} x${row.atOnce}: server ${row.serverMsPerTurn.toFixed(2)} ms CPU/turn, model ${row.modelMsPerTurn.toFixed(2)}, ` +
        `pg ${row.postgresMsPerTurn.toFixed(2)}, completed ${row.completed}/${row.turns}, 503 ${row.status503}, ` +
        `other failures ${row.otherFailures}${row.firstFailure ? ` (${row.firstFailure})` : ''}, ` +
        `TTFB p50 ${row.ttfbP50.toFixed(0)} p99 ${row.ttfbP99.toFixed(0)} ms, RSS ${row.rssKbPerTurn.toFixed(0)} KB/turn, ` +
        `model connections/call ${row.modelConnectionsPerCall.toFixed(2)}, listen overflows ${row.listenOverflows}, ` +
        `other load ${cpu?.otherPercent.toFixed(0)}%`,
    );
    if (!kept || (row.cpu?.otherPercent ?? 0) < (kept.cpu?.otherPercent ?? 0)) kept = row;
    if ((row.cpu?.otherPercent ?? 0) <= DISTURBED_PERCENT) break;
    if (attempt === 1)
      log(`    disturbed by other work (> ${DISTURBED_PERCENT}% of all cores): measuring again`);
  }
  return kept as RealRow;
}

export async function realPathRows(context: {
  createServerDatabase(label: string): Promise<string>;
  runTag: string;
  log(message: string): void;
}): Promise<RealRow[]> {
  const databaseUrl = await context.createServerDatabase('real');
  const rows: RealRow[] = [];
  // A fresh app per row: its memory before the row is that of a warm idle server, not of one that
  // has just held hundreds of turns.
  // BENCH_REAL_ROWS=4 (or 1,3): only those rows, counted from 1 in the order above.
  const only = process.env.BENCH_REAL_ROWS?.split(',').map(Number);
  for (const [i, plan] of REAL_ROWS.entries()) {
    if (only && !only.includes(i + 1)) continue;
    const path = await startRealPath({ databaseUrl, runTag: context.runTag });
    try {
      rows.push(await measureRow(path, plan, context.runTag, context.log));
    } finally {
      await path.close();
    }
  }
  return rows;
}

export function realPathTable(rows: RealRow[]): string {
  const f = (n: number, digits: number) => (Number.isNaN(n) ? '-' : n.toFixed(digits));
  const lines = [
    '| Turn (1 tool call, new users) | At once | Turns | Completed | 503 | Other failures | TTFB p50 ms | TTFB p99 ms | p50 ms | p99 ms | Server CPU ms/turn | Model server | Postgres | Server RSS KB/turn in flight | New model connections/call | Listen queue overflows | Other load |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.label} | ${r.atOnce} | ${r.turns} | ${r.completed} | ${r.status503} | ${r.otherFailures} | ${f(r.ttfbP50, 0)} | ${f(r.ttfbP99, 0)} | ` +
        `${f(r.p50, 0)} | ${f(r.p99, 0)} | ${f(r.serverMsPerTurn, 2)} | ${f(r.modelMsPerTurn, 2)} | ${f(r.postgresMsPerTurn, 2)} | ` +
        `${f(r.rssKbPerTurn, 0)} | ${f(r.modelConnectionsPerCall, 2)} | ${r.listenOverflows} | ${f(r.cpu?.otherPercent ?? Number.NaN, 0)}% |`,
    );
  }
  const empty = rows.find((r) => r.answer === 'stream' && r.tokens === 0);
  const full = rows.find((r) => r.answer === 'stream' && r.tokens === 200);
  if (empty && full) {
    const perToken = ((full.serverMsPerTurn - empty.serverMsPerTurn) / 200) * 1000;
    lines.push(
      '',
      `Server CPU per streamed token: (${f(full.serverMsPerTurn, 2)} - ${f(empty.serverMsPerTurn, 2)}) ms / 200 = ${f(perToken, 1)} us.`,
    );
  }
  return lines.join('\n');
}
