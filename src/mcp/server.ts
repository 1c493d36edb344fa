/**
 * @module mcp/server
 * The five task tools as an MCP server bound to one user: the same definitions the model gets
 * (`taskTools`: names, descriptions, JSON schemas, validation and `runTaskTool`), so an MCP host
 * and taskchat's own chat can never disagree about what a tool takes or does.
 *
 * The tools are served through the McpServer's underlying `Server` handlers rather than
 * `registerTool`: `registerTool` would list its own conversion of the zod schema (with `$schema`
 * and without the `additionalProperties: false` the model sees) and reject bad input with its own
 * wording before our validation runs. Here `tools/list` answers exactly `taskToolJsonSchema(name)`,
 * and bad input gets exactly the `{ error }` text the model would get, as an `isError` result.
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
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool,
  type ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
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

const MCP_SERVER_NAME = 'taskchat';

const MCP_SERVER_VERSION: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;

const INSTRUCTIONS = [
  "Manages one person's task list (the user this server was started or authenticated for).",
  'Find task ids with list_tasks before completing, updating or deleting a task named by its title.',
].join(' ');

// Hints for hosts deciding what to confirm with the user; none of them changes behaviour.
const ANNOTATIONS: Record<TaskToolName, ToolAnnotations> = {
  add_task: { title: 'Add task', readOnlyHint: false, destructiveHint: false, openWorldHint: false },
  list_tasks: { title: 'List tasks', readOnlyHint: true, openWorldHint: false },
  complete_task: {
    title: 'Complete or reopen task',
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  update_task: { title: 'Update task', readOnlyHint: false, destructiveHint: false, openWorldHint: false },
  delete_task: { title: 'Delete task', readOnlyHint: false, destructiveHint: true, openWorldHint: false },
};

let toolList: Tool[] | undefined;

/** The tool descriptors `tools/list` answers: built once, the same for every user. */
function mcpToolList(): Tool[] {
  toolList ??= taskToolNames.map((name) => ({
    name,
    description: taskTools[name].description,
    inputSchema: taskToolJsonSchema(name) as Tool['inputSchema'],
    outputSchema: outputJsonSchema(name),
    annotations: ANNOTATIONS[name],
  }));
  return toolList;
}

function outputJsonSchema(name: TaskToolName): Tool['outputSchema'] {
  const { $schema: _, ...schema } = z.toJSONSchema(taskTools[name].output, {
    target: 'draft-7',
    io: 'output',
  });
  return schema as Tool['outputSchema'];
}

export type McpServerOptions = {
  /** Where unexpected failures are logged; tool arguments and results are never logged. */
  logger?: Logger;
};

/** A new MCP server whose tools act for `userId` only. One per connection (or per HTTP request). */
export function createMcpServer(
  repo: TaskRepository,
  userId: string,
  options: McpServerOptions = {},
): McpServer {
  const mcp = new McpServer(
    { name: MCP_SERVER_NAME, version: MCP_SERVER_VERSION },
    { instructions: INSTRUCTIONS },
  );
  // Declared here rather than in the options: there, McpServer would install its own tool handlers.
  mcp.server.registerCapabilities({ tools: {} });

  mcp.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: mcpToolList() }));

  mcp.server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const { name, arguments: args } = request.params;
    // An unknown tool is a protocol error (the client asked for something never listed);
    // bad arguments to a known tool are a tool result the model can correct.
    if (!isTaskToolName(name)) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    let result: TaskToolResult;
    try {
      result = await runTaskTool(repo, userId, name, args ?? {}, { log: options.logger });
    } catch (error) {
      return failedCall(error, name, options.logger);
    }
    options.logger?.debug('mcp tool call', { tool: name, isError: 'error' in result });
    return toCallToolResult(result);
  });

  return mcp;
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
  const changes = taskTools[tool].resultOf !== undefined;
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
