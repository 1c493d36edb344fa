// The benchmark's latency rows, measured with one client sending turns one after another:
//
// - Network rows: the app on Postgres through `test/support/fault-proxy.ts`, which adds R ms to
//   every round trip (R/2 each way, TCP_NODELAY on both sockets), at R = 0, 5 and 20 ms. The turn
//   time minus the time spent inside the model is set against the floor, (2 + tool calls) x R:
//   BEGIN TURN, one statement per tool call, END TURN (calls of one step run at once, so they
//   count once). The usual design's model (./usual-design.ts) runs the same turns through the
//   same proxy.
// - Size rows: one user with 100,000 tasks and a 100,000-message conversation beside one with 60
//   of each, their turns alternating in blocks so both see the same machine; the rows are ratios.
//
// Both report medians: at one client a turn is a few milliseconds, and a shared machine adds
// outliers that a mean would carry.
import type { LanguageModelV4 } from '@ai-sdk/provider';
import type { LanguageModel } from 'ai';
import type { Hono } from 'hono';
import pg from 'pg';
import { createApp } from '../src/app.ts';
import type { Config } from '../src/config.ts';
import { createDatabase } from '../src/db/client.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import type { AppEnv } from '../src/http/env.ts';
import { Inflight } from '../src/http/inflight.ts';
import { startFaultProxy } from '../test/support/fault-proxy.ts';
import { jsonPost } from './load.ts';
import { createCpuMonitor } from './machine.ts';
import { seedConversation, seedTasks, templateTurn, vacuumAnalyze } from './seed.ts';
import { createUsualStores } from './usual-design.ts';
import { timed } from './zero-model.ts';

export type RowsContext = {
  createServerDatabase(label: string): Promise<string>;
  benchConfig(env: Record<string, string>): Config;
  log(message: string): void;
  runTag: string;
  model: LanguageModelV4;
  today: string;
};

type TurnSample = { ms: number; modelMs: number; statements: number };

/** One user's chat, one turn at a time, timing each turn and the model's share of it. */
function sequentialChat(
  app: Hono<AppEnv>,
  clock: { elapsedMs(): number },
  statements: () => number,
  userId: string,
  conversationId?: string,
) {
  let conversation = conversationId;
  const turn = async (message: string, toolCalls: number): Promise<TurnSample> => {
    const m0 = clock.elapsedMs();
    const s0 = statements();
    const t0 = performance.now();
    const res = await app.request(
      '/chat',
      jsonPost(conversation ? { message, conversationId: conversation } : { message }, {
        'x-user-id': userId,
      }),
    );
    const body = (await res.json()) as { conversationId?: string; toolCalls?: { result?: unknown }[] };
    const ms = performance.now() - t0;
    // A tool that answered an error did not do the work being measured.
    const failedTool = body.toolCalls?.some((call) => (call.result as { error?: unknown })?.error);
    if (res.status !== 200 || body.toolCalls?.length !== toolCalls || failedTool)
      throw new Error(`POST /chat ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
    conversation = body.conversationId;
    return { ms, modelMs: clock.elapsedMs() - m0, statements: statements() - s0 };
  };
  return Object.assign(turn, { conversationId: () => conversation });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
};

async function openApp(context: RowsContext, url: string, usual = false) {
  let statements = 0;
  const config = context.benchConfig({ DATABASE_URL: url, DB_DRIVER: 'pg' });
  const database = await createDatabase(config.db, { onStatement: () => statements++ });
  const clock = timed(context.model);
  const make = (store: 'ours' | 'usual') =>
    createApp({
      config,
      database,
      model: clock.model as LanguageModel,
      inflight: new Inflight(),
      today: () => context.today,
      ...(store === 'usual' ? createUsualStores(database) : {}),
    });
  return {
    config,
    database,
    clock,
    ours: make('ours'),
    usual: usual ? make('usual') : undefined,
    statements: () => statements,
  };
}

// ---------------------------------------------------------------------------------------------
// Network rows.

export type NetworkRow = {
  design: 'ours' | 'usual';
  turn: string;
  toolCalls: number;
  /** Round trips one after another: ours 2 + tool calls, the usual design 5 + tool calls. */
  floor: number;
  rMs: number;
  turnMs: number;
  modelMs: number;
  /** Median over turns of (turn time - model time). */
  netMs: number;
  statements: number;
  /** Median time of one bare statement (`select $1`) through the proxy at this R. */
  roundTripMs: number;
};

type NetworkTurn = {
  design: 'ours' | 'usual';
  user: string;
  turn: string;
  message: string;
  toolCalls: number;
  /** Round trips one after another: the statements, except that calls of one step run at once. */
  floor: number;
};

const NETWORK_TURNS: NetworkTurn[] = [
  { design: 'ours', user: 'hello', turn: 'no tool call', message: 'hello', toolCalls: 0, floor: 2 },
  {
    design: 'ours',
    user: 'add',
    turn: '1 tool call (add_task)',
    message: 'add net task',
    toolCalls: 1,
    floor: 3,
  },
  {
    design: 'ours',
    user: 'list',
    turn: '1 tool call (list_tasks, 60 tasks)',
    message: 'list',
    toolCalls: 1,
    floor: 3,
  },
  {
    design: 'ours',
    user: 'add3',
    turn: '3 tool calls in one step (add_task x3, run at once)',
    message: 'add3 net task',
    toolCalls: 3,
    floor: 3,
  },
  {
    design: 'usual',
    user: 'usual-add',
    turn: '1 tool call (add_task)',
    message: 'add net task',
    toolCalls: 1,
    floor: 6,
  },
];

export async function networkRows(
  context: RowsContext,
  options: { latencies: number[]; turns: number; warmup: number },
): Promise<NetworkRow[]> {
  const url = await context.createServerDatabase('net');
  const direct = context.benchConfig({ DATABASE_URL: url, DB_DRIVER: 'pg' });
  await migrateDatabase(direct.db);
  const target = new URL(url);
  const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const opened = await openApp(context, proxy.urlFor(url), true);
  const rows: NetworkRow[] = [];
  try {
    const user = (name: string) => `bench-net-${name}-${context.runTag}`;
    await seedTasks(url, user('list'), 60);
    const chats = new Map(
      NETWORK_TURNS.map((t) => [
        t,
        sequentialChat(
          t.design === 'ours' ? opened.ours : (opened.usual as Hono<AppEnv>),
          opened.clock,
          opened.statements,
          user(t.user),
        ),
      ]),
    );
    // What one round trip really costs through the proxy: a bare statement on a connection of its
    // own. The proxy delays with timers, which fire late by up to a millisecond each way: at
    // R = 5 ms that is a fifth more per round trip, which no count of statements explains.
    const probe = new pg.Client({ connectionString: proxy.urlFor(url) });
    await probe.connect();
    const roundTrips = new Map<number, number[]>();
    // Every turn kind at every R, interleaved turn by turn (R is set between turns, when no byte
    // is in flight), so t(R) and t(0) are measured under the same machine load.
    const samples = new Map<string, TurnSample[]>();
    const key = (planned: NetworkTurn, rMs: number) => `${planned.design}|${planned.turn}|${rMs}`;
    for (let i = -options.warmup; i < options.turns; i++) {
      for (const rMs of options.latencies) {
        proxy.latency(rMs);
        const t0 = performance.now();
        await probe.query('select $1::int as one', [1]);
        if (i >= 0) roundTrips.set(rMs, [...(roundTrips.get(rMs) ?? []), performance.now() - t0]);
      }
      for (const planned of NETWORK_TURNS) {
        const chat = chats.get(planned) as ReturnType<typeof sequentialChat>;
        const order = i % 2 === 0 ? options.latencies : [...options.latencies].reverse();
        for (const rMs of order) {
          proxy.latency(rMs);
          const sample = await chat(planned.message, planned.toolCalls);
          if (i < 0) continue;
          const list = samples.get(key(planned, rMs)) ?? [];
          list.push(sample);
          samples.set(key(planned, rMs), list);
        }
      }
    }
    proxy.latency(0);
    await probe.end();
    for (const rMs of options.latencies) {
      const roundTripMs = median(roundTrips.get(rMs) ?? []);
      for (const planned of NETWORK_TURNS) {
        const { design, turn, toolCalls } = planned;
        const taken = samples.get(key(planned, rMs)) ?? [];
        const row: NetworkRow = {
          design,
          turn,
          toolCalls,
          floor: planned.floor,
          rMs,
          turnMs: median(taken.map((s) => s.ms)),
          modelMs: median(taken.map((s) => s.modelMs)),
          netMs: median(taken.map((s) => s.ms - s.modelMs)),
          statements: taken.reduce((sum, s) => sum + s.statements, 0) / taken.length,
          roundTripMs,
        };
        rows.push(row);
        context.log(
          `  network R=${rMs} ms ${design} ${turn}: turn ${row.turnMs.toFixed(2)} ms, model ${row.modelMs.toFixed(2)} ms, ` +
            `turn - model ${row.netMs.toFixed(2)} ms` +
            (rMs > 0 ? ` = ${(row.netMs / rMs).toFixed(2)} round trips (floor ${row.floor})` : '') +
            `, ${row.statements.toFixed(2)} statements`,
        );
      }
    }
  } finally {
    await opened.database.close();
    await proxy.close();
  }
  return rows;
}

export function networkTable(rows: NetworkRow[]): string {
  const at = (row: NetworkRow, rMs: number) =>
    rows.find((r) => r.design === row.design && r.turn === row.turn && r.rMs === rMs);
  const lines = [
    '| Design | Turn | Statements/turn | Floor (round trips) | R ms | Turn ms | Model ms | Turn - model ms | Floor x R ms | (turn - model) / R | One round trip, measured ms | Added by the network, in measured round trips |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    const base = at(r, 0);
    const added =
      r.rMs > 0 && base ? (r.netMs - base.netMs) / (r.roundTripMs - base.roundTripMs) : Number.NaN;
    lines.push(
      `| ${r.design === 'ours' ? 'ours' : 'usual design (model)'} | ${r.turn} | ${r.statements.toFixed(2)} | ${r.floor} | ${r.rMs} | ` +
        `${r.turnMs.toFixed(2)} | ${r.modelMs.toFixed(2)} | ${r.netMs.toFixed(2)} | ${r.floor * r.rMs} | ` +
        `${r.rMs > 0 ? (r.netMs / r.rMs).toFixed(2) : '-'} | ${r.roundTripMs.toFixed(2)} | ${Number.isNaN(added) ? '-' : added.toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Size rows.

export type SizeSeries = {
  turn: string;
  size: 'small' | 'big';
  latencies: number[];
  turns: number;
  postgresMs: number;
  nodeMs: number;
};

export const SMALL = 60;
export const BIG = 100_000;

export async function sizeRows(
  context: RowsContext,
  options: { blocks: number; perBlock: number; warmup: number },
): Promise<SizeSeries[]> {
  const url = await context.createServerDatabase('size');
  const opened = await openApp(context, url);
  try {
    await migrateDatabase(opened.config.db, opened.database);
    const user = (name: string) => `bench-size-${name}-${context.runTag}`;
    // A real turn of the app, copied into the seeded conversations.
    const template = sequentialChat(opened.ours, opened.clock, opened.statements, user('template'));
    for (let i = 0; i < 2; i++) await template('add template task', 1);
    const turnTemplate = await templateTurn(url, template.conversationId() as string);

    const started = performance.now();
    await seedTasks(url, user('small'), SMALL);
    await seedTasks(url, user('big'), BIG);
    const smallConversation = await seedConversation(url, user('small'), SMALL, turnTemplate);
    const bigConversation = await seedConversation(url, user('big'), BIG, turnTemplate);
    await vacuumAnalyze(url);
    context.log(
      `  size: seeded ${BIG.toLocaleString('en')} tasks and messages (and ${SMALL} of each) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const chats = {
      small: sequentialChat(opened.ours, opened.clock, opened.statements, user('small'), smallConversation),
      big: sequentialChat(opened.ours, opened.clock, opened.statements, user('big'), bigConversation),
    };
    const kinds = [
      {
        turn: `1 tool call (add_task), history window of a ${SMALL} / ${BIG.toLocaleString('en')}-message conversation`,
        message: 'add size task',
      },
      {
        turn: `1 tool call (list_tasks, default 50) over ${SMALL} / ${BIG.toLocaleString('en')} tasks`,
        message: 'list',
      },
    ];
    const series: SizeSeries[] = [];
    for (const kind of kinds) {
      for (const size of ['small', 'big'] as const) {
        series.push({ turn: kind.turn, size, latencies: [], turns: 0, postgresMs: 0, nodeMs: 0 });
      }
    }
    for (const kind of kinds) {
      for (let i = 0; i < options.warmup; i++) {
        await chats.small(kind.message, 1);
        await chats.big(kind.message, 1);
      }
    }
    for (let block = 0; block < options.blocks; block++) {
      // Alternate which size goes first, so neither always follows the other.
      const order = block % 2 === 0 ? series : [...series].reverse();
      for (const s of order) {
        const kind = kinds.find((k) => k.turn === s.turn) as (typeof kinds)[number];
        const monitor = createCpuMonitor(`_${context.runTag}`);
        monitor.open();
        for (let i = 0; i < options.perBlock; i++)
          s.latencies.push((await chats[s.size](kind.message, 1)).ms);
        monitor.close();
        const cpu = monitor.result();
        s.turns += options.perBlock;
        s.postgresMs += cpu?.postgresMs ?? Number.NaN;
        s.nodeMs += cpu?.nodeMs ?? Number.NaN;
      }
    }
    for (const s of series) {
      context.log(
        `  size ${s.size} ${s.turn}: p50 ${median(s.latencies).toFixed(2)} ms, cpu ms/turn node ${(s.nodeMs / s.turns).toFixed(2)} pg ${(s.postgresMs / s.turns).toFixed(2)}`,
      );
    }
    return series;
  } finally {
    await opened.database.close();
  }
}

export function sizeTable(series: SizeSeries[]): string {
  const lines = [
    `| Turn | p50 ms: ${SMALL} | ${BIG.toLocaleString('en')} | ratio | Postgres CPU ms/turn: ${SMALL} | ${BIG.toLocaleString('en')} | ratio | Node CPU ms/turn: ${SMALL} | ${BIG.toLocaleString('en')} | ratio |`,
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const turns = [...new Set(series.map((s) => s.turn))];
  for (const turn of turns) {
    const small = series.find((s) => s.turn === turn && s.size === 'small') as SizeSeries;
    const big = series.find((s) => s.turn === turn && s.size === 'big') as SizeSeries;
    const p = [median(small.latencies), median(big.latencies)];
    const pgCpu = [small.postgresMs / small.turns, big.postgresMs / big.turns];
    const nodeCpu = [small.nodeMs / small.turns, big.nodeMs / big.turns];
    const cells = (pair: number[]) =>
      `${(pair[0] as number).toFixed(2)} | ${(pair[1] as number).toFixed(2)} | ${((pair[1] as number) / (pair[0] as number)).toFixed(2)}x`;
    lines.push(`| ${turn} | ${cells(p)} | ${cells(pgCpu)} | ${cells(nodeCpu)} |`);
  }
  return lines.join('\n');
}
