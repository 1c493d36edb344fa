/**
 * @module mcp/http
 * `POST /mcp`: MCP over Streamable HTTP, stateless. Every request gets its own McpServer and
 * transport, bound to the user the app's auth middleware authenticated, so any instance can answer
 * any request and nothing is kept between them. Answers are plain JSON (no SSE): every tool call
 * is one short database statement, there is nothing to stream.
 *
 * Without sessions there is no server-to-client stream to open (GET) and no session to end
 * (DELETE); both answer 405, as the SDK's own stateless servers do, and clients take that as
 * "no stream offered". Left to the transport, a GET would hold an idle SSE stream open forever.
 *
 * @example
 * app.use(authenticate(config.auth));
 * app.route('/mcp', mcpRoute(tasks));
 */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/errors.ts';
import { errorResponses } from '../http/openapi.ts';
import type { TaskRepository } from '../tasks/repository.ts';
import { createMcpServer } from './server.ts';

const mcpDocs = describeRoute({
  tags: ['MCP'],
  summary: 'MCP Streamable HTTP (stateless)',
  description:
    'A JSON-RPC message of the Model Context Protocol, answered with JSON (no SSE, no session). Serves the five task tools for the authenticated user. `GET` and `DELETE` answer 405: there is no stream to open and no session to end.',
  requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
  responses: {
    200: {
      description: 'The JSON-RPC answer',
      content: { 'application/json': { schema: { type: 'object' } } },
    },
    202: { description: 'Accepted (a notification or response, which has no answer)' },
    ...errorResponses(401, 413),
  },
});

export function mcpRoute(repo: TaskRepository): Hono<AppEnv> {
  const route = new Hono<AppEnv>();

  route.post('/', mcpDocs, async (c) => {
    const userId = c.get('userId');
    // Mounted behind auth; refuse rather than serve tools for nobody if it ever is not.
    if (!userId) throw new ApiError('unauthorized', 'Authentication required');
    const server = createMcpServer(repo, userId, { logger: c.get('log') });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    try {
      await server.connect(transport);
      // With JSON responses this settles once every answer is in the body: nothing is left to send.
      return await transport.handleRequest(c.req.raw);
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
