/**
 * @module relay/stops
 * `POST /chat/:id/stop` from any instance reaches the one running the turn within moments. The
 * route's one statement (../chat/stream/running.ts) checks the turn is the user's and running;
 * the stop then travels by Redis pub/sub when `REDIS_URL` is set, else by that same statement's
 * Postgres NOTIFY, which every instance hears on the one listening connection it has for all
 * notifications (../db/notifications.ts). Embedded PGlite is one process, so there the stop is
 * delivered in-process. Each instance aborts the turn if it runs it; the others ignore it.
 */
import { type RunningTurn, runningTurn, STOP_CHANNEL } from '../chat/stream/running.ts';
import type { Database } from '../db/client.ts';
import type { Notifications } from '../db/notifications.ts';
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
  /** Without Redis, the process's Postgres notifications; neither: this process only (PGlite, tests). */
  notifications?: Notifications;
}): StopSignals {
  const { database, redis, logger } = options;
  const running = new Map<string, AbortController>();
  const deliver = (conversationId: string) => running.get(conversationId)?.abort();
  inProcess.add(deliver);
  const channel = `${redis?.prefix ?? ''}stop`;
  const listening = redis
    ? listenRedis(redis, channel, deliver, logger)
    : options.notifications?.subscribe(STOP_CHANNEL, deliver).catch(() => undefined);

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
