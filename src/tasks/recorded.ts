/**
 * @module tasks/recorded
 * How a task change is written down by the statement that makes it, shared by the task writes
 * (./repository.ts) and undo (./changes.ts): the task's JSON image, the change log row
 * (`task_changes`), and a chat turn's effect record (`turn_effects`). Each is a data-modifying CTE
 * beside the write itself, so the record commits with the change or not at all, at no extra round
 * trip (Postgres allows data-modifying CTEs only at the top level, hence siblings, not nesting).
 */
import { type SQL, sql } from 'drizzle-orm';
import type { CHANGE_ACTIONS, CHANGE_SOURCES } from '../db/schema.ts';
import type { RequestZone } from '../time/zone.ts';
import type { Change, Priority, Task } from './task.ts';

export type ChangeAction = (typeof CHANGE_ACTIONS)[number];
export type ChangeSource = (typeof CHANGE_SOURCES)[number];

/** A task change made by a chat turn, recorded with it (see `turnEffects` in db/schema.ts). */
export type EffectRecord = {
  turnId: string;
  callKey: string;
  occurrence: number;
  tool: string;
  /** The canonical arguments of the call. */
  args: unknown;
};

/**
 * Who makes a change: its source for the change log, for a chat turn the effect record, and the
 * request's ends of the user's zone order (../time/zone.ts; the statement reads the stored zone
 * between them), where "today" is for a repeat's first day and in which a reminder keeps its
 * local time when its task moves. Without it: the stored zone, else the repository's default.
 */
export type ChangeOrigin = {
  source: ChangeSource;
  effect?: EffectRecord | undefined;
  zone?: RequestZone | undefined;
};

/** A task row as Postgres's `to_jsonb` writes it (snake_case, timestamps as text). */
export type TaskJson = {
  id: number;
  title: string;
  description: string | null;
  completed: boolean;
  priority: Priority;
  due_date: string | null;
  due_time: string | null;
  repeat: string | null;
  reminder: Date | string | null;
  created_at: string;
  updated_at: string;
};

/** A change log row as `to_jsonb` writes it. */
export type ChangeJson = {
  id: number;
  task_id: number;
  action: ChangeAction;
  source: ChangeSource;
  before: TaskJson | null;
  after: TaskJson | null;
  undone_by: number | null;
  created_at: string;
};

/** The contract's Task from a row recorded as JSON (`turn_effects.task`, the change log's images). */
export function taskFromJson(row: TaskJson): Task {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    completed: row.completed,
    priority: row.priority,
    dueDate: row.due_date,
    dueTime: row.due_time ?? null,
    repeat: row.repeat ?? null,
    reminder: row.reminder ? toIso(row.reminder) : null,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

export function changeFromJson(row: ChangeJson): Change {
  return {
    id: row.id,
    taskId: row.task_id,
    action: row.action,
    source: row.source,
    before: row.before && taskFromJson(row.before),
    after: row.after && taskFromJson(row.after),
    undoneBy: row.undone_by,
    createdAt: toIso(row.created_at),
  };
}

/**
 * A task row (a table or CTE alias) as the change log keeps it: without whose it is, and with its
 * `last_change_id`, so an undo puts back the version along with the content (./changes.ts).
 */
export const taskImage = (alias: string): SQL => sql`(to_jsonb(${sql.identifier(alias)}) - 'user_id')`;

/** The values of a change's effect record, bound to the statement that makes the change. */
export type RecordValues = {
  turnId: string;
  callKey: string;
  occurrence: number;
  tool: string;
  args: string;
};

export const recordValues = (record: EffectRecord): RecordValues => ({
  turnId: record.turnId,
  callKey: record.callKey,
  occurrence: record.occurrence,
  tool: record.tool,
  args: JSON.stringify(record.args ?? {}),
});

/** The record CTE: one turn_effects row holding `result` for each row of `from`. */
export function effectCte(record: { [K in keyof RecordValues]: unknown }, from: string, result: SQL): SQL {
  return sql`recorded as (
    insert into turn_effects (turn_id, call_key, occurrence, tool, args, task)
    select ${record.turnId}::uuid, ${record.callKey}, ${record.occurrence}::int, ${record.tool},
           ${record.args}::jsonb, ${result}
    from ${sql.identifier(from)})`;
}

/**
 * The change log CTE: one task_changes row per row of the CTE `from` (the changed task), numbered
 * `changeId` (a scalar; when it is null nothing changed and nothing is logged).
 */
export function logCte(change: {
  userId: unknown;
  changeId: SQL;
  action: SQL;
  source: unknown;
  before: SQL;
  after: SQL;
  from: string;
}): SQL {
  const from = sql.identifier(change.from);
  return sql`logged as (
    insert into task_changes (user_id, id, task_id, action, source, before, after)
    select ${change.userId}, ${change.changeId}, ${from}.id, ${change.action}, ${change.source}::text,
           ${change.before}, ${change.after}
    from ${from} where ${change.changeId} is not null
    returning *)`;
}

// Drivers hand back Date objects; a string would mean a driver without type parsing.
export function toIso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
