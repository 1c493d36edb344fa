/**
 * @module tasks/repository
 * Every task query of taskchat, scoped to one user. The user id is the first parameter of every
 * method, and every statement filters on it, so another user's task is indistinguishable from
 * one that does not exist (`undefined`), with no separate existence check.
 *
 * Task ids are numbered per user (a user's first task is 1): `taskId` is that number, and a task
 * is found by the pair (user id, number), the table's key. The number comes from the user's row in
 * `task_counters`, bumped inside the same INSERT statement as the task (see `add`).
 *
 * Each method is exactly one SQL statement (one round trip: the design's budget is one
 * statement per tool call), always with a `LIMIT` or a primary-key filter, served by the
 * (user_id, id) key and the (user_id, completed, id desc) index. Reads run as idempotent so a
 * connection lost mid-statement is retried; writes are only retried when they surely never ran.
 *
 * A change made by a chat turn carries an `EffectRecord`: the same statement then also records the
 * change in `turn_effects` (a data-modifying CTE around the write), so the fact that the task was
 * changed is committed with the change itself, or not at all, at no extra round trip. A re-run of
 * the turn finds it there even when this process never learnt whether the write committed.
 */
import {
  and,
  eq,
  getTableColumns,
  ilike,
  or,
  type Placeholder,
  type SQL,
  type SQLWrapper,
  sql,
} from 'drizzle-orm';
import { type Database, preparedStatement, queryRows } from '../db/client.ts';
import { taskCounters, tasks } from '../db/schema.ts';
import {
  MAX_LIST_LIMIT,
  type Priority,
  type Task,
  type TaskPage,
  type TaskStatus,
  TOTAL_CAP,
} from './task.ts';

export type NewTask = {
  title: string;
  description?: string | null;
  dueDate?: string | null;
  priority?: Priority;
};

/** Fields to change; `undefined` leaves a field as it is, `null` clears an optional one. */
export type TaskPatch = {
  title?: string;
  description?: string | null;
  dueDate?: string | null;
  priority?: Priority;
  completed?: boolean;
};

export type ListOptions = { status: TaskStatus; search?: string; limit: number };

/** A task change made by a chat turn, recorded with it (see `turnEffects` in db/schema.ts). */
export type EffectRecord = {
  turnId: string;
  callKey: string;
  occurrence: number;
  tool: string;
  /** The canonical arguments of the call. */
  args: unknown;
};

export type TaskRepository = {
  add(userId: string, task: NewTask, record?: EffectRecord): Promise<Task>;
  get(userId: string, taskId: number): Promise<Task | undefined>;
  list(userId: string, options: ListOptions): Promise<TaskPage>;
  setCompleted(
    userId: string,
    taskId: number,
    completed: boolean,
    record?: EffectRecord,
  ): Promise<Task | undefined>;
  update(userId: string, taskId: number, patch: TaskPatch, record?: EffectRecord): Promise<Task | undefined>;
  remove(userId: string, taskId: number, record?: EffectRecord): Promise<Task | undefined>;
};

/** A task row as Postgres's `to_jsonb` writes it (snake_case, timestamps as text). */
export type TaskJson = {
  id: number;
  title: string;
  description: string | null;
  completed: boolean;
  priority: Priority;
  due_date: string | null;
  created_at: string;
  updated_at: string;
};

/** The contract's Task from a row recorded as JSON (`turn_effects.task`, the recorded writes). */
export function taskFromJson(row: TaskJson): Task {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    completed: row.completed,
    priority: row.priority,
    dueDate: row.due_date,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

/** The values of a change's effect record, bound to the statement that makes the change. */
type RecordValues = {
  turnId: string;
  callKey: string;
  occurrence: number;
  tool: string;
  args: string;
};

const recordValues = (record: EffectRecord): RecordValues => ({
  turnId: record.turnId,
  callKey: record.callKey,
  occurrence: record.occurrence,
  tool: record.tool,
  args: JSON.stringify(record.args ?? {}),
});

/**
 * A write (`... returning *`) as one statement answering the changed row as JSON, and with a record,
 * also inserting the change into turn_effects. Postgres allows data-modifying CTEs only at the top
 * level, so whatever the write depends on (`before`) and the effect record are siblings of the
 * write itself. `values` are the record's values or placeholders for them.
 */
function writeStatement(
  change: SQLWrapper,
  before: SQL | undefined,
  record: { [K in keyof RecordValues]: unknown } | undefined,
): SQL {
  const ctes = [before, sql`changed as (${change.getSQL()})`];
  if (record) {
    ctes.push(sql`recorded as (
      insert into turn_effects (turn_id, call_key, occurrence, tool, args, task)
      select ${record.turnId}::uuid, ${record.callKey}, ${record.occurrence}::int, ${record.tool},
             ${record.args}::jsonb, to_jsonb(changed)
      from changed)`);
  }
  return sql`with ${sql.join(ctes.filter(Boolean) as SQL[], sql`, `)} select to_jsonb(changed) as task from changed`;
}

export function createTaskRepository(database: Database): TaskRepository {
  const ownTask = (userId: string | Placeholder, taskId: number | Placeholder) =>
    and(eq(tasks.userId, userId), eq(tasks.id, taskId));

  /**
   * A write whose SQL is rendered once (see `preparedStatement`), in its two forms: alone, and with
   * a chat turn's effect record. A write is never retried once it may have reached the server (not
   * idempotent): a repeat is what the record exists to prevent.
   */
  function preparedWrite<Values extends Record<string, unknown>>(
    build: (values: { readonly [K in keyof Values]: Placeholder }) => { change: SQLWrapper; before?: SQL },
  ) {
    const alone = preparedStatement<Values>((v) => {
      const { change, before } = build(v);
      return writeStatement(change, before, undefined);
    });
    const recorded = preparedStatement<Values & RecordValues>((v) => {
      const { change, before } = build(v);
      return writeStatement(change, before, v);
    });
    return async (values: Values, record: EffectRecord | undefined): Promise<Task | undefined> => {
      const [row] = await database.run((db) =>
        record
          ? recorded<{ task: TaskJson }>(db, { ...values, ...recordValues(record) })
          : alone<{ task: TaskJson }>(db, values),
      );
      return row && taskFromJson(row.task);
    };
  }

  // The user's next number, taken in the same statement as the insert: no extra round trip.
  // ON CONFLICT DO UPDATE locks the user's counter row until commit, so a concurrent add of the
  // same user waits, then counts on from this one's number; a delete never lowers it.
  const add = preparedWrite<{
    userId: string;
    title: string;
    description: string | null;
    dueDate: string | null;
    priority: Priority;
  }>((v) => ({
    before: sql`next_task_number as (
      insert into ${taskCounters} (user_id, last_task_id) values (${v.userId}, 1)
      on conflict (user_id) do update set last_task_id = ${taskCounters}.last_task_id + 1
      returning last_task_id)`,
    change: database.db
      .insert(tasks)
      .values({
        id: sql`(select last_task_id from next_task_number)`,
        userId: v.userId,
        title: v.title,
        description: v.description,
        dueDate: v.dueDate,
        priority: v.priority,
      })
      .returning(),
  }));

  const setCompleted = preparedWrite<{ userId: string; taskId: number; completed: boolean }>((v) => ({
    change: database.db
      .update(tasks)
      .set({ completed: sql`${v.completed}::boolean`, updatedAt: touchedUnlessAlready(v.completed) })
      .where(ownTask(v.userId, v.taskId))
      .returning(),
  }));

  const remove = preparedWrite<{ userId: string; taskId: number }>((v) => ({
    change: database.db.delete(tasks).where(ownTask(v.userId, v.taskId)).returning(),
  }));

  const get = preparedStatement<{ userId: string; taskId: number }>((v) =>
    database.db.select().from(tasks).where(ownTask(v.userId, v.taskId)).limit(1),
  );

  // One statement per kind of list (status x with or without a search), each rendered once.
  type ListValues = { userId: string; limit: number; pattern: string };
  const lists = new Map<string, ReturnType<typeof preparedStatement<ListValues>>>();
  const listStatement = (status: TaskStatus, searched: boolean) => {
    const key = `${status}:${searched}`;
    let statement = lists.get(key);
    if (!statement) {
      statement = preparedStatement<ListValues>((v) => {
        const filters: (SQL | undefined)[] = [eq(tasks.userId, v.userId)];
        if (status !== 'all') filters.push(eq(tasks.completed, status === 'completed'));
        if (searched) {
          filters.push(or(ilike(tasks.title, v.pattern), ilike(tasks.description, v.pattern)));
        }
        // The total is bounded: an uncorrelated subquery (run once, before the page) counts the
        // newest matching tasks up to TOTAL_CAP + 1, where `count(*) over ()` read every match
        // (33 ms at 100,000 tasks). See TOTAL_CAP for the rule. Both read the user's index range
        // newest first and stop at their LIMIT, but only if the ORDER BY is one an index gives,
        // nulls included (ids are never null, yet the planner goes by the index's NULLS order):
        // the (user_id, id) key read backwards gives `id desc` (NULLS FIRST); the status index is
        // `id desc nulls last` (drizzle's `.desc()`). With the other one the planner sorted all of
        // the user's matching tasks (test/plans.test.ts). A search reads the user's tasks until the
        // page and the capped total are found: text that few tasks contain is looked for in all of
        // the user's tasks (never another user's); a trigram index would bound that, at a cost on
        // every write and an extension to install.
        const where = and(...filters);
        const newestFirst = status === 'all' ? sql`${tasks.id} desc` : sql`${tasks.id} desc nulls last`;
        const total = sql`(select count(*)::int from (select 1 from ${tasks} where ${where} order by ${newestFirst} limit ${TOTAL_CAP + 1}::int) as capped)`;
        return database.db
          .select({ ...getTableColumns(tasks), total: total.as('total') })
          .from(tasks)
          .where(where)
          .orderBy(newestFirst)
          .limit(v.limit);
      });
      lists.set(key, statement);
    }
    return statement;
  };

  return {
    async add(userId, task, record) {
      const created = await add(
        {
          userId,
          title: task.title,
          description: task.description ?? null,
          dueDate: task.dueDate ?? null,
          priority: task.priority ?? 'medium',
        },
        record,
      );
      if (!created) throw new Error('insert into tasks returned no row');
      return created;
    },

    async get(userId, taskId) {
      const [row] = await database.run((db) => get<TaskJson>(db, { userId, taskId }), { idempotent: true });
      return row && taskFromJson(row);
    },

    async list(userId, { status, search, limit }) {
      const text = search?.trim();
      const statement = listStatement(status, Boolean(text));
      const rows = await database.run(
        (db) =>
          statement<TaskJson & { total: number }>(db, {
            userId,
            limit: clampLimit(limit),
            pattern: text ? `%${escapeLike(text)}%` : '',
          }),
        { idempotent: true },
      );
      return { tasks: rows.map(taskFromJson), total: rows[0]?.total ?? 0 };
    },

    setCompleted: (userId, taskId, completed, record) => setCompleted({ userId, taskId, completed }, record),

    async update(userId, taskId, patch, record) {
      // Its text depends on which fields change: rendered per call, in the same statement shape.
      const { completed, ...fields } = patch;
      const edits = Object.values(fields).some((value) => value !== undefined);
      const change = database.db
        .update(tasks)
        .set({
          title: fields.title,
          description: fields.description,
          dueDate: fields.dueDate,
          priority: fields.priority,
          completed,
          updatedAt: edits || completed === undefined ? sql`now()` : touchedUnlessAlready(completed),
        })
        .where(ownTask(userId, taskId))
        .returning();
      const [row] = await database.run((db) =>
        queryRows<{ task: TaskJson }>(db, writeStatement(change, undefined, record && recordValues(record))),
      );
      return row && taskFromJson(row.task);
    },

    remove: (userId, taskId, record) => remove({ userId, taskId }, record),
  };
}

/** Completing a completed task is a no-op, so it does not look freshly edited either. */
function touchedUnlessAlready(completed: boolean | Placeholder): SQL {
  return sql`case when ${tasks.completed} = ${completed} then ${tasks.updatedAt} else now() end`;
}

/** `%`, `_` and the escape character itself match literally (backslash is ILIKE's default escape). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}

function clampLimit(limit: number): number {
  return Number.isInteger(limit) ? Math.min(Math.max(limit, 1), MAX_LIST_LIMIT) : MAX_LIST_LIMIT;
}

// Drivers hand back Date objects; a string would mean a driver without type parsing.
function toIso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
