/**
 * @module mcp/server
 * The task tools as an MCP server bound to one user: the same definitions the model gets
 * (`taskTools`: names, descriptions, JSON schemas, validation and `runTaskTool`), so an MCP host
 * and taskchat's own chat can never disagree about what a tool takes or does. Built on the MCP
 * SDK v2's low-level `Server`, which serves both protocol generations (2025-11-25 with its
 * `initialize` handshake, and 2026-07-28 without one) from the same handlers; ./http.ts and
 * ./stdio.ts make one per request or connection.
 *
 * The low-level handlers rather than `McpServer.registerTool`: that would list its own conversion
 * of a schema and reject bad input with the SDK's wording before our validation runs. Here
 * `tools/list` answers exactly `taskToolJsonSchema(name)`, and bad input gets exactly the
 * `{ error }` text the model would get, as an `isError` result.
 *
 * Hosts that render MCP Apps show `list_tasks` as an interactive task list (./app-resource.ts):
 * the tool names the `ui://` resource in its `_meta`, and `resources/list` / `resources/read`
 * serve it. The text result is unchanged, for every other host.
 *
 * No list here has a second page, so any `cursor` is one this server never gave: `-32602`.
 *
 * What a host shows a person (each tool's title and the hints hosts use to decide what to confirm)
 * is defined with the tool (../tasks/tools.ts) and read here. The read-only hint also decides the
 * scope a call needs over HTTP (`toolScope`).
 *
 * Time is the user's: "today" (a list's due filter, a repeat's first day) and the local time a
 * moved reminder keeps are reckoned in the request's zone (`McpServerOptions.zone`), else the
 * user's stored one, read by each tool's own statement (no round trip of its own), else the
 * token's `zoneinfo`, else `DEFAULT_TIMEZONE`.
 *
 * The user id comes from whoever built the server (authentication, or TASKCHAT_USER for stdio);
 * no tool argument can name another user. Every failure of a known tool is an `isError` result
 * in our own words, which the host shows to its model: bad arguments (text with U+0000 or a lone
 * surrogate included), and a database that is down or did not answer in time, saying whether the
 * change may have been made. Nothing internal is disclosed; the detail goes to the log.
 *
 * @example
 * const server = createMcpServer(createTaskRepository(database), userId);
 * await server.connect(transport);
 */
import { readFileSync } from 'node:fs';
import {
  type CallToolResult,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type Tool,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { TaskScope } from '../auth/scopes.ts';
import { DbUnavailableError } from '../db/resilience.ts';
import { describeError } from '../http/errors.ts';
import { errorFields, type Logger } from '../log.ts';
import type { TaskRepository } from '../tasks/repository.ts';
import {
  isTaskToolName,
  runTaskTool,
  type TaskToolName,
  type TaskToolResult,
  taskToolJsonSchema,
  taskToolNames,
  taskTools,
} from '../tasks/tools.ts';
import type { RequestZone } from '../time/zone.ts';
import { APP_TOOL_META, readAppResource, TASK_LIST_APP } from './app-resource.ts';

const MCP_SERVER_NAME = 'taskchat';

const MCP_SERVER_VERSION: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;

const INSTRUCTIONS = [
  "Manages one person's task list (the user this server was started or authenticated for).",
  'Find task ids with list_tasks before completing, updating or deleting a task named by its title.',
].join(' ');

/** The scope a call of `name` needs: `tasks:read` for read-only tools, `tasks:write` otherwise. */
export function toolScope(name: string): TaskScope {
  return isTaskToolName(name) && taskTools[name].hints.readOnlyHint ? 'tasks:read' : 'tasks:write';
}

let toolList: Tool[] | undefined;

/** The tool descriptors `tools/list` answers: built once, the same for every user. */
function mcpToolList(): Tool[] {
  toolList ??= taskToolNames.map((name) => {
    const { title, hints } = taskTools[name];
    return {
      name,
      title,
      description: taskTools[name].description,
      inputSchema: taskToolJsonSchema(name) as Tool['inputSchema'],
      outputSchema: outputJsonSchema(name),
      // The title again for hosts of the 2025-03-26 generation, which read it only here.
      annotations: { title, ...hints },
      ...(APP_TOOL_META[name] ? { _meta: APP_TOOL_META[name] } : {}),
    };
  });
  return toolList;
}

function outputJsonSchema(name: TaskToolName): Tool['outputSchema'] {
  const { $schema: _, ...schema } = z.toJSONSchema(taskTools[name].output, {
    target: 'draft-7',
    io: 'output',
  });
  return singleTypes(schema) as Tool['outputSchema'];
}

/**
 * Nullable fields as `anyOf` branches of one type each, instead of zod's `type: [t, "null"]`:
 * clients that map schemas onto a single-type dialect (Gemini's function declarations, the
 * Inspector's `--strict` portability check) reject or drop type lists.
 */
function singleTypes(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(singleTypes);
  if (typeof schema !== 'object' || schema === null) return schema;
  const entries = Object.entries(schema).map(([key, value]) => [key, singleTypes(value)] as const);
  const node = Object.fromEntries(entries) as Record<string, unknown>;
  if (!Array.isArray(node.type)) return node;
  const { type, description, ...rest } = node as { type: string[]; description?: unknown };
  const branches = type.map((one) => (one === 'null' ? { type: 'null' } : { type: one, ...rest }));
  return description === undefined ? { anyOf: branches } : { description, anyOf: branches };
}

export type McpServerOptions = {
  /** Where unexpected failures are logged; tool arguments and results are never logged. */
  logger?: Logger | undefined;
  /**
   * The request's ends of the user's zone order (`X-Timezone`; the token's `zoneinfo`, else
   * `DEFAULT_TIMEZONE`): each tool's own statement reads the stored zone between them. Not given
   * (stdio): the stored zone, else the repository's default.
   */
  zone?: RequestZone | undefined;
};

/** A new MCP server whose tools act for `userId` only. One per connection (or per HTTP request). */
export function createMcpServer(
  repo: TaskRepository,
  userId: string,
  options: McpServerOptions = {},
): Server {
  const server = new Server(
    { name: MCP_SERVER_NAME, title: 'taskchat tasks', version: MCP_SERVER_VERSION },
    { capabilities: { tools: {}, resources: {} }, instructions: INSTRUCTIONS },
  );

  server.setRequestHandler('tools/list', (request) => {
    refuseCursor(request.params?.cursor);
    return { tools: mcpToolList() };
  });

  server.setRequestHandler('resources/list', (request) => {
    refuseCursor(request.params?.cursor);
    return { resources: [TASK_LIST_APP] };
  });

  // Part of the resources capability; there are no templates, only the one fixed `ui://` URI.
  server.setRequestHandler('resources/templates/list', (request) => {
    refuseCursor(request.params?.cursor);
    return { resourceTemplates: [] };
  });

  server.setRequestHandler('resources/read', (request) => readAppResource(request.params.uri));

  server.setRequestHandler('tools/call', async (request) => {
    const { name, arguments: args } = request.params;
    // An unknown tool is a protocol error (the client asked for something never listed);
    // bad arguments to a known tool are a tool result the model can correct.
    if (!isTaskToolName(name)) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
    }
    let result: TaskToolResult;
    try {
      result = await runTaskTool(repo, userId, name, args ?? {}, {
        source: 'mcp',
        log: options.logger,
        ...(options.zone ? { zone: options.zone } : {}),
      });
    } catch (error) {
      return failedCall(error, name, options.logger);
    }
    options.logger?.debug('mcp tool call', { tool: name, isError: 'error' in result });
    return toCallToolResult(result);
  });

  return server;
}

/** Every list fits one page, so a cursor can only be one this server never handed out. */
function refuseCursor(cursor: string | undefined): void {
  if (cursor !== undefined) {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid cursor: this list has only one page');
  }
}

/** The contract's tool result as MCP content: JSON text plus the same value as structured content. */
function toCallToolResult(result: TaskToolResult): CallToolResult {
  if ('error' in result) return { content: [{ type: 'text', text: result.error }], isError: true };
  return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
}

/**
 * A tool call the server could not complete, as an `isError` result: the contract's sentence, and
 * for a change what became of it (nothing, or perhaps it was made: look before doing it again).
 */
function failedCall(error: unknown, tool: TaskToolName, logger: Logger | undefined): CallToolResult {
  const { code, message, headers } = describeError(error);
  if (code === 'internal_error') logger?.error('mcp tool call failed', { tool, ...errorFields(error) });
  else logger?.warn(`mcp tool call failed: ${code}`, { tool, ...errorFields(error) });
  const changes = taskTools[tool].replay !== undefined;
  const outcome = !changes
    ? ''
    : error instanceof DbUnavailableError && error.mayHaveRun
      ? ' The change may have been made: list the tasks before trying again.'
      : ' Nothing was changed.';
  const retryAfter = headers['Retry-After'];
  return {
    content: [{ type: 'text', text: `${message}.${outcome}`.replace('..', '.') }],
    isError: true,
    ...(retryAfter ? { _meta: { retryAfterSeconds: Number(retryAfter) } } : {}),
  };
}
