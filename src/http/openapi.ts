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
  not_found: 'no such conversation, task, change or webhook for this user (another user’s answers the same)',
  method_not_allowed: 'the path exists, not with this method; the `Allow` header lists its methods',
  unsupported_media_type: 'a body that is not JSON (`Content-Type` must be `application/json`)',
  conversation_busy: 'another turn of the same conversation is still running',
  message_id_reused:
    'a `messageId` sent again with a different message (the stored answer is never returned for another question)',
  undo_conflict:
    'the task changed after the change to undo, or it was already undone; the message says which',
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
 * `500 internal_error` is added to every route: any route can meet a bug. What the app-wide
 * middleware answers (403, 413, 415) is added to the document in one place (`appWideResponses`).
 */
export function errorResponses(...statuses: number[]): Responses {
  const responses: Responses = {};
  for (const status of [...new Set([...statuses, 500])].sort()) {
    const codes = Object.entries(ERROR_STATUS)
      .filter(([, s]) => s === status)
      .map(([code]) => code);
    responses[status] = { description: describeCodes(codes), content: json(errorSchema) };
  }
  return responses;
}

function describeCodes(codes: readonly string[]): string {
  return codes.length
    ? codes.map((code) => `\`${code}\`: ${ERROR_MEANINGS[code] ?? code}`).join('; ')
    : 'an error';
}

type Operation = { security?: unknown[]; requestBody?: unknown; responses?: Record<string, unknown> };

/** Methods whose requests carry a body, and so meet the body limit. */
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

/**
 * Adds what the app-wide middleware can answer to every operation it applies to, so that no
 * route's description can leave it out: `403` (every request's origin is checked, http/origin.ts;
 * credentials' scopes too, unless the route is public), `413` for every method that carries a
 * body (the body limit), `415` for every JSON body (`validate`, and POST /mcp).
 */
function appWideResponses(document: OpenApiDocument): OpenApiDocument {
  const errorResponse = (codes: ErrorCode[]) => ({
    description: describeCodes(codes),
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  });
  for (const item of Object.values(document.paths ?? {})) {
    for (const [method, value] of Object.entries(item ?? {})) {
      const operation = value as Operation;
      if (typeof operation !== 'object' || !operation?.responses) continue;
      const { responses } = operation;
      const isPublic = Array.isArray(operation.security) && operation.security.length === 0;
      responses[403] ??= errorResponse(
        isPublic ? ['forbidden_origin'] : ['forbidden_origin', 'insufficient_scope'],
      );
      if (BODY_METHODS.has(method)) responses[413] ??= errorResponse(['payload_too_large']);
      const body = operation.requestBody as { content?: Record<string, unknown> } | undefined;
      if (body?.content?.['application/json']) responses[415] ??= errorResponse(['unsupported_media_type']);
    }
  }
  return document;
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
  'A path asked with a method it does not list answers `405 method_not_allowed`, with an `Allow`',
  'header naming the methods it takes.',
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
    ).then(appWideResponses);
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
