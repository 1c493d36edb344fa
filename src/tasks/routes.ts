/**
 * @module tasks/routes
 * The task routes of the HTTP API, over the same repository and the same argument rules as the
 * tools (tasks/task.ts), scoped to the authenticated user.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../http/env.ts';
import { validate } from '../http/validation.ts';
import type { TaskRepository } from './repository.ts';
import { limitArg, MAX_LIST_LIMIT, searchArg, statusArg } from './task.ts';

const ListQuery = z.object({
  status: statusArg.default('all'),
  // Query strings are text: the number is read from it, then held to the tools' rule.
  limit: z
    .preprocess((value) => (value === undefined ? value : Number(value)), limitArg)
    .default(MAX_LIST_LIMIT),
  search: searchArg.optional(),
});

export function taskRoutes(repo: TaskRepository): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/tasks', validate('query', ListQuery), async (c) => {
    const { tasks, total } = await repo.list(c.get('userId'), c.req.valid('query'));
    return c.json({ tasks, total });
  });
  return app;
}
