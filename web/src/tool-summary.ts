/**
 * One line per tool call saying what changed ("Added #3 buy milk, due 2026-11-24"), built from
 * the tool part's structured input and output, never from the model's prose. Arguments are the
 * tools' snake_case names; results are the contract's camelCase Task shapes. Everything is read
 * defensively: an unexpected shape gives a vaguer line, never a crash.
 */
import { dueLabel, reminderLabel, repeatLabel } from './task-when.ts';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function ref(task: Json | undefined, fallbackId?: unknown): string {
  const id = task?.id ?? task?.task_id ?? fallbackId;
  const title = str(task?.title);
  return [id !== undefined ? `#${String(id)}` : undefined, title].filter(Boolean).join(' ') || 'a task';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** While the call runs (input streaming or available, no output yet). */
export function pendingLine(tool: string, input: unknown): string {
  const args = isObject(input) ? input : {};
  switch (tool) {
    case 'add_task':
      return str(args.title) ? `Adding “${str(args.title)}”…` : 'Adding a task…';
    case 'complete_task':
      return args.completed === false
        ? `Reopening ${ref(undefined, args.task_id)}…`
        : `Completing ${ref(undefined, args.task_id)}…`;
    case 'update_task':
      return `Updating ${ref(undefined, args.task_id)}…`;
    case 'delete_task':
      return `Deleting ${ref(undefined, args.task_id)}…`;
    case 'list_tasks':
      return 'Looking up tasks…';
    case 'undo_change':
      return args.change_id !== undefined && args.change_id !== null
        ? `Undoing change #${String(args.change_id)}…`
        : 'Undoing the last change…';
    default:
      return `Running ${tool}…`;
  }
}

/** A call waiting for the user's approval, as a question. */
export function askLine(tool: string, input: unknown): string {
  const args = isObject(input) ? input : {};
  switch (tool) {
    case 'add_task':
      return str(args.title) ? `Add “${str(args.title)}”?` : 'Add a task?';
    case 'complete_task':
      return `${args.completed === false ? 'Reopen' : 'Complete'} ${ref(undefined, args.task_id)}?`;
    case 'update_task':
      return `Update ${ref(undefined, args.task_id)}?`;
    case 'delete_task':
      return `Delete ${ref(undefined, args.task_id)}?`;
    default:
      return `Run ${tool}?`;
  }
}

/** After the call returned a result. */
export function doneLine(tool: string, input: unknown, output: unknown): string {
  const args = isObject(input) ? input : {};
  const result = isObject(output) ? output : undefined;
  switch (tool) {
    case 'add_task': {
      const extras = [
        str(result?.dueDate) ? dueLabel(String(result?.dueDate), str(result?.dueTime)) : undefined,
        str(result?.repeat) ? `repeats ${repeatLabel(String(result?.repeat))}` : undefined,
        str(result?.reminder) ? reminderLabel(String(result?.reminder)) : undefined,
        result?.priority && result.priority !== 'medium' ? `${String(result.priority)} priority` : undefined,
      ].filter(Boolean);
      return `Added ${ref(result)}${extras.length ? `, ${extras.join(', ')}` : ''}`;
    }
    case 'complete_task':
      if (result?.completed === false && args.completed !== false && str(result.dueDate)) {
        // A repeating task stays open: completing moved it to its next occurrence.
        return `Completed ${ref(result, args.task_id)}; next ${dueLabel(String(result.dueDate), str(result.dueTime))}`;
      }
      return result?.completed === false
        ? `Reopened ${ref(result, args.task_id)}`
        : `Completed ${ref(result, args.task_id)}`;
    case 'update_task': {
      const changes = [
        str(args.title) ? 'renamed' : undefined,
        'due_date' in args ? (str(args.due_date) ? `due ${str(args.due_date)}` : 'no due date') : undefined,
        'due_time' in args ? (str(args.due_time) ? `at ${str(args.due_time)}` : 'no due time') : undefined,
        'repeat' in args
          ? str(args.repeat)
            ? `repeats ${repeatLabel(String(result?.repeat ?? args.repeat))}`
            : 'no longer repeats'
          : undefined,
        'reminder' in args
          ? str(args.reminder)
            ? reminderLabel(String(args.reminder))
            : 'no reminder'
          : undefined,
        str(args.priority) ? `${str(args.priority)} priority` : undefined,
        'description' in args ? 'new description' : undefined,
      ].filter(Boolean);
      return `Updated ${ref(result, args.task_id)}${changes.length ? `: ${changes.join(', ')}` : ''}`;
    }
    case 'delete_task':
      return `Deleted ${ref(result, args.task_id)}`;
    case 'list_tasks': {
      const tasks = Array.isArray(result?.tasks) ? result.tasks.filter(isObject) : [];
      const total = typeof result?.total === 'number' ? result.total : tasks.length;
      const status = args.status === 'pending' || args.status === 'completed' ? `${args.status} ` : '';
      const search = str(args.search) ? ` matching “${str(args.search)}”` : '';
      const done = tasks.filter((t) => t.completed === true).length;
      const doneNote = status === '' && done > 0 ? ` (${done} done)` : '';
      return `Listed ${plural(total, `${status}task`)}${search}${doneNote}`;
    }
    case 'undo_change': {
      // The undo's own change holds the task as it found it (`before`); `task` is how it left it.
      const change = isObject(result?.change) ? result.change : undefined;
      const task = isObject(result?.task) ? result.task : undefined;
      if (!task)
        return `Undid: removed ${ref(isObject(change?.before) ? change.before : undefined, change?.taskId)}`;
      return change?.before === null
        ? `Undid: brought back ${ref(task)}`
        : `Undid: ${ref(task)} is back as it was`;
    }
    default:
      return `${tool} finished`;
  }
}

/** A failed call's title; the card shows the tool's errorText under it. */
export function errorLine(tool: string, input: unknown): string {
  const args = isObject(input) ? input : {};
  switch (tool) {
    case 'add_task':
      return str(args.title) ? `Could not add “${str(args.title)}”` : 'Could not add the task';
    case 'complete_task':
      return `Could not ${args.completed === false ? 'reopen' : 'complete'} ${ref(undefined, args.task_id)}`;
    case 'update_task':
      return `Could not update ${ref(undefined, args.task_id)}`;
    case 'delete_task':
      return `Could not delete ${ref(undefined, args.task_id)}`;
    case 'list_tasks':
      return 'Could not list tasks';
    case 'undo_change':
      return 'Could not undo';
    default:
      return `${tool} failed`;
  }
}

/** A stored result may carry the tools' `{"error": "..."}` shape instead of an error part. */
export function errorInOutput(output: unknown): string | undefined {
  return isObject(output) ? str(output.error) : undefined;
}
