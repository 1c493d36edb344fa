/**
 * @module events/hub
 * Every open event stream of this instance, fed from ONE subscription. A change of a task, made by
 * any source on any instance, is announced by the transaction that wrote its change-log row
 * (migration 0012's trigger: NOTIFY `taskchat_events` with whose change and its id); a reminder
 * by the statement that stored its delivery. The process hears both on its one listening connection
 * (../db/notifications.ts). Here:
 *
 * - the streams are kept per user; a notification for a user with no stream here costs nothing;
 * - for a user with streams, ONE statement reads that user's changes after the newest one fetched,
 *   and each change is encoded once and handed to all that user's streams. Notifications arriving
 *   while that read runs make one more read after it, not one each: a burst is coalesced;
 * - a stream starts by subscribing (it is in the user's set, buffering), then reads where it
 *   starts (a reconnect's `Last-Event-ID`: the changes after it, the newest 1,000), then sends the
 *   buffer; every stream only ever sends ids above the newest it sent, so nothing is missed between
 *   the replay and live events and nothing comes twice;
 * - a reminder is read once by its delivery id and sent to the user's streams, at most once per
 *   stream (the job engine delivers at least once);
 * - one timer writes the heartbeat comment to every stream; a stream whose client stopped reading
 *   (over 1 MiB queued) is ended, and its client reconnects with its Last-Event-ID;
 * - a drain ends every stream at once (a stream never ends by itself, so a drain would otherwise
 *   wait its whole grace period): clients reconnect to another instance and replay from their id.
 *
 * After the listening connection was lost and is back, each user's changes are read again from the
 * newest fetched, so a change made meanwhile still arrives; a reminder notified meanwhile does not.
 */
import type { Notifications } from '../db/notifications.ts';
import { errorFields, type Logger } from '../log.ts';
import type { Change } from '../tasks/task.ts';
import type { EventReads } from './reads.ts';

/** The channel every change and reminder is announced on (migration 0012, reminders' 0010). */
export const EVENTS_CHANNEL = 'taskchat_events';

/** What a notification on the channel says: whose, and which change or delivery. */
type Announcement =
  | { type: 'task'; userId: string; changeId: number }
  | { type: 'reminder'; userId: string; deliveryId: string };

/** Bytes a client may leave unread before its stream is ended (it reconnects and replays). */
const MAX_BACKLOG_BYTES = 1024 * 1024;
/** Reminder ids a stream remembers for its at-most-once (a retried job comes within minutes). */
const REMEMBERED_REMINDERS = 256;
/** A failed read of a user's changes is tried again after this. */
const RETRY_READ_MS = 1000;

const encoder = new TextEncoder();
/** The first bytes: headers and this go out at once; `retry` is the browser's reconnect delay. */
const OPENING = encoder.encode(': connected\nretry: 2000\n\n');
const HEARTBEAT = encoder.encode(': keep-alive\n\n');

type Pending = { id: number | undefined; bytes: Uint8Array };

type Stream = {
  userId: string;
  controller: ReadableStreamDefaultController<Uint8Array>;
  /** The newest change id this stream sent (or starts after). */
  lastId: number;
  /** While the stream replays: what arrived live meanwhile, sent after the replay. */
  pending: Pending[] | undefined;
  /** Reminder delivery ids sent (made at the first). */
  reminders: Set<string> | undefined;
  ended: boolean;
};

type User = {
  streams: Set<Stream>;
  /** The newest change id read for this user's streams; undefined until the first stream started. */
  cursor: number | undefined;
  reading: boolean;
  /** A notification came while reading (or before the cursor was known): read once more. */
  again: boolean;
};

export type EventHub = {
  /**
   * Opens a stream of the user's events. With `lastEventId` it starts with the changes after it
   * (the newest 1,000). Rejects (a database error) before anything is sent.
   */
  open(userId: string, lastEventId: number | undefined): Promise<ReadableStream<Uint8Array>>;
  /** Streams open now. */
  readonly size: number;
  /** Ends every stream. */
  endAll(): void;
};

export function createEventHub(options: {
  reads: EventReads;
  notifications: Notifications;
  logger: Logger;
  /** How often every stream gets a comment line (the contract: at least every 25 s). */
  heartbeatMs: number;
  /** Aborted when the server drains: every stream ends, and none opens. */
  drain?: AbortSignal;
}): EventHub {
  const { reads, notifications, logger, heartbeatMs } = options;
  const users = new Map<string, User>();
  let size = 0;
  let heartbeat: NodeJS.Timeout | undefined;
  let subscription: Promise<(() => Promise<void>) | undefined> | undefined;

  const write = (stream: Stream, bytes: Uint8Array) => {
    if (stream.ended) return;
    stream.controller.enqueue(bytes);
    if ((stream.controller.desiredSize ?? 0) < -MAX_BACKLOG_BYTES) {
      logger.warn('event stream ended: its client is not reading');
      end(stream, true);
    }
  };

  const taskEvent = (change: Change) =>
    encoder.encode(`id: ${change.id}\nevent: task\ndata: ${JSON.stringify(change)}\n\n`);

  /** Sends one change to every stream of the user that has not sent it. */
  const fanOut = (user: User, change: Change) => {
    user.cursor = Math.max(user.cursor ?? 0, change.id);
    let bytes: Uint8Array | undefined;
    for (const stream of user.streams) {
      if (stream.pending) {
        bytes ??= taskEvent(change);
        stream.pending.push({ id: change.id, bytes });
      } else if (change.id > stream.lastId) {
        bytes ??= taskEvent(change);
        stream.lastId = change.id;
        write(stream, bytes);
      }
    }
  };

  /** One read of the user's changes after the cursor; notifications meanwhile make one more. */
  const refresh = async (userId: string, user: User) => {
    if (user.reading || user.cursor === undefined) {
      user.again = true;
      return;
    }
    user.reading = true;
    try {
      do {
        user.again = false;
        const changes = await reads.changesAfter(userId, user.cursor);
        for (const change of changes) fanOut(user, change);
      } while (user.again && users.get(userId) === user);
    } catch (error) {
      logger.warn('live events could not read the changes; trying again', errorFields(error));
      setTimeout(() => {
        if (users.get(userId) === user) void refresh(userId, user);
      }, RETRY_READ_MS).unref();
    } finally {
      user.reading = false;
    }
  };

  const remind = async (userId: string, deliveryId: string) => {
    if (!users.has(userId)) return;
    let reminder: Awaited<ReturnType<EventReads['reminder']>>;
    try {
      reminder = await reads.reminder(userId, deliveryId);
    } catch (error) {
      logger.warn('live events could not read a delivered reminder', errorFields(error));
      return;
    }
    if (!reminder) return;
    const bytes = encoder.encode(`event: reminder\ndata: ${JSON.stringify(reminder)}\n\n`);
    for (const stream of users.get(userId)?.streams ?? []) {
      stream.reminders ??= new Set();
      if (stream.reminders.has(deliveryId)) continue;
      stream.reminders.add(deliveryId);
      if (stream.reminders.size > REMEMBERED_REMINDERS) {
        stream.reminders.delete(stream.reminders.values().next().value as string);
      }
      if (stream.pending) stream.pending.push({ id: undefined, bytes });
      else write(stream, bytes);
    }
  };

  const heard = (payload: string) => {
    const note = parseAnnouncement(payload);
    if (!note) return;
    const user = users.get(note.userId);
    if (!user) return;
    if (note.type === 'reminder') {
      void remind(note.userId, note.deliveryId);
      return;
    }
    // Already read and sent (a burst's later notifications, covered by the read of an earlier one).
    if (user.cursor !== undefined && note.changeId <= user.cursor) return;
    void refresh(note.userId, user);
  };

  const resumed = () => {
    for (const [userId, user] of users) void refresh(userId, user);
  };

  const end = (stream: Stream, close: boolean) => {
    if (stream.ended) return;
    stream.ended = true;
    if (close) {
      try {
        stream.controller.close();
      } catch {
        // Already cancelled by its client.
      }
    }
    const user = users.get(stream.userId);
    if (user?.streams.delete(stream) && user.streams.size === 0) users.delete(stream.userId);
    size--;
    if (size === 0) idle();
  };

  /** No stream left: no heartbeat timer, and the channel is left (the connection may close). */
  const idle = () => {
    clearInterval(heartbeat);
    heartbeat = undefined;
    const leaving = subscription;
    subscription = undefined;
    void leaving?.then((leave) => leave?.());
  };

  const endAll = () => {
    for (const user of [...users.values()]) for (const stream of [...user.streams]) end(stream, true);
  };
  options.drain?.addEventListener('abort', endAll, { once: true });

  return {
    get size() {
      return size;
    },
    endAll,
    async open(userId, lastEventId) {
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      let stream: Stream | undefined;
      const body = new ReadableStream<Uint8Array>(
        {
          start(c) {
            controller = c;
          },
          cancel() {
            if (stream) end(stream, false);
          },
        },
        // Counted in bytes, with no room: desiredSize is minus what the client left unread.
        { highWaterMark: 0, size: (chunk) => chunk.byteLength },
      );
      stream = { userId, controller, lastId: 0, pending: [], reminders: undefined, ended: false };
      size++;
      subscription ??= notifications.subscribe(EVENTS_CHANNEL, heard, { resumed }).catch((error: unknown) => {
        logger.error('live events cannot subscribe to notifications', errorFields(error));
        return undefined;
      });
      heartbeat ??= setInterval(() => {
        for (const user of users.values()) for (const s of user.streams) write(s, HEARTBEAT);
      }, heartbeatMs).unref();
      let user = users.get(userId);
      if (!user) {
        user = { streams: new Set(), cursor: undefined, reading: false, again: false };
        users.set(userId, user);
      }
      user.streams.add(stream);
      try {
        // Listening before the replay is read: a change committed after the read is announced.
        await subscription;
        const start = await reads.start(userId, lastEventId);
        write(stream, OPENING);
        stream.lastId = lastEventId === undefined ? start.newest : Math.min(lastEventId, start.newest);
        for (const change of start.changes) {
          stream.lastId = Math.max(stream.lastId, change.id);
          write(stream, taskEvent(change));
        }
      } catch (error) {
        end(stream, true);
        throw error;
      }
      const buffered = stream.pending ?? [];
      stream.pending = undefined;
      for (const { id, bytes } of buffered) {
        if (id === undefined) write(stream, bytes);
        else if (id > stream.lastId) {
          stream.lastId = id;
          write(stream, bytes);
        }
      }
      if (user.cursor === undefined) {
        user.cursor = stream.lastId;
        if (user.again) void refresh(userId, user);
      }
      if (options.drain?.aborted) end(stream, true);
      return body;
    },
  };
}

function parseAnnouncement(payload: string): Announcement | undefined {
  try {
    const note = JSON.parse(payload) as Partial<Record<string, unknown>>;
    if (typeof note.userId !== 'string') return undefined;
    if (note.type === 'task' && typeof note.changeId === 'number') {
      return { type: 'task', userId: note.userId, changeId: note.changeId };
    }
    if (note.type === 'reminder' && typeof note.deliveryId === 'string') {
      return { type: 'reminder', userId: note.userId, deliveryId: note.deliveryId };
    }
  } catch {
    // Not ours: something else on the channel.
  }
  return undefined;
}
