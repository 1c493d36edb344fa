/**
 * Reading the tool results the host hands the app. A result carries its value twice (contract
 * "Tools"): as `structuredContent` and as JSON text; the text is the fallback for hosts that pass
 * only content on. An `isError` result's text is the server's own sentence for a person, shown as
 * it is. Each reader checks the shape it relies on, so a result of some other tool (or a newer
 * server's) is reported rather than rendered as garbage.
 */
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { Task } from '../api.ts';

export type TaskPage = { tasks: Task[]; total: number };

/** What a changing tool answered: the task as it is now, and the change to undo when undo exists. */
export type ChangedTask = { task: Task; changeId: number | undefined };

/** What `undo_change` answered: the task as it is again (null: the undone change had added it). */
export type UndoneChange = { taskId: number; task: Task | null };

export type Read<T> = { ok: true; value: T } | { ok: false; message: string };

const UNEXPECTED = 'taskchat answered something this view cannot show. Ask the chat instead.';

export function readTaskPage(result: CallToolResult): Read<TaskPage> {
  return readValue(result, (value) =>
    Array.isArray(value.tasks) && value.tasks.every(isTask) && typeof value.total === 'number'
      ? { tasks: value.tasks, total: value.total }
      : undefined,
  );
}

export function readChangedTask(result: CallToolResult): Read<ChangedTask> {
  return readValue(result, (value) => {
    if (!isTask(value)) return undefined;
    const { change_id: changeId, ...task } = value as Task & { change_id?: unknown };
    return { task, changeId: typeof changeId === 'number' ? changeId : undefined };
  });
}

export function readUndoneChange(result: CallToolResult): Read<UndoneChange> {
  return readValue(result, (value) => {
    const change = value.change as Record<string, unknown> | undefined;
    if (typeof change?.taskId !== 'number') return undefined;
    if (value.task !== null && !isTask(value.task)) return undefined;
    return { taskId: change.taskId, task: value.task };
  });
}

function readValue<T>(
  result: CallToolResult,
  shape: (value: Record<string, unknown>) => T | undefined,
): Read<T> {
  const text = result.content
    ?.flatMap((part) => (part.type === 'text' ? [part.text] : []))
    .join('\n')
    .trim();
  if (result.isError) return { ok: false, message: text || 'taskchat could not do that.' };
  let value: unknown = result.structuredContent;
  if (value === undefined && text) {
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
  }
  const read =
    typeof value === 'object' && value !== null ? shape(value as Record<string, unknown>) : undefined;
  return read === undefined ? { ok: false, message: UNEXPECTED } : { ok: true, value: read };
}

function isTask(value: unknown): value is Task {
  if (typeof value !== 'object' || value === null) return false;
  const task = value as Record<string, unknown>;
  return typeof task.id === 'number' && typeof task.title === 'string' && typeof task.completed === 'boolean';
}
