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
 * Every write says who makes it (`ChangeOrigin`: chat, mcp, rest, worker) and logs itself in the
 * change log (`task_changes`, ./changes.ts) in the same statement: the task before (read locked) and
 * after, numbered from the user's counter row, which only moves when something changed. A change
 * made by a chat turn also carries an `EffectRecord`: the same statement then records the change in
 * `turn_effects` too (data-modifying CTEs beside the write, ./recorded.ts), so the fact that the task
 * was changed is committed with the change itself, or not at all, at no extra round trip. A re-run
 * of the turn finds it there even when this process never learnt whether the write committed.
 *
 * Completing an open repeating task (./repeat.ts) keeps it open and moves it to its next occurrence
 * in the completing statement itself: the rule and the due date are only known to the database
 * there, so `task_next_occurrence` (a SQL function of migration 0007) computes the next day, a
 * COUNT is lowered by one, the reminder keeps its distance to the due date, and the change is
 * logged as a `complete` whose `before` is the completed occurrence. With no occurrence left, the
 * task is completed.
 *
 * Time is the user's (contract "Time"): the statements reckon in the request's zone, else the
 * zone the user stored (read by the statement itself from user_settings, ../time/statements.ts),
 * else the token's or the default, so no tool call or route pays a round trip to learn the zone.
 * A list's "today" is the date at the repository's clock in that zone. A reminder that moves with
 * its task (completing a repeating task, rescheduling) moves by calendar days in that zone: it
 * keeps its local time of day across a daylight-saving change (09:00 in Berlin stays 09:00, not
 * 08:00 or 10:00). A task that needs a due date and has none (a repeat, a due time) gets the
 * user's today, or its repeat's first day from there: the days around the UTC date that can be
 * "today" somewhere are worked out here with the rrule library, and the statement takes the one
 * of the user's zone (`dueDefaults`).
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
import { userZoneName } from '../time/statements.ts';
import type { RequestZone } from '../time/zone.ts';
import { type ChangeLog, createChangeLog } from './changes.ts';
import {
  type ChangeOrigin,
  effectCte,
  logCte,
  type RecordValues,
  recordValues,
  type TaskJson,
  taskFromJson,
  taskImage,
} from './recorded.ts';
import { firstOccurrence } from './repeat.ts';
import {
  type DueFilter,
  MAX_LIST_LIMIT,
  type Priority,
  type Task,
  type TaskPage,
  type TaskStatus,
  TOTAL_CAP,
} from './task.ts';

export {
  type ChangeOrigin,
  type ChangeSource,
  type EffectRecord,
  type TaskJson,
  taskFromJson,
} from './recorded.ts';

/**
 * A new task. Without `dueDate`, a repeat starts on its first day from today and a due time is
 * for today; with one, a repeat starts on its first day from that date.
 */
export type NewTask = {
  title: string;
  description?: string | null;
  dueDate?: string | null;
  dueTime?: string | null;
  repeat?: string | null;
  reminder?: string | null;
  priority?: Priority;
};

/**
 * Fields to change; `undefined` leaves a field as it is, `null` clears an optional one. Clearing
 * the due date clears the due time and the repeat too (both need it); a due time or repeat given
 * for a task without a due date dates it as `NewTask` does. Rescheduling keeps the repeat.
 */
export type TaskPatch = {
  title?: string;
  description?: string | null;
  dueDate?: string | null;
  dueTime?: string | null;
  repeat?: string | null;
  reminder?: string | null;
  priority?: Priority;
  completed?: boolean;
};

export type ListOptions = {
  status: TaskStatus;
  search?: string | undefined;
  limit: number;
  /** Only tasks due today, overdue (open and due before today) or due in the 7 days from today. */
  due?: DueFilter | undefined;
  /** The request's ends of the zone order "today" is reckoned in (see ChangeOrigin). */
  zone?: RequestZone | undefined;
};

/**
 * A task as a change left it (as it was, for a delete), and the id of the change in the change log:
 * null when the change changed nothing (completing a completed task), which records no change.
 */
export type Changed = { task: Task; changeId: number | null };

export type TaskRepository = ChangeLog & {
  add(userId: string, task: NewTask, origin: ChangeOrigin): Promise<Changed>;
  get(userId: string, taskId: number): Promise<Task | undefined>;
  list(userId: string, options: ListOptions): Promise<TaskPage>;
  setCompleted(
    userId: string,
    taskId: number,
    completed: boolean,
    origin: ChangeOrigin,
  ): Promise<Changed | undefined>;
  update(
    userId: string,
    taskId: number,
    patch: TaskPatch,
    origin: ChangeOrigin,
  ): Promise<Changed | undefined>;
  remove(userId: string, taskId: number, origin: ChangeOrigin): Promise<Changed | undefined>;
};

/**
 * The parts of a write statement: the CTEs before the change (whatever it depends on, such as the
 * task as it was, locked), the change itself (`changed as (... returning *)`), the CTEs after it
 * (the change number, when it depends on the change), and what the change log says about it.
 */
type WriteParts = {
  before?: SQL[];
  change: SQLWrapper;
  after?: SQL[];
  /** The scalar change number (null: nothing changed), from the `numbered` CTE. */
  log: { userId: unknown; source: unknown; action: SQL; before: SQL; after: SQL };
};

/** The change number of a write, from its `numbered` CTE (a bump of the user's counter). */
const changeNumber = sql`(select last_change_id from numbered)`;

/** A column of the task as a write leaves it, read from a row alias (`prior`, or `tasks` in SET). */
type Column = (alias: string) => SQL;
const column =
  (name: string): Column =>
  (alias) =>
    sql`${sql.identifier(alias)}.${sql.identifier(name)}`;

/**
 * The `upcoming` CTE: when the write completes an open repeating task, the day its repeat falls on
 * next (null: none left). `repeat` and `dueDate` are the task's as the write leaves them.
 */
const upcomingCte = (completing: SQL, repeat: Column, dueDate: Column) =>
  sql`upcoming as (select task_next_occurrence(${repeat('prior')}, ${dueDate('prior')}) as due from prior
    where ${completing} and not prior.completed and ${repeat('prior')} is not null)`;

const nextDue = sql`(select due from upcoming)`;

/**
 * `reminder` moved by `days` calendar days in `zone`: the same local time of day there, whatever
 * daylight-saving change lies between (a timestamptz plus days in a UTC session keeps the UTC time
 * instead). Not moved at all (null or 0 days), it is left exactly as it was, so an hour that a
 * clock change makes ambiguous is never reinterpreted.
 */
function movedReminder(reminder: SQLWrapper, days: SQL, zone: SQL): SQL {
  return sql`case when coalesce((${days}), 0) = 0 then ${reminder}
    else ((${reminder} at time zone ${zone}) + (${days}) * interval '1 day') at time zone ${zone} end`;
}

/**
 * The SET of a completing write over the `upcoming` CTE: a repeating task with an occurrence left
 * stays open and moves to it (its COUNT one lower, its reminder as far before as it was, in local
 * time of `zone`), any other task is completed as asked. `completed` is the value asked for.
 */
function completing(completed: SQL, dueDate: Column, repeat: Column, reminder: Column, zone: SQL) {
  const countLeft = sql`coalesce(substring(${repeat('tasks')} from 'COUNT=([0-9]+)')::int - 1, 0)`;
  return {
    completed: sql`case when ${nextDue} is not null then false else ${completed} end`,
    dueDate: sql`coalesce(${nextDue}, ${dueDate('tasks')})`,
    repeat: sql`case when ${nextDue} is null then ${repeat('tasks')}
      else regexp_replace(${repeat('tasks')}, 'COUNT=[0-9]+', 'COUNT=' || ${countLeft}) end`,
    reminder: movedReminder(reminder('tasks'), sql`${nextDue} - ${dueDate('tasks')}`, zone),
  };
}

/**
 * A write (`... returning *`) as one statement answering the changed row as JSON and its change
 * number, logging the change in task_changes, and with a record, also inserting the change into
 * turn_effects (with its change number, for a replay's answer). `record` holds the record's values
 * or placeholders for them.
 */
function writeStatement(parts: WriteParts, record: { [K in keyof RecordValues]: unknown } | undefined): SQL {
  const ctes = [
    ...(parts.before ?? []),
    sql`changed as (${parts.change.getSQL()})`,
    ...(parts.after ?? []),
    logCte({ ...parts.log, changeId: changeNumber, from: 'changed' }),
  ];
  if (record) {
    ctes.push(
      effectCte(
        record,
        'changed',
        sql`to_jsonb(changed) || jsonb_build_object('change_id', ${changeNumber})`,
      ),
    );
  }
  return sql`with ${sql.join(ctes, sql`, `)} select to_jsonb(changed) as task, ${changeNumber} as change_id from changed`;
}

type WriteRow = { task: TaskJson; change_id: number | null };

const changedFromRow = (row: WriteRow | undefined): Changed | undefined =>
  row && { task: taskFromJson(row.task), changeId: row.change_id };

export type TaskRepositoryOptions = {
  /** The clock "today" is read from (tests move it); the wall clock when not given. */
  now?: () => Date;
  /** The zone of a user who has none and whose request names none (`DEFAULT_TIMEZONE`). */
  defaultTimezone?: string;
};

/** A zone order's values for a statement: the request's ends, or the stored zone else the default. */
type ZoneValues = { requestedZone: string | null; fallbackZone: string };

export function createTaskRepository(
  database: Database,
  { now = () => new Date(), defaultTimezone = 'UTC' }: TaskRepositoryOptions = {},
): TaskRepository {
  const zoneValues = (zone: RequestZone | undefined): ZoneValues => ({
    requestedZone: zone?.requested ?? null,
    fallbackZone: zone?.fallback ?? defaultTimezone,
  });

  const ownTask = (userId: string | Placeholder, taskId: number | Placeholder) =>
    and(eq(tasks.userId, userId), eq(tasks.id, taskId));

  /** The task as it was, locked until commit, so the change log's `before` is what the write changed. */
  const priorTask = (userId: string | Placeholder, taskId: number | Placeholder) =>
    sql`prior as (select * from ${tasks} where ${ownTask(userId, taskId)} for update)`;

  /**
   * The user's next change number, taken only `when` something changes. The counter row is locked
   * until commit, so the user's changes are numbered in the order they commit. Every task of a user
   * has made their counter row (`add`), so an UPDATE finds it.
   */
  const numbered = (userId: string | Placeholder, when: SQL) =>
    sql`numbered as (update ${taskCounters} set last_change_id = ${taskCounters.lastChangeId} + 1
      where ${taskCounters.userId} = ${userId} and ${when} returning last_change_id)`;

  /** The task's newest change: this one, or the one before when nothing changed. */
  const lastChange = sql`coalesce(${changeNumber}, ${tasks.lastChangeId})`;

  /**
   * A write whose SQL is rendered once (see `preparedStatement`), in its two forms: alone, and with
   * a chat turn's effect record. A write is never retried once it may have reached the server (not
   * idempotent): a repeat is what the record exists to prevent.
   */
  function preparedWrite<Values extends Record<string, unknown>>(
    build: (values: { readonly [K in keyof Values | 'source']: Placeholder }) => WriteParts,
  ) {
    type Sourced = Values & { source: string };
    const alone = preparedStatement<Sourced>((v) => writeStatement(build(v), undefined));
    const recorded = preparedStatement<Sourced & RecordValues>((v) => writeStatement(build(v), v));
    return async (values: Values, origin: ChangeOrigin): Promise<Changed | undefined> => {
      const withSource = { ...values, source: origin.source };
      const [row] = await database.run((db) =>
        origin.effect
          ? recorded<WriteRow>(db, { ...withSource, ...recordValues(origin.effect) })
          : alone<WriteRow>(db, withSource),
      );
      return changedFromRow(row);
    };
  }

  // The user's next task and change numbers, taken in the same statement as the insert: no extra
  // round trip. ON CONFLICT DO UPDATE locks the user's counter row until commit, so a concurrent
  // add of the same user waits, then counts on from this one's numbers; a delete never lowers them.
  const add = preparedWrite<
    {
      userId: string;
      title: string;
      description: string | null;
      dueDate: string | null;
      /** The due date when none is given, per candidate day (`dueDefaults`); null for none. */
      dueDefaults: string | null;
      clock: string;
      dueTime: string | null;
      repeat: string | null;
      reminder: string | null;
      priority: Priority;
    } & ZoneValues
  >((v) => ({
    before: [
      sql`numbered as (
        insert into ${taskCounters} (user_id, last_task_id, last_change_id) values (${v.userId}, 1, 1)
        on conflict (user_id) do update set last_task_id = ${taskCounters.lastTaskId} + 1,
          last_change_id = ${taskCounters.lastChangeId} + 1
        returning last_task_id, last_change_id)`,
    ],
    change: database.db
      .insert(tasks)
      .values({
        id: sql`(select last_task_id from numbered)`,
        userId: v.userId,
        title: v.title,
        description: v.description,
        dueDate: sql`coalesce(${v.dueDate}::date, ${userDefaultDue(v.dueDefaults, v)})`,
        dueTime: v.dueTime,
        repeat: v.repeat,
        reminder: sql`${v.reminder}::timestamptz`,
        priority: v.priority,
        lastChangeId: changeNumber,
      })
      .returning(),
    log: {
      userId: v.userId,
      source: v.source,
      action: sql`'add'`,
      before: sql`null`,
      after: taskImage('changed'),
    },
  }));

  const setCompleted = preparedWrite<{ userId: string; taskId: number; completed: boolean } & ZoneValues>(
    (v) => ({
      before: [
        priorTask(v.userId, v.taskId),
        upcomingCte(sql`${v.completed}::boolean`, column('repeat'), column('due_date')),
        numbered(
          v.userId,
          sql`exists (select 1 from prior where prior.completed <> ${v.completed}::boolean)`,
        ),
      ],
      change: database.db
        .update(tasks)
        .set({
          ...completing(
            sql`${v.completed}::boolean`,
            column('due_date'),
            column('repeat'),
            column('reminder'),
            userZoneName(v),
          ),
          updatedAt: touchedUnlessAlready(v.completed),
          lastChangeId: lastChange,
        })
        .where(ownTask(v.userId, v.taskId))
        .returning(),
      log: {
        userId: v.userId,
        source: v.source,
        action: sql`case when ${v.completed}::boolean then 'complete' else 'reopen' end`,
        before: sql`(select ${taskImage('prior')} from prior)`,
        after: taskImage('changed'),
      },
    }),
  );

  const remove = preparedWrite<{ userId: string; taskId: number }>((v) => ({
    change: database.db.delete(tasks).where(ownTask(v.userId, v.taskId)).returning(),
    after: [numbered(v.userId, sql`exists (select 1 from changed)`)],
    log: {
      userId: v.userId,
      source: v.source,
      action: sql`'delete'`,
      before: taskImage('changed'),
      after: sql`null`,
    },
  }));

  const get = preparedStatement<{ userId: string; taskId: number }>((v) =>
    database.db.select().from(tasks).where(ownTask(v.userId, v.taskId)).limit(1),
  );

  // One statement per kind of list (status x with or without a search x due filter), each rendered
  // once. "Today" is the user's: the clock's date in their zone, which the statement resolves.
  type ListValues = { userId: string; limit: number; pattern: string; clock: string } & ZoneValues;
  const lists = new Map<string, ReturnType<typeof preparedStatement<ListValues>>>();
  const listStatement = (status: TaskStatus, searched: boolean, due: DueFilter | undefined) => {
    const key = `${status}:${searched}:${due ?? ''}`;
    let statement = lists.get(key);
    if (!statement) {
      statement = preparedStatement<ListValues>((v) => {
        const filters: (SQL | undefined)[] = [eq(tasks.userId, v.userId)];
        if (status !== 'all') filters.push(eq(tasks.completed, status === 'completed'));
        if (searched) {
          filters.push(or(ilike(tasks.title, v.pattern), ilike(tasks.description, v.pattern)));
        }
        if (due)
          filters.push(dueFilter(due, sql`(${v.clock}::timestamptz at time zone ${userZoneName(v)})::date`));
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
    async add(userId, task, origin) {
      const repeat = task.repeat ?? null;
      const dueTime = task.dueTime ?? null;
      const given = task.dueDate ?? null;
      const at = now();
      const created = await add(
        {
          userId,
          title: task.title,
          description: task.description ?? null,
          dueDate: given && repeat ? (firstOccurrence(repeat, given) ?? given) : given,
          dueDefaults: !given && (repeat || dueTime) ? dueDefaults(at, repeat) : null,
          clock: at.toISOString(),
          dueTime,
          repeat,
          reminder: task.reminder ?? null,
          priority: task.priority ?? 'medium',
          ...zoneValues(origin.zone),
        },
        origin,
      );
      if (!created) throw new Error('insert into tasks returned no row');
      return created;
    },

    async get(userId, taskId) {
      const [row] = await database.run((db) => get<TaskJson>(db, { userId, taskId }), { idempotent: true });
      return row && taskFromJson(row);
    },

    async list(userId, { status, search, limit, due, zone }) {
      const text = search?.trim();
      const statement = listStatement(status, Boolean(text), due);
      const rows = await database.run(
        (db) =>
          statement<TaskJson & { total: number }>(db, {
            userId,
            limit: clampLimit(limit),
            pattern: text ? `%${escapeLike(text)}%` : '',
            clock: now().toISOString(),
            ...zoneValues(zone),
          }),
        { idempotent: true },
      );
      return { tasks: rows.map(taskFromJson), total: rows[0]?.total ?? 0 };
    },

    setCompleted: (userId, taskId, completed, origin) =>
      setCompleted({ userId, taskId, completed, ...zoneValues(origin.zone) }, origin),

    async update(userId, taskId, patch, origin) {
      // Its text depends on which fields change: rendered per call, in the same statement shape.
      const { completed, ...fields } = patch;
      const values: Record<string, unknown> = { ...fields };
      if (fields.dueDate === null) {
        // A due time and a repeat need the due date: they go with it.
        values.dueTime = null;
        values.repeat = null;
      }
      const zone = { userId, ...zoneValues(origin.zone) };
      const zoneName = userZoneName(zone);
      if (fields.repeat && fields.dueDate)
        values.dueDate = firstOccurrence(fields.repeat, fields.dueDate) ?? fields.dueDate;
      // A repeat or due time for a task without a due date dates it (today, or the repeat's first day).
      const at = now();
      const dueFallback =
        (fields.repeat || fields.dueTime) && fields.dueDate === undefined
          ? userDefaultDue(dueDefaults(at, fields.repeat ?? null), { ...zone, clock: at.toISOString() })
          : undefined;
      const given = Object.entries(values).filter(([, value]) => value !== undefined) as [
        keyof typeof tasks.$inferSelect,
        unknown,
      ][];
      /** The column as this write leaves it: the value given, else as it was in `alias`. */
      const after = (key: keyof typeof tasks.$inferSelect): Column => {
        const name = tasks[key].name;
        if (key === 'dueDate' && dueFallback) {
          return (alias) => sql`coalesce(${column(name)(alias)}, ${dueFallback})`;
        }
        return Object.hasOwn(values, key) && values[key] !== undefined
          ? () =>
              sql`${values[key]}::${sql.raw(key === 'reminder' ? 'timestamptz' : key === 'dueDate' ? 'date' : 'text')}`
          : column(name);
      };
      // Whether the task as it is differs from what the patch asks: if not, nothing is recorded.
      const differs = (alias: string) =>
        sql.join(
          [
            ...given.map(([key, value]) => sql`${column(tasks[key].name)(alias)} is distinct from ${value}`),
            ...(completed === undefined
              ? []
              : [sql`${column('completed')(alias)} is distinct from ${completed}`]),
            ...(dueFallback ? [sql`${column('due_date')(alias)} is null`] : []),
          ],
          sql` or `,
        );
      const edits = given.length > 0;
      const set: Record<string, unknown> = Object.fromEntries(given);
      if (dueFallback) set.dueDate = after('dueDate')('tasks');
      if (typeof values.reminder === 'string') set.reminder = sql`${values.reminder}::timestamptz`;
      // A reminder moves with its task: rescheduled by some days, it is that many days later too,
      // at the same local time.
      if (typeof values.dueDate === 'string' && values.reminder === undefined) {
        set.reminder = movedReminder(
          tasks.reminder,
          sql`${values.dueDate}::date - ${tasks.dueDate}`,
          zoneName,
        );
      }
      if (completed !== undefined) {
        Object.assign(
          set,
          completed
            ? completing(sql`true`, after('dueDate'), after('repeat'), after('reminder'), zoneName)
            : { completed: false },
        );
      }
      const parts: WriteParts = {
        before: [
          priorTask(userId, taskId),
          ...(completed ? [upcomingCte(sql`true`, after('repeat'), after('dueDate'))] : []),
          numbered(userId, sql`exists (select 1 from prior where ${differs('prior')})`),
        ],
        change: database.db
          .update(tasks)
          .set({
            ...set,
            updatedAt: sql`case when ${differs('tasks')} then now() else ${tasks.updatedAt} end`,
            lastChangeId: lastChange,
          })
          .where(ownTask(userId, taskId))
          .returning(),
        log: {
          userId,
          source: origin.source,
          action:
            edits || completed === undefined ? sql`'update'` : completed ? sql`'complete'` : sql`'reopen'`,
          before: sql`(select ${taskImage('prior')} from prior)`,
          after: taskImage('changed'),
        },
      };
      const [row] = await database.run((db) =>
        queryRows<WriteRow>(db, writeStatement(parts, origin.effect && recordValues(origin.effect))),
      );
      return changedFromRow(row);
    },

    remove: (userId, taskId, origin) => remove({ userId, taskId }, origin),

    ...createChangeLog(database),
  };
}

/**
 * The due date a task that needs one gets when none is given (a repeat's first day from today, or
 * today), for each day that can be "today" somewhere at `at`: the UTC date and the days either
 * side (zones run from UTC-12 to UTC+14). As JSON text, for `userDefaultDue`, which picks the
 * user's: the statement knows their zone (perhaps the stored one), this process does not.
 */
function dueDefaults(at: Date, repeat: string | null): string {
  const utcDay = at.toISOString().slice(0, 10);
  const days = [-1, 0, 1].map((n) =>
    new Date(Date.parse(`${utcDay}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10),
  );
  return JSON.stringify(
    Object.fromEntries(days.map((day) => [day, repeat ? (firstOccurrence(repeat, day) ?? day) : day])),
  );
}

/**
 * The entry of `defaults` (`dueDefaults`' JSON, or null for no default) for the user's date at
 * `clock` in their zone; that date itself should it be missing.
 */
function userDefaultDue(
  defaults: unknown,
  zone: { userId: unknown; requestedZone: unknown; fallbackZone: unknown; clock: unknown },
): SQL {
  return sql`(select coalesce((d.days ->> d.today::text)::date, d.today)
    from (select ${defaults}::jsonb as days,
                 (${zone.clock}::timestamptz at time zone ${userZoneName(zone)})::date as today) d
    where d.days is not null)`;
}

/** The due filter of a list, against `today` (the user's date, in SQL). */
function dueFilter(due: DueFilter, today: SQL): SQL {
  switch (due) {
    case 'today':
      return sql`${tasks.dueDate} = ${today}`;
    case 'overdue':
      return sql`${tasks.completed} = false and ${tasks.dueDate} < ${today}`;
    case 'week':
      return sql`${tasks.dueDate} between ${today} and ${today} + 6`;
  }
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
