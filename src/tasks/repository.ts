/**
 * @module tasks/repository
 * Every task query of taskchat, scoped to one user. The user id is the first parameter of every
 * method, and every statement filters on it, so another user's task is indistinguishable from
 * one that does not exist (`undefined`), with no separate existence check.
 *
 * Each method is exactly one SQL statement (one round trip: the design's budget is one
 * statement per tool call), always with a `LIMIT` or a primary-key filter, served by the
 * (user_id, id desc) and (user_id, completed, id desc) indexes. Reads run as idempotent so a
 * connection lost mid-statement is retried; writes are only retried when they surely never ran.
 */
import { and, eq, getTableColumns, ilike, or, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { tasks } from '../db/schema.ts';
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
};

export type ListOptions = { status: TaskStatus; search?: string; limit: number };

export type TaskRepository = {
  add(userId: string, task: NewTask): Promise<Task>;
  list(userId: string, options: ListOptions): Promise<TaskPage>;
  setCompleted(userId: string, taskId: number, completed: boolean): Promise<Task | undefined>;
  update(userId: string, taskId: number, patch: TaskPatch): Promise<Task | undefined>;
  remove(userId: string, taskId: number): Promise<Task | undefined>;
};

function toTask(row: typeof tasks.$inferSelect): Task {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    completed: row.completed,
    priority: row.priority,
    dueDate: row.dueDate,
    createdAt: toIso(row.createdAt),
    updatedAt: toIso(row.updatedAt),
  };
}

export function createTaskRepository(database: Database): TaskRepository {
  const ownTask = (userId: string, taskId: number) => and(eq(tasks.userId, userId), eq(tasks.id, taskId));

  return {
    async add(userId, task) {
      const [row] = await database.run((db) =>
        db
          .insert(tasks)
          .values({
            userId,
            title: task.title,
            description: task.description ?? null,
            dueDate: task.dueDate ?? null,
            priority: task.priority ?? 'medium',
          })
          .returning(),
      );
      if (!row) throw new Error('insert into tasks returned no row');
      return toTask(row);
    },

    async list(userId, { status, search, limit }) {
      const filters: (SQL | undefined)[] = [eq(tasks.userId, userId)];
      if (status !== 'all') filters.push(eq(tasks.completed, status === 'completed'));
      const text = search?.trim();
      if (text) {
        const pattern = `%${escapeLike(text)}%`;
        filters.push(or(ilike(tasks.title, pattern), ilike(tasks.description, pattern)));
      }
      // The total is bounded: an uncorrelated subquery (run once, before the page) counts the
      // newest matching tasks up to TOTAL_CAP + 1, where `count(*) over ()` read every match
      // (33 ms at 100,000 tasks). See TOTAL_CAP for the rule. Both read the user's index range
      // newest first, stopping at their LIMIT: the ORDER BY says NULLS LAST because the indexes
      // do (drizzle's `.desc()`), and plain DESC (NULLS FIRST) could not use them for order, so
      // the planner sorted all the user's matches, or walked the primary key through every
      // user's newer tasks (test/plans.test.ts). A search reads the user's tasks until the page
      // and the capped total are found: text that few tasks contain is looked for in all of the
      // user's tasks (never another user's); a trigram index would bound that, at a cost on
      // every write and an extension to install.
      const where = and(...filters);
      const newestFirst = sql`${tasks.id} desc nulls last`;
      const total = sql<number>`(select count(*) from (select 1 from ${tasks} where ${where} order by ${newestFirst} limit ${TOTAL_CAP + 1}::int) as capped)`;
      const rows = await database.run(
        (db) =>
          db
            .select({ ...getTableColumns(tasks), total: total.mapWith(Number) })
            .from(tasks)
            .where(where)
            .orderBy(newestFirst)
            .limit(clampLimit(limit)),
        { idempotent: true },
      );
      return { tasks: rows.map(toTask), total: rows[0]?.total ?? 0 };
    },

    async setCompleted(userId, taskId, completed) {
      const [row] = await database.run((db) =>
        db
          .update(tasks)
          .set({
            completed,
            // Completing a completed task is a no-op, so it does not look freshly edited either.
            updatedAt: sql`case when ${tasks.completed} = ${completed} then ${tasks.updatedAt} else now() end`,
          })
          .where(ownTask(userId, taskId))
          .returning(),
      );
      return row && toTask(row);
    },

    async update(userId, taskId, patch) {
      const [row] = await database.run((db) =>
        db
          .update(tasks)
          .set({
            title: patch.title,
            description: patch.description,
            dueDate: patch.dueDate,
            priority: patch.priority,
            updatedAt: sql`now()`,
          })
          .where(ownTask(userId, taskId))
          .returning(),
      );
      return row && toTask(row);
    },

    async remove(userId, taskId) {
      const [row] = await database.run((db) => db.delete(tasks).where(ownTask(userId, taskId)).returning());
      return row && toTask(row);
    },
  };
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
