/**
 * @module tasks/routes
 * The task routes of the HTTP API (what a UI's task panel needs), over the same repository and the
 * same argument rules, limits and messages as the tools (tasks/task.ts), scoped to the
 * authenticated user. Field names are camelCase over HTTP; a task id is the user's own number, and
 * another user's number answers exactly like a missing one (404 not_found).
 *
 * Unknown body fields are refused rather than dropped (`strictBody`): a client sending `due_date`
 * instead of `dueDate` learns it at once instead of getting a task without its date.
 */
import { type Context, Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import type { AppEnv } from '../http/env.ts';
import { notFound } from '../http/errors.ts';
import { errorResponses, jsonResponse, noContentResponse } from '../http/openapi.ts';
import { strictBody, validate } from '../http/validation.ts';
import { requestZone } from '../time/zone.ts';
import type { TaskRepository } from './repository.ts';
import {
  completedArg,
  descriptionArg,
  dueDateField,
  dueFilterArg,
  dueTimeField,
  limitArg,
  MAX_LIST_LIMIT,
  needsDueDate,
  priorityArg,
  reminderArg,
  repeatArg,
  searchArg,
  statusArg,
  taskIdParam,
  taskPageSchema,
  taskSchema,
  titleArg,
} from './task.ts';

// Named schemas in the OpenAPI document; the shapes themselves are task.ts's.
export const Task = taskSchema.meta({ id: 'Task' });
/** A changed task, with the change log's number for that change (absent when nothing changed). */
const ChangedTask = taskSchema
  .extend({
    changeId: z
      .number()
      .int()
      .optional()
      .meta({ description: 'The change this request made: `POST /changes/{changeId}/undo` undoes it.' }),
  })
  .meta({ id: 'ChangedTask' });
const TaskPage = taskPageSchema.extend({ tasks: z.array(Task) }).meta({ id: 'TaskPage' });

const ListQuery = z.object({
  status: statusArg.default('all'),
  // Query strings are text: the number is read from it, then held to the tools' rule.
  limit: z
    .preprocess((value) => (value === undefined ? value : Number(value)), limitArg)
    .default(MAX_LIST_LIMIT),
  search: searchArg.optional(),
  due: dueFilterArg.optional().meta({
    description:
      'today, overdue (open, due before today) or week (today and the 6 days after), in the user’s zone.',
  }),
});

const IdParam = z.object({
  id: taskIdParam.meta({ description: 'The task’s number: each user numbers their own tasks from 1.' }),
});

const dueDate = dueDateField.meta({ format: 'date' });

const CreateBody = strictBody({
  title: titleArg.meta({ description: 'What needs doing.' }),
  description: descriptionArg.nullish().meta({ description: 'Details; blank or null for none.' }),
  dueDate: dueDate.nullish().meta({ description: 'YYYY-MM-DD, a real calendar date.' }),
  priority: priorityArg.nullish().meta({ description: '`medium` when not given.' }),
  dueTime: dueTimeField
    .nullish()
    .meta({ description: 'HH:MM in the user’s zone; for today when no dueDate.' }),
  repeat: repeatArg.nullish().meta({
    description: 'An RRULE (FREQ=WEEKLY;BYDAY=MO); the dueDate is its first day, from today when not given.',
  }),
  reminder: reminderArg.nullish().meta({ description: 'ISO 8601 with offset; answered in UTC.' }),
});

const PatchBody = strictBody({
  title: titleArg.optional(),
  description: descriptionArg.nullable().optional().meta({ description: 'null (or blank) removes it.' }),
  dueDate: dueDate.nullable().optional().meta({ description: 'null removes it.' }),
  priority: priorityArg.optional(),
  completed: completedArg.optional().meta({ description: 'true marks the task done; false reopens it.' }),
  dueTime: dueTimeField.nullable().optional().meta({ description: 'HH:MM; null removes it.' }),
  repeat: repeatArg.nullable().optional().meta({ description: 'An RRULE; null stops the repetition.' }),
  reminder: reminderArg.nullable().optional().meta({ description: 'ISO 8601 with offset; null removes it.' }),
})
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), {
    error:
      'give at least one of title, description, dueDate, dueTime, priority, completed, repeat or reminder to change',
  })
  .refine(...needsDueDate('dueDate'));

// Blank text means "no description", as for the tools.
const blankToNull = (text: string | null | undefined) => (text === undefined ? undefined : text || null);

const tags = ['Tasks'];

/** Every change made here is logged as the REST API's. */
const rest = { source: 'rest' } as const;

export function taskRoutes(repo: TaskRepository, defaultTimezone = 'UTC'): Hono<AppEnv> {
  // The zone "today", "overdue", a repeat's first day and a moved reminder are reckoned in: the
  // request's ends of the order; the repository's statement reads the stored zone between them.
  const zoneOf = (c: Context<AppEnv>) => requestZone(c, defaultTimezone);
  const app = new Hono<AppEnv>();

  app.get(
    '/tasks',
    describeRoute({
      tags,
      summary: 'List tasks',
      description: 'The user’s tasks, newest first; `total` counts every match, beyond the page.',
      responses: { ...jsonResponse(200, 'A page of tasks', TaskPage), ...errorResponses(400, 401, 503) },
    }),
    validate('query', ListQuery),
    async (c) => {
      const { tasks, total } = await repo.list(c.get('userId'), {
        ...c.req.valid('query'),
        zone: zoneOf(c),
      });
      return c.json({ tasks, total });
    },
  );

  app.post(
    '/tasks',
    describeRoute({
      tags,
      summary: 'Create a task',
      description:
        'The new task gets the user’s next number: their first task is 1, and a deleted task’s number is never given again.',
      responses: { ...jsonResponse(201, 'The created task', Task), ...errorResponses(400, 401, 503) },
    }),
    validate('json', CreateBody),
    async (c) => {
      const body = c.req.valid('json');
      const { task } = await repo.add(
        c.get('userId'),
        {
          title: body.title,
          description: blankToNull(body.description) ?? null,
          dueDate: body.dueDate ?? null,
          dueTime: body.dueTime ?? null,
          repeat: body.repeat ?? null,
          reminder: body.reminder ?? null,
          priority: body.priority ?? 'medium',
        },
        { ...rest, zone: zoneOf(c) },
      );
      return c.json(task, 201);
    },
  );

  app.get(
    '/tasks/:id',
    describeRoute({
      tags,
      summary: 'Get a task',
      responses: { ...jsonResponse(200, 'The task', Task), ...errorResponses(400, 401, 404, 503) },
    }),
    validate('param', IdParam),
    async (c) => {
      const task = await repo.get(c.get('userId'), c.req.valid('param').id);
      if (!task) throw notFound('Task');
      return c.json(task);
    },
  );

  app.patch(
    '/tasks/:id',
    describeRoute({
      tags,
      summary: 'Change a task',
      description:
        'Only the fields given change; `description: null` or `dueDate: null` removes them (a dueDate with its dueTime and repeat), `repeat: null` stops a repetition, `completed` marks the task done or reopens it: a repeating task stays open and moves to its next occurrence.',
      responses: {
        ...jsonResponse(200, 'The updated task, with the change it made', ChangedTask),
        ...errorResponses(400, 401, 404, 503),
      },
    }),
    validate('param', IdParam),
    validate('json', PatchBody),
    async (c) => {
      const body = c.req.valid('json');
      const changed = await repo.update(
        c.get('userId'),
        c.req.valid('param').id,
        { ...body, description: blankToNull(body.description) },
        { ...rest, zone: zoneOf(c) },
      );
      if (!changed) throw notFound('Task');
      // The page's "Undo" after a tick needs the change it made; a no-op logged none.
      return c.json(
        changed.changeId === null ? changed.task : { ...changed.task, changeId: changed.changeId },
      );
    },
  );

  app.delete(
    '/tasks/:id',
    describeRoute({
      tags,
      summary: 'Delete a task',
      description:
        'Its number is not given to another task. `POST /changes/{id}/undo` of the delete brings it back with the same number.',
      responses: { ...noContentResponse('Deleted'), ...errorResponses(400, 401, 404, 503) },
    }),
    validate('param', IdParam),
    async (c) => {
      if (!(await repo.remove(c.get('userId'), c.req.valid('param').id, rest))) throw notFound('Task');
      return c.body(null, 204);
    },
  );

  return app;
}
