/**
 * @module chat/store/statements
 * The SQL of a turn, whole, in its forms: BEGIN TURN (create or check the conversation, honour an
 * earlier send of the same messageId, rate limit, claim the lease, store the user message, read
 * the history window and a re-run's recorded effects), END TURN (store the answer's messages, mark
 * an answer a regenerate replaces, release the lease), and the two failure endings. Each is one
 * data-modifying CTE, which the query builder cannot say; each ending applies only while its own
 * attempt holds the lease (./turn-store.ts says why that is enough). The statements take values,
 * never inputs: ./turn-store.ts makes the values, so this module knows SQL and nothing above it.
 */
import { type SQL, sql } from 'drizzle-orm';
import { type Placeholders, preparedStatement } from '../../db/client.ts';
import { userZoneCte } from '../../time/statements.ts';
import { type UsageValues, usageCtes } from '../../usage/statements.ts';
import type { StoredMessage } from '../messages/stored.ts';
import type { RecordedEffect } from '../turn/effects.ts';

/** The values of one BEGIN TURN (./turn-store.ts makes them from its input). */
export type BeginValues = {
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
  /**
   * A decision turn's decisions, JSON `[{id, approved, reason}]` (`[]` for the other kinds): BEGIN
   * TURN flips the named approvals with a compare-and-set and starts only if every one flipped.
   */
  decisions: string;
  /** This process's liveness record, written on the lease (null: a store of no registered process). */
  instanceId: string | null;
  /** A lease whose process has not renewed its record for this long is free. */
  holderDeadAfterMs: number;
} & ZoneValues & {
    /** Input + output tokens per user and local day; 0: no budget. */
    budgetTokens: number;
  };

/**
 * The user's zone, in the contract's order: `requestedZone` (X-Timezone) first, then the stored
 * one (user_settings), then `fallbackZone` (the token's or the default); `clock` is the app's now,
 * whose local date is the user's day (tests move it).
 */
export type ZoneValues = { requestedZone: string | null; fallbackZone: string; clock: string };

/** What BEGIN TURN returns: one row. */
export type BeginRow = {
  outcome:
    | 'go'
    | 'busy'
    | 'not_found'
    | 'rate_limited'
    | 'budget_exhausted'
    | 'replay'
    | 'reused'
    | 'approval_not_pending';
  /** The user's effective time zone (see ZoneValues). */
  timezone: string;
  /** Budget exhausted only: until the user's next midnight. */
  budget_resets_in_ms: number | null;
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
  /** A decision turn: the assistant message that asked (its answer goes on in the same UI message). */
  continues: string | null;
};

/**
 * BEGIN TURN in its two forms, each its own prepared statement: a data-modifying CTE costs every
 * run its setup even when it writes nothing, so the form for a body naming a conversation that
 * must exist (every later turn of the JSON API) leaves out the one that creates a conversation.
 */
export const beginTurnStatements = {
  mayCreate: preparedStatement<BeginValues>((values) => beginTurnSql(values, true, false)),
  mustExist: preparedStatement<BeginValues>((values) => beginTurnSql(values, false, false)),
  /** A decision on pending approvals: the conversation must exist, and nothing is superseded. */
  decide: preparedStatement<BeginValues>((values) => beginTurnSql(values, false, true)),
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
    decisions,
    instanceId,
    holderDeadAfterMs,
    requestedZone,
    fallbackZone,
    clock,
    budgetTokens,
  }: Placeholders<BeginValues>,
  mayCreate: boolean,
  decides: boolean,
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
      ${
        decides
          ? sql`named as (
        select distinct on (x.id) x.id, x.approved from jsonb_to_recordset(${decisions}::jsonb) as x(id text, approved boolean)
      ),
      asked as (
        select a.id, a.user_id, a.conversation_id, a.status, a.expires_at, a.decided_turn_id, a.answer_id
        from approvals a where a.id in (select id from named)
      ),`
          : sql``
      }
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
      ${userZoneCte({ userId, requestedZone, fallbackZone, clock })},
      spent as (
        -- Today's tokens, only read with a budget: the counter END TURN upserts (one row).
        select coalesce((select u.tokens from usage_daily u, zone z
                         where ${budgetTokens}::bigint > 0 and u.user_id = ${userId} and u.day = z.today), 0) as tokens
      ),
      decision as (
        select case
          -- An idempotency key names one message: the answer stored for it is never given to another
          -- question (read only when the key was used before: its turn's user message, by key).
          when p.id is not null and exists (
            select 1 from messages m
            where m.conversation_id = p.conversation_id and m.seq = p.seq and m.role = 'user'
              and m.content -> 'content' is distinct from ${message}::jsonb -> 'content') then 'reused'
          when p.status = 'done' and not ${regenerate}::boolean then 'replay'
          when p.id is null and ${mustExist}::boolean and e.id is null then 'not_found'
          when p.id is null and exists (select 1 from conversations
                                        where id = ${lookupId}::uuid and user_id <> ${userId}) then 'not_found'
          ${
            decides
              ? sql`-- Another user's approval is not found; one not pending here (unknown, expired, decided,
          -- another conversation's) is refused, unless this very turn decided it (a re-run).
          when exists (select 1 from asked a where a.user_id <> ${userId}) then 'not_found'
          when (select count(*) from asked a
                where a.user_id = ${userId} and a.conversation_id = coalesce(p.conversation_id, e.id)
                  and ((a.status = 'pending' and a.expires_at > now()) or a.decided_turn_id = p.id))
               <> (select count(*) from named) then 'approval_not_pending'`
              : sql``
          }
          when ${budgetTokens}::bigint > 0 and (select tokens from spent) >= ${budgetTokens}::bigint then 'budget_exhausted'
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
      ${
        decides
          ? sql`locked as (
        -- The conversation row, locked while its lease is free (re-checked on its newest version
        -- after waiting): of two decisions at once, the second waits here and finds the lease taken.
        select c.id from conversations c, admitted d
        where d.outcome = 'go' and d.ok and c.id = d.target_id and c.user_id = ${userId} and ${leaseFree(sql`c`)}
        for update of c
      ),
      decided as (
        -- The compare-and-set: only a pending, unexpired approval flips (re-checked on its newest
        -- version), so a decision applies once.
        update approvals a
        set status = case when n.approved then 'approved' else 'denied' end, decided_at = now(),
            decided_turn_id = ${newTurnId}::uuid
        from named n, admitted d
        where a.id = n.id and d.prior_id is null and exists (select 1 from locked)
          and a.user_id = ${userId} and a.conversation_id = d.target_id
          and a.status = 'pending' and a.expires_at > now()
        returning a.id
      ),`
          : sql``
      }
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
          ${
            decides
              ? sql`and (d.prior_id is not null or (select count(*) from decided) = (select count(*) from named))`
              : sql``
          }
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
        -- The user's message, or a decision turn's tool message of approval responses.
        insert into messages (conversation_id, seq, role, content, turn_id)
        select t.id, t.last_seq, ${message}::jsonb->>'role', ${message}::jsonb, t.lease_turn_id
        from target t, decision d where d.prior_id is null
        returning seq
      ),
      ${
        decides
          ? sql``
          : sql`superseded as (
        -- A new message while calls wait for a decision denies them: the user moved on.
        update approvals a set status = 'superseded', decided_at = now(), decided_turn_id = t.lease_turn_id
        from target t where a.conversation_id = t.id and a.status = 'pending'
        returning 1
      ),`
      }
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
        (select name from zone) as timezone,
        case when d.outcome = 'budget_exhausted' then
          (select extract(epoch from z.midnight - ${clock}::timestamptz) * 1000 from zone z)::float8
        end as budget_resets_in_ms,
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
        end as effects,
        ${decides ? sql`(select a.answer_id from asked a limit 1)` : sql`null::uuid`} as continues
      from admitted d
      left join target t on true
      left join prior p on true`;
}

// The same bounded range as BEGIN TURN's window (seqs are gapless): at most `limit` rows read.
export function historyStatement(conversationId: string, newestSeq: number, limit: number) {
  return sql`
    select seq, role, content, turn_id as "turnId", replaced from messages
    where conversation_id = ${conversationId}::uuid
      and seq > ${newestSeq}::int - ${limit}::int and seq <= ${newestSeq}::int
    order by seq desc limit ${limit}::int`;
}

/** Which attempt of which turn an ending is for. */
export type TurnAttempt = { conversationId: string; turnId: string; attemptId: string };

/** The values of one END TURN: the messages and the answer as JSON text. */
export type EndValues = TurnAttempt &
  UsageValues & {
    lastSeq: number;
    userSeq: number;
    answerId: string;
    createdAt: string;
    count: number;
    messages: string;
    answer: string;
    /** The id of the answer's UI message (a decision turn's continues the one that asked). */
    uiMessageId: string;
    /** The calls the turn ended waiting on, JSON `[{id, toolCallId, toolName, args}]`. */
    approvals: string;
    approvalTtlSeconds: number;
  };

/**
 * END TURN in its two forms, each its own prepared statement: the first ending of a turn has no
 * earlier answer to mark replaced, and leaves that CTE out (see BEGIN TURN's forms).
 */
export const endTurnStatements = {
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
    uiMessageId,
    approvals,
    approvalTtlSeconds,
    userId,
    timezone,
    endedAt,
    model,
    inputTokens,
    cachedInputTokens,
    outputTokens,
    reasoningTokens,
  }: Placeholders<EndValues>,
  replaces: boolean,
) {
  // Named one by one: the placeholders are a proxy, which a spread would find empty.
  const usage = {
    userId,
    timezone,
    endedAt,
    model,
    inputTokens,
    cachedInputTokens,
    outputTokens,
    reasoningTokens,
  };
  return sql`
      with
      ${usageCtes({ turnId, attemptId }, usage)}
      released as (
        update conversations
        set last_seq = ${lastSeq}::int + ${count}::int,
            lease_turn_id = null, lease_attempt_id = null, lease_expires_at = null, updated_at = now()
        where id = ${conversationId}::uuid and lease_turn_id = ${turnId}::uuid
          and lease_attempt_id = ${attemptId}::uuid
        returning id, user_id
      ),
      asked as (
        insert into approvals (id, user_id, conversation_id, turn_id, answer_id, tool_call_id, tool_name, args,
                               expires_at)
        select x.id, r.user_id, r.id, ${turnId}::uuid, ${uiMessageId}::uuid, x."toolCallId", x."toolName",
               coalesce(x.args, '{}'::jsonb), now() + ${approvalTtlSeconds}::int * interval '1 second'
        from released r, jsonb_to_recordset(${approvals}::jsonb) as x(id text, "toolCallId" text, "toolName" text, args jsonb)
        on conflict (id) do nothing
        returning 1
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

/** A failure ending's attempt: with the usage its run reported before it failed. */
export type FailedAttempt = TurnAttempt & { usage: UsageValues };

/**
 * The failure ending of one attempt: store no message, mark the turn failed, release the lease;
 * and store the attempt's usage (its tokens were spent).
 */
export function failTurnStatement({ conversationId, turnId, attemptId, usage }: FailedAttempt) {
  return sql`
    with
    ${usageCtes({ turnId, attemptId }, usage)}
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
export function abandonStatement({ userId, messageId, attemptId }: AbandonedBegin) {
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

export type AbandonedBegin = { userId: string; messageId: string; attemptId: string };
