/**
 * @module http/validation
 * One validation style for every request: zod schemas through `@hono/zod-validator`, with one hook
 * that turns the first problem into the contract's `400 invalid_request`, naming the field
 * ("message: message must not be empty"), so a client knows what to fix.
 *
 * @example
 * app.get('/tasks', validate('query', TaskQuery), (c) => list(c.req.valid('query')));
 */
import { zValidator } from '@hono/zod-validator';
import type { ValidationTargets } from 'hono';
import type { z } from 'zod';
import { ApiError } from './errors.ts';

export function validate<Target extends keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw invalidRequest(result.error as unknown as z.ZodError);
  });
}

/** The first issue of a failed parse as the contract's 400, prefixed with the field it concerns. */
export function invalidRequest(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return new ApiError('invalid_request', `${where}${issue?.message ?? 'invalid request'}`);
}
