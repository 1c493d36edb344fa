// Memory a streamed turn holds while in flight (issue 25: <= 150 KB a turn with 1,000 at once).
// The real path (./real-path.ts: the app as `npm start` runs it, its model over HTTP, pg on a
// bench database), with the app's node given `--expose-gc` and ./memory-probe.ts. N streamed
// turns are opened at once against a model that streams slowly, so all N are in flight together;
// once the model has been asked for every turn's reply, the app collects its garbage and reports
// process.memoryUsage(). The figure per turn is (in flight - idle) / N, for heapUsed, external,
// arrayBuffers and rss: after a full GC it is what the turns keep alive, whatever the CPU load.
//
//   npm run bench:turn-memory                      (N = 200 and 500)
//   TURN_MEMORY_N=200,500,1000 TURN_MEMORY_SNAPSHOT=200 npm run bench:turn-memory
//   TURN_MEMORY_TOKENS=200 TURN_MEMORY_PACE_MS=250   (a longer reply: the growth per token)
//
// The tokens a turn has had at each reading are estimated from the time since the turns opened
// (the middle of the opening), so the figure per token is approximate; the one per turn is not.
//
// TURN_MEMORY_SNAPSHOT=N also writes heap snapshots of the idle app and of N turns in flight and
// prints what the turns added, by constructor (self size per turn, objects per turn): what a turn
// holds (and a third late in the replies: diff it with the second for what grows per token).
// Read the figures per turn from a run without snapshots: a snapshot's own collection drops compiled
// code the idle reading still counted, so with them the figures per turn come out about 30 KB low.
// BENCH_APP_DIR runs another checkout's app (a before/after pair).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createServerDatabase, dropServerDatabases, RUN_TAG } from './databases.ts';
import { MEMORY_PROBE, type Memory, processMemory, processRssKb } from './machine.ts';
import { startRealPath } from './real-path.ts';

const COUNTS = (process.env.TURN_MEMORY_N ?? '200,500').split(',').map(Number);
const SNAPSHOT = Number(process.env.TURN_MEMORY_SNAPSHOT ?? '0');
/** The reply: 40 tokens, slow enough that every turn of a batch is open at once. */
const TOKENS = Number(process.env.TURN_MEMORY_TOKENS ?? '40');
const PACE_MS = Number(process.env.TURN_MEMORY_PACE_MS ?? '1000');

const kb = (bytes: number) => bytes / 1024;

/** Self size and count per constructor (or closure name, or string), from a heap snapshot file. */
function census(file: string): Map<string, { size: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt] as number] as string;
    const name = snap.strings[snap.nodes[i + nameAt] as number] as string;
    const key =
      type === 'string' || type === 'concatenated string' || type === 'sliced string'
        ? `(string) ${JSON.stringify(name.slice(0, 40))}`
        : type === 'closure'
          ? `(closure) ${name}`
          : `(${type}) ${name.slice(0, 60)}`;
    const entry = out.get(key) ?? { size: 0, count: 0 };
    entry.size += snap.nodes[i + sizeAt] as number;
    entry.count++;
    out.set(key, entry);
  }
  return out;
}

function snapshotDiff(idleFile: string, busyFile: string, n: number): string {
  const idle = census(idleFile);
  const busy = census(busyFile);
  const rows = [...busy].map(([key, b]) => {
    const a = idle.get(key) ?? { size: 0, count: 0 };
    return { key, size: (b.size - a.size) / n, count: (b.count - a.count) / n };
  });
  rows.sort((x, y) => y.size - x.size);
  const total = rows.reduce((sum, r) => sum + r.size, 0);
  return [
    `heap snapshot, ${n} turns in flight minus idle: ${kb(total).toFixed(1)} KB of objects per turn; the 40 largest by self size:`,
    ...rows
      .slice(0, 40)
      .map(
        (r) =>
          `  ${kb(r.size).toFixed(2).padStart(8)} KB ${r.count.toFixed(1).padStart(7)} objects  ${r.key}`,
      ),
  ].join('\n');
}

async function main(): Promise<void> {
  const databaseUrl = await createServerDatabase('memory');
  try {
    for (const n of COUNTS) {
      const path = await startRealPath({
        databaseUrl,
        runTag: `${RUN_TAG}m${n}`,
        nodeArgs: ['--expose-gc', '--import', MEMORY_PROBE],
      });
      try {
        // Warm: JIT, pool connections, the model's keep-alive sockets.
        await path.setReply(TOKENS, 0);
        for (let i = 0; i < 3; i++) await path.batch(Math.min(n, 200), true);
        await path.setReply(TOKENS, PACE_MS);
        const snapIdle = SNAPSHOT === n ? `/tmp/turn-memory-idle-${n}.heapsnapshot` : undefined;
        const idle = await processMemory(path.serverPid, snapIdle);
        const requests = (await path.modelStats()).requests;
        const started = performance.now();
        const done = path.batch(n, true);
        // Every turn in flight: the model has been asked for each turn's reply (2 requests a turn).
        for (;;) {
          const asked = (await path.modelStats()).requests - requests;
          if (asked >= 2 * n) break;
          if (performance.now() - started > (TOKENS * PACE_MS) / 2) {
            const results = await done;
            const failed = results.filter((r) => !r.ok);
            throw new Error(
              `turns did not open in time: ${asked} model requests for ${n} turns; failed ${failed.length}` +
                (failed[0] ? ` (${failed[0].error})` : ''),
            );
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const openMs = performance.now() - started;
        // A few tokens into every reply.
        await new Promise((resolve) => setTimeout(resolve, 3 * PACE_MS));
        const snapBusy = SNAPSHOT === n ? `/tmp/turn-memory-busy-${n}.heapsnapshot` : undefined;
        const busy = await processMemory(path.serverPid, snapBusy);
        const rssNow = processRssKb(path.serverPid);
        // Late in every reply (the first turns opened are a few tokens from their end): what a
        // turn's memory grows by per streamed token.
        const lateAt = started + (TOKENS - 4) * PACE_MS;
        const earlyTokens = (performance.now() - started - openMs / 2) / PACE_MS;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, lateAt - performance.now())));
        const snapLate = SNAPSHOT === n ? `/tmp/turn-memory-late-${n}.heapsnapshot` : undefined;
        const late = await processMemory(path.serverPid, snapLate);
        const lateTokens = (performance.now() - started - openMs / 2) / PACE_MS;
        const results = await done;
        const failed = results.filter((r) => !r.ok);
        const per = (key: keyof Memory) => kb((busy[key] - idle[key]) / n).toFixed(1);
        const perToken = (late.heapUsed - busy.heapUsed) / n / (lateTokens - earlyTokens);
        console.log(
          `N=${n} in flight (opened in ${(openMs / 1000).toFixed(1)} s, load ${loadavg()[0]?.toFixed(2)}): per turn ` +
            `heapUsed ${per('heapUsed')} KB (heapTotal ${per('heapTotal')} KB), external ${per('external')} KB (arrayBuffers ${per('arrayBuffers')} KB), ` +
            `rss ${per('rss')} KB; idle heapUsed ${kb(idle.heapUsed / 1024).toFixed(1)} MB, rss ${kb(idle.rss / 1024).toFixed(1)} MB ` +
            `(rss from /proc now ${(rssNow / 1024).toFixed(1)} MB); ` +
            `${lateTokens.toFixed(0)} tokens in: heapUsed ${kb((late.heapUsed - idle.heapUsed) / n).toFixed(1)} KB per turn, ` +
            `${perToken.toFixed(0)} bytes per turn per token; failed ${failed.length}/${results.length}` +
            (failed[0] ? ` (${failed[0].error})` : ''),
        );
        if (snapIdle && snapBusy) console.log(snapshotDiff(snapIdle, snapBusy, n));
      } finally {
        await path.close();
      }
    }
  } finally {
    await dropServerDatabases(console.error);
  }
}

await main();
