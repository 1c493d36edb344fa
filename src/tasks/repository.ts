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
 */
import { and, desc, eq, getTableColumns, ilike, or, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { taskCounters, tasks } from '../db/schema.ts';
import { MAX_LIST_LIMIT, type Priority, type Task, type TaskPage, type TaskStatus } from './task.ts';

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

export type TaskRepository = {
  add(userId: string, task: NewTask): Promise<Task>;
  get(userId: string, taskId: number): Promise<Task | undefined>;
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
      const [row] = await database.run((db) => {
        // The user's next number, taken in the same statement as the insert (a data-modifying CTE):
        // no extra round trip. ON CONFLICT DO UPDATE locks the user's counter row until commit, so a
        // concurrent add of the same user waits, then counts on from this one's number.
        const next = db.$with('next_task_number').as(
          db
            .insert(taskCounters)
            .values({ userId, lastTaskId: 1 })
            .onConflictDoUpdate({
              target: taskCounters.userId,
              set: { lastTaskId: sql`${taskCounters.lastTaskId} + 1` },
            })
            .returning({ id: taskCounters.lastTaskId }),
        );
        return db
          .with(next)
          .insert(tasks)
          .values({
            id: sql`(select ${next.id} from ${next})`,
            userId,
            title: task.title,
            description: task.description ?? null,
            dueDate: task.dueDate ?? null,
            priority: task.priority ?? 'medium',
          })
          .returning();
      });
      if (!row) throw new Error('insert into tasks returned no row');
      return toTask(row);
    },

    async get(userId, taskId) {
      const [row] = await database.run(
        (db) => db.select().from(tasks).where(ownTask(userId, taskId)).limit(1),
        { idempotent: true },
      );
      return row && toTask(row);
    },

    async list(userId, { status, search, limit }) {
      const filters: (SQL | undefined)[] = [eq(tasks.userId, userId)];
      if (status !== 'all') filters.push(eq(tasks.completed, status === 'completed'));
      const text = search?.trim();
      if (text) {
        const pattern = `%${escapeLike(text)}%`;
        filters.push(or(ilike(tasks.title, pattern), ilike(tasks.description, pattern)));
      }
      // The window count is taken before LIMIT, so one statement returns the page and the total.
      const rows = await database.run(
        (db) =>
          db
            .select({ ...getTableColumns(tasks), total: sql<number>`count(*) over ()`.mapWith(Number) })
            .from(tasks)
            .where(and(...filters))
            .orderBy(desc(tasks.id))
            .limit(clampLimit(limit)),
        { idempotent: true },
      );
      return { tasks: rows.map(toTask), total: rows[0]?.total ?? 0 };
    },

    async setCompleted(userId, taskId, completed) {
      const [row] = await database.run((db) =>
        db
          .update(tasks)
          .set({ completed, updatedAt: touchedUnlessAlready(completed) })
          .where(ownTask(userId, taskId))
          .returning(),
      );
      return row && toTask(row);
    },

    async update(userId, taskId, patch) {
      const { completed, ...fields } = patch;
      const edits = Object.values(fields).some((value) => value !== undefined);
      const [row] = await database.run((db) =>
        db
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

/** Completing a completed task is a no-op, so it does not look freshly edited either. */
function touchedUnlessAlready(completed: boolean): SQL {
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
