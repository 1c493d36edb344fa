/**
 * @module health/routes
 * The three questions a platform asks, answered without auth:
 * - `GET /livez`: is the process serving? Never touches the database, so a database outage does
 *   not make Kubernetes restart every pod (which would not bring the database back).
 * - `GET /readyz`: should traffic come here? Only when the database answers in time and the server
 *   is not draining; otherwise 503 with `Retry-After`, and the load balancer sends it elsewhere.
 * - `GET /health`: the same for people and dashboards, with figures: the database's answer time
 *   (`degraded` above `HEALTH_DEGRADED_MS`, or while the circuit breaker is not closed), the
 *   breaker's state and the pool.
 */
import { Hono } from 'hono';
import type { Database } from '../db/client.ts';
import type { AppEnv } from '../http/env.ts';

/** Past this the database counts as not answering (below Kubernetes' probe timeouts in deploy/). */
export const PING_TIMEOUT_MS = 1500;
const RETRY_AFTER_SECONDS = '5';

export type HealthDeps = {
  database: Pick<Database, 'ping' | 'poolStats' | 'breakerState'>;
  /** HEALTH_DEGRADED_MS. */
  degradedMs: number;
  /** True once shutdown has begun: new work belongs to another instance. */
  isDraining: () => boolean;
};

export function healthRoutes({ database, degradedMs, isDraining }: HealthDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/livez', (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json({ status: 'ok' });
  });

  app.get('/readyz', async (c) => {
    c.header('Cache-Control', 'no-store');
    const reason = isDraining() ? 'draining' : (await ping(database)).ok ? undefined : 'db_unavailable';
    if (reason === undefined) return c.json({ status: 'ready' });
    c.header('Retry-After', RETRY_AFTER_SECONDS);
    return c.json({ status: 'not_ready', reason }, 503);
  });

  app.get('/health', async (c) => {
    c.header('Cache-Control', 'no-store');
    const draining = isDraining();
    // A draining server takes no new work, so it does not ask the database either.
    const answer = draining ? undefined : await ping(database);
    const pool = database.poolStats();
    const figures = { draining, breaker: database.breakerState(), ...(pool ? { pool } : {}) };
    if (!answer?.ok) {
      c.header('Retry-After', RETRY_AFTER_SECONDS);
      return c.json({ status: 'unavailable', db: 'unavailable', ...figures }, 503);
    }
    const degraded = answer.ms > degradedMs || figures.breaker !== 'closed';
    return c.json({ status: degraded ? 'degraded' : 'ok', db: 'ok', dbLatencyMs: answer.ms, ...figures });
  });

  return app;
}

async function ping(database: HealthDeps['database']): Promise<{ ok: boolean; ms: number }> {
  const started = performance.now();
  const ok = await database.ping(PING_TIMEOUT_MS);
  return { ok, ms: Math.round((performance.now() - started) * 10) / 10 };
}
