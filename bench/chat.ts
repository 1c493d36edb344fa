// Chat-turn benchmark: turns/s and latency at 1, 16 and 64 concurrent clients with a
// zero-latency in-process model, on Postgres through `pg`, through the Neon serverless driver
// (via a local WebSocket bridge), on in-memory PGlite, and with no database at all. Beside them
// (./rows.ts): network rows through a delay proxy, size rows (100,000 tasks and messages beside
// 60), and a model of the usual 5-statement design (./usual-design.ts) beside ours.
//
//   npm run bench                 (BENCH_SECONDS=5 per measured run by default)
//   BENCH_DATABASE_URL=postgres://user@host:5432/postgres npm run bench
//
// The app is driven in-process through `app.request('/chat', ...)`: on a 2-core machine an HTTP
// client over loopback would mostly measure the HTTP stacks (one loopback row shows how much).
// Each virtual client is its own user with its own conversation, sending turns one after another.
// The results go to stdout and into the generated block of BENCHMARKS.md.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import type { LanguageModel } from 'ai';
import { sql } from 'drizzle-orm';
import { type AppDeps, createApp } from '../src/app.ts';
import { type Config, loadConfig } from '../src/config.ts';
import { createDatabase, type Database, queryRows } from '../src/db/client.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { Inflight } from '../src/http/inflight.ts';
import { admin, createServerDatabase, dropServerDatabases, RUN_TAG } from './databases.ts';
import { jsonPost, type LoadResult, runLoad, type Turn } from './load.ts';
import { type CpuSplit, createCpuMonitor, waitForQuiet } from './machine.ts';
import { createFakeStores, createSdkOnlyClient, noDatabase, steadyStateHistory } from './no-db.ts';
import { type RealRow, realPathRows, realPathTable } from './real-path.ts';
import {
  type NetworkRow,
  networkRows,
  networkTable,
  type RowsContext,
  type SizeSeries,
  sizeRows,
  sizeTable,
} from './rows.ts';
import { seedConversation, templateTurn, vacuumAnalyze } from './seed.ts';
import { createUsualStores } from './usual-design.ts';
import { createZeroModel } from './zero-model.ts';

const MEASURE_MS = Math.round(Number(process.env.BENCH_SECONDS ?? '5') * 1000);
const WARMUP_MS = 1500;
const NETWORK_TURNS = 30;
const WARMUP_TURNS = 12; // 4 messages a turn: fills the 40-message history window
const CONCURRENCY = [1, 16, 64];
/** A row during which other programs used more than this share of all cores is measured again. */
const DISTURBED_PERCENT = 15;
const TODAY = '2026-11-23';
const BENCHMARKS_MD = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
/** BENCH_ONLY=pg,neon,pglite,nodb,network,size,usual,real runs a subset (and leaves BENCHMARKS.md alone). */
const ONLY = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const selected = (part: string) => !ONLY || ONLY.includes(part);

type Row = LoadResult & {
  config: string;
  mode: string;
  statementsPerTurn: number | undefined;
  cpu: CpuSplit | undefined;
};
const rows: Row[] = [];
let network: NetworkRow[] = [];
let sizes: SizeSeries[] = [];
let realRows: RealRow[] = [];
const statementCounts: { config: string; counts: [number, number, number] }[] = [];

const model = createZeroModel();

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// The Neon WebSocket bridge, in a child process.

async function startBridgeProcess(): Promise<{
  port: number;
  pid: number | undefined;
  close(): Promise<void>;
}> {
  const script = fileURLToPath(new URL('./ws-bridge-process.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`bridge exited with ${code}`)));
    child.once('error', reject);
  });
  return {
    port,
    pid: child.pid,
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGTERM'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The app in-process, and its virtual clients.

function benchConfig(env: Record<string, string>): Config {
  return loadConfig({
    LOG_LEVEL: 'silent',
    RATE_LIMIT_TURNS_PER_MINUTE: '0', // one user sends hundreds of turns a second here
    ...(process.env.BENCH_POOL_MAX ? { DB_POOL_MAX: process.env.BENCH_POOL_MAX } : {}),
    ...env,
  });
}

type Fetcher = (path: string, init: RequestInit) => Promise<Response>;

type ChatClients = {
  /**
   * A turn function for `concurrency` fresh users; each keeps its conversation. With `seeded`,
   * client i continues conversation `seeded[i]` of user `seeded[i].userId` instead.
   */
  turns(
    label: string,
    options?: { stream?: boolean; message?: string; seeded?: { userId: string; conversationId: string }[] },
  ): Turn;
  turnsDone(): number;
};

function chatClients(fetcher: Fetcher): ChatClients {
  let done = 0;
  let generation = 0;
  return {
    turnsDone: () => done,
    turns(label, options = {}) {
      const run = ++generation;
      const conversations = new Map<number, string>(
        (options.seeded ?? []).map((seeded, client) => [client, seeded.conversationId]),
      );
      let sent = 0;
      return async (client) => {
        const conversationId = conversations.get(client);
        const message = options.message ?? `add bench task ${++sent}`;
        const res = await fetcher(
          '/chat',
          jsonPost(conversationId ? { message, conversationId } : { message }, {
            'x-user-id': options.seeded?.[client]?.userId ?? `bench-${label}-${RUN_TAG}-${run}-${client}`,
            ...(options.stream ? { accept: 'text/event-stream' } : {}),
          }),
        );
        if (options.stream) {
          const text = await res.text();
          if (res.status !== 200 || !text.includes('"type":"finish"')) {
            throw new Error(`stream ${res.status}: ${text.slice(0, 200)}`);
          }
          conversations.set(client, res.headers.get('x-conversation-id') as string);
        } else {
          const body = (await res.json()) as { conversationId?: string; toolCalls?: { result?: unknown }[] };
          if (res.status !== 200) throw new Error(`POST /chat ${res.status}: ${JSON.stringify(body)}`);
          if (message.startsWith('add ') && body.toolCalls?.length !== 1)
            throw new Error('expected one tool call');
          // A tool that answered an error did not do the work being measured.
          if (body.toolCalls?.some((call) => (call.result as { error?: unknown })?.error))
            throw new Error(`tool error: ${JSON.stringify(body.toolCalls).slice(0, 300)}`);
          conversations.set(client, body.conversationId as string);
        }
        done++;
      };
    },
  };
}

type Target = {
  name: string;
  database: Database;
  config: Config;
  statements: () => number;
  /** Stores replacing the database's: in-memory fakes (the no-database ceiling), the usual design. */
  stores?: Pick<AppDeps, 'tasks' | 'turns'>;
  /** The bridge process whose CPU the rows report. */
  bridgePid?: number;
};

function appFor(target: Target) {
  const inflight = new Inflight();
  const app = createApp({
    config: target.config,
    database: target.database,
    model: model as LanguageModel,
    inflight,
    today: () => TODAY,
    ...target.stores,
  });
  return { app, inflight };
}

async function measure(
  name: string,
  mode: string,
  concurrency: number,
  turn: Turn,
  counters?: { statements: () => number; turns: () => number; bridgePid?: number },
): Promise<void> {
  let kept: Row | undefined;
  for (let attempt = 1; attempt <= 2; attempt++) {
    await waitForQuiet(log);
    const monitor = createCpuMonitor(`_${RUN_TAG}`, () => counters?.bridgePid);
    const s0 = counters?.statements() ?? 0;
    const t0 = counters?.turns() ?? 0;
    const result = await runLoad(turn, {
      concurrency,
      warmupMs: WARMUP_MS,
      warmupTurns: WARMUP_TURNS,
      measureMs: MEASURE_MS,
      window: monitor,
    });
    const statementsPerTurn = counters
      ? (counters.statements() - s0) / Math.max(1, counters.turns() - t0)
      : undefined;
    const row: Row = { ...result, config: name, mode, statementsPerTurn, cpu: monitor.result() };
    const perTurn = (ms: number | undefined) => fmt(ms === undefined ? undefined : ms / row.turns, 2);
    log(
      `  ${name} ${mode} x${concurrency}: ${row.turnsPerSecond.toFixed(0)} turns/s, p50 ${row.p50.toFixed(2)} ms, ` +
        `p99 ${row.p99.toFixed(2)} ms, cpu ms/turn node ${perTurn(row.cpu?.nodeMs)} pg ${perTurn(row.cpu?.postgresMs)} ` +
        `bridge ${perTurn(row.cpu?.bridgeMs)}, other ${fmt(row.cpu?.otherPercent, 0)}% (busy ${fmt(row.cpu?.busyPercent, 0)}%), ` +
        `stmts ${statementsPerTurn?.toFixed(2) ?? '-'}, errors ${row.errors}${row.firstError ? ` (${row.firstError})` : ''}`,
    );
    if (!kept || (row.cpu?.otherPercent ?? 0) < (kept.cpu?.otherPercent ?? 0)) kept = row;
    // Another program took a real share of the CPU: measure once more, keep the quieter attempt.
    if ((row.cpu?.otherPercent ?? 0) <= DISTURBED_PERCENT) break;
    if (attempt === 1)
      log(`    disturbed by other work (> ${DISTURBED_PERCENT}% of all cores): measuring again`);
  }
  rows.push(kept as Row);
}

/** Statements of one turn with 0, 1 and 3 tool calls (a new conversation, then the same one). */
async function countStatements(target: Target): Promise<void> {
  const { app, inflight } = appFor(target);
  const user = `bench-count-${target.name.replace(/\W+/g, '')}-${RUN_TAG}`;
  let conversationId: string | undefined;
  const counts: number[] = [];
  for (const [message, tools] of [
    ['hello', 0],
    ['add one task', 1],
    ['add3 three tasks', 3],
  ] as const) {
    const before = target.statements();
    const res = await app.request('/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': user },
      body: JSON.stringify(conversationId ? { message, conversationId } : { message }),
    });
    const body = (await res.json()) as { conversationId: string; toolCalls: unknown[] };
    if (res.status !== 200 || body.toolCalls.length !== tools)
      throw new Error(`count turn: ${JSON.stringify(body)}`);
    conversationId = body.conversationId;
    counts.push(target.statements() - before);
  }
  await inflight.idle();
  statementCounts.push({ config: target.name, counts: counts as [number, number, number] });
  log(`  ${target.name}: statements per turn with 0/1/3 tool calls = ${counts.join('/')}`);
}

async function benchApp(
  target: Target,
  extras: { stream?: boolean; loopback?: boolean } = {},
): Promise<void> {
  const { app, inflight } = appFor(target);
  const clients = chatClients(async (path, init) => app.request(path, init));
  const counters = { statements: target.statements, turns: clients.turnsDone, bridgePid: target.bridgePid };
  await countStatements(target);
  for (const concurrency of CONCURRENCY) {
    await measure(target.name, 'JSON', concurrency, clients.turns(`c${concurrency}`), counters);
  }
  if (extras.stream) {
    await measure(target.name, 'stream', 16, clients.turns('stream', { stream: true }), counters);
  }
  await inflight.idle();
  if (extras.loopback) await benchLoopback(target);
}

/** The same app behind @hono/node-server on 127.0.0.1, called with fetch from this process. */
async function benchLoopback(target: Target): Promise<void> {
  const { app, inflight } = appFor(target);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients = chatClients((path, init) => fetch(`${base}${path}`, init));
  try {
    await measure(target.name, 'JSON, HTTP loopback', 16, clients.turns('http'), {
      statements: target.statements,
      turns: clients.turnsDone,
    });
  } finally {
    await inflight.idle();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      if ('closeAllConnections' in server) server.closeAllConnections();
    });
  }
}

async function openTarget(name: string, env: Record<string, string>): Promise<Target> {
  let statements = 0;
  const config = benchConfig(env);
  const database = await createDatabase(config.db, { onStatement: () => statements++ });
  await migrateDatabase(config.db, database);
  return { name, database, config, statements: () => statements };
}

// ---------------------------------------------------------------------------------------------
// The no-database ceilings.

async function benchNoDb(): Promise<void> {
  const config = benchConfig({ DATABASE_URL: 'pglite://memory' });

  // The whole app over a fake driver.
  const history = await steadyStateHistory(model as LanguageModel, config);
  let statements = 0;
  const target: Target = {
    name: 'no DB: app, fake stores',
    database: noDatabase,
    stores: createFakeStores(history, () => statements++),
    config,
    statements: () => statements,
  };
  await benchApp(target);

  // The AI SDK turn alone.
  for (const concurrency of CONCURRENCY) {
    const clients = Array.from({ length: concurrency }, (_, i) =>
      createSdkOnlyClient(model as LanguageModel, config, `bench-sdk-${RUN_TAG}-${concurrency}-${i}`),
    );
    let sent = 0;
    const turn: Turn = (client) =>
      (clients[client] as (typeof clients)[number]).turn(`add bench task ${++sent}`);
    await measure('no DB: AI SDK turn only', 'JSON', concurrency, turn);
  }
}

// ---------------------------------------------------------------------------------------------
// The usual design beside ours, in conversations of 10,000 messages.

const LONG = 10_000;
const OURS_LONG = `pg, ${LONG.toLocaleString('en')}-message conversations`;
const USUAL_LONG = `usual design (model), ${LONG.toLocaleString('en')}-message conversations`;

async function benchUsualAtLength(): Promise<void> {
  const url = await createServerDatabase('usual');
  const target = await openTarget(OURS_LONG, { DATABASE_URL: url, DB_DRIVER: 'pg' });
  const usual: Target = { ...target, name: USUAL_LONG, stores: createUsualStores(target.database) };
  try {
    const clients = Math.max(...CONCURRENCY.filter((c) => c <= 16));
    // One real turn of the app, copied LONG / 4 times into each client's conversation.
    const { app, inflight } = appFor(target);
    const templateUser = `bench-usual-template-${RUN_TAG}`;
    const first = (await (
      await app.request('/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-id': templateUser },
        body: JSON.stringify({ message: 'add template task' }),
      })
    ).json()) as { conversationId: string };
    await inflight.idle();
    const template = await templateTurn(url, first.conversationId);
    const seeded = async (design: string) => {
      const out: { userId: string; conversationId: string }[] = [];
      for (let i = 0; i < clients; i++) {
        const userId = `bench-long-${design}-${RUN_TAG}-${i}`;
        out.push({ userId, conversationId: await seedConversation(url, userId, LONG, template) });
      }
      return out;
    };
    const started = performance.now();
    const oursSeeded = await seeded('ours');
    const usualSeeded = await seeded('usual');
    await vacuumAnalyze(url);
    log(
      `  seeded ${2 * clients} conversations of ${LONG} messages in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    for (const [t, conversations] of [
      [target, oursSeeded],
      [usual, usualSeeded],
    ] as const) {
      const { app: tApp, inflight: tInflight } = appFor(t);
      const chat = chatClients(async (path, init) => tApp.request(path, init));
      const counters = { statements: t.statements, turns: chat.turnsDone };
      for (const concurrency of [1, clients]) {
        await measure(
          t.name,
          'JSON',
          concurrency,
          chat.turns(`long${concurrency}`, { seeded: conversations }),
          counters,
        );
      }
      await tInflight.idle();
    }
  } finally {
    await target.database.close();
  }
}

function rowsContext(): RowsContext {
  return { createServerDatabase, benchConfig, log, runTag: RUN_TAG, model, today: TODAY };
}

// ---------------------------------------------------------------------------------------------
// Report.

const fmt = (n: number | undefined, digits: number) =>
  n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits);

function table(): string {
  const lines = [
    '| Configuration | Answer | Clients | Turns/s | p50 ms | p99 ms | CPU ms/turn: Node | Postgres | bridge | Other load | Statements/turn | Errors |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    const perTurn = (ms: number | undefined) => (ms ? fmt(ms / r.turns, 2) : '-');
    lines.push(
      `| ${r.config} | ${r.mode} | ${r.concurrency} | ${fmt(r.turnsPerSecond, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ` +
        `${perTurn(r.cpu?.nodeMs)} | ${perTurn(r.cpu?.postgresMs)} | ${perTurn(r.cpu?.bridgeMs)} | ` +
        `${fmt(r.cpu?.otherPercent, 0)}% | ${fmt(r.statementsPerTurn, 2)} | ${r.errors} |`,
    );
  }
  return lines.join('\n');
}

function statementTable(): string {
  const lines = ['| Configuration | 0 tool calls | 1 tool call | 3 tool calls |', '|---|--:|--:|--:|'];
  for (const { config, counts } of statementCounts) lines.push(`| ${config} | ${counts.join(' | ')} |`);
  return lines.join('\n');
}

function ratios(): string {
  const find = (config: string, mode: string, concurrency: number) =>
    rows.find((r) => r.config === config && r.mode === mode && r.concurrency === concurrency)?.turnsPerSecond;
  const lines: string[] = [];
  for (const concurrency of CONCURRENCY) {
    const pgRate = find('pg', 'JSON', concurrency);
    const neonRate = find('neon (WebSocket bridge)', 'JSON', concurrency);
    const app = find('no DB: app, fake stores', 'JSON', concurrency);
    const sdk = find('no DB: AI SDK turn only', 'JSON', concurrency);
    const pct = (a?: number, b?: number) => (a && b ? `${((100 * a) / b).toFixed(0)}%` : '-');
    lines.push(
      `- ${concurrency} client${concurrency > 1 ? 's' : ''}: pg = ${pct(pgRate, app)} of the app ceiling and ` +
        `${pct(pgRate, sdk)} of the SDK-only ceiling; neon = ${pct(neonRate, pgRate)} of pg.`,
    );
  }
  const pg16 = rows.find((r) => r.config === 'pg' && r.mode === 'JSON' && r.concurrency === 16);
  if (pg16?.cpu && pg16.turns > 0) {
    const node = pg16.cpu.nodeMs / pg16.turns;
    const postgres = pg16.cpu.postgresMs / pg16.turns;
    const cores = os.availableParallelism();
    lines.push(
      `- CPU bound check, pg at 16 clients: Node ${node.toFixed(2)} + Postgres ${postgres.toFixed(2)} ms of CPU per turn ` +
        `-> ${cores} cores could do at most about ${((cores * 1000) / (node + postgres)).toFixed(0)} turns/s; measured ${pg16.turnsPerSecond.toFixed(0)}.`,
    );
  }
  return lines.join('\n');
}

/** The usual design beside ours: ratios from the network rows and the 10,000-message rows. */
function sideBySide(): string {
  const lines = ['| Comparison | Ours | Usual design (model) | Usual / ours |', '|---|--:|--:|--:|'];
  const pair = (label: string, ours?: number, usual?: number, digits = 2) => {
    if (ours === undefined || usual === undefined) return;
    lines.push(`| ${label} | ${fmt(ours, digits)} | ${fmt(usual, digits)} | ${fmt(usual / ours, 2)}x |`);
  };
  const add = (design: 'ours' | 'usual', rMs: number) =>
    network.find((r) => r.design === design && r.rMs === rMs && r.turn === '1 tool call (add_task)');
  for (const rMs of [20, 0]) {
    const ours = add('ours', rMs);
    const usual = add('usual', rMs);
    pair(`R = ${rMs} ms, 1 client, 1 tool call: turn - model, ms (median)`, ours?.netMs, usual?.netMs);
    if (rMs === 20) pair('R = 20 ms: statements per 1-tool turn', ours?.statements, usual?.statements);
  }
  const long = (config: string, concurrency: number) =>
    rows.find((r) => r.config === config && r.concurrency === concurrency);
  for (const concurrency of [1, 16]) {
    const ours = long(OURS_LONG, concurrency);
    const usual = long(USUAL_LONG, concurrency);
    if (!ours || !usual) continue;
    const cpu = (r: Row, k: 'nodeMs' | 'postgresMs') => (r.cpu ? r.cpu[k] / r.turns : undefined);
    const at = `${LONG.toLocaleString('en')} messages, ${concurrency} client${concurrency > 1 ? 's' : ''}`;
    pair(`${at}: p50 ms`, ours.p50, usual.p50);
    pair(`${at}: turns/s`, ours.turnsPerSecond, usual.turnsPerSecond, 0);
    pair(`${at}: Postgres CPU ms/turn`, cpu(ours, 'postgresMs'), cpu(usual, 'postgresMs'));
    pair(`${at}: Node CPU ms/turn`, cpu(ours, 'nodeMs'), cpu(usual, 'nodeMs'));
  }
  return lines.length > 2 ? lines.join('\n') : '';
}

async function machine(pgVersion: string, pgSettings: string, pgliteVersion: string): Promise<string> {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return [
    `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- Machine: ${os.availableParallelism()} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}`,
    `- Node ${process.version}; Postgres ${pgVersion} (same machine, TCP 127.0.0.1, ${pgSettings}); PGlite ${pgliteVersion}`,
    `- ${MEASURE_MS / 1000} s measured per row after a ${WARMUP_MS / 1000} s / ${WARMUP_TURNS}-turns-per-client warm-up; ` +
      `pg/neon pool max ${process.env.BENCH_POOL_MAX ?? '10 (DB_POOL_MAX default)'}`,
  ].join('\n');
}

const BEGIN = '<!-- bench:begin (generated by `npm run bench`; edits inside are overwritten) -->';
const END = '<!-- bench:end -->';

async function writeBenchmarksMd(generated: string): Promise<void> {
  const block = `${BEGIN}\n${generated}\n${END}`;
  let current: string | undefined;
  try {
    current = await readFile(BENCHMARKS_MD, 'utf8');
  } catch {
    current = undefined;
  }
  const start = current?.indexOf(BEGIN) ?? -1;
  const end = current?.indexOf(END) ?? -1;
  const next =
    current && start >= 0 && end > start
      ? `${current.slice(0, start)}${block}${current.slice(end + END.length)}`
      : `# Benchmarks\n\n${block}\n`;
  await writeFile(BENCHMARKS_MD, next);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  const [pgVersion = '?'] = await admin('show server_version');
  const pgSettings = (
    await admin(
      `select string_agg(name || '=' || setting || coalesce(unit, ''), ', ' order by name) from pg_settings
       where name in ('fsync', 'synchronous_commit', 'autovacuum')`,
    )
  ).join('');
  let pgliteVersion = '?';
  const bridge = await startBridgeProcess();
  const opened: Target[] = [];
  try {
    if (selected('pg')) {
      log('pg');
      const pgTarget = await openTarget('pg', {
        DATABASE_URL: await createServerDatabase('pg'),
        DB_DRIVER: 'pg',
      });
      opened.push(pgTarget);
      await benchApp(pgTarget, { stream: true, loopback: true });
      await pgTarget.database.close();
    }

    if (selected('real')) {
      log('real path (the app and the model each in a process of their own, over HTTP)');
      realRows = await realPathRows({ createServerDatabase, runTag: RUN_TAG, log });
    }

    if (selected('network')) {
      log('network (pg through the delay proxy)');
      network = await networkRows(rowsContext(), { latencies: [0, 5, 20], turns: NETWORK_TURNS, warmup: 3 });
    }

    if (selected('size')) {
      log('size (100,000 tasks and messages beside 60)');
      sizes = await sizeRows(rowsContext(), { blocks: 16, perBlock: 20, warmup: 5 });
    }

    if (selected('usual')) {
      log('the usual design beside ours, 10,000-message conversations');
      await benchUsualAtLength();
    }

    if (selected('neon')) {
      log('neon');
      const neonTarget = await openTarget('neon (WebSocket bridge)', {
        DATABASE_URL: await createServerDatabase('neon'),
        DB_DRIVER: 'neon',
        NEON_WS_PROXY: `127.0.0.1:${bridge.port}`,
      });
      neonTarget.bridgePid = bridge.pid;
      opened.push(neonTarget);
      await benchApp(neonTarget);
      await neonTarget.database.close();
    }

    if (selected('pglite')) {
      log('pglite');
      const pgliteTarget = await openTarget('PGlite (in memory)', { DATABASE_URL: 'pglite://memory' });
      opened.push(pgliteTarget);
      const [version] = await queryRows<{ v: string }>(pgliteTarget.database.db, sql`select version() as v`);
      pgliteVersion = /PostgreSQL ([\d.]+)/.exec(version?.v ?? '')?.[1] ?? '?';
      await benchApp(pgliteTarget);
      await pgliteTarget.database.close();
    }

    if (selected('nodb')) {
      log('no database');
      await benchNoDb();
    }
  } finally {
    for (const target of opened) await target.database.close();
    await bridge.close();
    await dropServerDatabases(log);
  }

  const generated = [
    await machine(pgVersion, pgSettings, pgliteVersion),
    '',
    table(),
    '',
    'Statements per turn (counted at the driver, one turn each, new conversation then the same one):',
    '',
    statementTable(),
    '',
    'Throughput against the ceilings (JSON answers):',
    '',
    ratios(),
    ...(realRows.length > 0
      ? [
          '',
          'Real-path rows (the app started like `npm start` behind @hono/node-server, the model an OpenAI-compatible server streaming over HTTP in its own process, HTTP clients over loopback; each batch is that many new users at once, one 1-tool turn each):',
          '',
          realPathTable(realRows),
        ]
      : []),
    ...(network.length > 0
      ? [
          '',
          `Network rows (pg through the delay proxy, 1 client, medians of ${NETWORK_TURNS} turns, all rows interleaved turn by turn; the floor is the round trips one after another: 2 + tool calls for ours, where the calls of one step run at once, and 5 + tool calls for the usual design):`,
          '',
          networkTable(network),
        ]
      : []),
    ...(sizes.length > 0
      ? [
          '',
          'Size rows (1 client; a user with 100,000 tasks and a 100,000-message conversation beside one with 60 of each, turns alternating in blocks):',
          '',
          sizeTable(sizes),
        ]
      : []),
    ...(sideBySide()
      ? [
          '',
          'The usual design (a bench-only model of the common 5-statement turn) beside ours:',
          '',
          sideBySide(),
        ]
      : []),
  ].join('\n');
  process.stdout.write(`${generated}\n`);
  if (!ONLY) await writeBenchmarksMd(generated);
  log(
    `done in ${((performance.now() - started) / 1000).toFixed(0)} s${ONLY ? '' : '; results in BENCHMARKS.md'}`,
  );
}

process.once('SIGINT', () => {
  log('interrupted: dropping the bench databases');
  dropServerDatabases(log).finally(() => process.exit(130));
});

await main();
// Everything is closed; if a handle still holds the loop, say so instead of hanging silently.
setTimeout(() => {
  log('warning: something still keeps the process alive');
  process.exit(0);
}, 5000).unref();
