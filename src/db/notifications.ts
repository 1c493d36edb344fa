/**
 * @module db/notifications
 * Postgres notifications for the whole process on ONE listening connection: every part that waits
 * for a NOTIFY (the live events of GET /events, the stops of POST /chat/:id/stop) subscribes here,
 * so 10,000 open event streams cost one connection, not 10,000.
 *
 * Why Postgres LISTEN/NOTIFY and not Redis pub/sub for the fan-out between instances: the NOTIFY is
 * sent by the very transaction that makes the change (a trigger on the change log, migration 0012),
 * and Postgres delivers it at commit and drops it on rollback, so an event exists exactly when its
 * change committed, from every source (chat, MCP, REST, undo, a worker), with nothing else to run.
 * A Redis publish would be a second step after the commit that a crash, a timeout or a Redis outage
 * loses silently, and every writer would have to remember it. Redis stays optional.
 *
 * The connection: a LISTEN needs a session of its own, so it is a direct connection
 * (`DATABASE_URL_UNPOOLED` on Neon: a pooler in transaction mode hands the session to someone else
 * after each transaction and the LISTEN is gone), opened when the first channel is subscribed and
 * closed when the last one is left. Lost (a database restart, a network cut), it is opened again
 * with backoff, every channel listened to again, and each subscriber told (`resumed`): whatever
 * was notified in between is not delivered, so a subscriber that cannot miss anything reads again
 * what it may have missed. On embedded PGlite (one process) the same NOTIFY reaches `listen`.
 */
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { errorFields, type Logger } from '../log.ts';
import { type Database, requiresTls } from './client.ts';

export type NotificationHandler = (payload: string) => void;

export type SubscribeOptions = {
  /** Called after the connection was lost and is listening again: notifications in between are gone. */
  resumed?: () => void;
};

export type Notifications = {
  /**
   * Calls `handler` with the payload of every notification on `channel`. Resolves once this process
   * listens on it (or, the database being unreachable, once the first attempt failed: it keeps
   * trying, and `resumed` says when it listens); the result leaves the channel again.
   */
  subscribe(
    channel: string,
    handler: NotificationHandler,
    options?: SubscribeOptions,
  ): Promise<() => Promise<void>>;
  /** Closes the listening connection; subscriptions end. */
  close(): Promise<void>;
};

/** The listening session, whatever the driver. */
type Session = {
  listen(channel: string): Promise<void>;
  unlisten(channel: string): Promise<void>;
  end(): Promise<void>;
};

type Entry = { handler: NotificationHandler; options: SubscribeOptions };

const FIRST_RETRY_MS = 250;
const LAST_RETRY_MS = 10_000;

export function createNotifications(options: {
  database: Pick<Database, 'db' | 'driver'>;
  /** A direct Postgres URL to LISTEN on (not used on PGlite). */
  listenUrl?: string;
  logger: Logger;
  connectTimeoutMs?: number;
}): Notifications {
  const { database, logger, listenUrl } = options;
  const channels = new Map<string, Set<Entry>>();
  const listening = new Set<string>();
  let session: Session | undefined;
  let closed = false;
  let failures = 0;
  let lost = false;
  let retry: NodeJS.Timeout | undefined;
  // Every change of the session (connect, listen, unlisten, end) runs in this queue, one at a time.
  let queue: Promise<void> = Promise.resolve();

  const deliver = (channel: string, payload: string) => {
    for (const entry of channels.get(channel) ?? []) {
      try {
        entry.handler(payload);
      } catch (error) {
        logger.error('notification handler failed', { channel, ...errorFields(error) });
      }
    }
  };

  if (listenUrl && database.driver !== 'pglite' && /-pooler\./.test(safeHost(listenUrl))) {
    logger.warn(
      'live events and stops listen through a connection pooler, which drops LISTEN in transaction mode: set DATABASE_URL_UNPOOLED to the direct (non -pooler) URL',
    );
  }

  const open = async (): Promise<Session> => {
    if (database.driver === 'pglite')
      return pgliteSession(database.db as unknown as { $client: PGlite }, deliver);
    if (!listenUrl) throw new Error('no direct database URL to LISTEN on');
    return pgSession(listenUrl, options.connectTimeoutMs ?? 5000, deliver, onLost);
  };

  function onLost(which: Session, error: unknown) {
    if (session !== which || closed) return;
    session = undefined;
    listening.clear();
    lost = true;
    logger.warn('live notifications lost their database connection; reconnecting', errorFields(error));
    which.end().catch(() => {});
    schedule(FIRST_RETRY_MS);
  }

  function schedule(ms: number) {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void enqueue(reconcile);
    }, ms);
    retry.unref();
  }

  const enqueue = (work: () => Promise<void>) => {
    queue = queue.then(work, work);
    return queue;
  };

  /** Makes the session listen to exactly the channels that have subscribers (none: no session). */
  async function reconcile(): Promise<void> {
    if (closed) return;
    const wanted = [...channels.keys()];
    if (wanted.length === 0) {
      const ending = session;
      session = undefined;
      listening.clear();
      await ending?.end().catch(() => {});
      return;
    }
    try {
      if (!session) {
        session = await open();
        if (closed) {
          await session.end().catch(() => {});
          session = undefined;
          return;
        }
      }
      for (const channel of wanted) {
        if (!listening.has(channel)) {
          await session.listen(channel);
          listening.add(channel);
        }
      }
      for (const channel of [...listening]) {
        if (!channels.has(channel)) {
          listening.delete(channel);
          await session.unlisten(channel);
        }
      }
    } catch (error) {
      const failed = session;
      session = undefined;
      listening.clear();
      await failed?.end().catch(() => {});
      if (closed) return;
      const wait = Math.min(FIRST_RETRY_MS * 2 ** failures, LAST_RETRY_MS);
      failures++;
      lost = true;
      logger.warn(`live notifications cannot LISTEN on the database; retrying in ${wait} ms`, {
        attempt: failures,
        ...errorFields(error),
      });
      schedule(wait);
      return;
    }
    failures = 0;
    if (lost) {
      lost = false;
      logger.info('live notifications listening again');
      for (const set of channels.values()) for (const entry of set) entry.options.resumed?.();
    }
  }

  return {
    async subscribe(channel, handler, subscribeOptions = {}) {
      if (closed) throw new Error('notifications are closed');
      const entry: Entry = { handler, options: subscribeOptions };
      let set = channels.get(channel);
      if (!set) {
        set = new Set();
        channels.set(channel, set);
      }
      set.add(entry);
      await enqueue(reconcile);
      let left = false;
      return async () => {
        if (left) return;
        left = true;
        const current = channels.get(channel);
        current?.delete(entry);
        if (current?.size === 0) channels.delete(channel);
        await enqueue(reconcile);
      };
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      channels.clear();
      await queue;
      const ending = session;
      session = undefined;
      await ending?.end().catch(() => {});
    },
  };
}

function safeHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

const quoted = (channel: string) => `"${channel.replaceAll('"', '""')}"`;

/** A LISTEN session on a direct `pg` connection of its own. */
async function pgSession(
  url: string,
  connectTimeoutMs: number,
  deliver: (channel: string, payload: string) => void,
  onLost: (session: Session, error: unknown) => void,
): Promise<Session> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: connectTimeoutMs,
    // A cut connection that never says so (a NAT dropping it) is found by TCP keepalive.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ssl: requiresTls(url) ? true : undefined,
    application_name: 'taskchat-listen',
  });
  let ended = false;
  const session: Session = {
    listen: async (channel) => {
      await client.query(`listen ${quoted(channel)}`);
    },
    unlisten: async (channel) => {
      await client.query(`unlisten ${quoted(channel)}`);
    },
    end: async () => {
      ended = true;
      await client.end();
    },
  };
  client.on('notification', (message) => deliver(message.channel, message.payload ?? ''));
  client.on('error', (error) => {
    if (!ended) onLost(session, error);
  });
  client.on('end', () => {
    if (!ended) onLost(session, new Error('the listening connection ended'));
  });
  try {
    await client.connect();
  } catch (error) {
    ended = true;
    client.end().catch(() => {});
    throw error;
  }
  return session;
}

/** Embedded PGlite: one process, so the database's own `listen` is the session. */
function pgliteSession(
  db: { $client: PGlite },
  deliver: (channel: string, payload: string) => void,
): Session {
  const pglite = db.$client;
  const stops = new Map<string, () => Promise<void>>();
  return {
    async listen(channel) {
      stops.set(channel, await pglite.listen(channel, (payload) => deliver(channel, payload)));
    },
    async unlisten(channel) {
      const stop = stops.get(channel);
      stops.delete(channel);
      if (stop && !pglite.closed) await stop();
    },
    async end() {
      for (const channel of [...stops.keys()]) await this.unlisten(channel);
    },
  };
}
