/**
 * @module chat/store/turn-store
 * The turn store: a chat turn is exactly two statements, whatever the conversation's
 * length. BEGIN TURN (one statement) creates the conversation or checks it is the user's, honours
 * an earlier send of the same `messageId` (replay, busy, or re-run after a failure or for a
 * regenerate), applies the per-user rate limit, claims the turn lease, stores the user message and
 * returns the history window, and for a re-run the task changes earlier attempts made
 * (../turn/effects.ts). END TURN (one statement) stores every new message (marking the answer a
 * re-run replaces), the answer for replays, and releases the lease. The SQL is in ./statements.ts,
 * the derived conversation ids in ./ids.ts.
 *
 * A turn always ends. Every BEGIN TURN is one attempt with its own id, written on the lease and on
 * the turn. An ending applies only while its own attempt holds the lease, so an ending retried
 * late, or a re-run of the same turn id, can never release or overwrite another attempt's. The
 * failure endings that could not be written yet are retried by ./endings.ts.
 *
 * Why this can neither lose nor duplicate a message: the failure ending writes no message at all,
 * and the done ending (END TURN) stores the turn's messages in the same statement that releases
 * the lease, conditioned on this attempt still holding it. Whichever ending commits first takes
 * the lease away from the other, so a turn's messages are stored once or not at all; and the user
 * message, stored by BEGIN TURN, is never stored again (a re-run finds the turn row by its
 * messageId and stores nothing new). Retrying END TURN after a lost connection is therefore safe,
 * and it reports success when its earlier try had committed (the turn is done by this attempt).
 */
import { randomUUID } from 'node:crypto';
import type { ModelMessage } from 'ai';
import { type Database, queryRows } from '../../db/client.ts';
import { mayHaveRun } from '../../db/resilience.ts';
import { DEAD_AFTER_MS, RENEW_EVERY_MS } from '../../instances/registry.ts';
import type { RequestZone } from '../../time/zone.ts';
import type { UsageValues } from '../../usage/statements.ts';
import { inTurnOrder, windowFromUserMessage, withTurnLast } from '../messages/history.ts';
import type { StoredMessage } from '../messages/stored.ts';
import type { RecordedEffect } from '../turn/effects.ts';
import { type EndingsOptions, TurnEndings } from './endings.ts';
import { conversationIdFor } from './ids.ts';
import {
  type BeginRow,
  type BeginValues,
  beginTurnStatements,
  type EndValues,
  endTurnStatements,
  type FailedAttempt,
  historyStatement,
  type TurnAttempt,
} from './statements.ts';

export type { FailedAttempt, TurnAttempt } from './statements.ts';

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
  /**
   * Decisions on pending approvals (a decision turn): they are claimed with a compare-and-set and
   * `message` is their tool message. Absent: a new user message, which supersedes pending ones.
   */
  decisions?: { id: string; approved: boolean }[];
  messageId: string;
  /** What opens the turn: the user's message, or a decision turn's approval responses. */
  message: ModelMessage;
  /** Title of a new conversation. */
  title: string;
  historyMessages: number;
  leaseMs: number;
  /** Turns per user per minute; 0 means no limit. */
  rateLimit: number;
  /** The request's ends of the user's zone order (../../time/zone.ts); the stored zone is read here. */
  zone: RequestZone;
  /** Now, as the app's clock says: its local date is the user's day for the budget. */
  now: Date;
  /** Input + output tokens per user per local day; 0 means no budget. */
  budgetTokensPerDay: number;
};

export type BeginTurnResult =
  | { outcome: 'not_found' }
  /** The messageId was sent before with a different message. */
  | { outcome: 'reused' }
  | {
      outcome: 'busy';
      /** When to ask again: soon while the turn's process is alive, else when its lease frees. */
      retryAfterSeconds: number;
    }
  | { outcome: 'rate_limited'; retryAfterSeconds: number }
  /** A decision named an approval that is unknown, expired, decided or not this conversation's. */
  | { outcome: 'approval_not_pending' }
  /** Today's budget is spent: until the user's midnight. */
  | { outcome: 'budget_exhausted'; retryAfterSeconds: number }
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
      /** A decision turn: the id of the assistant message that asked, which its answer continues. */
      continues: string | null;
      /** The user's effective time zone: their "today" for the model, their day for the budget. */
      timezone: string;
    };

export type EndTurnInput = TurnAttempt & {
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
  /** The answer's UI message id: `answerId`, or for a decision turn the asking message's. */
  uiMessageId: string;
  /** The calls the turn ended waiting on (stored pending, by this same statement). */
  approvals: { id: string; toolCallId: string; toolName: string; args: unknown }[];
  approvalTtlSeconds: number;
  /** What the run spent, stored with it and counted for the user's day. */
  usage: UsageValues;
};

export type TurnStoreOptions = EndingsOptions & {
  /**
   * This process's liveness record (instances/registry.ts), written on every lease it takes: a
   * lease whose process stopped renewing for `holderDeadAfterMs` is free. Unset (a store without
   * a registered process: the benchmark's fakes, in-process tests), leases only expire.
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
        beginTurnStatements[
          input.decisions ? 'decide' : values.mustExist ? 'mustExist' : 'mayCreate'
        ]<BeginRow>(db, values),
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
      case 'reused':
        return { outcome: 'reused' };
      case 'busy':
        return { outcome: 'busy', retryAfterSeconds: busyRetryAfterSeconds(row) };
      case 'rate_limited':
        return {
          outcome: 'rate_limited',
          retryAfterSeconds: Math.max(1, Math.ceil((row.retry_after_ms ?? 0) / 1000)),
        };
      case 'budget_exhausted':
        return {
          outcome: 'budget_exhausted',
          retryAfterSeconds: Math.max(1, Math.ceil((row.budget_resets_in_ms ?? 0) / 1000)),
        };
      case 'replay':
        return { outcome: 'replay', conversationId: row.conversation_id as string, answer: row.answer };
      case 'approval_not_pending':
        return { outcome: 'approval_not_pending' };
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
      role: input.message.role as StoredMessage['role'],
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
      continues: row.continues,
      timezone: row.timezone,
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
   * storing no message (only the attempt's usage). Resolves after the first try, or after `waitMs` if that try is slow; if it
   * failed, it goes on being retried with backoff while the process lives. Never rejects.
   */
  function failTurn(attempt: FailedAttempt, waitMs = 1000): Promise<void> {
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

/** BEGIN TURN's values from its input and the ids this attempt drew. */
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
    // A decision continues a conversation; it never starts one.
    mustExist: input.decisions !== undefined || (!input.chat && input.conversationId !== undefined),
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
    decisions: JSON.stringify(input.decisions ?? []),
    ...holder,
    requestedZone: input.zone.requested,
    fallbackZone: input.zone.fallback,
    clock: input.now.toISOString(),
    budgetTokens: input.budgetTokensPerDay,
  };
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

/** END TURN's values: the messages and the answer go as JSON text. */
function endTurnValues({ messages, answer, approvals, usage, ...turn }: EndTurnInput): EndValues {
  return {
    ...turn,
    ...usage,
    approvals: JSON.stringify(approvals),
    count: messages.length,
    messages: JSON.stringify(messages),
    answer: JSON.stringify(answer ?? null),
  };
}
