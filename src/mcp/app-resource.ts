/**
 * @module mcp/app-resource
 * The MCP app (the MCP Apps extension, `io.modelcontextprotocol/ui`): `list_tasks` names the
 * `ui://taskchat/tasks` resource in its `_meta`, and a host that renders MCP Apps (Claude, ChatGPT,
 * VS Code, Goose) loads it into a sandboxed iframe and hands it the tool's result, where every
 * other host shows the result's text. The app (web/src/mcp-app/) is the chat page's task list; it
 * changes tasks only through the host's `tools/call`, never by talking to this server itself.
 *
 * The document is web/dist/mcp-app.html, one self-contained file that `npm run build` (and
 * `npm start` when stale) makes, read at each `resources/read` so that a build made while the
 * server runs is served without a restart. Its `_meta.ui.csp` declares no outside origins: the
 * host's sandbox then allows no connections or loads, which the app never needs.
 *
 * @example
 * server.setRequestHandler('resources/list', () => ({ resources: [TASK_LIST_APP] }));
 * server.setRequestHandler('resources/read', ({ params }) => readAppResource(params.uri));
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { McpUiResourceMeta } from '@modelcontextprotocol/ext-apps';
import { RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY } from '@modelcontextprotocol/ext-apps/server';
import {
  ProtocolError,
  ProtocolErrorCode,
  type ReadResourceResult,
  type Resource,
  ResourceNotFoundError,
} from '@modelcontextprotocol/server';
import type { TaskToolName } from '../tasks/tools.ts';

export const TASK_LIST_APP_URI = 'ui://taskchat/tasks';

const APP_HTML = fileURLToPath(new URL('../../web/dist/mcp-app.html', import.meta.url));

const UI_META: McpUiResourceMeta = {
  // Nothing to connect to and nothing to load: scripts and styles are inlined.
  csp: { connectDomains: [], resourceDomains: [] },
  prefersBorder: true,
};

export const TASK_LIST_APP: Resource = {
  uri: TASK_LIST_APP_URI,
  name: 'task-list',
  title: 'Task list',
  description:
    "The user's tasks as an interactive list (tick done, reopen, rename, undo), for list_tasks results.",
  mimeType: RESOURCE_MIME_TYPE,
  _meta: { ui: UI_META },
};

/**
 * The `_meta` of the tools whose results the app renders: `ui.resourceUri`, and the flat
 * `ui/resourceUri` key that hosts written before the extension's stable release read (the SDK's
 * own `registerAppTool` sets both).
 */
export const APP_TOOL_META: Partial<Record<TaskToolName, Record<string, unknown>>> = {
  list_tasks: { ui: { resourceUri: TASK_LIST_APP_URI }, [RESOURCE_URI_META_KEY]: TASK_LIST_APP_URI },
};

export async function readAppResource(uri: string): Promise<ReadResourceResult> {
  if (uri !== TASK_LIST_APP_URI) throw new ResourceNotFoundError(uri, `Resource not found: ${uri}`);
  let html: string;
  try {
    html = await readFile(APP_HTML, 'utf8');
  } catch {
    throw new ProtocolError(
      ProtocolErrorCode.InternalError,
      'The task list view is not built on this server (npm run build); list_tasks answers as text meanwhile.',
    );
  }
  return { contents: [{ uri, mimeType: RESOURCE_MIME_TYPE, text: html, _meta: { ui: UI_META } }] };
}
