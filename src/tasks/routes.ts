/** GET /tasks: the authenticated user's tasks, newest first, straight from the repository. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { Database } from '../db/client.ts';
import type { AppEnv } from '../http/app.ts';
import { ApiError } from '../http/errors.ts';
import { createTaskRepository, MAX_LIST_LIMIT } from './repository.ts';

const Query = z.object({
  status: z.enum(['all', 'pending', 'completed']).default('all'),
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(MAX_LIST_LIMIT),
  search: z.string().max(200).optional(),
});

export function taskRoutes(database: Database): Hono<AppEnv> {
  const repo = createTaskRepository(database);
  const app = new Hono<AppEnv>();
  app.get('/tasks', async (c) => {
    const query = Query.safeParse(c.req.query());
    if (!query.success) {
      throw new ApiError('invalid_request', 'status must be all, pending or completed; limit 1-100');
    }
    const { tasks, total } = await repo.list(c.get('userId'), query.data);
    return c.json({ tasks, total });
  });
  return app;
}
