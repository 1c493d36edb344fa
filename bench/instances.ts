// `npm run bench:instances`: what the liveness records cost (instances/registry.ts). Each process
// renews its record with one UPDATE every RENEW_EVERY_MS, whatever its traffic; this measures that
// statement on the Postgres server (round trip and the backend's CPU for it), with as many records
// as a large deployment has, and what that makes per instance and for a fleet.
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { openMigratedDatabase } from '../src/db/migrate.ts';
import { DEAD_AFTER_MS, RENEW_EVERY_MS, registerInstance } from '../src/instances/registry.ts';
import { createServerDatabase, dropServerDatabases } from './databases.ts';

const RECORDS = 200; // other processes' records in the table
const RENEWALS = 5000;

/** CPU seconds used so far by the backend with this pid (utime + stime from /proc). */
async function backendCpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

try {
  const url = await createServerDatabase('instances');
  const database = await openMigratedDatabase(loadConfig({ DATABASE_URL: url }).db);
  const others = await Promise.all(
    Array.from({ length: RECORDS }, () =>
      registerInstance(database, { kind: 'web', renewEveryMs: 3_600_000 }),
    ),
  );
  await database.close();

  // The renewal exactly as the registry sends it, on one connection whose backend we can watch.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const pid = (await client.query('select pg_backend_pid() as pid')).rows[0].pid as number;
  const id = others[0]?.id;
  const renew = {
    name: 'renew',
    text: 'update instances set seen_at = now() where id = $1::uuid',
    values: [id],
  };
  for (let i = 0; i < 200; i++) await client.query(renew); // warm the plan and the caches
  const cpuBefore = await backendCpuSeconds(pid);
  const started = performance.now();
  for (let i = 0; i < RENEWALS; i++) await client.query(renew);
  const elapsedMs = performance.now() - started;
  const cpuMs = ((await backendCpuSeconds(pid)) - cpuBefore) * 1000;
  await client.end();

  const perRenewalUs = (elapsedMs * 1000) / RENEWALS;
  const cpuPerRenewalUs = (cpuMs * 1000) / RENEWALS;
  const perSecond = 1000 / RENEW_EVERY_MS;
  console.log(
    `renewal (UPDATE by primary key, ${RECORDS} records): ${perRenewalUs.toFixed(0)} us round trip,`,
  );
  console.log(`  ${cpuPerRenewalUs.toFixed(0)} us Postgres backend CPU (${RENEWALS} renewals)`);
  console.log(
    `per instance: ${perSecond} statements/s = ${((cpuPerRenewalUs * perSecond) / 1000).toFixed(3)} ms Postgres CPU/s`,
  );
  console.log(
    `100 instances: ${100 * perSecond} statements/s = ${((cpuPerRenewalUs * perSecond * 100) / 1000).toFixed(1)} ms Postgres CPU/s`,
  );
  console.log(`dead after ${DEAD_AFTER_MS} ms without a renewal (every ${RENEW_EVERY_MS} ms)`);
} finally {
  await dropServerDatabases((message) => console.error(message));
}
