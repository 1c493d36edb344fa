/**
 * @module db/schema
 * Every table, index and constraint of taskchat, in one place. All state lives here: the
 * process keeps nothing between requests. Indexes exist for exactly the queries the design
 * names (tasks by user/status/recency, a conversation's last N messages, a user's recent turns).
 */
import type { ModelMessage } from 'ai';
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

/**
 * A task's `id` is its number for its user (the user's first task is 1), so the key is the pair.
 * The number comes from `taskCounters` in the same INSERT statement (tasks/repository.ts).
 */
export const tasks = pgTable(
  'tasks',
  {
    id: integer('id').notNull(),
    userId: text('user_id').notNull(),
    title: text('title').notNull(),
    description: text('description'),
    completed: boolean('completed').notNull().default(false),
    priority: text('priority', { enum: ['low', 'medium', 'high'] })
      .notNull()
      .default('medium'),
    dueDate: date('due_date', { mode: 'string' }),
    /** HH:MM on the due date, in the user's zone (needs the due date). */
    dueTime: text('due_time'),
    /**
     * An RRULE (tasks/repeat.ts, in its canonical spelling), anchored at the due date: completing
     * the task moves the due date to the rule's next day in the same statement
     * (`task_next_occurrence`, defined in migration 0007), and it stays open until the last one.
     */
    repeat: text('repeat'),
    /** When to remind the user; moves with the due date when a repeat moves it. */
    reminder: timestamp('reminder', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /**
     * The id of the newest change of this task (`taskChanges`), null for a task untouched since the
     * change log began. Undo compares it in its own write (`... where last_change_id = $change`), so a
     * change made at the same moment is seen even though the statement reads an older snapshot.
     */
    lastChangeId: integer('last_change_id'),
  },
  (t) => [
    // Newest first is id order (a user's numbers only grow): the key, read backwards, serves "all"
    // lists, and this index lists by status.
    primaryKey({ name: 'tasks_pkey', columns: [t.userId, t.id] }),
    index('tasks_user_status_recent_idx').on(t.userId, t.completed, t.id.desc()),
    check('tasks_priority_check', sql`${t.priority} in ('low', 'medium', 'high')`),
    check('tasks_title_length_check', sql`char_length(${t.title}) between 1 and 200`),
    check(
      'tasks_due_time_check',
      sql`${t.dueTime} is null or (${t.dueTime} ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$' and ${t.dueDate} is not null)`,
    ),
    check('tasks_repeat_check', sql`${t.repeat} is null or ${t.dueDate} is not null`),
  ],
);

/**
 * The last task number and the last change number handed out to each user. Adding a task bumps
 * both with INSERT ... ON CONFLICT DO UPDATE inside the task's own INSERT statement; every other
 * change bumps `last_change_id` inside its own statement. Concurrent changes of one user queue on
 * this row and each sees the previous one's numbers, and deleting a task never lowers them, so a
 * number is never given twice, and a user's change ids grow in the order the changes commit.
 */
export const taskCounters = pgTable('task_counters', {
  userId: text('user_id').primaryKey(),
  lastTaskId: integer('last_task_id').notNull(),
  lastChangeId: integer('last_change_id').notNull().default(0),
});

export const CHANGE_ACTIONS = ['add', 'update', 'complete', 'reopen', 'delete', 'undo'] as const;
export const CHANGE_SOURCES = ['chat', 'mcp', 'rest', 'worker'] as const;

/**
 * The change log: one row per change of a task, written by the statement that makes the change
 * (tasks/repository.ts), with the task as it was (`before`, null for an add) and as the change left
 * it (`after`, null for a delete), as `to_jsonb` of the row without its user id. Numbered per user
 * from `taskCounters.lastChangeId`. Undo reads it; `undone_by` is the id of the change that undid it.
 * The (user, task, id) index finds a task's newest change (what an undo must not skip over).
 */
export const taskChanges = pgTable(
  'task_changes',
  {
    userId: text('user_id').notNull(),
    id: integer('id').notNull(),
    taskId: integer('task_id').notNull(),
    action: text('action', { enum: CHANGE_ACTIONS }).notNull(),
    source: text('source', { enum: CHANGE_SOURCES }).notNull(),
    before: jsonb('before'),
    after: jsonb('after'),
    undoneBy: integer('undone_by'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: 'task_changes_pkey', columns: [t.userId, t.id] }),
    index('task_changes_user_task_idx').on(t.userId, t.taskId, t.id.desc()),
  ],
);

export const conversations = pgTable(
  'conversations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: text('user_id').notNull(),
    title: text('title').notNull(),
    /** seq of the newest stored message; the next turn's messages follow it. */
    lastSeq: integer('last_seq').notNull().default(0),
    /** The turn holding the conversation; a lease, so a dead process cannot block it forever. */
    leaseTurnId: uuid('lease_turn_id'),
    /**
     * Which attempt of that turn holds it (a re-run keeps the turn id): an ending only applies
     * while its own attempt holds the lease, so a late or retried ending never touches another's.
     */
    leaseAttemptId: uuid('lease_attempt_id'),
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }),
    /**
     * The process (`instances`) running the turn that holds the lease: once it stops renewing its
     * liveness record, the lease is free long before it expires (a killed process's conversations
     * are not locked for the whole lease). Null on leases taken before processes registered.
     */
    leaseInstanceId: uuid('lease_instance_id'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('conversations_user_recent_idx').on(t.userId, t.updatedAt.desc())],
);

/**
 * One row per running process (web instance, stdio MCP server, worker), renewed every few seconds
 * by one statement per process (instances/registry.ts): how processes know which of them are
 * alive, so a dead one's conversation leases can be taken over within seconds.
 */
export const instances = pgTable('instances', {
  id: uuid('id').primaryKey(),
  kind: text('kind', { enum: ['web', 'mcp', 'worker'] }).notNull(),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
  /** The last renewal; a process not seen within `DEAD_AFTER_MS` is taken for dead. */
  seenAt: timestamp('seen_at', { withTimezone: true }).notNull().defaultNow(),
});

export const messages = pgTable(
  'messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    role: text('role', { enum: ['user', 'assistant', 'tool'] }).notNull(),
    /** The AI SDK model message exactly as the model saw or produced it. */
    content: jsonb('content').$type<ModelMessage>().notNull(),
    /**
     * The turn that stored it (null for messages stored before turns were recorded here). A turn's
     * answer may be stored after later turns (a stale client regenerating), so seq alone cannot say
     * which user message an answer belongs to. No foreign key: turns and messages go together with
     * their conversation, and a key check would cost every stored message a lookup.
     */
    turnId: uuid('turn_id'),
    /**
     * An answer replaced by a regenerated one: left out of what clients read, and shown to the model
     * only for what its tool calls did (their text is dropped), since those changes happened.
     */
    replaced: boolean('replaced').notNull().default(false),
    createdAt: createdAt(),
  },
  // The unique index is also the history index: a conversation's last N messages by seq.
  (t) => [unique('messages_conversation_seq_key').on(t.conversationId, t.seq)],
);

/**
 * One row per chat turn: the idempotency record for the client's `messageId` (unique per user)
 * and the stored answer for replays.
 */
export const turns = pgTable(
  'turns',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: text('user_id').notNull(),
    messageId: text('message_id').notNull(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    status: text('status', { enum: ['running', 'done', 'failed'] })
      .notNull()
      .default('running'),
    /** The JSON answer of a finished turn, replayed for a repeated messageId. */
    answer: jsonb('answer'),
    /** The latest attempt (BEGIN TURN) of this turn: the one whose END TURN may store its answer. */
    attemptId: uuid('attempt_id'),
    /** seq of the turn's user message: where its answer starts, for a re-run that replaces it. */
    seq: integer('seq'),
    createdAt: createdAt(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    unique('turns_user_message_key').on(t.userId, t.messageId),
    index('turns_conversation_idx').on(t.conversationId),
  ],
);

/**
 * The task changes a chat turn made, whatever became of the turn: a fact recorded by the tool's own
 * write statement (one data-modifying CTE, no extra round trip). A re-run or a regenerated answer
 * of the same turn (same turn id) answers a repeated change (same tool, same canonical arguments,
 * same occurrence) from here instead of changing the tasks again, and shows it to the model; the
 * primary key makes the rule hold even if two attempts of one turn ever ran at once.
 */
export const turnEffects = pgTable(
  'turn_effects',
  {
    turnId: uuid('turn_id')
      .notNull()
      .references(() => turns.id, { onDelete: 'cascade' }),
    /** sha256 of the tool name and its canonical arguments. */
    callKey: text('call_key').notNull(),
    /** 1 for the first such call in an attempt, 2 for the second identical one... */
    occurrence: integer('occurrence').notNull(),
    tool: text('tool').notNull(),
    /** The canonical arguments, as the model is shown them again. */
    args: jsonb('args').notNull(),
    /** The task row as the change left it (as it was, for a delete). */
    task: jsonb('task').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.turnId, t.callKey, t.occurrence] })],
);

/**
 * The per-user rate limit: the start times of the user's turns in the last minute (at most the
 * limit's worth), in one row. BEGIN TURN updates it with INSERT ... ON CONFLICT DO UPDATE, which
 * waits for a concurrent turn of the same user and then sees its write, so a burst across many
 * instances cannot slip past the limit the way a count over a snapshot would.
 */
export const rateLimits = pgTable('rate_limits', {
  userId: text('user_id').primaryKey(),
  recent: timestamp('recent', { withTimezone: true }).array().notNull(),
});

/**
 * The chat tool calls that waited for the user's decision (APPROVAL_POLICY). A pending approval is
 * stored state, not a paused process: the END TURN of the turn that asked writes the row, and the
 * BEGIN TURN of the turn that decides flips it with a compare-and-set (only a pending, unexpired
 * row of this user and conversation flips, so exactly one of two simultaneous decisions applies);
 * a new user message flips the conversation's pending ones to superseded. The call itself (tool,
 * arguments) stays in the asking turn's stored messages; the decision is the only thing a client
 * gives. `id` is the AI SDK's approvalId.
 */
export const approvals = pgTable(
  'approvals',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    /** The turn that asked, and the id of the assistant message it asked in (the decision's stream continues it). */
    turnId: uuid('turn_id').notNull(),
    answerId: uuid('answer_id').notNull(),
    toolCallId: text('tool_call_id').notNull(),
    toolName: text('tool_name').notNull(),
    args: jsonb('args').notNull(),
    status: text('status', { enum: ['pending', 'approved', 'denied', 'superseded'] })
      .notNull()
      .default('pending'),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** The turn that decided it: a re-run of that turn finds its decision already taken. */
    decidedTurnId: uuid('decided_turn_id'),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('approvals_pending_idx').on(t.conversationId).where(sql`status = 'pending'`)],
);

/** Per-user settings (`GET`/`PATCH /me`): read inside the statements that need them, never on their own per turn. */
export const userSettings = pgTable('user_settings', {
  userId: text('user_id').primaryKey(),
  /** IANA name the user chose; null: the request's, the token's or the default zone (time/zone.ts). */
  timezone: text('timezone'),
  updatedAt: updatedAt(),
});

/**
 * The model usage of each turn attempt, as the AI SDK reported it (failed, stopped and regenerated
 * attempts included: their tokens were spent). `day` is the user's local date when it ended.
 */
export const turnUsage = pgTable(
  'turn_usage',
  {
    attemptId: uuid('attempt_id').primaryKey(),
    userId: text('user_id').notNull(),
    turnId: uuid('turn_id').notNull(),
    day: date('day').notNull(),
    model: text('model').notNull(),
    inputTokens: bigint('input_tokens', { mode: 'number' }).notNull(),
    cachedInputTokens: bigint('cached_input_tokens', { mode: 'number' }).notNull(),
    outputTokens: bigint('output_tokens', { mode: 'number' }).notNull(),
    reasoningTokens: bigint('reasoning_tokens', { mode: 'number' }),
    createdAt: createdAt(),
  },
  (t) => [index('turn_usage_user_day_idx').on(t.userId, t.day)],
);

/** Input + output tokens per user and local day: what BEGIN TURN reads for the budget, one row. */
export const usageDaily = pgTable(
  'usage_daily',
  {
    userId: text('user_id').notNull(),
    day: date('day').notNull(),
    tokens: bigint('tokens', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.day] })],
);

/**
 * Reminders delivered (reminders/deliver.ts): one row per (user, task, instant), written by the
 * worker's job in the statement that checks the task still wants it, so a retried or duplicated
 * job delivers nothing twice. The live `reminder` event and each webhook delivery are fed from
 * this row; `id` is the delivery id every channel and every retry carries. `task` is the Task as
 * the API shows it (camelCase) at delivery time; `late`: delivered more than 5 s after `remind_at`.
 * Scheduling is a trigger on `tasks` (migration 0010), not a table of ours: graphile-worker's jobs.
 */
export const reminderDeliveries = pgTable(
  'reminder_deliveries',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    taskId: integer('task_id').notNull(),
    remindAt: timestamp('remind_at', { withTimezone: true }).notNull(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }).notNull().defaultNow(),
    late: boolean('late').notNull(),
    task: jsonb('task').notNull(),
  },
  (t) => [unique('reminder_deliveries_user_task_instant_key').on(t.userId, t.taskId, t.remindAt)],
);

export const WEBHOOK_EVENTS = ['reminder', 'task'] as const;

/**
 * A user's webhooks (webhooks/): where their events are POSTed, signed with `secret`
 * (`Taskchat-Signature`), which is shown once when the webhook is made and never again. The URL
 * was checked when it was given and is checked again before every delivery (webhooks/target.ts).
 */
export const webhooks = pgTable(
  'webhooks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: text('user_id').notNull(),
    url: text('url').notNull(),
    /** Which events it gets: `reminder` (each delivered reminder), `task` (each change of a task). */
    events: text('events').array().notNull(),
    secret: text('secret').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('webhooks_user_idx').on(t.userId, t.createdAt.desc())],
);

/**
 * One event for one webhook, and the record of delivering it: the user's delivery log. The row is
 * written with its body by the trigger that sees the event (migration 0011), in the event's own
 * statement, which also queues the `webhook_delivery` job; `id` is the delivery id in the body, the
 * same on every retry. Each attempt updates the counters; what a receiver answered is never kept
 * beyond its status. Deleting the webhook deletes its log (and so stops its pending deliveries).
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    type: text('type', { enum: WEBHOOK_EVENTS }).notNull(),
    /** The JSON body exactly as sent, fixed once: every retry signs and sends the same bytes. */
    body: text('body').notNull(),
    createdAt: createdAt(),
    attempts: integer('attempts').notNull().default(0),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
    /** The HTTP status of the last answer; null when there was none (refused, timed out, no connection). */
    lastStatus: integer('last_status'),
    /** Why the last attempt failed, in our own words; never the receiver's text. */
    lastError: text('last_error'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    /** Set when retrying stopped: no 2xx within 24 hours. */
    failedAt: timestamp('failed_at', { withTimezone: true }),
  },
  (t) => [index('webhook_deliveries_webhook_idx').on(t.webhookId, t.createdAt.desc())],
);
