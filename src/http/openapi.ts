/**
 * @module http/openapi
 * The API documents itself: every route carries its description (hono-openapi's `describeRoute`)
 * next to its code, `validate()` (http/validation.ts) records the zod schemas the route checks,
 * and `apiDocsRoutes` turns the app's routes into the OpenAPI 3.1 document (`GET /openapi.json`)
 * and a reference page rendered from it (`GET /docs`), both public. Nothing here is written
 * twice by hand: a route without a description is simply missing from the document, which the
 * test of the document catches.
 *
 * HTTP-generic only: the contract's error shape, response helpers and the two auth schemes; each
 * feature describes its own routes.
 *
 * @example
 * app.get('/things/:id', describeRoute({ summary: 'Get a thing', responses: {
 *   ...jsonResponse(200, 'The thing', thingSchema), ...errorResponses(401, 404) } }), handler);
 */
import { readFileSync } from 'node:fs';
import { type Context, Hono } from 'hono';
import { type DescribeRouteOptions, describeRoute, generateSpecs, resolver } from 'hono-openapi';
import { z } from 'zod';
import { renderReferencePage } from './docs-page.ts';
import type { AppEnv } from './env.ts';
import { ERROR_STATUS, type ErrorCode } from './errors.ts';

export type OpenApiDocument = Awaited<ReturnType<typeof generateSpecs>>;
type Responses = NonNullable<DescribeRouteOptions['responses']>;

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** What each error code means, as the contract words it. */
const ERROR_MEANINGS: Record<string, string> = {
  invalid_request:
    'malformed JSON, wrong types, empty or over-long text, malformed id, NUL characters or invalid Unicode; the message names the field',
  unauthorized: 'missing, expired, forged or wrongly signed credentials',
  forbidden_origin: 'an `Origin` (or dev-mode `Host`) that is not allowed',
  insufficient_scope: 'the token’s scopes do not allow this',
  not_found: 'no such conversation or task for this user (another user’s answers the same)',
  conversation_busy: 'another turn of the same conversation is still running',
  payload_too_large: 'body over the limit; the connection is closed',
  rate_limited: 'the user’s turns per minute are used up; `Retry-After` says when one frees up',
  budget_exhausted:
    'the user’s token budget for today (`USAGE_BUDGET_TOKENS_PER_DAY`) is spent; `Retry-After` says when their day ends',
  internal_error: 'a bug; the message never carries internal detail',
  model_error: 'the model provider answered with errors',
  db_unavailable: 'the database cannot be reached or did not answer in time; `Retry-After` is set',
  draining: 'the server is shutting down; `Retry-After` is set, another instance will answer',
  auth_unavailable:
    'the identity provider’s keys (`AUTH_JWKS_URL`) cannot be fetched, so the token cannot be checked; `Retry-After` is set',
  model_timeout: 'the model gave no answer within `MODEL_TIMEOUT_MS`',
};

const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

/** The contract's error body, the same for every route and status. */
export const errorSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string().meta({ description: 'A sentence for a person; names the field for 400.' }),
      requestId: z.string().optional().meta({ description: 'Also in the `X-Request-Id` header.' }),
    }),
  })
  .meta({ id: 'Error' });

const json = (schema: z.ZodType) => ({ 'application/json': { schema: resolver(schema) } });

/** A JSON response: `...jsonResponse(200, 'The task', taskSchema)`. */
export function jsonResponse(status: number, description: string, schema: z.ZodType): Responses {
  return { [status]: { description, content: json(schema) } };
}

export function noContentResponse(description: string): Responses {
  return { 204: { description } };
}

/**
 * The contract's error responses for the given statuses, each listing the codes it can carry.
 * `500 internal_error` is added to every route: any route can meet a bug.
 */
export function errorResponses(...statuses: number[]): Responses {
  const responses: Responses = {};
  for (const status of [...new Set([...statuses, 500])].sort()) {
    const codes = Object.entries(ERROR_STATUS)
      .filter(([, s]) => s === status)
      .map(([code]) => code);
    const description = codes.length
      ? codes.map((code) => `\`${code}\`: ${ERROR_MEANINGS[code] ?? code}`).join('; ')
      : 'an error';
    responses[status] = { description, content: json(errorSchema) };
  }
  return responses;
}

/** For routes that need no credentials (the default is the two schemes below). */
export const PUBLIC: NonNullable<DescribeRouteOptions['security']> = [];

const DESCRIPTION = [
  'Manage a person’s tasks by chatting with an AI (`POST /chat`), or directly (`/tasks`).',
  'The same task tools are served over MCP at `POST /mcp`.',
  '',
  'Every route needs credentials except the public ones marked here: `Authorization: Bearer <JWT>`',
  '(the user id is the token’s `sub`), or in dev mode the `X-User-Id` header. Everything a route',
  'touches belongs to that user: another user’s conversation or task answers exactly like one that',
  'does not exist (404). JSON field names are camelCase.',
  '',
  'Task ids are numbered per user: a user’s first task is 1, and a number is never reused after a delete.',
  '',
  'Every error is `{"error": {"code", "message"}}` with the codes listed for each response.',
].join('\n');

const TAGS = [
  { name: 'Chat', description: 'One chat turn: the model reads the message and runs the task tools.' },
  { name: 'Conversations', description: 'Stored conversations, read back.' },
  { name: 'Tasks', description: 'The user’s tasks, directly.' },
  { name: 'MCP', description: 'The task tools over the Model Context Protocol.' },
  { name: 'Operations', description: 'Health and this documentation.' },
];

/**
 * `GET /openapi.json` and `GET /docs` for `app`, built from its routes on first request (every
 * route is registered by then) and kept: the routes do not change while the process runs.
 * Mount before authentication: both are public.
 */
export function apiDocsRoutes(app: Hono<AppEnv>, title = 'taskchat'): Hono<AppEnv> {
  let document: Promise<OpenApiDocument> | undefined;
  let page: Promise<string> | undefined;
  const build = (c: Context<AppEnv>) => {
    document ??= generateSpecs(
      app,
      {
        documentation: {
          info: { title, version, description: DESCRIPTION },
          tags: TAGS,
          components: {
            securitySchemes: {
              bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
              devUser: {
                type: 'apiKey',
                in: 'header',
                name: 'X-User-Id',
                description: 'Dev mode only (`AUTH_MODE=dev`, refused in production): the user id itself.',
              },
            },
          },
          security: [{ bearerAuth: [] }, { devUser: [] }],
        },
        // `/openapi.json` is a route, not a static file.
        excludeStaticFile: false,
        // A validated route's 400 is the contract's error, not the library's default shape.
        defaultValidationErrorResponse: {
          description: 'invalid_request',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
      c,
    );
    return document;
  };

  const docs = new Hono<AppEnv>();
  docs.get(
    '/openapi.json',
    describeRoute({
      tags: ['Operations'],
      summary: 'This API as an OpenAPI 3.1 document',
      security: PUBLIC,
      responses: { 200: { description: 'The OpenAPI document', content: { 'application/json': {} } } },
    }),
    async (c) => c.json(await build(c)),
  );
  docs.get(
    '/docs',
    describeRoute({
      tags: ['Operations'],
      summary: 'This API’s reference page',
      description: 'A page for people, rendered on the server from the OpenAPI document: no script.',
      security: PUBLIC,
      responses: { 200: { description: 'HTML', content: { 'text/html': {} } } },
    }),
    async (c) => {
      page ??= build(c).then(renderReferencePage);
      return c.html(await page);
    },
  );
  return docs;
}
