/**
 * @module chat/turn-store
 * The turn store: a chat turn is exactly two statements, whatever the conversation's
 * length. BEGIN TURN (one statement) creates the conversation or checks it is the user's, honours
 * an earlier send of the same `messageId` (replay, busy, or re-run after a failure or for a
 * regenerate), applies the per-user rate limit, claims the turn lease, stores the user message and
 * returns the history window, and for a re-run the task changes earlier attempts made
 * (chat/turn-effects.ts). END TURN (one statement) stores every new message (marking the answer a
 * re-run replaces), the answer for replays, and releases the lease. Both are data-modifying CTEs:
 * the builder cannot say them, so the SQL is here, whole, in well-named functions.
 *
 * A turn always ends. The lease is only for a process that died; a living process releases what
 * it holds, whatever failed after BEGIN TURN (the model, END TURN itself, the database going away
 * for seconds or minutes):
 * - Every BEGIN TURN is one attempt with its own id, written on the lease and on the turn. An
 *   ending applies only while its own attempt holds the lease, so an ending retried late, or a
 *   re-run of the same turn id, can never release or overwrite another attempt's.
 * - The failure ending (mark the turn failed, release the lease, store nothing) is handed to
 *   `endings`, which retries it with backoff for as long as the process lives, as a probe that the
 *   open circuit breaker does not refuse: a few hundred milliseconds after the database answers
 *   again, every lease this process held is free.
 * - A BEGIN TURN whose answer was lost (the connection died, the driver stopped waiting) may have
 *   committed after its client gave up: the attempt is "abandoned" the same way, found by its id.
 *
 * Why this can neither lose nor duplicate a message: the failure ending writes no message at all,
 * and the done ending (END TURN) stores the turn's messages in the same statement that releases
 * the lease, conditioned on this attempt still holding it. Whichever ending commits first takes
 * the lease away from the other, so a turn's messages are stored once or not at all; and the user
 * message, stored by BEGIN TURN, is never stored again (a re-run finds the turn row by its
 * messageId and stores nothing new). Retrying END TURN after a lost connection is therefore safe,
 * and it reports success when its earlier try had committed (the turn is done by this attempt).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ModelMessage } from 'ai';
import { type SQL, sql } from 'drizzle-orm';
import { type Database, type Placeholders, preparedStatement, queryRows } from '../db/client.ts';
import { DbUnavailableError, mayHaveRun } from '../db/resilience.ts';
import { DEAD_AFTER_MS, RENEW_EVERY_MS } from '../instances/registry.ts';
import type { Logger } from '../log.ts';
import { inTurnOrder, type StoredMessage, windowFromUserMessage, withTurnLast } from './history.ts';
import type { RecordedEffect } from './turn-effects.ts';

export type BeginTurnInput = {
  userId: string;
  /** Undefined: start a new conversation (unless `chat` names one). */
  conversationId: string | undefined;
  /**
   * The AI SDK UI body's chat id, resolved (see `chatConversationIdFor`): `given` is the id itself
   * when it is a UUID (one of this user's conversations continues; another user's is not found),
   * `named` the conversation the id names for this user, continued or created on its first send.
   */
  chat?: { given: string | null; named: string };
  /** A finished turn of this messageId runs again for a new answer instead of being replayed. */
  regenerate?: boolean;
  messageId: string;
  message: ModelMessage;
  /** Title of a new conversation. */
  title: string;
  historyMessages: number;
  leaseMs: number;
  /** Turns per user per minute; 0 means no limit. */
  rateLimit: number;
};

export type BeginTurnResult =
  | { outcome: 'not_found' }
  | {
      outcome: 'busy';
      /** When to ask again: soon while the turn's process is alive, else when its lease frees. */
      retryAfterSeconds: number;
    }
  | { outcome: 'rate_limited'; retryAfterSeconds: number }
  | { outcome: 'replay'; conversationId: string; answer: unknown }
  | {
      outcome: 'started';
      conversationId: string;
      turnId: string;
      /** This BEGIN TURN's own id: the ending must name it (see the module header). */
      attemptId: string;
      /** seq of the last stored message; the turn's messages follow it. */
      lastSeq: number;
      /** True when this re-runs a failed or regenerated send: its user message was stored before. */
      rerun: boolean;
      /** seq of this turn's user message. */
      userSeq: number;
      /**
       * The history window, oldest first, starting at a user message, ending with this turn's (or,
       * for a regenerate, with the answer being replaced).
       */
      history: StoredMessage[];
      /** The task changes earlier attempts of this turn made (a re-run only), oldest first. */
      effects: RecordedEffect[];
    };

/** Which attempt of which turn an ending is for. */
export type TurnAttempt = { conversationId: string; turnId: string; attemptId: string };

export type EndTurnInput = {
  conversationId: string;
  turnId: string;
  attemptId: string;
  /** `lastSeq` from BEGIN TURN: the new messages take the seqs after it. */
  lastSeq: number;
  /** `userSeq` from BEGIN TURN: the turn's earlier answer (seqs after it) is marked replaced. */
  userSeq: number;
  /** Row id of the first new message: the assistant message id the client was told. */
  answerId: string;
  /** created_at of the new messages: the time the client was told. */
  createdAt: string;
  /** The assistant and tool messages of the turn. */
  messages: ModelMessage[];
  /** The JSON answer, replayed for a repeated messageId. */
  answer: unknown;
};

type BeginRow = {
  outcome: 'go' | 'busy' | 'not_found' | 'rate_limited' | 'replay';
  conversation_id: string | null;
  turn_id: string | null;
  last_seq: number | null;
  user_seq: number | null;
  rerun: boolean;
  answer: unknown;
  retry_after_ms: number | null;
  /** Busy only: how long ago the lease's process renewed, and when the lease frees at the latest. */
  holder_seen_ms_ago: number | null;
  lease_free_in_ms: number | null;
  history: StoredMessage[];
  effects: RecordedEffect[];
};

export type TurnStoreOptions = {
  /** Where failed endings are logged (no message text). */
  logger?: Logger;
  /** Given the endings still being retried, so shutdown can wait for them. */
  track?: (work: Promise<unknown>) => void;
  /**
   * How long after a first successful check an abandoned BEGIN TURN is looked for once more: a
   * statement delayed in the network may still arrive and commit after its client gave up.
   * The statement timeout plus a margin.
   */
  abandonConfirmMs?: number;
  /** First retry delay and cap of the failure endings' backoff. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /**
   * This process's liveness record (instances/registry.ts), written on every lease it takes: a
   * lease whose process stopped renewing for `holderDeadAfterMs` is free. Unset (a store without
   * a registered process: the benchmark's fakes, unit tests), leases only expire.
   */
  instanceId?: string;
  holderDeadAfterMs?: number;
};

export function createTurnStore(database: Database, options: TurnStoreOptions = {}) {
  const endings = new TurnEndings(database, options);
  const holder = {
    instanceId: options.instanceId ?? null,
    holderDeadAfterMs: options.holderDeadAfterMs ?? DEAD_AFTER_MS,
  };

  async function beginTurn(input: BeginTurnInput): Promise<BeginTurnResult> {
    const newTurnId = randomUUID();
    const attemptId = randomUUID();
    // Only a send that may start a conversation needs the id of the one it would create.
    const newConversationId =
      input.chat?.named ??
      (input.conversationId === undefined ? conversationIdFor(input.userId, input.messageId) : null);
    const values = beginTurnValues(input, newTurnId, attemptId, newConversationId, holder);
    let row: BeginRow | undefined;
    try {
      [row] = await database.run((db) =>
        beginTurnStatements[values.mustExist ? 'mustExist' : 'mayCreate']<BeginRow>(db, values),
      );
    } catch (error) {
      // Its answer was lost, not its effect: it may have claimed the lease.
      if (mayHaveRun(error)) endings.abandon({ userId: input.userId, messageId: input.messageId, attemptId });
      throw error;
    }
    if (!row) throw new Error('BEGIN TURN returned no row');
    switch (row.outcome) {
      case 'not_found':
        return { outcome: 'not_found' };
      case 'busy':
        return { outcome: 'busy', retryAfterSeconds: busyRetryAfterSeconds(row) };
      case 'rate_limited':
        return {
          outcome: 'rate_limited',
          retryAfterSeconds: Math.max(1, Math.ceil((row.retry_after_ms ?? 0) / 1000)),
        };
      case 'replay':
        return { outcome: 'replay', conversationId: row.conversation_id as string, answer: row.answer };
    }
    const conversationId = row.conversation_id as string;
    const lastSeq = row.last_seq as number;
    let history = row.history;
    // The window holds historyMessages - 1 stored messages plus this turn's user message.
    // The statement reads one snapshot. If it waited on the previous turn's END TURN for the
    // lease, its snapshot predates that commit and misses the previous reply: re-read then.
    const newest = row.rerun ? lastSeq : lastSeq - 1;
    if (newest > 0 && (history.at(-1)?.seq ?? 0) < newest) {
      history = await database.run(
        (db) =>
          queryRows<StoredMessage>(db, historyStatement(conversationId, newest, input.historyMessages - 1)),
        {
          idempotent: true,
        },
      );
      history.reverse();
    }
    // This turn's user message ends the window (stored just now, so the snapshot missed it), or
    // for a re-run, stored by the first attempt, goes last with what that attempt stored.
    const turnId = row.turn_id as string;
    const question: StoredMessage = {
      seq: row.user_seq ?? lastSeq,
      role: 'user',
      content: input.message,
      turnId,
    };
    history = inTurnOrder(history);
    if (!row.rerun) history = [...history, question];
    else if (row.user_seq !== null) history = withTurnLast(history, turnId, question);
    // A turn begun before messages recorded their turn: its message is repeated unless it is the newest.
    else if (history.at(-1)?.role !== 'user') history = [...history, question];
    return {
      outcome: 'started',
      conversationId,
      turnId,
      attemptId,
      lastSeq,
      rerun: row.rerun,
      userSeq: row.user_seq ?? lastSeq,
      history: windowFromUserMessage(history),
      effects: row.effects ?? [],
    };
  }

  /**
   * The done ending: stores the turn's new messages and its answer, and releases the lease.
   * Returns false when this attempt no longer held the lease (it outlived it and another turn took
   * over): then nothing is written. Retried after a lost connection: it holds the lease or it is
   * already done by this attempt, so a retry never stores twice (see the module header).
   */
  async function endTurn(input: EndTurnInput): Promise<boolean> {
    // Messages after the user's are an earlier attempt's answer, which this one replaces.
    const statement = endTurnStatements[input.lastSeq > input.userSeq ? 'rerun' : 'first'];
    const rows = await database.run((db) => statement<{ ok: boolean }>(db, endTurnValues(input)), {
      idempotent: true,
    });
    return rows[0]?.ok === true;
  }

  /**
   * The failure ending: marks the turn failed and releases the lease if this attempt holds it,
   * storing nothing. Resolves after the first try, or after `waitMs` if that try is slow; if it
   * failed, it goes on being retried with backoff while the process lives. Never rejects.
   */
  function failTurn(attempt: TurnAttempt, waitMs = 1000): Promise<void> {
    return endings.fail(attempt, waitMs);
  }

  return {
    beginTurn,
    endTurn,
    failTurn,
    /** Failure endings not yet written. */
    pendingEndings: () => endings.size,
  };
}

export type TurnStore = ReturnType<typeof createTurnStore>;

/**
 * The id of the conversation a first send creates, derived from who sent it and its messageId:
 * two copies of one first send (a client retrying while the first is still in flight) then
 * collide on the primary key instead of starting two conversations and running the model twice.
 */
export function conversationIdFor(userId: string, messageId: string): string {
  return uuidFromHash(`${userId}\u0000${messageId}`);
}

/**
 * The conversation a client's own chat id names for this user (the AI SDK UI body's `id`, made by
 * `useChat`): derived, so every later send with that id reaches the same conversation with no
 * lookup table, and two users' identical ids never meet. Its own namespace, so a chat id never
 * lands in the conversation a first send of the same text as a messageId created.
 */
export function chatConversationIdFor(userId: string, chatId: string): string {
  return uuidFromHash(`chat\u0000${userId}\u0000${chatId}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The conversations a UI chat id can name for this user: `given`, the id itself when it is a
 * conversation id (a UUID, as `GET /conversations` lists them), and `named`, the one derived from
 * it. The given one wins when it is the user's.
 */
export function chatTargets(userId: string, chatId: string): { given: string | null; named: string } {
  return { given: UUID.test(chatId) ? chatId : null, named: chatConversationIdFor(userId, chatId) };
}

/**
 * A busy conversation's Retry-After. While the process running its turn renews its record, the
 * answer is being written and usually ends within seconds: ask again soon. Once it has stopped
 * renewing, the lease frees when that process counts as dead (or the lease expires): say when.
 */
function busyRetryAfterSeconds({ holder_seen_ms_ago: seen, lease_free_in_ms: freeIn }: BeginRow): number {
  if (seen !== null && seen <= 2 * RENEW_EVERY_MS) return 2;
  return Math.max(1, Math.ceil((freeIn ?? 2000) / 1000));
}

function uuidFromHash(key: string): string {
  const hex = createHash('sha256').update(key).digest('hex');
  // Laid out as an RFC 9562 version 8 (custom) UUID.
  const variant = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The values of one BEGIN TURN (see `beginTurnValues`). */
type BeginValues = {
  userId: string;
  messageId: string;
  lookupId: string | null;
  namedId: string | null;
  mustExist: boolean;
  regenerate: boolean;
  rateLimit: number;
  newTurnId: string;
  attemptId: string;
  leaseMs: number;
  newConversationId: string | null;
  title: string;
  message: string;
  historyMessages: number;
  historyLimit: number;
  instanceId: string | null;
  holderDeadAfterMs: number;
};

function beginTurnValues(
  input: BeginTurnInput,
  newTurnId: string,
  attemptId: string,
  newConversationId: string | null,
  holder: Pick<BeginValues, 'instanceId' | 'holderDeadAfterMs'>,
): BeginValues {
  return {
    userId: input.userId,
    messageId: input.messageId,
    // The contract body names a conversation that must exist; the UI body's chat id may name one
    // (`given`, also refused when it is another user's) or else the one it creates (`named`).
    lookupId: input.chat ? input.chat.given : (input.conversationId ?? null),
    namedId: input.chat?.named ?? null,
    mustExist: !input.chat && input.conversationId !== undefined,
    regenerate: input.regenerate === true,
    rateLimit: input.rateLimit,
    newTurnId,
    attemptId,
    leaseMs: input.leaseMs,
    newConversationId,
    title: input.title,
    message: JSON.stringify(input.message),
    historyMessages: input.historyMessages,
    historyLimit: input.historyMessages - 1,
    ...holder,
  };
}

/**
 * BEGIN TURN in its two forms, each its own prepared statement: a data-modifying CTE costs every
 * run its setup even when it writes nothing, so the form for a body naming a conversation that
 * must exist (every later turn of the JSON API) leaves out the one that creates a conversation.
 */
const beginTurnStatements = {
  mayCreate: preparedStatement<BeginValues>((values) => beginTurnSql(values, true)),
  mustExist: preparedStatement<BeginValues>((values) => beginTurnSql(values, false)),
};

function beginTurnSql(
  {
    userId,
    messageId,
    lookupId,
    namedId,
    mustExist,
    regenerate,
    rateLimit,
    newTurnId,
    attemptId,
    leaseMs,
    newConversationId,
    title,
    message,
    historyMessages,
    historyLimit,
    instanceId,
    holderDeadAfterMs,
  }: Placeholders<BeginValues>,
  mayCreate: boolean,
) {
  // A lease is free when no turn holds it, when it expired, or when the process holding it stopped
  // renewing its liveness record (instances/registry.ts): a killed process's conversations free up
  // within seconds, a living one's never.
  const leaseFree = (c: SQL) => sql`(${c}.lease_turn_id is null or ${c}.lease_expires_at < now()
    or (${c}.lease_instance_id is not null and not exists (
          select 1 from instances i where i.id = ${c}.lease_instance_id
          and i.seen_at > now() - ${holderDeadAfterMs}::int * interval '1 millisecond')))`;
  return sql`
      with
      prior as (
        select id, status, answer, conversation_id, seq from turns
        where user_id = ${userId} and message_id = ${messageId}
      ),
      existing as (
        -- By primary key only (OFFSET 0 keeps the user filter out of the scan): the generic plan,
        -- made while the tables were nearly empty, read the user's conversations_user_recent_idx
        -- range instead, which holds a dead entry for each of the user's turns since the last vacuum.
        select id from (select id, user_id from conversations
                        where id = any(array[${lookupId}::uuid, ${namedId}::uuid]) offset 0) c
        where user_id = ${userId}
        order by (id = ${lookupId}::uuid) is true desc
        limit 1
      ),
      decision as (
        select case
          when p.status = 'done' and not ${regenerate}::boolean then 'replay'
          when p.id is null and ${mustExist}::boolean and e.id is null then 'not_found'
          when p.id is null and exists (select 1 from conversations
                                        where id = ${lookupId}::uuid and user_id <> ${userId}) then 'not_found'
          else 'go'
        end as outcome,
        p.id as prior_id,
        coalesce(p.conversation_id, e.id) as target_id,
        coalesce((select ${leaseFree(sql`c`)}
                  from conversations c where c.id = coalesce(p.conversation_id, e.id)), true) as free
        from (select 1) as one
        left join prior p on true
        left join existing e on true
      ),
      quota as (
        -- ON CONFLICT DO UPDATE locks the user's row and reads its latest version, so concurrent
        -- turns of one user are counted one after another, across every instance.
        insert into rate_limits as r (user_id, recent)
        select ${userId}, array[now()] from decision d
        where d.outcome = 'go' and d.free and ${rateLimit}::int > 0
        on conflict (user_id) do update
          set recent = array(select x from unnest(r.recent) x where x > now() - interval '1 minute' order by x)
                       || now()
          where (select count(*) from unnest(r.recent) x where x > now() - interval '1 minute') < ${rateLimit}::int
        returning user_id
      ),
      admitted as (
        -- A conversation seen busy is answered busy below, and not counted against the limit.
        select d.*, (${rateLimit}::int = 0 or not d.free or exists (select 1 from quota)) as ok
        from decision d
      ),
      claimed as (
        update conversations c
        set lease_turn_id = coalesce(d.prior_id, ${newTurnId}::uuid),
            lease_attempt_id = ${attemptId}::uuid,
            lease_expires_at = now() + ${leaseMs}::int * interval '1 millisecond',
            lease_instance_id = ${instanceId}::uuid,
            last_seq = c.last_seq + (case when d.prior_id is null then 1 else 0 end),
            updated_at = now()
        from admitted d
        where d.outcome = 'go' and d.ok and c.id = d.target_id and c.user_id = ${userId}
          -- The same id as a value: an index scan on the primary key (not on the user's range).
          and c.id = (select target_id from admitted)
          and ${leaseFree(sql`c`)}
        returning c.id, c.last_seq, c.lease_turn_id
      ),
      ${
        mayCreate
          ? sql`created as (
        insert into conversations (id, user_id, title, last_seq, lease_turn_id, lease_attempt_id, lease_expires_at,
                                   lease_instance_id)
        select ${newConversationId}::uuid, ${userId}, ${title}, 1, ${newTurnId}::uuid, ${attemptId}::uuid,
               now() + ${leaseMs}::int * interval '1 millisecond', ${instanceId}::uuid
        from admitted d where d.outcome = 'go' and d.ok and d.target_id is null
        -- The same first send racing itself: the loser waits for the winner's commit, inserts
        -- nothing, and is answered busy, with no second user message or turn.
        on conflict (id) do nothing
        returning id, last_seq, lease_turn_id
      ),`
          : sql``
      }
      target as (select * from claimed ${mayCreate ? sql`union all select * from created` : sql``}),
      new_turn as (
        insert into turns (id, user_id, message_id, conversation_id, attempt_id, seq)
        select t.lease_turn_id, ${userId}, ${messageId}, t.id, ${attemptId}::uuid, t.last_seq
        from target t, decision d where d.prior_id is null
        on conflict (user_id, message_id) do nothing
        returning id
      ),
      rerun_turn as (
        update turns set status = 'running', finished_at = null, attempt_id = ${attemptId}::uuid
        from target t, decision d
        where turns.id = d.prior_id and turns.id = t.lease_turn_id
        returning turns.id
      ),
      user_message as (
        insert into messages (conversation_id, seq, role, content, turn_id)
        select t.id, t.last_seq, 'user', ${message}::jsonb, t.lease_turn_id
        from target t, decision d where d.prior_id is null
        returning seq
      ),
      history as (
        -- The window touches only its own rows, however long the conversation. Seqs are gapless
        -- per conversation (every writer takes the next ones from last_seq; a replaced answer is
        -- flagged, not removed), so the window is the seq range (last_seq - n, last_seq]; LATERAL
        -- makes it an index range scan on messages_conversation_seq_key for the one target row. As
        -- a plain join the planner read every message of the conversation (bitmap scan, then a
        -- top-N sort), or, with statistics, the whole table (test/plans.test.ts). The range holds
        -- this turn's user message, stored by this very statement and so not visible to it; a
        -- re-run's, stored earlier, is: LIMIT keeps n - 1.
        select m.seq, m.role, m.content, m.turn_id as "turnId", m.replaced
        from target t, lateral (
          select seq, role, content, turn_id, replaced from messages
          where conversation_id = t.id and seq > t.last_seq - ${historyMessages}::int and seq <= t.last_seq
          order by seq desc limit ${historyLimit}::int
        ) m
      )
      select
        case
          when d.outcome = 'go' and not d.ok then 'rate_limited'
          when d.outcome = 'go' and t.id is null then 'busy'
          else d.outcome
        end as outcome,
        coalesce(t.id, d.target_id) as conversation_id,
        t.lease_turn_id as turn_id,
        t.last_seq,
        coalesce(p.seq, t.last_seq) as user_seq,
        d.prior_id is not null as rerun,
        p.answer,
        -- When the oldest counted turn leaves the window (read from the snapshot: a turn that
        -- raced this one may be missing, so an empty answer means "about a minute"); only read when
        -- rate limited.
        case when d.outcome = 'go' and not d.ok then
          coalesce((select extract(epoch from (min(x) + interval '1 minute' - now())) * 1000
                    from rate_limits r, unnest(r.recent) x
                    where r.user_id = ${userId} and x > now() - interval '1 minute'), 60000)::float8
        end as retry_after_ms,
        -- Busy only: whether the lease's process is alive, and when the lease frees at the latest.
        case when d.outcome = 'go' and d.ok and t.id is null then
          (select extract(epoch from now() - i.seen_at) * 1000
           from conversations c join instances i on i.id = c.lease_instance_id where c.id = d.target_id)::float8
        end as holder_seen_ms_ago,
        case when d.outcome = 'go' and d.ok and t.id is null then
          (select extract(epoch from least(c.lease_expires_at,
                    i.seen_at + ${holderDeadAfterMs}::int * interval '1 millisecond') - now()) * 1000
           from conversations c left join instances i on i.id = c.lease_instance_id where c.id = d.target_id)::float8
        end as lease_free_in_ms,
        -- json_agg of the rows themselves (keys seq, role, content, turnId, replaced) only appends
        -- text; building a jsonb object per message copied every content into a new jsonb tree: 4
        -- times the CPU.
        coalesce((select json_agg(h order by h.seq) from history h), '[]'::json) as history,
        -- What earlier attempts of a re-run turn changed (none for a new turn: its id is new, and
        -- the table is not read).
        case when d.prior_id is not null and t.id is not null then
          (select coalesce(jsonb_agg(jsonb_build_object('callKey', e.call_key, 'occurrence', e.occurrence,
                    'tool', e.tool, 'args', e.args, 'task', e.task) order by e.created_at, e.occurrence), '[]'::jsonb)
           from turn_effects e where e.turn_id = d.prior_id)
        end as effects
      from admitted d
      left join target t on true
      left join prior p on true`;
}

// The same bounded range as BEGIN TURN's window (seqs are gapless): at most `limit` rows read.
function historyStatement(conversationId: string, newestSeq: number, limit: number) {
  return sql`
    select seq, role, content, turn_id as "turnId", replaced from messages
    where conversation_id = ${conversationId}::uuid
      and seq > ${newestSeq}::int - ${limit}::int and seq <= ${newestSeq}::int
    order by seq desc limit ${limit}::int`;
}

type EndValues = Omit<EndTurnInput, 'messages' | 'answer'> & {
  count: number;
  messages: string;
  answer: string;
};

function endTurnValues({ messages, answer, ...turn }: EndTurnInput): EndValues {
  return {
    ...turn,
    count: messages.length,
    messages: JSON.stringify(messages),
    answer: JSON.stringify(answer ?? null),
  };
}

/**
 * END TURN in its two forms, each its own prepared statement: the first ending of a turn has no
 * earlier answer to mark replaced, and leaves that CTE out (see BEGIN TURN's forms).
 */
const endTurnStatements = {
  first: preparedStatement<EndValues>((values) => endTurnSql(values, false)),
  rerun: preparedStatement<EndValues>((values) => endTurnSql(values, true)),
};

function endTurnSql(
  {
    conversationId,
    turnId,
    attemptId,
    lastSeq,
    userSeq,
    answerId,
    createdAt,
    count,
    messages,
    answer,
  }: Placeholders<EndValues>,
  replaces: boolean,
) {
  return sql`
      with
      released as (
        update conversations
        set last_seq = ${lastSeq}::int + ${count}::int,
            lease_turn_id = null, lease_attempt_id = null, lease_expires_at = null, updated_at = now()
        where id = ${conversationId}::uuid and lease_turn_id = ${turnId}::uuid
          and lease_attempt_id = ${attemptId}::uuid
        returning id
      ),
      -- A re-run that ends done (a regenerate, or a resend after a failed regenerate) replaces the
      -- answer an earlier attempt stored (a failed attempt, ended by failTurn, leaves it standing).
      -- The seq range keeps this to the rows after the turn's user message; none exist for a turn that
      -- never finished before.
      ${
        replaces
          ? sql`replaced as (
        update messages set replaced = true
        from released r
        where messages.conversation_id = r.id
          and messages.seq > ${userSeq}::int and messages.seq <= ${lastSeq}::int
          and messages.turn_id = ${turnId}::uuid and not messages.replaced
        returning 1
      ),`
          : sql``
      }
      stored as (
        insert into messages (id, conversation_id, seq, role, content, turn_id, created_at)
        select case when m.ord = 1 then ${answerId}::uuid else gen_random_uuid() end,
               r.id, ${lastSeq}::int + m.ord::int, m.message->>'role', m.message, ${turnId}::uuid,
               ${createdAt}::timestamptz
        from released r, jsonb_array_elements(${messages}::jsonb) with ordinality as m(message, ord)
        returning 1
      ),
      finished as (
        update turns set status = 'done', answer = ${answer}::jsonb, finished_at = now()
        where id = ${turnId}::uuid and exists (select 1 from released)
        returning 1
      )
      select exists (select 1 from released)
        -- An earlier try of this same ending committed (its answer was lost): done, by this attempt.
        or exists (select 1 from turns where id = ${turnId}::uuid and attempt_id = ${attemptId}::uuid
                   and status = 'done') as ok`;
}

/** The failure ending of one attempt: store nothing, mark the turn failed, release the lease. */
function failTurnStatement({ conversationId, turnId, attemptId }: TurnAttempt) {
  return sql`
    with
    released as (
      update conversations
      set lease_turn_id = null, lease_attempt_id = null, lease_expires_at = null, updated_at = now()
      where id = ${conversationId}::uuid and lease_turn_id = ${turnId}::uuid
        and lease_attempt_id = ${attemptId}::uuid
      returning id
    ),
    finished as (
      update turns set status = 'failed', finished_at = now()
      where id = ${turnId}::uuid and attempt_id = ${attemptId}::uuid and status = 'running'
      returning 1
    )
    select exists (select 1 from released) as released`;
}

/**
 * The failure ending of a BEGIN TURN whose answer was lost, found by its attempt id through the
 * user's messageId (the unique key of turns), since its turn id may be one this process never saw
 * (a re-run keeps the earlier id). `found`: the attempt committed (and is now ended).
 */
function abandonStatement({ userId, messageId, attemptId }: AbandonedBegin) {
  return sql`
    with
    attempt as (
      select id, conversation_id from turns
      where user_id = ${userId} and message_id = ${messageId} and attempt_id = ${attemptId}::uuid
    ),
    released as (
      update conversations c
      set lease_turn_id = null, lease_attempt_id = null, lease_expires_at = null, updated_at = now()
      from attempt a
      where c.id = a.conversation_id and c.lease_turn_id = a.id and c.lease_attempt_id = ${attemptId}::uuid
      returning c.id
    ),
    finished as (
      update turns set status = 'failed', finished_at = now()
      from attempt a
      where turns.id = a.id and turns.status = 'running'
      returning 1
    )
    select exists (select 1 from attempt) as found`;
}

type AbandonedBegin = { userId: string; messageId: string; attemptId: string };

type Ending = {
  /** Runs the ending once: undefined when it is done, or in how many ms to check again. */
  run(): Promise<number | undefined>;
  /** No longer owed: written, or (an abandoned BEGIN) found absent once; a re-check is a bonus. */
  settle(): void;
  failures: number;
  dueAt: number;
};

/**
 * The endings this process still owes: failure endings that could not be written yet, and BEGIN
 * TURNs whose answer was lost. One worker retries them with capped exponential backoff (plus
 * jitter) for as long as the process lives, through `probe` runs that the open circuit breaker
 * lets through, and whose success closes it for every other request too. Stops when the
 * database is closed; a lease left then is what the lease's expiry is for.
 */
class TurnEndings {
  readonly #database: Database;
  readonly #options: TurnStoreOptions;
  readonly #pending = new Map<string, Ending>();
  #worker: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(database: Database, options: TurnStoreOptions) {
    this.#database = database;
    this.#options = options;
  }

  get size(): number {
    return this.#pending.size;
  }

  fail(attempt: TurnAttempt, waitMs: number): Promise<void> {
    const firstTry = this.#add(`fail:${attempt.attemptId}`, async () => {
      const rows = await this.#database.run(
        (db) => queryRows<{ released: boolean }>(db, failTurnStatement(attempt)),
        { probe: true },
      );
      if (!rows[0]?.released) this.#options.logger?.debug('failed turn had no lease left', attempt);
      return undefined;
    });
    return Promise.race([firstTry, new Promise<void>((resolve) => setTimeout(resolve, waitMs).unref())]);
  }

  abandon(begin: AbandonedBegin): void {
    const confirmMs = this.#options.abandonConfirmMs ?? 11_000;
    let checkedAt: number | undefined;
    void this.#add(`abandon:${begin.attemptId}`, async () => {
      const rows = await this.#database.run(
        (db) => queryRows<{ found: boolean }>(db, abandonStatement(begin)),
        { probe: true },
      );
      if (rows[0]?.found) return undefined;
      // Not there: it never committed, or it is still on its way. Look once more, later.
      const now = Date.now();
      if (checkedAt !== undefined && now - checkedAt >= confirmMs) return undefined;
      checkedAt ??= now;
      return confirmMs - (now - checkedAt);
    });
  }

  /**
   * Adds an ending and tries it at once; resolves after that first try, whatever it gave. Until it
   * is no longer owed, it is given to `track` (shutdown waits for it, up to its deadline).
   */
  #add(key: string, run: Ending['run']): Promise<void> {
    if (this.#database.closed) return Promise.resolve();
    let tried!: () => void;
    const firstTry = new Promise<void>((resolve) => {
      tried = resolve;
    });
    let settle!: () => void;
    const owed = new Promise<void>((resolve) => {
      settle = resolve;
    });
    this.#options.track?.(owed);
    const ending: Ending = {
      failures: 0,
      dueAt: 0,
      settle,
      run: async () => {
        try {
          return await run();
        } finally {
          tried();
        }
      },
    };
    this.#pending.get(key)?.settle();
    this.#pending.set(key, ending);
    this.#start();
    return firstTry;
  }

  #start(): void {
    this.#wake?.();
    if (this.#worker) return;
    this.#worker = this.#work().finally(() => {
      this.#worker = undefined;
    });
  }

  async #work(): Promise<void> {
    const { retryBaseMs = 100, retryMaxMs = 1000 } = this.#options;
    while (this.#pending.size > 0 && !this.#database.closed) {
      const now = Date.now();
      const due = [...this.#pending].filter(([, e]) => e.dueAt <= now);
      for (const [key, ending] of due) {
        if (this.#database.closed) break;
        try {
          const again = await ending.run();
          ending.settle();
          if (again === undefined) this.#pending.delete(key);
          else {
            ending.failures = 0;
            ending.dueAt = Date.now() + again;
          }
        } catch (error) {
          ending.failures++;
          if (!(error instanceof DbUnavailableError) && ending.failures >= 10) {
            // Not an outage and not going away: the lease's expiry will end it.
            this.#options.logger?.error('could not end a turn; its lease will expire', { key });
            ending.settle();
            this.#pending.delete(key);
            continue;
          }
          const backoff = Math.min(retryMaxMs, retryBaseMs * 2 ** (ending.failures - 1));
          ending.dueAt = Date.now() + backoff / 2 + (Math.random() * backoff) / 2;
          // The database is still away: the other endings would fail the same way now.
          if (error instanceof DbUnavailableError) {
            for (const other of this.#pending.values()) other.dueAt = Math.max(other.dueAt, ending.dueAt);
            break;
          }
        }
      }
      const next = Math.min(...[...this.#pending.values()].map((e) => e.dueAt));
      const wait = Math.max(0, next - Date.now());
      if (this.#pending.size > 0 && wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          timer.unref();
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    }
    if (this.#database.closed) {
      for (const ending of this.#pending.values()) ending.settle();
      this.#pending.clear();
    }
  }
}
