/**
 * @module http/validation
 * One validation style for every request: zod schemas through `@hono/zod-validator`, with one hook
 * that turns the first problem into the contract's `400 invalid_request`, naming the field
 * ("message: message must not be empty"), so a client knows what to fix.
 *
 * Before the schema, every string of the input (and every key) must be valid text: a U+0000 or a
 * lone surrogate anywhere is refused with 400 naming where it is, because Postgres cannot store
 * it (see ../text.ts) and a request that cannot be stored must not start anything.
 *
 * @example
 * app.get('/tasks', validate('query', TaskQuery), (c) => list(c.req.valid('query')));
 */
import { zValidator } from '@hono/zod-validator';
import type { ValidationTargets } from 'hono';
import type { z } from 'zod';
import { findInvalidText } from '../text.ts';
import { ApiError } from './errors.ts';

export function validate<Target extends keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
) {
  return zValidator(
    target,
    schema,
    (result) => {
      if (!result.success) throw invalidRequest(result.error as unknown as z.ZodError);
    },
    {
      // The raw input, before the schema trims or drops anything.
      validationFunction: (s: Schema, value: unknown) => {
        const where = findInvalidText(value);
        if (where) throw invalidTextError(where);
        // zod-validator's result type is zod 3's; the value is the same parse result.
        return s.safeParseAsync(value) as never;
      },
    },
  );
}

/** The first issue of a failed parse as the contract's 400, prefixed with the field it concerns. */
export function invalidRequest(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return new ApiError('invalid_request', `${where}${issue?.message ?? 'invalid request'}`);
}

/** Text with U+0000 or a lone surrogate at `path`, as the contract's 400. */
export function invalidTextError(path: (string | number)[]): ApiError {
  const where = path.length ? `${path.join('.')}: ` : '';
  return new ApiError(
    'invalid_request',
    `${where}text must not contain NUL characters (U+0000) or invalid Unicode (lone surrogates)`,
  );
}
