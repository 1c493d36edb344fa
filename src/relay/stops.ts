/**
 * @module relay/stops
 * `POST /chat/:id/stop` from any instance reaches the one running the turn within moments. The
 * route's one statement (../chat/stream/running.ts) checks the turn is the user's and running;
 * the stop then travels by Redis pub/sub when `REDIS_URL` is set, else by that same statement's
 * Postgres NOTIFY, which every instance hears on one LISTEN connection of its own (a direct
 * connection: a pooler in transaction mode does not keep a LISTEN). Embedded PGlite is one process,
 * so there the stop is delivered in-process. Each instance aborts the turn if it runs it; the
 * others ignore it.
 */
import pg from 'pg';
import { type RunningTurn, runningTurn, STOP_CHANNEL } from '../chat/stream/running.ts';
import type { Database } from '../db/client.ts';
import { errorFields, type Logger } from '../log.ts';
import type { Redis } from './redis.ts';

export type StopSignals = {
  /** Registers a turn this process runs: its `signal` aborts on a stop; `release` at its end. */
  track(conversationId: string): { signal: AbortSignal; release(): void };
  /** Stops the user's running turn of this chat, wherever it runs; undefined when none runs. */
  stop(userId: string, chatId: string): Promise<RunningTurn | undefined>;
  close(): Promise<void>;
};

/** Every stop-signal set of this process: two apps in one process (tests) hear each other. */
const inProcess = new Set<(conversationId: string) => void>();

export function createStopSignals(options: {
  database: Database;
  logger: Logger;
  /** Stops travel by Redis pub/sub. */
  redis?: Redis;
  /** Without Redis, a direct Postgres URL to LISTEN on; neither: this process only (PGlite, tests). */
  listenUrl?: string;
}): StopSignals {
  const { database, redis, logger } = options;
  const running = new Map<string, AbortController>();
  const deliver = (conversationId: string) => running.get(conversationId)?.abort();
  inProcess.add(deliver);
  const channel = `${redis?.prefix ?? ''}stop`;
  const listening = redis
    ? listenRedis(redis, channel, deliver, logger)
    : options.listenUrl
      ? listenPostgres(options.listenUrl, deliver, logger)
      : undefined;

  return {
    track(conversationId) {
      const controller = new AbortController();
      running.set(conversationId, controller);
      return {
        signal: controller.signal,
        release: () => {
          if (running.get(conversationId) === controller) running.delete(conversationId);
        },
      };
    },
    async stop(userId, chatId) {
      const turn = await runningTurn(database, userId, chatId, { notify: !redis });
      if (!turn) return undefined;
      for (const send of inProcess) send(turn.conversationId);
      if (redis) {
        // Redis down: the stop still reached this process's turns; NOTIFY reaches the others.
        await redis.client.publish(channel, turn.conversationId).catch(async (error: unknown) => {
          logger.warn('redis unavailable: stop sent by postgres instead', errorFields(error));
          await runningTurn(database, userId, chatId, { notify: true });
        });
      }
      return turn;
    },
    async close() {
      inProcess.delete(deliver);
      await (await listening)?.();
    },
  };
}

/** Subscribes on a connection of its own; returns how to stop listening. */
async function listenRedis(
  redis: Redis,
  channel: string,
  deliver: (conversationId: string) => void,
  logger: Logger,
): Promise<() => Promise<void>> {
  const subscriber = redis.client.duplicate();
  subscriber.on('error', () => {});
  try {
    await subscriber.connect();
    await subscriber.subscribe(channel, deliver);
  } catch (error) {
    logger.warn('redis unavailable: stops from other instances wait for it', errorFields(error));
  }
  return async () => {
    if (subscriber.isOpen) await subscriber.close().catch(() => {});
    else subscriber.destroy();
  };
}

/** One LISTEN connection, reconnected after a loss; returns how to stop listening. */
async function listenPostgres(
  url: string,
  deliver: (conversationId: string) => void,
  logger: Logger,
): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    const next = new pg.Client({ connectionString: url });
    next.on('notification', (message) => {
      if (message.channel === STOP_CHANNEL && message.payload) deliver(message.payload);
    });
    next.on('error', () => {
      if (client !== next || closed) return;
      logger.warn('stop listener lost its database connection; reconnecting');
      client = undefined;
      next.end().catch(() => {});
      retry = setTimeout(connect, 1000);
      retry.unref();
    });
    try {
      await next.connect();
      await next.query(`listen ${STOP_CHANNEL}`);
      if (closed) await next.end();
      else client = next;
    } catch (error) {
      next.end().catch(() => {});
      if (closed) return;
      logger.warn('stop listener could not connect; retrying', errorFields(error));
      retry = setTimeout(connect, 2000);
      retry.unref();
    }
  };
  await connect();
  return async () => {
    closed = true;
    clearTimeout(retry);
    await client?.end().catch(() => {});
  };
}
