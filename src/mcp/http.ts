/**
 * @module mcp/http
 * `POST /mcp`: MCP over Streamable HTTP, stateless, for both protocol generations. Every request
 * gets its own server (./server.ts) bound to the user the app's auth middleware authenticated, so
 * any instance can answer any request and nothing is kept between them.
 *
 * - 2026-07-28 requests (each carries its protocol version in `_meta`; no handshake, no session)
 *   go to the SDK's `createMcpHandler`.
 * - 2025-era requests (`initialize`, then calls without a session) go to a per-request
 *   `WebStandardStreamableHTTPServerTransport`, as before the SDK had a second generation: the
 *   handler's own fallback for them would answer in SSE, and here every answer is plain JSON.
 *   Each tool call is one short database statement; there is nothing to stream.
 *
 * Scopes are checked here, before the SDK sees the request, per JSON-RPC message: `tools/list`
 * and read-only tools need `tasks:read`, the other tools `tasks:write`, the handshake and
 * notifications nothing. A missing scope is an HTTP `403 insufficient_scope` with the
 * `WWW-Authenticate` challenge (auth/scopes.ts), not a tool error: that is what MCP hosts act on
 * to ask the user for more access (step-up) and retry; an `isError` result would only tell the
 * model, which cannot grant anything.
 *
 * Without sessions there is no server-to-client stream to open (GET) and no session to end
 * (DELETE); both answer 405, as the SDK's own stateless servers do, and clients take that as
 * "no stream offered".
 *
 * @example
 * app.use(authenticate(config.auth, resource));
 * app.route('/mcp', mcpRoute(tasks, resource));
 */
import {
  type AuthInfo,
  createMcpHandler,
  isJsonContentType,
  isLegacyRequest,
  type McpRequestContext,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import type { ProtectedResource } from '../auth/resource-metadata.ts';
import { requireScopes, TASK_SCOPES, type TaskScope } from '../auth/scopes.ts';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/errors.ts';
import { errorResponses } from '../http/openapi.ts';
import { requireJsonBody } from '../http/validation.ts';
import type { Logger } from '../log.ts';
import type { TaskRepository } from '../tasks/repository.ts';
import { type RequestZone, requestZone } from '../time/zone.ts';
import { createMcpServer, toolScope } from './server.ts';

/** What the route hands the server factory through the SDK (`AuthInfo.extra`). */
type Caller = { userId: string; logger: Logger; zone: RequestZone };

/** Methods any authenticated caller may send: the handshake, discovery and liveness. */
const OPEN_METHODS = new Set(['initialize', 'server/discover', 'ping']);

const jsonRpcErrorSchema = {
  type: 'object' as const,
  required: ['jsonrpc', 'error', 'id'],
  properties: {
    jsonrpc: { const: '2.0' },
    error: {
      type: 'object' as const,
      required: ['code', 'message'],
      properties: { code: { type: 'integer' as const }, message: { type: 'string' as const } },
    },
    id: { type: ['string', 'number', 'null'] as ('string' | 'number' | 'null')[] },
  },
};

const mcpDocs = describeRoute({
  tags: ['MCP'],
  summary: 'MCP Streamable HTTP (stateless)',
  description:
    'A JSON-RPC message of the Model Context Protocol, answered with JSON (no SSE, no session). Serves the task tools for the authenticated user. `GET` and `DELETE` answer 405: there is no stream to open and no session to end.',
  requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
  responses: {
    200: {
      description: 'The JSON-RPC answer',
      content: { 'application/json': { schema: { type: 'object' } } },
    },
    202: { description: 'Accepted (a notification or response, which has no answer)' },
    400: {
      description:
        'A JSON-RPC error, as MCP clients expect: the body is not JSON (`-32700`) or not a JSON-RPC message (`-32600`). An `X-Timezone` that is not an IANA zone name is refused before any message runs, with the API’s `invalid_request` error body.',
      content: { 'application/json': { schema: jsonRpcErrorSchema } },
    },
    ...errorResponses(401, 403, 413, 503),
  },
});

export function mcpRoute(
  repo: TaskRepository,
  resource?: ProtectedResource | undefined,
  defaultTimezone = 'UTC',
): Hono<AppEnv> {
  const serverFor = (ctx: Pick<McpRequestContext, 'authInfo'>) => {
    const caller = ctx.authInfo?.extra?.caller as Caller | undefined;
    // The route always passes a caller; refuse rather than serve tools for nobody if it ever does not.
    if (!caller) throw new Error('MCP request without an authenticated caller');
    return createMcpServer(repo, caller.userId, { logger: caller.logger, zone: caller.zone });
  };
  // The default response mode answers one JSON body unless a handler sends something before its
  // result, which ours never do ('json' would say so on the console at every start).
  const modern = createMcpHandler(serverFor, { legacy: 'reject' });

  const route = new Hono<AppEnv>();

  route.post('/', mcpDocs, async (c) => {
    const userId = c.get('userId');
    // Mounted behind auth; refuse rather than serve tools for nobody if it ever is not.
    if (!userId) throw new ApiError('unauthorized', 'Authentication required');

    // Read once and handed to the SDK as parsed, so the scope check and the SDK see the same
    // messages. A body that is not JSON is refused as on every JSON route.
    await requireJsonBody(c);
    let parsedBody: unknown;
    if (isJsonContentType(c.req.header('content-type') ?? null)) {
      try {
        parsedBody = JSON.parse(await c.req.text());
      } catch {
        return c.json(
          { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: Invalid JSON' }, id: null },
          400,
        );
      }
      requireScopes(c.get('scopes'), scopesNeeded(parsedBody), resource);
    }

    // A bad X-Timezone is refused (400) before any message runs, as on every route.
    const caller: Caller = { userId, logger: c.get('log'), zone: requestZone(c, defaultTimezone) };
    const authInfo: AuthInfo = {
      token: '',
      clientId: userId,
      scopes: [...(c.get('scopes') ?? TASK_SCOPES)],
      extra: { caller },
    };
    const options = parsedBody === undefined ? { authInfo } : { authInfo, parsedBody };
    if (!(await isLegacyRequest(c.req.raw, parsedBody))) return modern.fetch(c.req.raw, options);

    const server = serverFor({ authInfo });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    try {
      await server.connect(transport);
      // With JSON responses this settles once every answer is in the body: nothing is left to send.
      return await transport.handleRequest(c.req.raw, options);
    } finally {
      await server.close(); // closes the transport too
    }
  });

  route.all('/', (c) =>
    c.json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null }, 405, {
      Allow: 'POST',
    }),
  );

  return route;
}

/** The scopes the JSON-RPC message(s) of a request need (2025-era clients may send a batch). */
function scopesNeeded(body: unknown): TaskScope[] {
  const messages: unknown[] = Array.isArray(body) ? body : [body];
  return messages.flatMap((message) => {
    const scope = messageScope(message);
    return scope ? [scope] : [];
  });
}

function messageScope(message: unknown): TaskScope | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const { method, params } = message as { method?: unknown; params?: { name?: unknown } };
  // Responses and malformed messages run nothing; the SDK refuses what it cannot read.
  if (typeof method !== 'string') return undefined;
  if (OPEN_METHODS.has(method) || method.startsWith('notifications/')) return undefined;
  if (method === 'tools/call') return toolScope(typeof params?.name === 'string' ? params.name : '');
  return 'tasks:read';
}
