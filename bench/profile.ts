// Where a turn's Node CPU goes: the same in-process load as `npm run bench`'s pg rows (zero-latency
// model, N clients in a closed loop, each its own user with a full history window), with V8's
// sampling profiler on during the measured window only. Prints the self time per area (our src/
// files, each package under node_modules, Node's own internals, GC) and the hottest functions,
// both as milliseconds of CPU per turn, and writes the .cpuprofile for Chrome DevTools.
//
//   node bench/profile.ts                          (JSON answers, 16 clients, 5 s, Postgres via pg)
//   PROFILE_STREAM=1 node bench/profile.ts         (the UI message stream instead)
//   PROFILE_DRIVER=none node bench/profile.ts      (the no-database fakes: the app's own ceiling)
//   PROFILE_CLIENTS=1 PROFILE_SECONDS=10 PROFILE_OUT=/tmp/turn.cpuprofile node bench/profile.ts
//   PROFILE_PATH=real node bench/profile.ts        (the real path: see below)
//
// PROFILE_PATH=real profiles the app of the bench's real-path rows (./real-path.ts) instead: the
// server in its own process under `node --cpu-prof`, its model over HTTP in another, batches of
// new users at once over loopback. The samples of the measured batches only are summarized (the
// profile's clock is CLOCK_MONOTONIC, as `process.hrtime` is). PROFILE_STREAM=1 streams the
// reply; PROFILE_TOKENS (default 200) and PROFILE_PACE_MS (default 10 streamed, 0 JSON) shape it;
// PROFILE_CLIENTS (default 200) users at once, PROFILE_BATCHES (default 5) times.
//
// It creates its own uniquely named database on BENCH_DATABASE_URL / TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres) and drops it at the end.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { LanguageModel } from 'ai';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createDatabase, type Database } from '../src/db/client.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { Inflight } from '../src/http/inflight.ts';
import { createServerDatabase, dropServerDatabases, RUN_TAG } from './databases.ts';
import { jsonPost, runLoad } from './load.ts';
import { createFakeStores, noDatabase, steadyStateHistory } from './no-db.ts';
import { startRealPath } from './real-path.ts';
import { createZeroModel } from './zero-model.ts';

const STREAM = process.env.PROFILE_STREAM === '1';
const CLIENTS = Number(process.env.PROFILE_CLIENTS ?? '16');
const SECONDS = Number(process.env.PROFILE_SECONDS ?? '5');
const DRIVER = process.env.PROFILE_DRIVER ?? 'pg';
const OUT = process.env.PROFILE_OUT ?? '/tmp/taskchat-turn.cpuprofile';

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
};
type Profile = {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas?: number[];
};

/** A profile node's area: a package under node_modules, one of our files, or Node itself. */
function areaOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const ours = /\/((?:src|bench|test)\/.+)$/.exec(url);
  if (ours) return ours[1] as string;
  return url.startsWith('node:') ? 'node:internals' : url;
}

function summarize(profile: Profile, turns: number): string {
  const interval = (profile.endTime - profile.startTime) / 1000 / profile.samples.length; // ms
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, count] of hits) {
    const node = byId.get(id) as ProfileNode;
    if (node.callFrame.functionName === '(idle)') continue;
    const area = areaOf(node);
    areas.set(area, (areas.get(area) ?? 0) + count);
    const fn = `${node.callFrame.functionName || '(anonymous)'} ${area}:${node.callFrame.lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + count);
  }
  const perTurn = (count: number) => ((count * interval) / turns).toFixed(3);
  const total = [...areas.values()].reduce((a, b) => a + b, 0);
  const top = (map: Map<string, number>, n: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, count]) => `  ${perTurn(count).padStart(7)}  ${name}`)
      .join('\n');
  return [
    `sampled CPU (not idle): ${perTurn(total)} ms/turn`,
    'self time by area, ms/turn:',
    top(areas, 30),
    'hottest functions (self time), ms/turn:',
    top(functions, 40),
  ].join('\n');
}

/** The samples of `profile` taken between `from` and `to` (microseconds, the profile's clock). */
function window(profile: Profile, from: number, to: number): Profile {
  const samples: number[] = [];
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas?.[i] ?? 0;
    if (at >= from && at <= to) samples.push(id);
  });
  return { ...profile, samples, startTime: from, endTime: to };
}

async function profileRealPath(): Promise<void> {
  const stream = STREAM;
  const tokens = Number(process.env.PROFILE_TOKENS ?? '200');
  const paceMs = Number(process.env.PROFILE_PACE_MS ?? (stream ? '10' : '0'));
  const atOnce = Number(process.env.PROFILE_CLIENTS ?? '200');
  const batches = Number(process.env.PROFILE_BATCHES ?? '5');
  const dir = await mkdtemp(join(os.tmpdir(), 'taskchat-prof-'));
  const path = await startRealPath({
    databaseUrl: await createServerDatabase('profile'),
    runTag: RUN_TAG,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=250'],
  });
  let turns = 0;
  let failures = 0;
  let from = 0;
  let to = 0;
  try {
    await path.setReply(tokens, paceMs);
    for (let i = 0; i < 2; i++) await path.batch(atOnce, stream);
    from = Number(process.hrtime.bigint() / 1000n);
    for (let i = 0; i < batches; i++) {
      const results = await path.batch(atOnce, stream);
      turns += results.length;
      failures += results.filter((r) => !r.ok).length;
    }
    to = Number(process.hrtime.bigint() / 1000n);
  } finally {
    await path.close();
    await dropServerDatabases((message) => console.error(message));
  }
  const [file] = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error('the server wrote no profile');
  const profile = window(JSON.parse(await readFile(join(dir, file), 'utf8')) as Profile, from, to);
  await writeFile(OUT, JSON.stringify(profile));
  await rm(dir, { recursive: true, force: true });
  console.log(
    `real path, ${stream ? `stream, ${tokens} tokens ${paceMs} ms apart` : `JSON, ${tokens}-token reply`}, ` +
      `${atOnce} new users at once x ${batches}: ${turns} turns, ${failures} failed`,
  );
  console.log(summarize(profile, turns));
  console.log(`profile written to ${OUT}`);
}

async function main(): Promise<void> {
  if (process.env.PROFILE_PATH === 'real') return profileRealPath();
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    RATE_LIMIT_TURNS_PER_MINUTE: '0',
    DATABASE_URL: DRIVER === 'pg' ? await createServerDatabase('profile') : 'pglite://memory',
  });
  const model = createZeroModel() as LanguageModel;
  let database: Database = noDatabase;
  let fakes: ReturnType<typeof createFakeStores> | undefined;
  if (DRIVER === 'pg') {
    database = await createDatabase(config.db);
    await migrateDatabase(config.db, database);
  } else {
    fakes = createFakeStores(await steadyStateHistory(model, config), () => {});
  }
  try {
    const inflight = new Inflight();
    const app = createApp({
      config,
      database,
      model,
      inflight,
      today: () => '2026-11-23',
      ...fakes,
    });
    const conversations = new Map<number, string>();
    let sent = 0;
    const turn = async (client: number) => {
      const conversationId = conversations.get(client);
      const message = `add profiled task ${++sent}`;
      const res = await app.request(
        '/chat',
        jsonPost(conversationId ? { message, conversationId } : { message }, {
          'x-user-id': `profile-${RUN_TAG}-${client}`,
          ...(STREAM ? { accept: 'text/event-stream' } : {}),
        }),
      );
      if (res.status !== 200) throw new Error(`POST /chat ${res.status}: ${await res.text()}`);
      if (STREAM) {
        await res.text();
        conversations.set(client, res.headers.get('x-conversation-id') as string);
      } else {
        conversations.set(client, ((await res.json()) as { conversationId: string }).conversationId);
      }
    };
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    const result = await runLoad(turn, {
      concurrency: CLIENTS,
      warmupMs: 1500,
      warmupTurns: 12,
      measureMs: SECONDS * 1000,
      window: {
        open: () => void session.post('Profiler.start'),
        close: () => {},
      },
    });
    const { profile } = (await session.post('Profiler.stop')) as { profile: Profile };
    session.disconnect();
    await inflight.idle();
    await writeFile(OUT, JSON.stringify(profile));
    console.log(
      `${DRIVER} ${STREAM ? 'stream' : 'JSON'} x${CLIENTS}: ${result.turnsPerSecond.toFixed(0)} turns/s, ` +
        `Node CPU ${result.cpuMsPerTurn.toFixed(2)} ms/turn (profiler on), errors ${result.errors}` +
        (result.firstError ? ` (${result.firstError})` : ''),
    );
    console.log(summarize(profile, result.turns));
    console.log(`profile written to ${OUT}`);
  } finally {
    await database.close();
    await dropServerDatabases((message) => console.error(message));
  }
}

await main();
