// `node bench/outage.ts`: the outage run of issue 9's closing note. Postgres (a private cluster
// under /tmp) is killed ('immediate') under load from several app instances and started again
// DOWN_MS later; prints what the clients saw, the time each conversation took to get a turn
// answered once the database was back, and the invariants checked in SQL afterwards.
//
//   INSTANCES=2 CLIENTS=16 DOWN_MS=6000 node bench/outage.ts
import { startFakeOpenAI } from '../test/support/fake-openai.ts';
import { findLeaks, newTranscript } from '../test/support/fault-app.ts';
import { checkInvariants } from '../test/support/invariants.ts';
import { runOutage } from '../test/support/outage.ts';
import { startPgCluster } from '../test/support/pg-cluster.ts';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const instances = num('INSTANCES', 2);
const clients = num('CLIENTS', 16);
const downMs = num('DOWN_MS', 6000);

const cluster = await startPgCluster();
const fake = await startFakeOpenAI();
try {
  const url = await cluster.createDatabase();
  const transcript = newTranscript();
  const figures = await runOutage({
    cluster,
    databaseUrl: url,
    fake,
    instances,
    clients,
    warmMs: 3000,
    downMs,
    afterMs: 3000,
    transcript,
  });
  const violations = await checkInvariants(url, figures.answered);
  const leaks = findLeaks([...transcript.responses, ...transcript.logs]);
  const recovery = [...figures.recoveryMs].sort((a, b) => a - b);
  const pct = (p: number) => recovery[Math.min(recovery.length - 1, Math.floor((p / 100) * recovery.length))];
  console.log(
    JSON.stringify(
      {
        instances,
        clients,
        downMs,
        requests: figures.requests,
        byStatus: figures.byStatus,
        turnsAnswered: figures.turnsAnswered,
        refusedAfterDatabaseBack: figures.refusedAfterBack,
        recoveryMs: { min: recovery[0], median: pct(50), max: recovery.at(-1) },
        invariantViolations: violations,
        leaks: leaks.length,
      },
      null,
      2,
    ),
  );
  if (violations.length > 0 || leaks.length > 0 || !Number.isFinite(recovery.at(-1) ?? Number.NaN)) {
    process.exitCode = 1;
  }
} finally {
  await fake.close();
  await cluster.destroy();
}
