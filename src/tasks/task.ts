/**
 * @module tasks/task
 * The task, written once. The zod schemas here are the single source from which the TypeScript
 * types, the tools' argument schemas (and so the JSON schemas the model and MCP hosts see), MCP's
 * outputSchema and the REST routes' validation all derive; the value lists and limits are defined
 * here and nowhere else (the priority values come from the table itself, `db/schema.ts`).
 *
 * Every argument message names its argument, so a model (or a person) can correct the one it got
 * wrong. Optional arguments accept null as "not given": many models send null for unset fields.
 */
import { z } from 'zod';
import { CHANGE_ACTIONS, CHANGE_SOURCES, tasks } from '../db/schema.ts';
import { isValidText } from '../text.ts';
import { canonicalRepeat } from './repeat.ts';

export const PRIORITIES = tasks.priority.enumValues;
export const TASK_STATUSES = ['all', 'pending', 'completed'] as const;
/** List filters by due date, in the user's zone: due today, open and overdue, due within 7 days. */
export const DUE_FILTERS = ['today', 'overdue', 'week'] as const;

export const TITLE_MAX_CHARS = 200;
export const DESCRIPTION_MAX_CHARS = 2000;
export const SEARCH_MAX_CHARS = 2000;
/** Longest page one list may return, whatever the caller asks. */
export const MAX_LIST_LIMIT = 100;
export const DEFAULT_LIST_LIMIT = 50;
/**
 * A list's `total` is exact up to this many matching tasks; beyond, it is `TOTAL_CAP + 1`,
 * meaning "more than TOTAL_CAP". Counting every match made a list cost grow with the task list
 * (33 ms for 100,000 tasks); a capped count reads at most TOTAL_CAP + 1 index entries.
 */
export const TOTAL_CAP = 1000;
/** Task ids are Postgres integers. */
export const MAX_TASK_ID = 2_147_483_647;

export type Priority = (typeof PRIORITIES)[number];
export type TaskStatus = (typeof TASK_STATUSES)[number];
export type DueFilter = (typeof DUE_FILTERS)[number];

// ---------------------------------------------------------------------------------------------
// What a task looks like over HTTP, MCP and to the model.

export const taskSchema = z.object({
  id: z.number().int(),
  title: z.string(),
  description: z.string().nullable(),
  completed: z.boolean(),
  priority: z.enum(PRIORITIES),
  /** YYYY-MM-DD */
  dueDate: z.string().nullable(),
  /** HH:MM on the due date, in the user's zone. */
  dueTime: z.string().nullable(),
  /** An RRULE (FREQ=WEEKLY;BYDAY=MO): completing moves the due date to the next occurrence. */
  repeat: z.string().nullable(),
  /** When to remind, an ISO 8601 instant in UTC. */
  reminder: z.string().nullable(),
  /** ISO 8601 */
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Task = z.infer<typeof taskSchema>;

export const taskPageSchema = z.object({ tasks: z.array(taskSchema), total: z.number().int() });
export type TaskPage = z.infer<typeof taskPageSchema>;

export const deletedTaskSchema = z.object({
  task_id: z.number().int(),
  deleted: z.literal(true),
  title: z.string(),
});
export type DeletedTask = z.infer<typeof deletedTaskSchema>;

/** One recorded change of a task (the change log): the task before and after it, and what made it. */
export const changeSchema = z.object({
  /** The user's own numbering: increasing in the order their changes were made. */
  id: z.number().int(),
  taskId: z.number().int(),
  action: z.enum(CHANGE_ACTIONS),
  source: z.enum(CHANGE_SOURCES),
  /** null for an add. */
  before: taskSchema.nullable(),
  /** null for a delete. */
  after: taskSchema.nullable(),
  /** The id of the change that undid this one. */
  undoneBy: z.number().int().nullable(),
  /** ISO 8601 */
  createdAt: z.string(),
});
export type Change = z.infer<typeof changeSchema>;

/** What an undo answers: the undo (itself a change) and the task as it left it (null: removed). */
export const undoneSchema = z.object({ change: changeSchema, task: taskSchema.nullable() });
export type Undone = z.infer<typeof undoneSchema>;

// ---------------------------------------------------------------------------------------------
// Arguments (the tools' snake_case names; the REST routes reuse the same rules, under their
// camelCase names where the two differ, so each message names the field the caller sent).

// Postgres cannot store U+0000 or a lone surrogate (see ../text.ts): refused with words naming the
// argument, instead of a failed statement.
const validText = (name: string) =>
  [isValidText, { error: `${name} must not contain NUL characters or invalid Unicode` }] as const;

const TITLE_MESSAGE = `title must be text of 1 to ${TITLE_MAX_CHARS} characters`;
export const titleArg = z
  .string({ error: TITLE_MESSAGE })
  .trim()
  .min(1, { error: TITLE_MESSAGE })
  .max(TITLE_MAX_CHARS, { error: TITLE_MESSAGE })
  .refine(...validText('title'));

const DESCRIPTION_MESSAGE = `description must be text of at most ${DESCRIPTION_MAX_CHARS} characters`;
export const descriptionArg = z
  .string({ error: DESCRIPTION_MESSAGE })
  .trim()
  .max(DESCRIPTION_MAX_CHARS, { error: DESCRIPTION_MESSAGE })
  .refine(...validText('description'));

const dueDateRule = (field: string) => {
  const message = `${field} must be a real calendar date written YYYY-MM-DD`;
  return z
    .string({ error: message })
    .regex(/^\d{4}-\d{2}-\d{2}$/, { error: message })
    .refine(isCalendarDate, { error: message });
};
export const dueDateArg = dueDateRule('due_date');
export const dueDateField = dueDateRule('dueDate');

const dueTimeRule = (field: string) => {
  const message = `${field} must be a time of day written HH:MM (24-hour)`;
  return z.string({ error: message }).regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: message });
};
export const dueTimeArg = dueTimeRule('due_time');
export const dueTimeField = dueTimeRule('dueTime');

/** An RRULE of the subset tasks/repeat.ts reads, turned into its stored spelling. */
export const repeatArg = z
  .string({ error: 'repeat must be an RRULE such as FREQ=WEEKLY;BYDAY=MO' })
  .transform((text, context) => {
    const read = canonicalRepeat(text);
    if ('rule' in read) return read.rule;
    context.addIssue({ code: 'custom', message: read.error });
    return z.NEVER;
  });

/** An ISO 8601 instant with its offset (or Z), stored and answered in UTC. */
const reminderRule = (field: string) => {
  const message = `${field} must be an ISO 8601 date and time with its offset, such as 2026-03-01T09:00:00+01:00`;
  return z
    .string({ error: message })
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i, { error: message })
    .refine((text) => isCalendarDate(text.slice(0, 10)) && !Number.isNaN(Date.parse(text)), {
      error: message,
    })
    .transform((text) => new Date(text).toISOString());
};
export const reminderArg = reminderRule('reminder');

/**
 * A due time or a repeat needs a due date: clearing the date while giving one of them is refused.
 * For a `.refine` of a patch with camelCase fields.
 */
export const needsDueDate = (dateName: string) =>
  [
    (patch: { dueDate?: unknown; dueTime?: unknown; repeat?: unknown }) =>
      !(patch.dueDate === null && (patch.dueTime != null || patch.repeat != null)),
    { error: `a due time or a repeat needs a due date: do not set ${dateName} to null with them` },
  ] as const;

export const priorityArg = z.enum(PRIORITIES, { error: `priority must be ${PRIORITIES.join(', ')}` });

export const statusArg = z.enum(TASK_STATUSES, { error: `status must be ${TASK_STATUSES.join(', ')}` });

export const dueFilterArg = z.enum(DUE_FILTERS, { error: `due must be ${DUE_FILTERS.join(', ')}` });

export const searchArg = z
  .string({ error: 'search must be text' })
  .max(SEARCH_MAX_CHARS, { error: `search must be at most ${SEARCH_MAX_CHARS} characters` })
  .refine(...validText('search'));

const LIMIT_MESSAGE = `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`;
export const limitArg = z
  .number({ error: LIMIT_MESSAGE })
  .int({ error: LIMIT_MESSAGE })
  .min(1, { error: LIMIT_MESSAGE })
  .max(MAX_LIST_LIMIT, { error: LIMIT_MESSAGE });

const TASK_ID_MESSAGE = 'task_id must be a positive whole number (the id list_tasks shows)';
export const taskIdArg = z
  .number({ error: TASK_ID_MESSAGE })
  .int({ error: TASK_ID_MESSAGE })
  .min(1, { error: TASK_ID_MESSAGE })
  .max(MAX_TASK_ID, { error: TASK_ID_MESSAGE });

/** A number in a URL path (`/tasks/:id`, `/changes/:id`): digits only, in Postgres's integer range. */
export const idParam = (message: string) =>
  z
    .string({ error: message })
    .regex(/^[1-9]\d{0,9}$/, { error: message })
    .refine((digits) => Number(digits) <= MAX_TASK_ID, { error: message })
    .transform(Number);

/** A task id in a URL path (`/tasks/:id`): digits only, then the same range as `task_id`. */
const ID_PARAM_MESSAGE = 'id must be a positive whole number (the id GET /tasks shows)';
export const taskIdParam = idParam(ID_PARAM_MESSAGE);

const CHANGE_ID_MESSAGE = 'change_id must be a positive whole number (the change_id a change answered)';
export const changeIdArg = z
  .number({ error: CHANGE_ID_MESSAGE })
  .int({ error: CHANGE_ID_MESSAGE })
  .min(1, { error: CHANGE_ID_MESSAGE })
  .max(MAX_TASK_ID, { error: CHANGE_ID_MESSAGE });

export const completedArg = z.boolean({ error: 'completed must be true or false' });

/** Real calendar dates only: 2026-02-30 and 2026-13-01 are refused. */
export function isCalendarDate(value: string): boolean {
  const [year, month, day] = value.split('-').map(Number);
  if (!year || !month || !day || month > 12) return false;
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate(); // 2000: Feb has 29
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && !leap ? 28 : daysInMonth);
}
