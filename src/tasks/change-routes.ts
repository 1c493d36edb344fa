/**
 * @module tasks/change-routes
 * The change log over HTTP: the user's changes, newest first, and undo. Every change of a task is
 * recorded by the statement that makes it, whatever made it (./changes.ts); these routes read that
 * log and undo through it, so an undo from here is logged as the REST API's change like any other.
 * Another user's change answers exactly like a missing one (404 not_found).
 */
import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import type { AppEnv } from '../http/env.ts';
import { ApiError, notFound } from '../http/errors.ts';
import { errorResponses, jsonResponse } from '../http/openapi.ts';
import { validate } from '../http/validation.ts';
import type { TaskRepository } from './repository.ts';
import { Task } from './routes.ts';
import { changeSchema, DEFAULT_LIST_LIMIT, idParam, limitArg } from './task.ts';

// Named schemas in the OpenAPI document; the shapes themselves are task.ts's.
const Change = changeSchema
  .extend({ before: Task.nullable(), after: Task.nullable() })
  .meta({ id: 'Change' });
const ChangePage = z.object({ changes: z.array(Change) }).meta({ id: 'ChangePage' });
const Undone = z.object({ change: Change, task: Task.nullable() }).meta({ id: 'Undone' });

// Query strings are text: numbers are read from them, then held to the same rules as elsewhere.
const asNumber = (value: unknown) => (value === undefined ? value : Number(value));
const BEFORE_MESSAGE = 'before must be a positive whole number (a change id)';
const ListQuery = z.object({
  limit: z.preprocess(asNumber, limitArg).default(DEFAULT_LIST_LIMIT),
  before: z
    .preprocess(
      asNumber,
      z.number({ error: BEFORE_MESSAGE }).int({ error: BEFORE_MESSAGE }).min(1, { error: BEFORE_MESSAGE }),
    )
    .optional()
    .meta({ description: 'Only changes with a smaller id: the next page after one ending there.' }),
});

const IdParam = z.object({
  id: idParam('id must be a positive whole number (a change id GET /changes shows)').meta({
    description: 'The change’s number: each user numbers their own changes from 1.',
  }),
});

const tags = ['Changes'];

export function changeRoutes(repo: TaskRepository): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get(
    '/changes',
    describeRoute({
      tags,
      summary: 'List changes',
      description:
        'Every change of the user’s tasks, whatever made it (chat, MCP, this API, the worker), newest first, with the task before and after it.',
      responses: { ...jsonResponse(200, 'A page of changes', ChangePage), ...errorResponses(400, 401, 503) },
    }),
    validate('query', ListQuery),
    async (c) => c.json({ changes: await repo.changes(c.get('userId'), c.req.valid('query')) }),
  );

  app.post(
    '/changes/:id/undo',
    describeRoute({
      tags,
      summary: 'Undo a change',
      description:
        'Puts the task back as it was before that change: an undone delete brings the task back with the same number, an undone add removes it. The undo is itself a change (action `undo`), which can be undone in turn. Refused with `409 undo_conflict` when the task changed after that change or the change was already undone.',
      responses: {
        ...jsonResponse(200, 'The undo and the task as it left it (null: removed)', Undone),
        ...errorResponses(400, 401, 404, 409, 503),
      },
    }),
    validate('param', IdParam),
    async (c) => {
      const result = await repo.undo(c.get('userId'), c.req.valid('param').id, { source: 'rest' });
      if (result.outcome === 'not_found') throw notFound('Change');
      if (result.outcome === 'conflict') throw new ApiError('undo_conflict', result.message);
      return c.json(result.undone);
    },
  );

  return app;
}
