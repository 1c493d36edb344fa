/**
 * @module chat/stream/relay
 * A running turn's UI stream, kept so that a client that lost it (a reloaded page) can have it
 * again from its first part and then live: `GET /chat/:id/stream`. Each chunk is kept as the JSON
 * text the turn's own response sent, so a resumed stream is byte for byte what the first client got.
 *
 * - Same instance: a buffer in memory per running turn, dropped when the turn ends; its chunks
 *   kept compactly (text deltas by their text, joined 16 to a string: see `BLOCK`).
 * - Across instances, with `REDIS_URL`: the same chunks are appended to a Redis Stream (XADD) named
 *   by the turn's attempt, read from its start by the instance the client asks (XREAD BLOCK), with
 *   an end entry when the turn ends and a TTL so a killed instance's stream goes away by itself.
 *   `resumable-stream` was not used: it keeps each stream in the producing process and replays it
 *   over pub/sub on request, which ties a resume to that process answering and bounds no memory.
 * - Memory per turn is bounded (`MAX_RELAYED_BYTES`): past it the turn is no longer relayed; a
 *   follower already reading it ends where the relay stopped, a later one gets the stored answer.
 * - A Redis write that fails (Redis went away) stops the Redis relay of that turn; the turn itself
 *   never waits for or fails on Redis.
 */
import { errorFields, type Logger } from '../../log.ts';
import type { Redis } from '../../relay/redis.ts';

/** What one turn may keep for relaying; an answer is a few kilobytes. */
export const MAX_RELAYED_BYTES = 1 << 20;

export type RelayWriter = {
  /** Relays one chunk: the JSON text the turn's response sent for it (serialized once, there). */
  write(json: string): void;
  /** The turn's stream is over: no more chunks; the buffer goes. */
  end(): void;
};

/** The chunks of a turn's stream (their JSON text) from its first, live to its end. */
export type RelayedChunks = AsyncIterable<string>;

export type AnswerRelay = {
  /** Starts relaying the stream of this attempt of a turn. */
  open(attemptId: string): RelayWriter;
  /**
   * The stream of this attempt, when this instance can give it: its own buffer, or Redis.
   * `running` says whether the turn still runs (a Redis stream that never started: the turn was
   * not relayed there, and following it ends with `NotRelayedError`).
   */
  follow(attemptId: string, running: () => Promise<boolean>): RelayedChunks | undefined;
};

/** The turn's stream is not to be had from the relay: answer from the store instead. */
export class NotRelayedError extends Error {
  override name = 'NotRelayedError';
}

/**
 * Chunks joined into one string each, `BLOCK` at a time: a turn in flight keeps every chunk of its
 * stream (one a token), and a string per chunk costs its header and a slot beside its text. JSON
 * text has no raw line break (JSON.stringify escapes it), so a line break separates them.
 */
const BLOCK = 16;

/**
 * Most chunks are text deltas of one text part, `{"type":"text-delta","id":"<id>","delta":"<text>"}`,
 * where the text is a few bytes of seventy. A delta with the same head (up to its text) as the
 * last delta kept whole is kept as `SHORT` and what follows the head, less the closing brace: the
 * head is put back when it is read. The writer and each reader find the head the same way, from
 * the deltas kept whole, in order. JSON text has no raw control character, so `SHORT` is no JSON.
 */
const DELTA_HEAD = '{"type":"text-delta","id":';
const DELTA_FIELD = ',"delta":';
const SHORT = '\u0001';

/** The head of a text delta kept whole (undefined for anything else). */
function deltaHead(json: string): string | undefined {
  if (!json.startsWith(DELTA_HEAD)) return undefined;
  // The id is a JSON string, which holds no unescaped quote: the first `,"delta":` ends it.
  const at = json.indexOf(DELTA_FIELD, DELTA_HEAD.length);
  return at < 0 ? undefined : json.slice(0, at + DELTA_FIELD.length);
}

type Buffer = {
  /** Full blocks of `BLOCK` chunks, each its chunks joined by "\n". */
  blocks: string[];
  /** The chunks since the last full block. */
  tail: string[];
  /** The head of the last text delta kept whole. */
  head: string | undefined;
  bytes: number;
  cut: boolean;
  ended: boolean;
  wake: (() => void)[];
};

/** What `buffer` keeps of a chunk: a text delta after the first of its part, short. */
function kept(buffer: Buffer, json: string): string {
  const { head } = buffer;
  if (head !== undefined && json.startsWith(head) && json.endsWith('}'))
    return SHORT + json.slice(head.length, -1);
  if (json.startsWith(DELTA_HEAD)) buffer.head = deltaHead(json);
  return json;
}

/** The same-instance relay: a buffer per running turn. */
export function localRelay(): AnswerRelay {
  const buffers = new Map<string, Buffer>();
  const wakeAll = (buffer: Buffer) => {
    if (buffer.wake.length === 0) return;
    for (const wake of buffer.wake.splice(0)) wake();
  };
  return {
    open(attemptId) {
      const buffer: Buffer = {
        blocks: [],
        tail: [],
        head: undefined,
        bytes: 0,
        cut: false,
        ended: false,
        wake: [],
      };
      buffers.set(attemptId, buffer);
      return {
        write(text) {
          if (buffer.cut || buffer.ended) return;
          buffer.bytes += text.length;
          if (buffer.bytes > MAX_RELAYED_BYTES) {
            buffer.cut = true;
            buffers.delete(attemptId);
          } else if (buffer.tail.push(kept(buffer, text)) === BLOCK) {
            buffer.blocks.push(buffer.tail.join('\n'));
            buffer.tail = [];
          }
          wakeAll(buffer);
        },
        end() {
          buffer.ended = true;
          if (buffers.get(attemptId) === buffer) buffers.delete(attemptId);
          wakeAll(buffer);
        },
      };
    },
    follow(attemptId) {
      const buffer = buffers.get(attemptId);
      if (!buffer) return undefined;
      return (async function* () {
        // `next` counts the chunks this follower has had: those in full blocks, then the tail's.
        let next = 0;
        let head: string | undefined;
        const chunk = (entry: string): string => {
          if (entry.startsWith(SHORT)) return `${head}${entry.slice(1)}}`;
          if (entry.startsWith(DELTA_HEAD)) head = deltaHead(entry);
          return entry;
        };
        for (;;) {
          const whole = buffer.blocks.length * BLOCK;
          if (next < whole) {
            const index = Math.floor(next / BLOCK);
            const chunks = (buffer.blocks[index] as string).split('\n');
            for (let i = next - index * BLOCK; i < BLOCK; i++) {
              next++;
              yield chunk(chunks[i] as string);
            }
            continue;
          }
          if (next < whole + buffer.tail.length) {
            const entry = buffer.tail[next - whole] as string;
            next++;
            yield chunk(entry);
            continue;
          }
          if (buffer.ended || buffer.cut) return;
          await new Promise<void>((resolve) => buffer.wake.push(resolve));
        }
      })();
    },
  };
}

/** Entry fields of a relayed stream: a chunk, the end, or the relay cut short. */
const CHUNK = 'c';
const END = 'e';
const CUT = 'x';

/** The relay across instances: the local buffer, and each chunk also on a Redis Stream. */
export function redisRelay(
  redis: Redis,
  logger: Logger,
  { ttlSeconds }: { ttlSeconds: number },
): AnswerRelay {
  const local = localRelay();
  const keyOf = (attemptId: string) => `${redis.prefix}answer:${attemptId}`;
  return {
    open(attemptId) {
      const buffered = local.open(attemptId);
      const key = keyOf(attemptId);
      let broken = false;
      let bytes = 0;
      let first = true;
      // One connection, so the entries land in the order sent; none is awaited by the turn.
      const send = (field: string, value: string, ttl = ttlSeconds) => {
        if (broken) return;
        redis.client
          .multi()
          .xAdd(key, '*', { [field]: value })
          .expire(key, ttl)
          .exec()
          .catch((error: unknown) => {
            if (broken) return;
            broken = true;
            logger.warn(
              'redis unavailable: this answer is relayed by its own instance only',
              errorFields(error),
            );
          });
      };
      return {
        write(text) {
          buffered.write(text);
          if (broken) return;
          bytes += text.length;
          if (bytes > MAX_RELAYED_BYTES) {
            send(CUT, '');
            broken = true;
            return;
          }
          send(CHUNK, text);
          first = false;
        },
        end() {
          buffered.end();
          // Kept a little after the end, for followers still reading it.
          if (!first) send(END, '', 60);
        },
      };
    },
    follow(attemptId, running) {
      const own = local.follow(attemptId, running);
      if (own) return own;
      const key = keyOf(attemptId);
      return (async function* () {
        const connection = await redis.connection();
        try {
          let after = '0';
          let started = false;
          for (;;) {
            const read = (await connection.xRead({ key, id: after }, { BLOCK: 1000, COUNT: 100 })) as
              | { messages: { id: string; message: Record<string, string> }[] }[]
              | null;
            const entries = read?.[0]?.messages ?? [];
            if (entries.length === 0) {
              if (!(await running())) {
                if (started) return;
                throw new NotRelayedError('the turn ended with no relayed stream');
              }
              continue;
            }
            for (const { id, message } of entries) {
              after = id;
              if (message[CHUNK] !== undefined) {
                started = true;
                yield message[CHUNK];
              } else return;
            }
          }
        } finally {
          connection.destroy();
        }
      })();
    },
  };
}
