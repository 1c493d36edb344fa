import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db/client.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { Inflight } from '../src/http/inflight.ts';
import { createTestApp } from './support/app.ts';
import { createServerDatabase, testConfig } from './support/db.ts';
import { type PgBouncer, pgBouncerBinary, startPgBouncer } from './support/pgbouncer.ts';
import { startWsBridge, type WsBridge } from './support/ws-bridge.ts';

// The pg and Neon drivers send every statement with parameters as a named prepared statement
// (src/db/client.ts). Behind a transaction-mode pooler that does not track them, a name prepared
// on one server connection is missing on the next, or already there from another client: the
// driver then sends the statement again unnamed and stops naming. Turns from many clients at
// once, over a pool of 3 server connections, must all succeed.
const serverUrl = process.env.TEST_DATABASE_URL;

describe.skipIf(!serverUrl || !pgBouncerBinary)(
  'chat turns behind PgBouncer 1.18 in transaction mode',
  () => {
    let server: { url: string; drop(): Promise<void> };
    let bouncer: PgBouncer;
    let bridge: WsBridge;

    beforeAll(async () => {
      server = await createServerDatabase();
      await migrateDatabase(testConfig({ DATABASE_URL: server.url, DB_DRIVER: 'pg' }).db);
      const target = new URL(server.url);
      bouncer = await startPgBouncer({ host: target.hostname, port: Number(target.port || 5432) });
      bridge = await startWsBridge();
    });
    afterAll(async () => {
      await bridge?.close();
      await bouncer?.close();
      await server?.drop();
    });

    it('really does not keep named statements apart per client', async () => {
      const [a, b] = [new pg.Client(bouncer.urlFor(server.url)), new pg.Client(bouncer.urlFor(server.url))];
      await Promise.all([a.connect(), b.connect()]);
      try {
        // One after another: PgBouncer hands each transaction the server connection used last, so
        // the second client's Parse meets the name the first one left there ("already exists").
        // (Sent at once, each client could keep a server connection of its own and never show it.)
        const named = { name: 'pooler_probe', text: 'select $1::int as n' };
        const outcomes: boolean[] = [];
        for (let i = 0; i < 6; i++) {
          outcomes.push(
            await (i % 2 ? a : b).query({ ...named, values: [i] }).then(
              () => true,
              () => false,
            ),
          );
        }
        expect(outcomes).toContain(false);
      } finally {
        await Promise.all([a.end(), b.end()]);
      }
    });

    for (const driver of ['pg', 'neon'] as const) {
      it(`answers every turn through ${driver}`, async () => {
        const config = testConfig({
          DATABASE_URL: bouncer.urlFor(server.url),
          DB_DRIVER: driver,
          ...(driver === 'neon' ? { NEON_WS_PROXY: `127.0.0.1:${bridge.port}` } : {}),
          RATE_LIMIT_TURNS_PER_MINUTE: '0',
        });
        const database: Database = await createDatabase(config.db);
        try {
          const app = createTestApp({ config, database }, { inflight: new Inflight() });
          const statuses: number[] = [];
          await Promise.all(
            Array.from({ length: 12 }, async (_, client) => {
              let conversationId: string | undefined;
              for (let i = 0; i < 4; i++) {
                const res = await app.request('/chat', {
                  method: 'POST',
                  headers: { 'content-type': 'application/json', 'x-user-id': `${driver}-${client}` },
                  body: JSON.stringify({
                    message: `add task ${i}`,
                    ...(conversationId ? { conversationId } : {}),
                  }),
                });
                statuses.push(res.status);
                conversationId = ((await res.json()) as { conversationId?: string }).conversationId;
              }
            }),
          );
          expect(statuses.filter((s) => s !== 200)).toEqual([]);
          const list = await app.request('/tasks', { headers: { 'x-user-id': `${driver}-0` } });
          expect(((await list.json()) as { total: number }).total).toBe(4);
        } finally {
          await database.close();
        }
      });
    }
  },
);
