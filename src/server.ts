/**
 * @module server
 * Runs the app on Node: migrate, listen, and on shutdown drain: keep listening but answer every
 * new request `503 draining` (on kept-alive connections too), close idle connections, let running
 * turns finish and be stored, then close the database, so a deploy or Ctrl-C loses nothing. A turn
 * still running near the end of the grace period is stopped and ends as a failed turn (its lease
 * released, its task changes recorded), so nothing is left half done for the next process.
 *
 * Unless `WORKER=false`, the process also runs the background worker (jobs/runner.ts); a drain
 * stops it first thing (it takes no new job, finishes the ones running) and waits for it before
 * closing the database.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { createApp } from './app.ts';
import { type Config, redactConfig } from './config.ts';
import type { Database } from './db/client.ts';
import { openMigratedDatabase } from './db/migrate.ts';
import { createNotifications } from './db/notifications.ts';
import { describeStartupFailure, StartupError } from './db/startup-error.ts';
import { Drain } from './http/drain.ts';
import { Inflight } from './http/inflight.ts';
import { registerInstance } from './instances/registry.ts';
import { type JobRunner, startJobRunner } from './jobs/runner.ts';
import { createLogger, type Logger } from './log.ts';
import { createObservability } from './observability/index.ts';
import { createRedis } from './relay/redis.ts';
import { createStopSignals } from './relay/stops.ts';

export type RunningServer = {
  url: string;
  database: Database;
  /** The shutdown state: a `/readyz` reads `drain.draining`. */
  drain: Drain;
  /**
   * Drains (see the module header) for at most `graceMs`, then closes the database. Turns still
   * running `stopTurnsBeforeMs` before the deadline are stopped and end as failed.
   */
  close(graceMs?: number): Promise<void>;
};

// Time left, at the end, for stopped turns to write their failure endings and for the database to close.
const STOP_TURNS_BEFORE_MS = 3000;
// While draining, connections that became idle are closed this often.
const IDLE_SWEEP_MS = 100;
// Connections the kernel may hold for us before we accept them (it caps this at
// net.core.somaxconn, 4096 on current Linux). Node's default, 511, overflowed when a thousand
// clients connected at once while the event loop was busy: the kernel dropped the rest of the
// SYNs and those clients only retried after 1, 3, 7... seconds, whatever the server's load.
const LISTEN_BACKLOG = 4096;

/**
 * What a production start should not do silently: each is a working default for a first run on a
 * laptop, and a surprise on a server.
 */
export function productionWarnings(config: Config): string[] {
  if (config.nodeEnv !== 'production') return [];
  const warnings: string[] = [];
  if (!config.publicUrlGiven) {
    // Behind a domain name, the chat page's own requests would all be refused as foreign.
    warnings.push(
      `PUBLIC_URL is not set, so this server takes itself for ${config.publicUrl}: pages served under another name get 403 forbidden_origin and MCP hosts are told the wrong resource. Set PUBLIC_URL to the URL clients use.`,
    );
  }
  if (config.model.id === 'offline') {
    warnings.push(
      'CHAT_MODEL is offline: chats are answered by the built-in command reader, not an AI model. Set OPENAI_API_KEY (or OPENAI_BASE_URL and CHAT_MODEL) for a real model.',
    );
  }
  if (config.metricsToken === undefined) {
    warnings.push(
      'METRICS_TOKEN is not set, so GET /metrics is open to anyone who can reach this server. Set METRICS_TOKEN, or keep /metrics off the public route.',
    );
  }
  return warnings;
}

export async function startServer(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
): Promise<RunningServer> {
  const db = await openMigratedDatabase(config.db);
  const inflight = new Inflight();
  const drain = new Drain();
  const observability = createObservability(config, { database: db, logger, processMetrics: true });
  const instance = await registerInstance(db, { kind: 'web', logger }).catch(async (error) => {
    await db.close();
    throw error;
  });
  let worker: JobRunner | undefined;
  if (config.worker) {
    worker = await startJobRunner({ config, database: db, logger }).catch(async (error) => {
      await instance.stop();
      await db.close();
      throw describeStartupFailure(error, config.db);
    });
  }
  const redis = config.redisUrl ? createRedis(config.redisUrl, logger) : undefined;
  // The one listening connection of this process: live events and stops share it.
  const notifications = createNotifications({
    database: db,
    logger,
    listenUrl: config.db.driver === 'pglite' ? undefined : config.db.migrationUrl,
    connectTimeoutMs: config.db.connectTimeoutMs,
  });
  const stops = createStopSignals({ database: db, logger, redis, notifications });
  const closeRelays = async () => {
    await stops.close();
    await notifications.close();
    await redis?.close();
  };
  const stopWorker = async () => {
    await worker?.stop();
  };
  const app = createApp({
    config,
    database: db,
    logger,
    inflight,
    drain,
    observability,
    instanceId: instance.id,
    redis,
    stops,
    notifications,
    worker,
  });
  const server = await new Promise<ReturnType<typeof createAdaptorServer>>((resolve, reject) => {
    const s = createAdaptorServer({ fetch: app.fetch, hostname: config.host });
    s.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => resolve(s));
    s.once('error', (error: NodeJS.ErrnoException) => {
      const where = `${config.host}:${config.port}`;
      reject(
        new StartupError(
          error.code === 'EADDRINUSE'
            ? `PORT: ${where} is already in use by another process`
            : `HOST/PORT: cannot listen on ${where} (${error.code ?? 'unknown error'})`,
        ),
      );
    });
  }).catch(async (error) => {
    await stopWorker();
    await closeRelays();
    await instance.stop();
    await db.close();
    throw error;
  });
  // Requests whose response has not finished yet (streams included): drained before closing.
  let active = 0;
  let idleWaiters: (() => void)[] = [];
  (server as Server).on('request', (_req, res) => {
    active++;
    res.once('close', () => {
      active--;
      if (active > 0) return;
      for (const resolve of idleWaiters) resolve();
      idleWaiters = [];
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info('taskchat listening', { url, config: redactConfig(config) });
  if (config.auth.mode === 'dev') {
    logger.warn('AUTH_MODE=dev: any caller can act as any user with X-User-Id. Do not expose this server.');
  }
  for (const warning of productionWarnings(config)) logger.warn(warning);

  const requestsDone = () =>
    active === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          idleWaiters.push(resolve);
        });
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());

  let closing: Promise<void> | undefined;
  // The default grace period stays under the 30 s most platforms wait between SIGTERM and SIGKILL.
  const close = (graceMs = 25_000) => {
    closing ??= (async () => {
      const deadline = Date.now() + graceMs;
      drain.begin();
      // No new job from now on; the ones running finish while the requests drain.
      const workerStopped = stopWorker();
      const http = server as Server;
      http.closeIdleConnections();
      const sweep = setInterval(() => http.closeIdleConnections(), IDLE_SWEEP_MS);
      sweep.unref();
      const settled = async () => {
        await inflight.idle();
        await requestsDone();
      };
      const stopAt = Math.max(graceMs / 2, graceMs - STOP_TURNS_BEFORE_MS);
      const finished = await Promise.race([settled().then(() => true), sleep(stopAt).then(() => false)]);
      if (!finished) {
        logger.warn('grace period nearly over: stopping the turns still running', {
          inflight: inflight.size,
        });
        drain.stopTurns();
        await Promise.race([settled(), sleep(deadline - Date.now() - 250)]);
      }
      clearInterval(sweep);
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await workerStopped;
      // Every lease this process held is released by now; its record goes with it.
      await closeRelays();
      await instance.stop();
      await db.close();
      // The spans of the last requests, exported before the process exits.
      await observability.shutdown();
    })();
    return closing;
  };
  return { url, database: db, drain, close };
}
