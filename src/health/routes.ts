/**
 * @module health/routes
 * The three questions a platform asks, answered without auth:
 * - `GET /livez`: is the process serving? Never touches the database, so a database outage does
 *   not make Kubernetes restart every pod (which would not bring the database back).
 * - `GET /readyz`: should traffic come here? Only when the database answers in time and the server
 *   is not draining; otherwise 503 with `Retry-After`, and the load balancer sends it elsewhere.
 * - `GET /health`: the same for people and dashboards, with figures: the database's answer time
 *   (`degraded` above `HEALTH_DEGRADED_MS`, or while the circuit breaker is not closed), the
 *   breaker's state and the pool; and `"model": "offline"` when the offline command reader answers
 *   chat, so the page can say so before the first message (a real model's id is not told); and
 *   `"redis": "ok" | "unavailable"` when REDIS_URL is set, which never makes the service unavailable
 *   (without Redis only a resume on another instance degrades, to the stored answer); and
 *   `"worker": "running" | "stopped"` when this process runs the background worker (WORKER=true),
 *   which never makes the service unavailable either (jobs wait in the database for any worker).
 */
import { type Context, Hono } from 'hono';
import type { Database } from '../db/client.ts';
import { DRAINING_RETRY_AFTER_SECONDS } from '../http/drain.ts';
import type { AppEnv } from '../http/env.ts';
import { healthDocs, livezDocs, readyzDocs } from './openapi.ts';

/** Past this the database counts as not answering (below Kubernetes' probe timeouts in deploy/). */
export const PING_TIMEOUT_MS = 1500;
const DB_RETRY_AFTER_SECONDS = '5';

export type HealthDeps = {
  database: Pick<Database, 'ping' | 'poolStats' | 'breakerState'>;
  /** HEALTH_DEGRADED_MS. */
  degradedMs: number;
  /** True once shutdown has begun: new work belongs to another instance. */
  isDraining: () => boolean;
  /** The offline command reader answers chat (CHAT_MODEL=offline). */
  offline?: boolean;
  /** REDIS_URL's Redis, when configured: reported, never making the service unavailable. */
  redis?: { ping(timeoutMs: number): Promise<boolean> };
  /** This process's background worker (jobs/runner.ts), when it runs one. */
  worker?: { readonly state: 'running' | 'stopped' };
};

export function healthRoutes({
  database,
  degradedMs,
  isDraining,
  offline,
  redis,
  worker,
}: HealthDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/livez', livezDocs, (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json({ status: 'ok' });
  });

  app.get('/readyz', readyzDocs, async (c) => {
    c.header('Cache-Control', 'no-store');
    if (isDraining()) {
      drainingHeaders(c);
      return c.json({ status: 'not_ready', reason: 'draining' }, 503);
    }
    if ((await ping(database)).ok) return c.json({ status: 'ready' });
    c.header('Retry-After', DB_RETRY_AFTER_SECONDS);
    return c.json({ status: 'not_ready', reason: 'db_unavailable' }, 503);
  });

  app.get('/health', healthDocs, async (c) => {
    c.header('Cache-Control', 'no-store');
    const [answer, redisOk] = await Promise.all([ping(database), redis?.ping(PING_TIMEOUT_MS)]);
    const pool = database.poolStats();
    const draining = isDraining();
    const figures = {
      ...(answer.ok ? { dbLatencyMs: answer.ms } : {}),
      breaker: database.breakerState(),
      draining,
      ...(pool ? { pool } : {}),
      ...(offline ? { model: 'offline' as const } : {}),
      // Without it only resuming an answer on another instance degrades (to the stored answer).
      ...(redis ? { redis: redisOk ? ('ok' as const) : ('unavailable' as const) } : {}),
      ...(worker ? { worker: worker.state } : {}),
    };
    // Draining: unavailable for new work whatever the database says (and says it truthfully).
    if (draining) {
      drainingHeaders(c);
      return c.json({ status: 'unavailable', db: answer.ok ? 'ok' : 'unavailable', ...figures }, 503);
    }
    if (!answer.ok) {
      c.header('Retry-After', DB_RETRY_AFTER_SECONDS);
      return c.json({ status: 'unavailable', db: 'unavailable', ...figures }, 503);
    }
    const degraded = answer.ms > degradedMs || figures.breaker !== 'closed';
    return c.json({ status: degraded ? 'degraded' : 'ok', db: 'ok', ...figures });
  });

  return app;
}

/** As every answer while draining: come back elsewhere, and this connection closes. */
function drainingHeaders(c: Context<AppEnv>): void {
  c.header('Retry-After', String(DRAINING_RETRY_AFTER_SECONDS));
  c.header('Connection', 'close');
}

async function ping(database: HealthDeps['database']): Promise<{ ok: boolean; ms: number }> {
  const started = performance.now();
  const ok = await database.ping(PING_TIMEOUT_MS);
  return { ok, ms: Math.round((performance.now() - started) * 10) / 10 };
}
