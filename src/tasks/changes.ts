/**
 * @module tasks/changes
 * The change log's reads and undo, scoped to one user like every task query. Every change of a task
 * is logged by the statement that makes it (./repository.ts, ./recorded.ts); this module reads the
 * log, and undoes a change in one statement: the task is put back as the change found it (a deleted
 * task comes back with its own number, an added one goes), and the undo is logged as a change too,
 * so it can be undone in turn.
 *
 * An undo only applies while the task is as that change left it, and the change was not undone.
 * "As it left it" is a version: `tasks.last_change_id` names the change whose result the task is,
 * and an undo puts back the version of the task it restores along with its content. So after
 * undoing the newest change, the task is again as the change before it left it, and that one can be
 * undone next: changes are walked back one by one, and an undo can itself be undone (a redo).
 *
 * Two undos (or an undo and another change) at the same moment: the statement reads one snapshot,
 * so the decision is re-checked where Postgres re-reads the newest row version: the task row is
 * locked before it is judged, the write itself repeats the version check, and bringing back a
 * deleted task cannot happen twice (its number is the key). Exactly one applies; the other is
 * refused with a sentence saying what happened instead.
 */
import { getTableColumns, type SQL, sql } from 'drizzle-orm';
import { type Database, preparedStatement } from '../db/client.ts';
import { tasks } from '../db/schema.ts';
import {
  type ChangeJson,
  type ChangeOrigin,
  changeFromJson,
  effectCte,
  logCte,
  type RecordValues,
  recordValues,
  type TaskJson,
  taskFromJson,
  taskImage,
} from './recorded.ts';
import { type Change, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, MAX_TASK_ID, type Undone } from './task.ts';

export type ChangeListOptions = {
  /** Most changes to return (clamped to 1..MAX_LIST_LIMIT). */
  limit?: number | undefined;
  /** Only changes older than this id (the next page after a page ending at `before`). */
  before?: number | undefined;
};

export type UndoResult =
  | { outcome: 'undone'; undone: Undone }
  /** No such change of this user; with no id given, no change left to undo. */
  | { outcome: 'not_found' }
  /** The task changed after that change, or it was undone: `message` says which, in plain words. */
  | { outcome: 'conflict'; message: string };

export type ChangeLog = {
  /** The user's changes, newest first. */
  changes(userId: string, options?: ChangeListOptions): Promise<Change[]>;
  /** Undoes the change `changeId`, or the user's newest change not yet undone. */
  undo(userId: string, changeId: number | undefined, origin: ChangeOrigin): Promise<UndoResult>;
};

/** What a recorded undo holds in turn_effects: enough to answer a re-run with the same result. */
export type UndoJson = { change: ChangeJson; task: TaskJson | null };

const COLUMNS = Object.values(getTableColumns(tasks)).map((column) => column.name);
/** What an undo restores: everything the user sees of the task except its number and birth. */
const CONTENT = COLUMNS.filter(
  (name) => !['id', 'user_id', 'created_at', 'updated_at', 'last_change_id'].includes(name),
);

type UndoValues = { userId: string; changeId: number | null; source: string };
type UndoRow = {
  target: ChangeJson | null;
  blocking: ChangeJson | null;
  change: ChangeJson | null;
  task: TaskJson | null;
};

const changeNumber = sql`(select last_change_id from numbered)`;
const column = (alias: string, name: string) => sql`${sql.identifier(alias)}.${sql.identifier(name)}`;
/** The task as the change found it, as a row of the tasks table. */
const asItWas = sql`jsonb_populate_record(null::tasks, allowed.before) as was`;
/** The task is as the change left it (its version then); `alias` holds the change. */
const asLeftBy = (task: SQL, alias: string) =>
  sql`${task}.last_change_id is not distinct from (${sql.identifier(alias)}.after ->> 'last_change_id')::int`;

/**
 * The undo, one statement. `target` is the change to undo; `present` the task now, locked;
 * `blocking` the change the task is as now (for the refusal's words); `allowed` is the target when
 * it may be undone. Then exactly one of `put_back` (the change edited the task: its earlier content
 * and version again), `taken_out` (it added the task) and `brought_back` (it deleted the task: the
 * same row again, same number) acts, each repeating the check against the newest row version;
 * `done` is the task it acted on, and only then is the target marked undone and the undo logged.
 */
function undoStatement(
  v: { readonly [K in keyof UndoValues]: unknown },
  record: { [K in keyof RecordValues]: unknown } | undefined,
): SQL {
  const ctes = [
    sql`target as (
      select * from task_changes where user_id = ${v.userId} and id = coalesce(${v.changeId}::int,
        (select id from task_changes where user_id = ${v.userId} and undone_by is null order by id desc limit 1)))`,
    sql`present as (
      select * from tasks where user_id = ${v.userId} and id = (select task_id from target) for update)`,
    sql`blocking as (
      select * from task_changes where user_id = ${v.userId} and task_id = (select task_id from target)
        and (not exists (select 1 from present) or id = (select last_change_id from present))
      order by id desc limit 1)`,
    sql`allowed as (
      select target.* from target
      where target.undone_by is null
        and case when target.after is null then not exists (select 1 from present)
                 else exists (select 1 from present where ${asLeftBy(sql`present`, 'target')}) end)`,
    sql`numbered as (update task_counters set last_change_id = last_change_id + 1
      where user_id = ${v.userId} and exists (select 1 from allowed) returning last_change_id)`,
    sql`put_back as (
      update tasks set ${sql.join(
        CONTENT.map((name) => sql`${sql.identifier(name)} = ${column('was', name)}`),
        sql`, `,
      )}, updated_at = now(), last_change_id = was.last_change_id
      from allowed, numbered, ${asItWas}
      where tasks.user_id = ${v.userId} and tasks.id = allowed.task_id and ${asLeftBy(sql`tasks`, 'allowed')}
        and allowed.before is not null and allowed.after is not null
      returning tasks.*)`,
    sql`taken_out as (
      delete from tasks using allowed
      where tasks.user_id = ${v.userId} and tasks.id = allowed.task_id and ${asLeftBy(sql`tasks`, 'allowed')}
        and allowed.before is null
      returning tasks.*)`,
    sql`brought_back as (
      insert into tasks (${sql.join(
        COLUMNS.map((name) => sql.identifier(name)),
        sql`, `,
      )})
      select ${sql.join(
        COLUMNS.map((name) =>
          name === 'user_id' ? sql`${v.userId}` : name === 'updated_at' ? sql`now()` : column('was', name),
        ),
        sql`, `,
      )}
      from allowed, numbered, ${asItWas}
      where allowed.after is null
      on conflict do nothing
      returning *)`,
    sql`left_as as (select * from put_back union all select * from brought_back)`,
    sql`done as (select id from put_back union all select id from taken_out union all select id from brought_back)`,
    sql`undone as (
      update task_changes set undone_by = numbered.last_change_id from numbered, allowed
      where task_changes.user_id = ${v.userId} and task_changes.id = allowed.id
        and task_changes.undone_by is null and exists (select 1 from done)
      returning task_changes.id)`,
    logCte({
      userId: v.userId,
      changeId: changeNumber,
      action: sql`'undo'`,
      source: v.source,
      before: sql`(select ${taskImage('present')} from present)`,
      after: sql`(select ${taskImage('left_as')} from left_as)`,
      from: 'done',
    }),
  ];
  if (record) {
    ctes.push(
      effectCte(
        record,
        'logged',
        sql`jsonb_build_object('change', to_jsonb(logged), 'task', (select ${taskImage('left_as')} from left_as))`,
      ),
    );
  }
  return sql`with ${sql.join(ctes, sql`, `)}
    select (select to_jsonb(target) from target) as target,
           (select to_jsonb(blocking) from blocking) as blocking,
           (select to_jsonb(logged) from logged) as change,
           (select ${taskImage('left_as')} from left_as) as task`;
}

export function createChangeLog(database: Database): ChangeLog {
  const list = preparedStatement<{ userId: string; before: number; limit: number }>(
    (v) => sql`select to_jsonb(c) as change from task_changes c
      where c.user_id = ${v.userId} and c.id < ${v.before}::int
      order by c.id desc limit ${v.limit}::int`,
  );
  const undoAlone = preparedStatement<UndoValues>((v) => undoStatement(v, undefined));
  const undoRecorded = preparedStatement<UndoValues & RecordValues>((v) => undoStatement(v, v));

  return {
    async changes(userId, options = {}) {
      const limit = Math.min(Math.max(options.limit ?? DEFAULT_LIST_LIMIT, 1), MAX_LIST_LIMIT);
      // Change ids are Postgres integers like task ids: the largest one is past every change.
      const before = options.before ?? MAX_TASK_ID;
      const rows = await database.run((db) => list<{ change: ChangeJson }>(db, { userId, before, limit }), {
        idempotent: true,
      });
      return rows.map((row) => changeFromJson(row.change));
    },

    async undo(userId, changeId, origin) {
      const values = { userId, changeId: changeId ?? null, source: origin.source };
      const [row] = await database.run((db) =>
        origin.effect
          ? undoRecorded<UndoRow>(db, { ...values, ...recordValues(origin.effect) })
          : undoAlone<UndoRow>(db, values),
      );
      if (!row?.target) return { outcome: 'not_found' };
      if (row.change) {
        return { outcome: 'undone', undone: undoneFromJson({ change: row.change, task: row.task }) };
      }
      return { outcome: 'conflict', message: conflictMessage(row.target, row.blocking) };
    },
  };
}

export function undoneFromJson(recorded: UndoJson): Undone {
  return { change: changeFromJson(recorded.change), task: recorded.task && taskFromJson(recorded.task) };
}

/**
 * Why a change cannot be undone, in the words a person reads it. `blocking` is the change the task
 * is as now: the one to undo first.
 */
function conflictMessage(target: ChangeJson, blocking: ChangeJson | null): string {
  if (target.undone_by !== null) {
    return `Change #${target.id} was already undone (by change #${target.undone_by}).`;
  }
  if (blocking && blocking.id !== target.id) {
    return `Task #${target.task_id} was ${whatHappened(blocking)} after that (change #${blocking.id}); undo that change first.`;
  }
  // The snapshot saw nothing newer: another change of the task committed while this one ran.
  return `Task #${target.task_id} was changed at the same moment by another change; nothing was undone.`;
}

function whatHappened(change: ChangeJson): string {
  switch (change.action) {
    case 'update':
      return change.before && change.after && change.before.title !== change.after.title
        ? `renamed to "${change.after.title}"`
        : 'changed';
    case 'complete':
      return 'completed';
    case 'reopen':
      return 'reopened';
    case 'delete':
      return 'deleted';
    case 'undo':
      return 'changed back by an undo';
    default:
      return 'added';
  }
}
