/**
 * @module chat/turn-store
 * The turn store: a chat turn is exactly two statements, whatever the conversation's
 * length. BEGIN TURN (one statement) creates the conversation or checks it is the user's, honours
 * an earlier send of the same `messageId` (replay, busy, or re-run after a failure), applies the
 * per-user rate limit, claims the turn lease, stores the user message and returns the history
 * window. END TURN (one statement) stores every new message, the answer for replays, and
 * releases the lease. Both are data-modifying CTEs: the builder cannot say them, so the SQL is
 * here, whole, in two well-named functions.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ModelMessage } from 'ai';
import { sql } from 'drizzle-orm';
import { type Database, queryRows } from '../db/client.ts';
import { type StoredMessage, windowFromUserMessage } from './history.ts';

export type BeginTurnInput = {
  userId: string;
  /** Undefined: start a new conversation. */
  conversationId: string | undefined;
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
  | { outcome: 'busy' }
  | { outcome: 'rate_limited'; retryAfterSeconds: number }
  | { outcome: 'replay'; conversationId: string; answer: unknown }
  | {
      outcome: 'started';
      conversationId: string;
      turnId: string;
      /** seq of the last stored message; the turn's messages follow it. */
      lastSeq: number;
      /** True when this re-runs a failed send: the user message was stored by the first one. */
      rerun: boolean;
      /** The history window, oldest first, starting at a user message, ending with this turn's. */
      history: StoredMessage[];
    };

export type EndTurnInput = {
  conversationId: string;
  turnId: string;
  /** `lastSeq` from BEGIN TURN: the new messages take the seqs after it. */
  lastSeq: number;
  status: 'done' | 'failed';
  /** The assistant and tool messages of the turn; none for a failed turn. */
  messages: ModelMessage[];
  /** The JSON answer, replayed for a repeated messageId. */
  answer: unknown;
};

type BeginRow = {
  outcome: 'go' | 'busy' | 'not_found' | 'rate_limited' | 'replay';
  conversation_id: string | null;
  turn_id: string | null;
  last_seq: number | null;
  rerun: boolean;
  answer: unknown;
  retry_after_ms: number | null;
  history: StoredMessage[];
};

export function createTurnStore(database: Database) {
  async function beginTurn(input: BeginTurnInput): Promise<BeginTurnResult> {
    const newTurnId = randomUUID();
    const newConversationId = conversationIdFor(input.userId, input.messageId);
    const [row] = await database.run((db) =>
      queryRows<BeginRow>(db, beginTurnStatement(input, newTurnId, newConversationId)),
    );
    if (!row) throw new Error('BEGIN TURN returned no row');
    switch (row.outcome) {
      case 'not_found':
        return { outcome: 'not_found' };
      case 'busy':
        return { outcome: 'busy' };
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
    // This turn's user message ends the window: stored just now, or for a re-run stored by the
    // first attempt. A re-run whose message is no longer the newest (later turns came after it)
    // gets it repeated at the end, so the model answers the message being re-run.
    if (!row.rerun || history.at(-1)?.role !== 'user') {
      history = [...history, { seq: lastSeq, role: 'user', content: input.message }];
    }
    return {
      outcome: 'started',
      conversationId,
      turnId: row.turn_id as string,
      lastSeq,
      rerun: row.rerun,
      history: windowFromUserMessage(history),
    };
  }

  /**
   * Stores the turn's new messages (none for a failed turn), its answer, and releases the lease.
   * Returns false when the lease was lost (the turn outlived it and another turn took over):
   * then nothing is written.
   */
  async function endTurn(input: EndTurnInput): Promise<boolean> {
    const rows = await database.run((db) => queryRows<{ ok: boolean }>(db, endTurnStatement(input)));
    return rows[0]?.ok === true;
  }

  return { beginTurn, endTurn };
}

export type TurnStore = ReturnType<typeof createTurnStore>;

/**
 * The id of the conversation a first send creates, derived from who sent it and its messageId:
 * two copies of one first send (a client retrying while the first is still in flight) then
 * collide on the primary key instead of starting two conversations and running the model twice.
 */
export function conversationIdFor(userId: string, messageId: string): string {
  const hex = createHash('sha256').update(`${userId}\u0000${messageId}`).digest('hex');
  // Laid out as an RFC 9562 version 8 (custom) UUID.
  const variant = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function beginTurnStatement(input: BeginTurnInput, newTurnId: string, newConversationId: string) {
  const { userId, messageId, historyMessages, leaseMs, rateLimit } = input;
  const conversationId = input.conversationId ?? null;
  const message = JSON.stringify(input.message);
  return sql`
    with
    prior as (
      select id, status, answer, conversation_id from turns
      where user_id = ${userId} and message_id = ${messageId}
    ),
    existing as (
      select id from conversations where id = ${conversationId}::uuid and user_id = ${userId}
    ),
    decision as (
      select case
        when p.status = 'done' then 'replay'
        when p.id is null and ${conversationId}::uuid is not null and e.id is null then 'not_found'
        else 'go'
      end as outcome,
      p.id as prior_id,
      coalesce(p.conversation_id, e.id) as target_id,
      coalesce((select c.lease_turn_id is null or c.lease_expires_at < now()
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
          lease_expires_at = now() + ${leaseMs}::int * interval '1 millisecond',
          last_seq = c.last_seq + (case when d.prior_id is null then 1 else 0 end),
          updated_at = now()
      from admitted d
      where d.outcome = 'go' and d.ok and c.id = d.target_id and c.user_id = ${userId}
        and (c.lease_turn_id is null or c.lease_expires_at < now())
      returning c.id, c.last_seq, c.lease_turn_id
    ),
    created as (
      insert into conversations (id, user_id, title, last_seq, lease_turn_id, lease_expires_at)
      select ${newConversationId}::uuid, ${userId}, ${input.title}, 1, ${newTurnId}::uuid,
             now() + ${leaseMs}::int * interval '1 millisecond'
      from admitted d where d.outcome = 'go' and d.ok and d.target_id is null
      -- The same first send racing itself: the loser waits for the winner's commit, inserts
      -- nothing, and is answered busy, with no second user message or turn.
      on conflict (id) do nothing
      returning id, last_seq, lease_turn_id
    ),
    target as (select * from claimed union all select * from created),
    new_turn as (
      insert into turns (id, user_id, message_id, conversation_id)
      select t.lease_turn_id, ${userId}, ${messageId}, t.id
      from target t, decision d where d.prior_id is null
      on conflict (user_id, message_id) do nothing
      returning id
    ),
    rerun_turn as (
      update turns set status = 'running', finished_at = null
      from target t, decision d
      where turns.id = d.prior_id and turns.id = t.lease_turn_id
      returning turns.id
    ),
    user_message as (
      insert into messages (conversation_id, seq, role, content)
      select t.id, t.last_seq, 'user', ${message}::jsonb
      from target t, decision d where d.prior_id is null
      returning seq
    ),
    history as (
      -- The window touches only its own rows, however long the conversation. Seqs are gapless
      -- per conversation (every writer takes the next ones from last_seq), so the window is the
      -- seq range (last_seq - n, last_seq]; LATERAL makes it an index range scan on
      -- messages_conversation_seq_key for the one target row. As a plain join the planner
      -- read every message of the conversation (bitmap scan, then a top-N sort), or, with
      -- statistics, the whole table (test/plans.test.ts). The range holds this turn's user
      -- message, stored by this very statement and so not visible to it; a re-run's, stored
      -- earlier, is: LIMIT keeps n - 1.
      select m.seq, m.role, m.content
      from target t, lateral (
        select seq, role, content from messages
        where conversation_id = t.id and seq > t.last_seq - ${historyMessages}::int and seq <= t.last_seq
        order by seq desc limit ${historyMessages - 1}::int
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
      d.prior_id is not null as rerun,
      p.answer,
      -- When the oldest counted turn leaves the window (read from the snapshot: a turn that
      -- raced this one may be missing, so an empty answer means "about a minute").
      coalesce((select extract(epoch from (min(x) + interval '1 minute' - now())) * 1000
                from rate_limits r, unnest(r.recent) x
                where r.user_id = ${userId} and x > now() - interval '1 minute'), 60000)::float8
        as retry_after_ms,
      -- json_agg of the rows themselves (keys seq, role, content) only appends text; building a
      -- jsonb object per message copied every content into a new jsonb tree: 4 times the CPU.
      coalesce((select json_agg(h order by h.seq) from history h), '[]'::json) as history
    from admitted d
    left join target t on true
    left join prior p on true`;
}

// The same bounded range as BEGIN TURN's window (seqs are gapless): at most `limit` rows read.
function historyStatement(conversationId: string, newestSeq: number, limit: number) {
  return sql`
    select seq, role, content from messages
    where conversation_id = ${conversationId}::uuid
      and seq > ${newestSeq}::int - ${limit}::int and seq <= ${newestSeq}::int
    order by seq desc limit ${limit}::int`;
}

function endTurnStatement(input: EndTurnInput) {
  const { conversationId, turnId, lastSeq, status } = input;
  return sql`
    with
    released as (
      update conversations
      set last_seq = ${lastSeq}::int + ${input.messages.length}::int,
          lease_turn_id = null, lease_expires_at = null, updated_at = now()
      where id = ${conversationId}::uuid and lease_turn_id = ${turnId}::uuid
      returning id
    ),
    stored as (
      insert into messages (conversation_id, seq, role, content)
      select r.id, ${lastSeq}::int + m.ord::int, m.message->>'role', m.message
      from released r, jsonb_array_elements(${JSON.stringify(input.messages)}::jsonb) with ordinality as m(message, ord)
      returning 1
    ),
    finished as (
      update turns set status = ${status}, answer = ${JSON.stringify(input.answer ?? null)}::jsonb, finished_at = now()
      where id = ${turnId}::uuid and exists (select 1 from released)
      returning 1
    )
    select exists (select 1 from released) as ok`;
}
