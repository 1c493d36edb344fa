/**
 * @module events/reads
 * What the live events read, each one statement scoped to one user: the changes after a change id
 * (the change log is the events' only source: DESIGN.md "One change log is the spine"), where a new
 * stream starts, and one delivered reminder. Changes come out in the Change shape of GET /changes
 * (../tasks/recorded.ts), so an event and the log agree to the byte.
 *
 * A user's change ids are handed out under the row lock of their `task_counters` row, held until
 * the change commits, so a user's changes commit in id order: "every change after id N" read after
 * a notification misses none that committed before it.
 */
import { sql } from 'drizzle-orm';
import { type Database, type Db, preparedStatement } from '../db/client.ts';
import { type ChangeJson, changeFromJson } from '../tasks/recorded.ts';
import { type Change, MAX_TASK_ID, type Task } from '../tasks/task.ts';

/** Most changes a reconnecting stream is sent (the newest), and one live read fetches. */
export const MAX_REPLAY = 1000;

export type Reminder = { task: Task; late: boolean };

export type EventReads = {
  /** The user's changes after `after`, the newest `MAX_REPLAY` of them, oldest first. */
  changesAfter(userId: string, after: number): Promise<Change[]>;
  /**
   * Where a stream starts: the newest change id now, and with `after` (a reconnect's Last-Event-ID)
   * the changes after it, as `changesAfter`.
   */
  start(userId: string, after: number | undefined): Promise<{ newest: number; changes: Change[] }>;
  /** A delivered reminder of this user (migration 0010's `reminder_deliveries`); undefined when none. */
  reminder(userId: string, deliveryId: string): Promise<Reminder | undefined>;
};

export function createEventReads(database: Database): EventReads {
  const after = preparedStatement<{ userId: string; after: number; limit: number }>(
    (v) => sql`select to_jsonb(c) as change from (
        select * from task_changes where user_id = ${v.userId} and id > ${v.after}::int
        order by id desc limit ${v.limit}::int) c
      order by c.id`,
  );
  const start = preparedStatement<{ userId: string; after: number; limit: number }>(
    (
      v,
    ) => sql`select coalesce((select last_change_id from task_counters where user_id = ${v.userId}), 0) as newest,
        coalesce((select json_agg(to_jsonb(c) order by c.id) from (
          select * from task_changes where user_id = ${v.userId} and id > ${v.after}::int
          order by id desc limit ${v.limit}::int) c), '[]'::json) as changes`,
  );
  const reminder = preparedStatement<{ userId: string; deliveryId: string }>(
    (v) =>
      sql`select task, late from reminder_deliveries where id = ${v.deliveryId} and user_id = ${v.userId}`,
  );
  const read = <T>(work: (db: Db) => Promise<T>) => database.run(work, { idempotent: true });

  return {
    async changesAfter(userId, from) {
      const rows = await read((db) =>
        after<{ change: ChangeJson }>(db, { userId, after: from, limit: MAX_REPLAY }),
      );
      return rows.map((row) => changeFromJson(row.change));
    },
    async start(userId, from) {
      // Without a Last-Event-ID nothing is replayed: the newest id is past every change.
      const [row] = await read((db) =>
        start<{ newest: number; changes: ChangeJson[] }>(db, {
          userId,
          after: from ?? MAX_TASK_ID,
          limit: MAX_REPLAY,
        }),
      );
      return { newest: Number(row?.newest ?? 0), changes: (row?.changes ?? []).map(changeFromJson) };
    },
    async reminder(userId, deliveryId) {
      const [row] = await read((db) => reminder<{ task: Task; late: boolean }>(db, { userId, deliveryId }));
      return row && { task: row.task, late: row.late };
    },
  };
}
