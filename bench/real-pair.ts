// Two checkouts of the app on the real path (./real-path.ts), measured in turns: a batch on one, then
// the same batch on the other, round after round, so that other people's load on a shared machine
// falls on both alike. `BENCH_ONLY=real npm run bench` measures one checkout a row at a time, minutes
// apart; on a machine whose other load swings from 5% to 90% within minutes its before/after rows
// differ by more than the change. Here each round is a pair taken seconds apart, and a figure is the
// median over the rounds of the server's CPU (utime + stime from /proc) per turn.
//
//   BENCH_PAIR_DIR=/tmp/before node bench/real-pair.ts      (that checkout against this one)
//   BENCH_PAIR_ROUNDS (default 5), BENCH_PAIR_USERS (new users at once per batch, default 50)
//   BENCH_PAIR_BEFORE_ENV / BENCH_PAIR_AFTER_ENV: more environment for either app, as JSON, e.g.
//   BENCH_PAIR_DIR=. BENCH_PAIR_AFTER_ENV='{"MODEL_STREAM_BATCH_MS":"100"}' (one checkout, two settings)
//
// Rows: a JSON turn with a 200-token reply, a streamed turn with an empty reply and with 200 tokens
// 10 ms apart; CPU per streamed token is (200-token row - empty row) / 200, per round.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createServerDatabase, dropServerDatabases, RUN_TAG } from './databases.ts';
import { processCpu } from './machine.ts';
import { type RealPath, startRealPath } from './real-path.ts';

const HERE = fileURLToPath(new URL('..', import.meta.url));
const BEFORE = process.env.BENCH_PAIR_DIR;
const ROUNDS = Number(process.env.BENCH_PAIR_ROUNDS ?? '5');
const USERS = Number(process.env.BENCH_PAIR_USERS ?? '50');

type Plan = { label: string; stream: boolean; tokens: number; paceMs: number };
const PLANS: Plan[] = [
  { label: 'JSON, 200-token reply', stream: false, tokens: 200, paceMs: 0 },
  { label: 'stream, empty reply', stream: true, tokens: 0, paceMs: 0 },
  { label: 'stream, 200 tokens 10 ms apart', stream: true, tokens: 200, paceMs: 10 },
];

const envOf = (side: 'BEFORE' | 'AFTER'): Record<string, string> =>
  JSON.parse(process.env[`BENCH_PAIR_${side}_ENV`] ?? '{}');

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Server CPU ms per turn of one batch, and the batch's failures. */
async function measure(path: RealPath, plan: Plan): Promise<{ ms: number; failed: number }> {
  const before = processCpu(String(path.serverPid))?.ms ?? Number.NaN;
  const results = await path.batch(USERS, plan.stream);
  const after = processCpu(String(path.serverPid))?.ms ?? Number.NaN;
  return { ms: (after - before) / results.length, failed: results.filter((r) => !r.ok).length };
}

async function main(): Promise<void> {
  if (!BEFORE) throw new Error('BENCH_PAIR_DIR: the checkout to compare this one with');
  const apps = { before: BEFORE, after: HERE };
  const databaseUrl = await createServerDatabase('pair');
  const figures: Record<string, Record<'before' | 'after', number[]>> = {};
  let failed = 0;
  const loads: number[] = [];
  try {
    const paths = {
      before: await startRealPath({
        databaseUrl,
        runTag: `${RUN_TAG}b`,
        appDir: apps.before,
        env: envOf('BEFORE'),
      }),
      after: await startRealPath({
        databaseUrl,
        runTag: `${RUN_TAG}a`,
        appDir: apps.after,
        env: envOf('AFTER'),
      }),
    };
    try {
      for (const plan of PLANS) {
        figures[plan.label] = { before: [], after: [] };
        for (const side of ['before', 'after'] as const) {
          await paths[side].setReply(plan.tokens, 0);
          await paths[side].batch(USERS, plan.stream);
          await paths[side].setReply(plan.tokens, plan.paceMs);
        }
        for (let round = 0; round < ROUNDS; round++) {
          // Alternate which goes first, so neither always follows the other's garbage.
          const order = round % 2 ? (['after', 'before'] as const) : (['before', 'after'] as const);
          for (const side of order) {
            const { ms, failed: f } = await measure(paths[side], plan);
            figures[plan.label]?.[side].push(ms);
            failed += f;
          }
          loads.push(loadavg()[0] as number);
        }
        const row = figures[plan.label] as Record<'before' | 'after', number[]>;
        console.log(
          `${plan.label}: before ${median(row.before).toFixed(2)} ms/turn [${row.before.map((v) => v.toFixed(1)).join(' ')}], ` +
            `after ${median(row.after).toFixed(2)} ms/turn [${row.after.map((v) => v.toFixed(1)).join(' ')}]`,
        );
      }
    } finally {
      await paths.before.close();
      await paths.after.close();
    }
  } finally {
    await dropServerDatabases((message) => console.error(message));
  }
  const empty = figures['stream, empty reply'] as Record<'before' | 'after', number[]>;
  const full = figures['stream, 200 tokens 10 ms apart'] as Record<'before' | 'after', number[]>;
  for (const side of ['before', 'after'] as const) {
    const perToken = full[side].map((ms, i) => ((ms - (empty[side][i] as number)) / 200) * 1000);
    console.log(
      `CPU per streamed token, ${side}: median ${median(perToken).toFixed(1)} us [${perToken.map((v) => v.toFixed(0)).join(' ')}]`,
    );
  }
  console.log(
    `${USERS} new users at once per batch, ${ROUNDS} rounds; failed turns ${failed}; load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`,
  );
}

await main();
