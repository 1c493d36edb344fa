/**
 * @module http/validation
 * One validation style for every request: zod schemas through hono-openapi's validator, with one
 * hook that turns the first problem into the contract's `400 invalid_request`, naming the field
 * ("message: message must not be empty"), so a client knows what to fix. The same validator
 * records the schema for the OpenAPI document (http/openapi.ts), so what /openapi.json says a
 * route takes is exactly what the route checks.
 *
 * A JSON body must say so: a body sent with any other `Content-Type` (a form, text, or none) is
 * `415 unsupported_media_type`, rather than read as an empty object and refused for a missing
 * field the client did send. Bodies are strict (`strictBody`): an unknown field is a 400 naming
 * it, so `due_date` for `dueDate` is caught instead of silently dropped.
 *
 * Before the schema, every string of the input (and every key) must be valid text: a U+0000 or a
 * lone surrogate anywhere is refused with 400 naming where it is, because Postgres cannot store
 * it (see ../text.ts) and a request that cannot be stored must not start anything.
 *
 * @example
 * app.get('/tasks', validate('query', TaskQuery), (c) => list(c.req.valid('query')));
 */
import type { Context, MiddlewareHandler, ValidationTargets } from 'hono';
import { validator } from 'hono-openapi';
import { z } from 'zod';
import { findInvalidText } from '../text.ts';
import { ApiError } from './errors.ts';

export function validate<Target extends keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
) {
  const documented = validator(target, schema, (result) => {
    if (!result.success) throw invalidRequest({ issues: result.error });
  });
  // The raw input is checked before the schema trims or drops anything. The check runs in front
  // of hono-openapi's middleware and carries its route metadata, so the document is unchanged.
  const checked: MiddlewareHandler = async (c, next) => {
    if (target === 'json') await requireJsonBody(c);
    const where = findInvalidText(await rawInput(c, target));
    if (where) throw invalidTextError(where);
    return documented(c, next);
  };
  return Object.assign(checked, documented) as typeof documented;
}

/**
 * A JSON request body object that refuses unknown fields, naming them and the fields it takes.
 * @example strictBody({ title: titleArg, priority: priorityArg.optional() })
 */
export function strictBody<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.join(', ')}; the fields are ${Object.keys(shape).join(', ')}`
        : 'the body must be a JSON object',
  });
}

/** What Hono's validator parses as JSON (any other type reaches the schema as `{}`). */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * A body that is there must be JSON (`415 unsupported_media_type`); no body at all is left to the
 * schema, which names what is missing. `validate('json', ...)` runs it; a JSON route that reads
 * its body itself calls it first.
 */
export async function requireJsonBody(c: Context): Promise<void> {
  const contentType = c.req.header('content-type');
  const mediaType = contentType?.split(';')[0]?.trim() ?? '';
  if (JSON_MEDIA_TYPE.test(mediaType)) return;
  if (contentType === undefined && (await c.req.text()) === '') return;
  throw new ApiError(
    'unsupported_media_type',
    'The body must be JSON, sent with the header Content-Type: application/json',
  );
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

/** Text with U+0000 or a lone surrogate at `path`, as the contract's 400. */
export function invalidTextError(path: (string | number)[]): ApiError {
  const where = path.length ? `${path.join('.')}: ` : '';
  return new ApiError(
    'invalid_request',
    `${where}text must not contain NUL characters (U+0000) or invalid Unicode (lone surrogates)`,
  );
}

/** What the validator will read for `target`, as sent; undefined where there is nothing to check. */
async function rawInput(c: Context, target: keyof ValidationTargets): Promise<unknown> {
  switch (target) {
    case 'json':
      // Only JSON gets here (requireJsonBody). Malformed JSON is the validator's to refuse; the
      // body is cached for it either way.
      return c.req.json().catch(() => undefined);
    case 'query':
      // As the validator reads it: a name given once is a string, given twice a list.
      return Object.fromEntries(
        Object.entries(c.req.queries()).map(([name, values]) => [
          name,
          values.length === 1 ? values[0] : values,
        ]),
      );
    case 'param':
      return c.req.param();
    default:
      return undefined;
  }
}
