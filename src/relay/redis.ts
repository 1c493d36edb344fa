/**
 * @module relay/redis
 * The optional Redis (`REDIS_URL`) that relays live answers and stops between instances. Optional
 * everywhere: without it each instance relays its own turns and stops travel by Postgres NOTIFY;
 * with it configured but unreachable the app keeps serving (chats run and are stored, a resume
 * from another instance waits for the stored answer), says so once in the log and in `/health`.
 *
 * The client is `redis` (node-redis, Redis' own client): commands fail at once while it is
 * disconnected (`disableOfflineQueue`) instead of queueing behind a turn, and it reconnects by
 * itself. Blocking reads (a follower's XREAD BLOCK) each take their own connection (`duplicate`).
 */
import { createClient, type RedisClientType } from 'redis';
import { errorFields, type Logger } from '../log.ts';

export type Redis = {
  /** The shared connection for writes and publishes. */
  readonly client: RedisClientType;
  /** Every key this app writes starts with it (tests give each app its own). */
  readonly prefix: string;
  /** A new connection for a blocking read or a subscription; closed by its user. */
  connection(): Promise<RedisClientType>;
  /** True when Redis answered a PING within `timeoutMs`. */
  ping(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
};

/** Connects in the background: a Redis down at start-up is logged, and the app starts anyway. */
export function createRedis(url: string, logger: Logger, prefix = 'taskchat:'): Redis {
  const options = {
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries: number) => Math.min(200 * 2 ** retries, 2000),
    },
  };
  const client = createClient(options) as RedisClientType;
  let down = false;
  client.on('error', (error: unknown) => {
    if (down) return;
    down = true;
    logger.error('redis unavailable: answers are relayed by each instance alone until it is back', {
      ...errorFields(error),
    });
  });
  client.on('ready', () => {
    if (down) logger.info('redis available again');
    down = false;
  });
  client.connect().catch(() => {});
  return {
    client,
    prefix,
    async connection() {
      // A reader waits for no reconnection: it falls back to the stored answer at once.
      const extra = client.duplicate({
        socket: { ...options.socket, reconnectStrategy: false },
      }) as RedisClientType;
      extra.on('error', () => {});
      await extra.connect();
      return extra;
    },
    async ping(timeoutMs) {
      if (!client.isReady) return false;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      try {
        return await Promise.race([client.ping().then(() => true as const), late]);
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (client.isOpen) await client.close().catch(() => {});
      else client.destroy();
    },
  };
}
