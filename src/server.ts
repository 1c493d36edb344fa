/**
 * @module server
 * Runs the app on Node: migrate, listen, and on shutdown stop accepting, let in-flight requests
 * and turns finish, then close the database, so a deploy or Ctrl-C loses nothing.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp } from './app.ts';
import { type Config, redactConfig } from './config.ts';
import { createDatabase, type Database } from './db/client.ts';
import { migrateDatabase } from './db/migrate.ts';
import { Inflight } from './http/inflight.ts';
import { createLogger, type Logger } from './log.ts';
import { createObservability } from './observability/index.ts';

export type RunningServer = {
  url: string;
  database: Database;
  /** Stops accepting, waits for in-flight work (at most `graceMs`), closes the database. */
  close(graceMs?: number): Promise<void>;
};

export async function startServer(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
): Promise<RunningServer> {
  const database = await createDatabase(config.db);
  try {
    await migrateDatabase(config.db, database);
  } catch (error) {
    await database.close();
    throw error;
  }
  const inflight = new Inflight();
  const observability = createObservability(config, { database, logger, processMetrics: true });
  const app = createApp({ config, database, logger, inflight, observability });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info('taskchat listening', { url, config: redactConfig(config) });
  if (config.auth.mode === 'dev') {
    logger.warn('AUTH_MODE=dev: any caller can act as any user with X-User-Id. Do not expose this server.');
  }

  let closing: Promise<void> | undefined;
  const close = (graceMs = 30_000) => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
      await Promise.race([Promise.all([closed, inflight.idle()]), deadline]);
      if ('closeAllConnections' in server) server.closeAllConnections();
      await database.close();
      await observability.shutdown();
    })();
    return closing;
  };
  return { url, database, close };
}
