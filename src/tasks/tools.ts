/**
 * @module tasks/tools
 * The task tools of the contract, defined once as data (description for a model, zod input
 * schema, result schema, `run`, and what a host shows a person: title and behaviour hints), so the
 * same definitions feed the AI SDK (`createTaskTools`) and the MCP server (`runTaskTool`,
 * `taskToolJsonSchema`, titles and hints as MCP tool annotations).
 *
 * No tool takes a user id: the caller binds it from authentication, and any `user_id` the model
 * adds is stripped by validation, never read. Bad arguments, unknown ids and other users' ids all
 * come back as `{ error }` results the model can explain (the same words for a missing and a
 * foreign task). A database outage is not a tool error: `DbUnavailableError` propagates so the
 * HTTP layer can answer 503.
 *
 * The AI SDK is given the JSON schema with no validator of its own: its validation failure would
 * be an SDK error instead of the contract's `{ error }` result, so validation happens in
 * `runTaskTool`, with short messages naming the argument.
 *
 * Error results are the server's own sentences, always: a database error that is not an outage
 * (the database refused the statement) becomes "...; nothing was changed." (true: the statement
 * was rolled back), a bug becomes "The tool failed because of a server error."; the detail goes to
 * the log, never to the model, the client or the stored history (it can carry SQL and the data).
 *
 * Within a chat turn the tools take an `EffectLedger` (chat/turn/effects.ts): a change the turn
 * already made (same tool, same arguments, in an earlier attempt or regenerated answer of the same
 * turn) is answered from its record instead of being made again, and a new change is recorded by
 * its own write statement. Every change is also logged with its source (chat, mcp...), and a result
 * that changed a task carries the change's `change_id`, which `undo_change` takes.
 */
import { type JSONSchema7, jsonSchema, type ToolSet, tool } from 'ai';
import { z } from 'zod';
import { causeChain } from '../causes.ts';
import { DbUnavailableError } from '../db/resilience.ts';
import { errorFields, type Logger } from '../log.ts';
import { cleanDeep } from '../text.ts';
import type { RequestZone } from '../time/zone.ts';
import { type UndoJson, undoneFromJson } from './changes.ts';
import { type TaskJson, taskFromJson } from './recorded.ts';
import type { Changed, ChangeOrigin, ChangeSource, EffectRecord, TaskRepository } from './repository.ts';
import {
  changeIdArg,
  DEFAULT_LIST_LIMIT,
  type DeletedTask,
  deletedTaskSchema,
  descriptionArg,
  dueDateArg,
  dueFilterArg,
  dueTimeArg,
  limitArg,
  needsDueDate,
  priorityArg,
  reminderArg,
  repeatArg,
  searchArg,
  statusArg,
  type Task,
  type TaskPage,
  TOTAL_CAP,
  taskIdArg,
  taskPageSchema,
  taskSchema,
  titleArg,
  type Undone,
  undoneSchema,
} from './task.ts';

export type ToolError = { error: string };
/** The id of the change a result made; absent when nothing changed (completing a completed task). */
type WithChangeId = { change_id?: number };
export type TaskToolResult =
  | (Task & WithChangeId)
  | TaskPage
  | (DeletedTask & WithChangeId)
  | (Undone & WithChangeId)
  | ToolError;

const changeIdResult = z
  .number()
  .int()
  .optional()
  .describe('The id of the change made; undo_change takes it.');
const changedTaskSchema = taskSchema.extend({ change_id: changeIdResult });

/**
 * The text of a tool's `{ error }` result, read from any value (a result as the model got it, or
 * as stored); undefined for every other result. The one reader of that shape.
 */
export function toolErrorText(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return undefined;
  const error = (result as { error?: unknown }).error;
  return typeof error === 'string' ? error : undefined;
}

/**
 * Behaviour hints, for hosts deciding what to show and what to confirm with the user (MCP's tool
 * annotations); none of them changes behaviour. Every tool acts on this server's own database only
 * (no open world). Updating and deleting again leave the task as the first call did (idempotent);
 * completing does not: a repeating task completed twice moves two occurrences on (and a host that
 * retries a completion believing it harmless would skip one). Updating only changes the fields
 * asked for and can be changed back, so only deleting is destructive. `readOnlyHint` also decides
 * the scope a call needs over MCP.
 */
export type ToolHints = {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
};

const hints = (readOnly: boolean, idempotent: boolean, destructive = false): ToolHints => ({
  readOnlyHint: readOnly,
  destructiveHint: destructive,
  idempotentHint: idempotent,
  openWorldHint: false,
});

export type TaskToolDefinition<Input extends z.ZodType = z.ZodType> = {
  /** What a host shows a person for the tool. */
  title: string;
  hints: ToolHints;
  /** Written for a model: when to call the tool and what the arguments mean. */
  description: string;
  input: Input;
  /** The successful result (an error result is always `{ error: string }`). */
  output: z.ZodType;
  /** `origin`: what makes the change (and for a chat turn, its record, written by the same statement). */
  run(
    repo: TaskRepository,
    userId: string,
    args: z.output<Input>,
    origin: ChangeOrigin,
  ): Promise<TaskToolResult>;
  /**
   * For tools that change a task: the result again, from what the change recorded in turn_effects
   * (the task as the change left it, with `change_id`; for an undo, the undo and the task).
   */
  replay?(recorded: unknown): TaskToolResult;
};

/**
 * A chat turn's record of the task changes it made (chat/turn/effects.ts). `claim` is asked before
 * every change: either the turn already made this one (`replay`: the task as it left it), or it
 * says how the write must record itself.
 */
export type EffectLedger = {
  claim(tool: TaskToolName, args: Record<string, unknown>): { replay: unknown } | { record: EffectRecord };
};

const taskId = taskIdArg.describe(
  'The numeric id of the task, as shown by list_tasks or returned by add_task.',
);

/** How a model is taught the repeat rules (RFC 5545 RRULE, the subset tasks/repeat.ts reads). */
const REPEAT_TEACHING = [
  'For a repeating task set `repeat` to an RRULE: "every day" -> FREQ=DAILY, "every 3 days" ->',
  'FREQ=DAILY;INTERVAL=3, "every monday" -> FREQ=WEEKLY;BYDAY=MO, "tuesdays and thursdays" ->',
  'FREQ=WEEKLY;BYDAY=TU,TH, "every 2 weeks" / "every other week" -> FREQ=WEEKLY;INTERVAL=2,',
  '"weekdays" -> FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR, "monthly on the 1st" -> FREQ=MONTHLY;BYMONTHDAY=1,',
  '"on the 1st and 15th" -> FREQ=MONTHLY;BYMONTHDAY=1,15, "last day of the month" ->',
  'FREQ=MONTHLY;BYMONTHDAY=-1, "every 3 months" -> FREQ=MONTHLY;INTERVAL=3, "every year" (on the due',
  'date\'s day) -> FREQ=YEARLY, "daily for 5 days" -> FREQ=DAILY;COUNT=5, "every friday until March"',
  '-> FREQ=WEEKLY;BYDAY=FR;UNTIL=20270228 (UNTIL is the last day it may fall on, YYYYMMDD). Only FREQ,',
  'INTERVAL, BYDAY (days, no numbers), BYMONTHDAY, COUNT and UNTIL are taken.',
  '`due_date` is the first occurrence (the first matching day from today when not given);',
  'completing a repeating task moves it, and its reminder, to its next occurrence.',
].join(' ');

/** How a model is taught reminders: an instant, derived from the due date and time when relative. */
const REMINDER_TEACHING = [
  'For "remind me" set `reminder` to the instant, with the user\'s UTC offset on that day: "remind',
  'me tomorrow at 5pm" -> due_date tomorrow, due_time 17:00 and reminder at 17:00 that day; "30',
  'minutes before" -> the due date and time minus 30 minutes; with no time said, pick 09:00 on the',
  "due date. A repeating task's reminder is for its first occurrence and moves with each one.",
].join(' ');

/** The time arguments add_task and update_task share; `clears` says what null does. */
const timeArgs = (clears: boolean) => ({
  due_time: dueTimeArg
    .nullish()
    .describe(
      `Time of day HH:MM (24-hour) on the due date, in the user's zone${clears ? '; null removes it' : ''}.`,
    ),
  repeat: repeatArg
    .nullish()
    .describe(`RRULE such as FREQ=WEEKLY;BYDAY=MO${clears ? '; null stops the repetition' : ''}.`),
  reminder: reminderArg
    .nullish()
    .describe(
      `When to remind: an ISO 8601 instant with the user's offset (2026-03-01T08:30:00+01:00)${clears ? '; null removes it' : ''}.`,
    ),
});

const [noDueDateConflict, dueDateConflict] = needsDueDate('due_date');

const argsObject = <Shape extends z.ZodRawShape>(shape: Shape) =>
  z.object(shape, { error: 'the arguments must be a JSON object' });

const notFound = (taskId: number): ToolError => ({ error: `Task #${taskId} not found.` });

// Blank text means "no description"; null explicitly clears it.
const blankToNull = (text: string | null | undefined) => (text === undefined ? undefined : text || null);

const withChangeId = <T extends object>(result: T, changeId: number | null): T & WithChangeId =>
  changeId === null ? result : { ...result, change_id: changeId };

const changedTask = ({ task, changeId }: Changed): Task & WithChangeId => withChangeId(task, changeId);

const deleted = ({ task, changeId }: Changed): DeletedTask & WithChangeId =>
  withChangeId({ task_id: task.id, deleted: true as const, title: task.title }, changeId);

const undone = (result: Undone): Undone & WithChangeId => withChangeId(result, result.change.id);

/** A task change as turn_effects recorded it: the task row with its change number. */
const recordedChange = (recorded: unknown): Changed => {
  const row = recorded as TaskJson & { change_id?: number | null };
  return { task: taskFromJson(row), changeId: row.change_id ?? null };
};

function define<Input extends z.ZodType>(definition: TaskToolDefinition<Input>): TaskToolDefinition<Input> {
  return definition;
}

// ---------------------------------------------------------------------------------------------
// The tools.

export const taskTools = {
  add_task: define({
    title: 'Add task',
    hints: hints(false, false),
    description: [
      'Create a new task for the user. Call it when the user asks to add, create, note or remember',
      'something to do. Put the action itself in `title` (short, as the user said it) and any extra',
      'detail in `description`. Turn relative dates ("tomorrow", "next Friday") into `due_date`',
      'YYYY-MM-DD using today\'s date, and a time ("at 5pm") into `due_time` 17:00. Only set',
      '`priority` when the user indicates it.',
      REPEAT_TEACHING,
      REMINDER_TEACHING,
      'Returns the created task, including its id.',
    ].join(' '),
    input: argsObject({
      title: titleArg.describe('What needs doing, 1 to 200 characters.'),
      description: descriptionArg.nullish().describe('Optional details, up to 2000 characters.'),
      due_date: dueDateArg.nullish().describe('Optional due date, YYYY-MM-DD.'),
      priority: priorityArg.nullish().describe('low, medium or high; medium when not given.'),
      ...timeArgs(false),
    }),
    output: changedTaskSchema,
    async run(repo, userId, args, origin) {
      const added = await repo.add(
        userId,
        {
          title: args.title,
          description: blankToNull(args.description) ?? null,
          dueDate: args.due_date ?? null,
          dueTime: args.due_time ?? null,
          repeat: args.repeat ?? null,
          reminder: args.reminder ?? null,
          priority: args.priority ?? 'medium',
        },
        origin,
      );
      return changedTask(added);
    },
    replay: (recorded) => changedTask(recordedChange(recorded)),
  }),

  list_tasks: define({
    title: 'List tasks',
    hints: hints(true, true),
    description: [
      "List the user's tasks, newest first. `total` is how many tasks match, which can be more",
      'than the tasks returned (raise `limit` or narrow with `search`); it is counted up to',
      `${TOTAL_CAP}, and ${TOTAL_CAP + 1} means more than ${TOTAL_CAP}. Call it to answer any`,
      'question about the tasks, and BEFORE completing, updating or deleting a task the user names',
      'by its title rather than its id, to find the id; if several tasks match, ask which one.',
      '`due` narrows to tasks due today, overdue (open, due before today) or week (due today or in',
      "the 6 days after), in the user's time zone.",
    ].join(' '),
    input: argsObject({
      status: statusArg.nullish().describe('pending = not done yet, completed = done, all (default) = both.'),
      search: searchArg
        .nullish()
        .describe('Optional text; only tasks whose title or description contains it (any case).'),
      limit: limitArg.nullish().describe('Most tasks to return, 1 to 100; 50 when not given.'),
      due: dueFilterArg.nullish().describe('today, overdue or week; any due date when not given.'),
    }),
    output: taskPageSchema,
    async run(repo, userId, args, origin) {
      return repo.list(userId, {
        status: args.status ?? 'all',
        search: args.search ?? undefined,
        limit: args.limit ?? DEFAULT_LIST_LIMIT,
        due: args.due ?? undefined,
        zone: origin.zone,
      });
    },
  }),

  complete_task: define({
    title: 'Complete or reopen task',
    // Not idempotent: each completion of a repeating task moves it one occurrence on.
    hints: hints(false, false),
    description: [
      'Mark one task as done, or reopen it with `completed: false`. Needs the numeric `task_id`:',
      'when the user names the task by its title, call list_tasks (with `search`) first.',
      'Completing a task that is already done is harmless. Completing a repeating task (one with',
      '`repeat`) keeps it open and moves its due date and reminder to the next occurrence (the',
      'result shows the new `due_date`); after its last occurrence it is done. So call it once per',
      'occurrence the user finished: a second call skips the next occurrence too, and is not a',
      'safe retry (check the task first). Returns the updated task.',
    ].join(' '),
    input: argsObject({
      task_id: taskId,
      completed: z
        .boolean({ error: 'completed must be true or false' })
        .nullish()
        .describe('true (default) marks the task done; false reopens it.'),
    }),
    output: changedTaskSchema,
    async run(repo, userId, args, origin) {
      const changed = await repo.setCompleted(userId, args.task_id, args.completed ?? true, origin);
      return changed ? changedTask(changed) : notFound(args.task_id);
    },
    replay: (recorded) => changedTask(recordedChange(recorded)),
  }),

  update_task: define({
    title: 'Update task',
    hints: hints(false, true),
    description: [
      "Change a task's title, description, due date, due time, repeat, reminder or priority. Give",
      '`task_id` and only the fields to change; null removes `description`, `due_date` (with its',
      'time and repeat), `due_time` and `reminder`, and `repeat: null` stops a repetition.',
      'Rescheduling or renaming a repeating task keeps its repeat; rescheduling moves its reminder',
      'by as many days, at the same local time.',
      REPEAT_TEACHING,
      REMINDER_TEACHING,
      'To mark a task done use complete_task instead. When the user names the task by its title,',
      'call list_tasks first to find its id. Returns the updated task.',
    ].join(' '),
    input: argsObject({
      task_id: taskId,
      title: titleArg.nullish().describe('New title.'),
      description: descriptionArg.nullish().describe('New details; null removes them.'),
      due_date: dueDateArg.nullish().describe('New due date YYYY-MM-DD; null removes it.'),
      priority: priorityArg.nullish().describe('New priority: low, medium or high.'),
      ...timeArgs(true),
    })
      .refine(
        (args) =>
          args.title != null ||
          args.priority != null ||
          args.description !== undefined ||
          args.due_date !== undefined ||
          args.due_time !== undefined ||
          args.repeat !== undefined ||
          args.reminder !== undefined,
        {
          error:
            'give at least one of title, description, due_date, due_time, repeat, reminder or priority to change',
        },
      )
      .refine(
        (args) => noDueDateConflict({ dueDate: args.due_date, dueTime: args.due_time, repeat: args.repeat }),
        dueDateConflict,
      ),
    output: changedTaskSchema,
    async run(repo, userId, args, origin) {
      const changed = await repo.update(
        userId,
        args.task_id,
        {
          title: args.title ?? undefined,
          description: blankToNull(args.description),
          dueDate: args.due_date,
          dueTime: args.due_time,
          repeat: args.repeat,
          reminder: args.reminder,
          priority: args.priority ?? undefined,
        },
        origin,
      );
      return changed ? changedTask(changed) : notFound(args.task_id);
    },
    replay: (recorded) => changedTask(recordedChange(recorded)),
  }),

  delete_task: define({
    title: 'Delete task',
    hints: hints(false, true, true),
    description: [
      'Delete one task (undo_change can bring it back). Only when the user clearly asks to delete',
      'that task; ask for confirmation before deleting several tasks or when unsure which one is',
      'meant. Needs the numeric `task_id` (call list_tasks first when the user gives a title).',
    ].join(' '),
    input: argsObject({ task_id: taskId }),
    output: deletedTaskSchema.extend({ change_id: changeIdResult }),
    async run(repo, userId, args, origin) {
      const changed = await repo.remove(userId, args.task_id, origin);
      return changed ? deleted(changed) : notFound(args.task_id);
    },
    replay: (recorded) => deleted(recordedChange(recorded)),
  }),

  undo_change: define({
    title: 'Undo change',
    // Destructive: undoing an add removes the task. Not idempotent: without change_id a second call
    // undoes the next change (and a repeat of the same change_id is refused).
    hints: hints(false, false, true),
    description: [
      'Undo one change of a task: puts the task back as it was before that change (a deleted task',
      'comes back with its own id, an added task is removed). Every tool result that changed a task',
      'carries its `change_id`; without `change_id` this undoes the newest change not yet undone',
      '(when that is an undo, it is redone). Refused when the task changed after that change or the',
      'change was already undone: the error says what happened. Returns the undo (itself a change,',
      'which can be undone) and the task as it is now (null when it was removed).',
    ].join(' '),
    input: argsObject({
      change_id: changeIdArg
        .nullish()
        .describe('The change to undo; the newest change not yet undone when not given.'),
    }),
    output: undoneSchema.extend({ change_id: changeIdResult }),
    async run(repo, userId, args, origin) {
      const result = await repo.undo(userId, args.change_id ?? undefined, origin);
      if (result.outcome === 'undone') return undone(result.undone);
      if (result.outcome === 'conflict') return { error: result.message };
      return {
        error: args.change_id ? `Change #${args.change_id} not found.` : 'There is no change to undo.',
      };
    },
    replay: (recorded) => undone(undoneFromJson(recorded as UndoJson)),
  }),
} satisfies Record<string, TaskToolDefinition>;

export type TaskToolName = keyof typeof taskTools;
export const taskToolNames = Object.keys(taskTools) as TaskToolName[];

export function isTaskToolName(name: string): name is TaskToolName {
  return Object.hasOwn(taskTools, name);
}

// ---------------------------------------------------------------------------------------------
// Running a tool, and serving the tools to the AI SDK.

export type RunOptions = {
  /** Who calls: the change log's source of every change a call makes. */
  source: ChangeSource;
  /** The chat turn's record of its changes; none over MCP, where every call is its own request. */
  ledger?: EffectLedger;
  /** Where a failure's detail goes (with the request id); never to the result. */
  log?: Logger;
  /**
   * The request's ends of the user's zone order (../time/zone.ts), where "today" is: the tool's
   * statement reads the stored zone between them. Not given: the stored zone, else the default.
   */
  zone?: RequestZone;
};

/**
 * Validates `rawArgs` (anything a model or MCP client sent) and runs the tool for `userId`.
 * Resolves to the contract's result or `{ error }` in our own words; rejects only when the
 * database is unavailable or did not answer in time (`DbUnavailableError`).
 */
export async function runTaskTool(
  repo: TaskRepository,
  userId: string,
  name: string,
  rawArgs: unknown,
  options: RunOptions,
): Promise<TaskToolResult> {
  if (!isTaskToolName(name)) return { error: `Unknown tool ${name}.` };
  const definition: TaskToolDefinition = taskTools[name];
  const parsed = definition.input.safeParse(rawArgs ?? {});
  if (!parsed.success) return { error: `Invalid arguments: ${describeIssues(parsed.error)}` };
  const changes = definition.replay !== undefined;
  const { source, zone } = options;
  try {
    if (changes && options.ledger) {
      const claim = options.ledger.claim(name, parsed.data as Record<string, unknown>);
      if ('replay' in claim)
        return (definition.replay as (recorded: unknown) => TaskToolResult)(claim.replay);
      return await definition.run(repo, userId, parsed.data, { source, effect: claim.record, zone });
    }
    return await definition.run(repo, userId, parsed.data, { source, zone });
  } catch (error) {
    if (error instanceof DbUnavailableError) throw error;
    options.log?.error('task tool failed', { tool: name, ...errorFields(error) });
    return { error: failureText(error, changes) };
  }
}

/**
 * A failure that is not an outage, in our words. With a SQLSTATE the database refused the
 * statement, which was rolled back: nothing was changed. Anything else is a bug, and whether the
 * change was made is not known, so nothing is claimed.
 */
function failureText(error: unknown, changes: boolean): string {
  const refused = causeChain(error).some((e) =>
    /^[0-9A-Z]{5}$/.test(String((e as { code?: unknown }).code ?? '')),
  );
  if (!refused) return 'The tool failed because of a server error.';
  return changes
    ? 'The database refused this change; nothing was changed.'
    : 'The database could not answer this request.';
}

function describeIssues(error: z.ZodError): string {
  const messages = error.issues.map((issue) => {
    const path = issue.path.join('.');
    return path && !issue.message.startsWith(path) ? `${path}: ${issue.message}` : issue.message;
  });
  return `${[...new Set(messages)].join('; ')}.`;
}

const jsonSchemas = new Map<TaskToolName, JSONSchema7>();
/** The part of a property's JSON schema that nullability is written in. */
type PropertySchema = boolean | { type?: unknown; anyOf?: PropertySchema[]; [keyword: string]: unknown };

/**
 * Arguments whose `null` means something (it removes the value), so their schema says null is
 * allowed. Every other optional argument is published as its plain type: validation still accepts
 * the null some models send for "not given", but a nullable form (`anyOf` with `null`, or a type
 * list) makes simple clients, such as the MCP Inspector's CLI, pass `limit=5` as the string "5".
 */
const NULL_REMOVES: Partial<Record<TaskToolName, readonly string[]>> = {
  update_task: ['description', 'due_date', 'due_time', 'repeat', 'reminder'],
};

/** The JSON schema of a tool's arguments, as the model and MCP clients see it. */
export function taskToolJsonSchema(name: TaskToolName): JSONSchema7 {
  let schema = jsonSchemas.get(name);
  if (!schema) {
    const { $schema: _, ...generated } = z.toJSONSchema(taskTools[name].input, {
      target: 'draft-7',
      io: 'input',
    }) as JSONSchema7;
    const keepNull = NULL_REMOVES[name] ?? [];
    const properties = Object.fromEntries(
      Object.entries((generated.properties ?? {}) as Record<string, PropertySchema>).map(
        ([key, property]) => [key, keepNull.includes(key) ? property : withoutNull(property)],
      ),
    );
    // Tells the model not to invent arguments (such as a user id); extras are dropped anyway.
    schema = {
      ...generated,
      properties: properties as JSONSchema7['properties'],
      additionalProperties: false,
    };
    jsonSchemas.set(name, schema);
  }
  return schema;
}

/** `anyOf: [T, {type: null}]` becomes T, `type: [t, "null"]` becomes `type: t`; the rest stays. */
function withoutNull(property: PropertySchema): PropertySchema {
  if (typeof property !== 'object') return property;
  if (Array.isArray(property.type)) {
    const types = property.type.filter((type: unknown) => type !== 'null');
    return { ...property, type: types.length === 1 ? types[0] : types };
  }
  const branches = property.anyOf?.filter(
    (branch) => !(typeof branch === 'object' && branch.type === 'null'),
  );
  if (branches?.length === 1 && typeof branches[0] === 'object') {
    const { anyOf: _, ...rest } = property;
    return { ...branches[0], ...rest };
  }
  return property;
}

/**
 * The task tools for one user's turn; the user id is bound here and never comes from the model.
 * A model's arguments are cleaned of text Postgres cannot hold (U+0000, lone surrogates) before
 * they run, with the same rule the stored tool call is cleaned with (see ../text.ts).
 */
export function createTaskTools(repo: TaskRepository, userId: string, options: RunOptions): ToolSet {
  const tools: ToolSet = {};
  for (const name of taskToolNames) {
    tools[name] = tool({
      description: taskTools[name].description,
      inputSchema: modelSchema(name),
      execute: (input: unknown) => runTaskTool(repo, userId, name, cleanDeep(input), options),
    });
  }
  return tools;
}

const modelSchemas = new Map<TaskToolName, ReturnType<typeof jsonSchema<unknown>>>();

/**
 * A tool's arguments as the AI SDK takes them, made once per process: every turn's tools share
 * it, so only `execute` (which binds the user) is new per turn. No validator: invalid input must
 * reach `execute` to become the contract's `{ error }`.
 */
function modelSchema(name: TaskToolName) {
  let schema = modelSchemas.get(name);
  if (!schema) {
    schema = jsonSchema<unknown>(taskToolJsonSchema(name));
    modelSchemas.set(name, schema);
  }
  return schema;
}
