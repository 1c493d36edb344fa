// The offline model: a deterministic command interpreter behind the AI SDK's LanguageModelV4
// interface, so the first run works with no API key and no network. It goes through the same
// tool loop as a real model (tool calls, tool results, final text), which keeps the chat route
// model-agnostic. It is honest about being a command parser, not an LLM.
import { createHash } from 'node:crypto';
import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4Message,
  LanguageModelV4ToolResultPart,
} from '@ai-sdk/provider';
import { createStepModel, type ModelStep } from './step-model.ts';

export type ParsedCommand =
  | { tool: string; args: Record<string, unknown> }
  | { help: true; unknown: boolean };

export const OFFLINE_HELP = [
  "This is taskchat's offline command mode: a simple command parser, not an AI model.",
  'Set OPENAI_API_KEY to chat in natural language. Commands:',
  '  add <title> [due YYYY-MM-DD] [!high|!low]',
  '  list | pending | completed',
  '  find <text>',
  '  done <id> | undo <id>',
  '  rename <id> to <title>',
  '  due <id> YYYY-MM-DD',
  '  priority <id> high|medium|low',
  '  delete <id>',
  '  help',
].join('\n');

const UNKNOWN_PREFIX = "I didn't understand that.";

// ---------------------------------------------------------------------------------------------
// Parsing: keywords are case-insensitive, but titles and search text keep the user's casing.

const ID = String.raw`#?(\d+)`;
const DATE = String.raw`(\d{4}-\d{2}-\d{2})`;
const PRIORITY = '(high|medium|low)';

// Each rule is anchored; the first match wins. Calendar validity of dates is left to the tool,
// so there is one source of truth for what a valid due date is.
const RULES: Array<[RegExp, (m: RegExpExecArray) => ParsedCommand | undefined]> = [
  [/^help$/i, () => ({ help: true, unknown: false })],
  [/^add\s+(.+)$/i, (m) => parseAdd(m[1] ?? '')],
  [/^(?:list|list all)$/i, () => list({ status: 'all' })],
  [/^(?:list\s+)?pending$/i, () => list({ status: 'pending' })],
  [/^(?:list\s+)?(?:completed|done)$/i, () => list({ status: 'completed' })],
  [/^(?:find|search)\s+(.+)$/i, (m) => list({ search: m[1] })],
  [new RegExp(`^(?:done|complete)\\s+${ID}$`, 'i'), (m) => call('complete_task', { task_id: id(m[1]) })],
  [
    new RegExp(`^(?:undo|reopen)\\s+${ID}$`, 'i'),
    (m) => call('complete_task', { task_id: id(m[1]), completed: false }),
  ],
  [
    new RegExp(`^rename\\s+${ID}\\s+to\\s+(.+)$`, 'i'),
    (m) => call('update_task', { task_id: id(m[1]), title: m[2] }),
  ],
  [
    new RegExp(`^due\\s+${ID}\\s+${DATE}$`, 'i'),
    (m) => call('update_task', { task_id: id(m[1]), due_date: m[2] }),
  ],
  [
    new RegExp(`^priority\\s+${ID}\\s+${PRIORITY}$`, 'i'),
    (m) => call('update_task', { task_id: id(m[1]), priority: m[2]?.toLowerCase() }),
  ],
  [new RegExp(`^(?:delete|remove)\\s+${ID}$`, 'i'), (m) => call('delete_task', { task_id: id(m[1]) })],
];

export function parseCommand(text: string): ParsedCommand {
  // Collapsing whitespace makes "add  buy   milk" and multi-line pastes behave predictably.
  const input = text.trim().replace(/\s+/g, ' ');
  for (const [pattern, build] of RULES) {
    const match = pattern.exec(input);
    const parsed = match ? build(match) : undefined;
    if (parsed) return parsed;
  }
  return { help: true, unknown: true };
}

// Modifiers may come in either order at the end of the title; each is taken at most once.
function parseAdd(rest: string): ParsedCommand | undefined {
  let title = rest;
  const args: Record<string, unknown> = {};
  for (let changed = true; changed; ) {
    changed = false;
    const due = new RegExp(`(?:^|\\s)due\\s+${DATE}$`, 'i').exec(title);
    if (due && args.due_date === undefined) {
      args.due_date = due[1];
      title = title.slice(0, due.index);
      changed = true;
    }
    const prio = new RegExp(`(?:^|\\s)!${PRIORITY}$`, 'i').exec(title);
    if (prio && args.priority === undefined) {
      args.priority = prio[1]?.toLowerCase();
      title = title.slice(0, prio.index);
      changed = true;
    }
  }
  title = title.trim();
  if (!title) return undefined;
  return call('add_task', { title, ...args });
}

function list(args: Record<string, unknown>): ParsedCommand {
  return call('list_tasks', args);
}

function call(tool: string, args: Record<string, unknown>): ParsedCommand {
  return { tool, args };
}

function id(digits: string | undefined): number {
  return Number(digits);
}

// ---------------------------------------------------------------------------------------------
// Describing tool results. Results come from our own tools (contract: Task, {tasks,total},
// {task_id,deleted,title}, {error}), but they are read defensively: a wrong guess about a shape
// should give a vaguer sentence, never a crash mid-turn.

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function taskRef(task: Json): string {
  const taskId = task.id ?? task.task_id;
  return `#${String(taskId ?? '?')} "${str(task.title) ?? ''}"`;
}

function taskLine(task: Json): string {
  const due = str(task.dueDate) ?? str(task.due_date);
  const priority = str(task.priority);
  // Medium is the default, so only the exceptions are worth the space.
  const extras = [
    due ? `due ${due}` : undefined,
    priority && priority !== 'medium' ? priority : undefined,
  ].filter((part) => part !== undefined);
  const box = task.completed === true ? '[x]' : '[ ]';
  const suffix = extras.length ? ` (${extras.join(', ')})` : '';
  return `#${String(task.id ?? '?')} ${box} ${str(task.title) ?? ''}${suffix}`;
}

function describeValue(toolName: string, value: unknown): string {
  if (isObject(value) && typeof value.error === 'string') return `Sorry: ${value.error}`;
  if (!isObject(value)) return `${toolName}: ${compact(value)}`;
  switch (toolName) {
    case 'add_task':
      return `Added task ${taskRef(value)}.`;
    case 'list_tasks': {
      const tasks = Array.isArray(value.tasks) ? value.tasks.filter(isObject) : [];
      if (tasks.length === 0) return 'No tasks.';
      const lines = tasks.map(taskLine);
      const total = typeof value.total === 'number' ? value.total : tasks.length;
      if (total > tasks.length) lines.push(`(showing ${tasks.length} of ${total})`);
      return lines.join('\n');
    }
    case 'complete_task':
      return value.completed === false ? `Reopened ${taskRef(value)}.` : `Marked ${taskRef(value)} as done.`;
    case 'update_task':
      return `Updated ${taskRef(value)}.`;
    case 'delete_task':
      return `Deleted ${taskRef(value)}.`;
    default:
      return `${toolName}: ${compact(value)}`;
  }
}

function compact(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

function describeResult(part: LanguageModelV4ToolResultPart): string {
  const { output, toolName } = part;
  switch (output.type) {
    case 'json':
      return describeValue(toolName, output.value);
    case 'text':
      // A tool may have stringified its JSON; describe it as JSON when it parses.
      try {
        return describeValue(toolName, JSON.parse(output.value));
      } catch {
        return output.value;
      }
    case 'error-text':
      // The SDK turns a thrown tool error into String(error), i.e. "Error: <message>".
      return `Sorry: ${output.value.replace(/^Error:\s*/, '')}`;
    case 'error-json':
      return isObject(output.value) && typeof output.value.error === 'string'
        ? `Sorry: ${output.value.error}`
        : `Sorry: ${compact(output.value)}`;
    case 'execution-denied':
      return `Did not run ${toolName}${output.reason ? `: ${output.reason}` : ' (not approved)'}.`;
    case 'content':
      return (
        output.value
          .map((item) => (item.type === 'text' ? item.text : ''))
          .join('')
          .trim() || `${toolName} done.`
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Deciding the next step from the last prompt message, as every model in a tool loop does.

function decide(options: LanguageModelV4CallOptions): ModelStep {
  const last: LanguageModelV4Message | undefined = options.prompt.at(-1);
  if (last?.role === 'tool') {
    const results = last.content.filter((part) => part.type === 'tool-result');
    return { kind: 'text', text: results.map(describeResult).join('\n') || 'Done.' };
  }
  if (last?.role !== 'user') return { kind: 'text', text: OFFLINE_HELP };

  const text = last.content.map((part) => (part.type === 'text' ? part.text : '')).join(' ');
  const parsed = parseCommand(text);
  if ('help' in parsed) {
    return { kind: 'text', text: parsed.unknown ? `${UNKNOWN_PREFIX}\n${OFFLINE_HELP}` : OFFLINE_HELP };
  }
  if (!offeredTools(options).has(parsed.tool)) {
    return { kind: 'text', text: `The ${parsed.tool} tool is not available here, so I can't do that.` };
  }
  return {
    kind: 'tools',
    calls: [{ toolCallId: toolCallId(options), toolName: parsed.tool, input: JSON.stringify(parsed.args) }],
  };
}

function offeredTools(options: LanguageModelV4CallOptions): Set<string> {
  if (options.toolChoice?.type === 'none') return new Set();
  return new Set((options.tools ?? []).filter((t) => t.type === 'function').map((t) => t.name));
}

// The message count alone would repeat once the server windows history (HISTORY_MESSAGES), so
// a digest of the prompt is added: still deterministic, and unique for any prompt that differs.
function toolCallId(options: LanguageModelV4CallOptions): string {
  const digest = createHash('sha256').update(JSON.stringify(options.prompt)).digest('hex').slice(0, 10);
  return `offline-${options.prompt.length}-${digest}`;
}

export function createOfflineModel(): LanguageModelV4 {
  return createStepModel({ provider: 'taskchat', modelId: 'offline', decide });
}
