/**
 * @module http/validation
 * One validation style for every request: zod schemas through hono-openapi's validator, with one
 * hook that turns the first problem into the contract's `400 invalid_request`, naming the field
 * ("message: message must not be empty"), so a client knows what to fix. The same validator
 * records the schema for the OpenAPI document (http/openapi.ts), so what /openapi.json says a
 * route takes is exactly what the route checks.
 *
 * @example
 * app.get('/tasks', validate('query', TaskQuery), (c) => list(c.req.valid('query')));
 */
import type { ValidationTargets } from 'hono';
import { validator } from 'hono-openapi';
import type { z } from 'zod';
import { ApiError } from './errors.ts';

export function validate<Target extends keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
) {
  return validator(target, schema, (result) => {
    if (!result.success) throw invalidRequest({ issues: result.error });
  });
}

/** A problem as zod and every Standard Schema library report it. */
type Issue = {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
};

/** The first issue of a failed parse (a ZodError, or any Standard Schema result) as the contract's 400. */
export function invalidRequest(error: { readonly issues: readonly Issue[] }): ApiError {
  const issue = error.issues[0];
  const path = (issue?.path ?? []).map((segment) => (typeof segment === 'object' ? segment.key : segment));
  const where = path.length ? `${path.map(String).join('.')}: ` : '';
  return new ApiError('invalid_request', `${where}${issue?.message ?? 'invalid request'}`);
}
