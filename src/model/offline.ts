/**
 * @module model/offline
 * The offline model: a deterministic command reader behind the AI SDK's LanguageModelV4
 * interface, so the first run works with no API key and no network. It goes through the same
 * tool loop as a real model (tool calls, tool results in the next step's prompt, final text),
 * which keeps the chat route model-agnostic, and it says plainly that it is a command reader,
 * not an AI.
 *
 * Each step is decided from the prompt alone, as the SDK sends it: today's date from the system
 * prompt, the conversation so far (what the last list showed, for "the second one"; the task
 * touched last, for "it"; an open "which one?" question), and the current turn's own tool calls
 * and results. A task named by words of its title costs one `list_tasks` search before the action;
 * several tasks in one sentence are several `add_task` calls in one step. It reads the argument
 * names of the tools it is offered, so a time, a repetition or a reminder is passed only to a tool
 * that takes it, and otherwise the reply says it was left out. It never acts on a task the user
 * did not name or choose: "it" after a "which one?" is asked about again, and "undo" takes back
 * only changes this conversation made, by the `change_id` their results carried.
 * Reading the text itself is `offline-reader.ts`.
 */
import { createHash } from 'node:crypto';
import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4Prompt,
  LanguageModelV4ToolResultPart,
} from '@ai-sdk/provider';
import { dayIn } from '../time/zone.ts';
import { addMinutes, type DateRange, localInstant, weekdayName } from './offline-dates.ts';
import {
  type ActionIntent,
  type DueFilter,
  type Intent,
  matchTitle,
  type NewTask,
  type Ref,
  readMessage,
  searchWord,
  type TitleRef,
  titleRefOf,
} from './offline-reader.ts';
import { createStepModel, type ModelStep } from './step-model.ts';

export const OFFLINE_HELP = [
  "This is taskchat's offline command reader, not an AI model: it understands the kinds of phrases below and nothing more. Set OPENAI_API_KEY on the server to chat with a real model.",
  'Add: "add buy milk tomorrow", "remind me to pay rent next monday, high priority", "I need to call the dentist on Friday"; several at once: "add pay rent on the 1st, call the dentist and buy a gift by Friday".',
  'Repeat and remind: "add water the plants every monday", "add pay rent every month on the 1st", "remind me at 5pm to call mom", "remind me every monday to water the plants", "add dentist friday at 3pm, remind me 30 minutes before".',
  'Look: "list", "what\'s on my list?", "show pending tasks", "anything due tomorrow?", "find milk", "what did I finish today?".',
  'Finish: "done 2", "mark the milk one done", "I finished buying milk"; reopen with "reopen 2".',
  'Change: "rename 3 to buy oat milk", "move the dentist to Friday", "make 2 high priority", "remove the due date of 2".',
  'Delete: "delete task 2", "delete the dentist task".',
  'Undo: "undo", "undo that", "undo the last two" take back the latest changes made in this conversation (a deleted task comes back with its number).',
  'Name a task by #id, by its place in the last list ("the second one"), by "it", or by words of its title.',
  "Dates: today, tomorrow, friday (the coming one), next friday (next week's), in 3 days, in 2 weeks, on December 5, 5 dec, 2026-12-05.",
  'Priorities: high priority, low priority, urgent, important, !high, !low.',
].join('\n');

const FIRST_NOTE =
  '(This is taskchat\'s offline command reader, not an AI: set OPENAI_API_KEY on the server for a real model; "help" shows what I understand.)';

// ---------------------------------------------------------------------------------------------
// The conversation as the prompt carries it: turns of a user message and the tool steps after it.

type Outcome = { ok: true; value: unknown } | { ok: false; error: string };
type Step = { name: string; input: unknown; outcome?: Outcome };
type Turn = { text: string; steps: Step[] };
type Conversation = { today: string; zone: string; turns: Turn[]; answeredBefore: boolean };

function readConversation(prompt: LanguageModelV4Prompt): Conversation {
  let today: string | undefined;
  let zone: string | undefined;
  const turns: Turn[] = [];
  const byCallId = new Map<string, Step>();
  let firstAnswered: number | undefined;
  for (const message of prompt) {
    switch (message.role) {
      case 'system':
        today ??= /\bToday is (\d{4}-\d{2}-\d{2})\b/.exec(message.content)?.[1];
        zone ??= /\btime ?zone(?: is)?:? ([A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*)\b/i.exec(message.content)?.[1];
        break;
      case 'user':
        turns.push({
          text: message.content.map((part) => (part.type === 'text' ? part.text : '')).join(' '),
          steps: [],
        });
        break;
      case 'assistant': {
        const turn = turns.at(-1);
        if (turns.length > 0) firstAnswered ??= turns.length;
        for (const part of message.content) {
          if (part.type !== 'tool-call' || !turn) continue;
          const step: Step = { name: part.toolName, input: parseInput(part.input) };
          turn.steps.push(step);
          byCallId.set(part.toolCallId, step);
        }
        break;
      }
      case 'tool':
        for (const part of message.content) {
          if (part.type !== 'tool-result') continue;
          const step = byCallId.get(part.toolCallId);
          if (step) step.outcome = outcomeOf(part);
        }
        break;
    }
  }
  // No date in the prompt (a caller without the app's system prompt): the host's UTC date.
  return {
    today: today ?? new Date().toISOString().slice(0, 10),
    zone: zone && isZone(zone) ? zone : 'UTC',
    turns,
    // An assistant message after an earlier user message: this is not the first answer.
    answeredBefore: firstAnswered !== undefined && firstAnswered < turns.length,
  };
}

function isZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function parseInput(input: unknown): unknown {
  if (typeof input !== 'string') return input;
  try {
    return JSON.parse(input);
  } catch {
    return input;
  }
}

function outcomeOf(part: LanguageModelV4ToolResultPart): Outcome {
  const { output } = part;
  const fromValue = (value: unknown): Outcome =>
    isObject(value) && typeof value.error === 'string'
      ? { ok: false, error: value.error }
      : { ok: true, value };
  switch (output.type) {
    case 'json':
      return fromValue(output.value);
    case 'text':
      // A tool may have stringified its JSON; read it as JSON when it parses.
      try {
        return fromValue(JSON.parse(output.value));
      } catch {
        return { ok: true, value: output.value };
      }
    case 'error-text':
      // The SDK turns a thrown tool error into String(error), i.e. "Error: <message>".
      return { ok: false, error: output.value.replace(/^Error:\s*/, '') };
    case 'error-json':
      return {
        ok: false,
        error:
          isObject(output.value) && typeof output.value.error === 'string'
            ? output.value.error
            : compact(output.value),
      };
    case 'execution-denied':
      return { ok: false, error: `${part.toolName} was not run${output.reason ? `: ${output.reason}` : ''}` };
    case 'content':
      return {
        ok: true,
        value: output.value
          .map((item) => (item.type === 'text' ? item.text : ''))
          .join('')
          .trim(),
      };
  }
}

// ---------------------------------------------------------------------------------------------
// What earlier turns left behind: the list shown last, the task touched last, an open question.

type TaskLike = {
  id: number;
  title: string;
  completed?: boolean;
  dueDate?: string | null;
  dueTime?: string | null;
  priority?: string;
  updatedAt?: string;
};

class History {
  private readonly intents = new Map<number, Intent>();
  private readonly convo: Conversation;
  constructor(convo: Conversation) {
    this.convo = convo;
  }

  /** The intent of turn `i`, an answer to an earlier "which one?" joined to its question. */
  intentOf(i: number): Intent {
    const cached = this.intents.get(i);
    if (cached) return cached;
    const turn = this.convo.turns[i];
    let intent = readMessage(turn?.text ?? '', this.convo.today);
    if ((intent.kind === 'bare' || intent.kind === 'miss') && i > 0) {
      const question = this.openQuestion(i - 1);
      const ref: Ref | undefined = intent.kind === 'bare' ? intent.ref : titleRefOf(turn?.text ?? '');
      if (question && ref) intent = { ...question, ref };
    }
    this.intents.set(i, intent);
    return intent;
  }

  /** The action of turn `j` when that turn ended by asking which of several tasks was meant. */
  private openQuestion(j: number): ActionIntent | undefined {
    const intent = this.intentOf(j);
    if (!isAction(intent)) return undefined;
    const steps = this.convo.turns[j]?.steps ?? [];
    // "delete it" answered with "which one do you mean by 'it'?"
    if (intent.ref.kind === 'it') {
      const it = steps.length === 0 ? this.lastTouched(j) : undefined;
      return it && 'several' in it ? intent : undefined;
    }
    if (intent.ref.kind !== 'title') return undefined;
    const lookup = steps[0];
    if (steps.length !== 1 || lookup?.name !== 'list_tasks' || !lookup.outcome?.ok) return undefined;
    return matchTitle(intent.ref, tasksOf(lookup.outcome.value)).length > 1 ? intent : undefined;
  }

  /** What turn `j`'s list_tasks result showed the user, in order (undefined: not shown as a list). */
  private shown(j: number, step: Step): TaskLike[] | undefined {
    if (step.name !== 'list_tasks' || !step.outcome?.ok) return undefined;
    const tasks = tasksOf(step.outcome.value);
    const intent = this.intentOf(j);
    if (intent.kind === 'list') return filterDue(tasks, intent.due);
    if (isAction(intent) && intent.ref.kind === 'title') {
      const matches = matchTitle(intent.ref, tasks);
      return matches.length > 1 ? matches : undefined;
    }
    return tasks;
  }

  /** The list shown last before turn `i`. */
  lastList(i: number): TaskLike[] | undefined {
    for (let j = i - 1; j >= 0; j--) {
      const steps = this.convo.turns[j]?.steps ?? [];
      for (let k = steps.length - 1; k >= 0; k--) {
        const step = steps[k];
        const shown = step && this.shown(j, step);
        if (shown) return shown;
      }
    }
    return undefined;
  }

  /**
   * What "it" means before turn `i`: the task the latest turn that showed or changed tasks was
   * about. When that turn was about several (a "which one?" question, a list, several added),
   * "it" is one of those, not an older task, so the answer is to ask.
   */
  lastTouched(i: number): { id: number } | { several: TaskLike[] } | undefined {
    for (let j = i - 1; j >= 0; j--) {
      const steps = this.convo.turns[j]?.steps ?? [];
      const changed = new Map<number, TaskLike>();
      let shown: TaskLike[] | undefined;
      for (const step of steps) {
        if (!step.outcome?.ok) continue;
        const value = step.outcome.value;
        if (step.name === 'list_tasks') {
          shown = this.shown(j, step) ?? shown;
          continue;
        }
        // An undo's result is about the task of its change.
        const id = isObject(value)
          ? (value.id ?? value.task_id ?? (isObject(value.change) ? value.change.taskId : undefined))
          : undefined;
        if (typeof id === 'number')
          changed.set(id, { id, title: str((value as Json).title) ?? titleOf(value) });
      }
      const about = changed.size > 0 ? [...changed.values()] : shown;
      if (!about || about.length === 0) continue;
      return about.length === 1 ? { id: (about[0] as TaskLike).id } : { several: about };
    }
    return undefined;
  }

  /**
   * The ids of the newest `count` changes turns before `i` made and did not undo, newest first:
   * what "undo" and "undo the last two" take back. Only changes whose result carried a
   * `change_id` count, so nothing this conversation did not do is ever undone by id; an undo
   * takes its change off the list, so undo after undo walks further back instead of redoing.
   */
  undoable(i: number, count: number): number[] {
    const made: number[] = [];
    const undone = new Set<number>();
    for (const turn of this.convo.turns.slice(0, i)) {
      for (const step of turn.steps) {
        if (!step.outcome?.ok || !isObject(step.outcome.value)) continue;
        if (step.name === 'undo_change') {
          const target = isObject(step.input) ? step.input.change_id : undefined;
          if (typeof target === 'number') undone.add(target);
          continue;
        }
        const id = step.outcome.value.change_id;
        if (typeof id === 'number') made.push(id);
      }
    }
    return made
      .filter((id) => !undone.has(id))
      .reverse()
      .slice(0, count);
  }
}

function isAction(intent: Intent): intent is ActionIntent {
  return intent.kind === 'complete' || intent.kind === 'update' || intent.kind === 'delete';
}

function tasksOf(value: unknown): TaskLike[] {
  if (!isObject(value) || !Array.isArray(value.tasks)) return [];
  return value.tasks.filter(
    (t): t is TaskLike => isObject(t) && typeof t.id === 'number' && typeof t.title === 'string',
  );
}

function filterDue(tasks: TaskLike[], due: DueFilter | undefined): TaskLike[] {
  if (!due) return tasks;
  return tasks.filter((task) => {
    const date = task.dueDate;
    if (typeof date !== 'string') return false;
    switch (due.kind) {
      case 'on':
        return date === due.date;
      case 'range':
        return date >= due.from && date <= due.to;
      case 'overdue':
        return date < due.today;
      case 'upcoming':
        return date >= due.today;
      default:
        return false;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Deciding the next step.

type Call = { name: string; args: Record<string, unknown> };
type Plan = { calls: Call[] } | { text: string };

/** What this call knows beyond the prompt's turns: the date, the zone and the tools offered. */
type Context = { today: string; zone: string; tools: OfferedTools };

function plan(intent: Intent, turnIndex: number, steps: Step[], history: History, ctx: Context): Plan {
  const last = steps.at(-1);
  switch (intent.kind) {
    case 'help':
      return { text: OFFLINE_HELP };
    case 'greeting':
      return { text: 'Hello! Try "add buy milk tomorrow", "what\'s on my list?" or "help".' };
    case 'refuse':
      return { text: intent.text };
    case 'miss':
      return { text: missText(intent.suggestions) };
    case 'bare':
      // A reference with nothing to do: no question was open.
      return { text: missText(bareSuggestions(intent.ref)) };
    case 'add':
      if (!last) return { calls: intent.tasks.map((task) => addCall(task, ctx)) };
      return { text: describeAdds(intent.tasks, steps) };
    case 'list':
      if (!last) return { calls: [{ name: 'list_tasks', args: listArgs(intent) }] };
      return { text: describeList(intent, last, ctx) };
    case 'undo':
      return planUndo(intent.count, turnIndex, steps, history);
  }
  // complete, update, delete: find the task first unless the reference already names it.
  const ref = intent.ref;
  if (ref.kind === 'title') {
    if (!last) return { calls: [{ name: 'list_tasks', args: lookupArgs(intent, ref) }] };
    if (steps.length > 1 || last.name !== 'list_tasks') return { text: describeStep(last) };
    if (!last.outcome?.ok) return { text: describeStep(last) };
    const value = last.outcome.value;
    const found = matchTitle(ref, tasksOf(value));
    const total = isObject(value) && typeof value.total === 'number' ? value.total : 0;
    if (found.length === 1 && total <= tasksOf(value).length) {
      return { calls: [actionCall(intent, (found[0] as TaskLike).id)] };
    }
    return { text: lookupText(intent, ref, found, total > tasksOf(value).length) };
  }
  if (last) return { text: describeStep(last) };
  const target = resolve(ref, turnIndex, history);
  return 'id' in target ? { calls: [actionCall(intent, target.id)] } : target;
}

/**
 * One undo_change call per step, newest change first (a task changed twice is walked back in
 * order), stopping at the first refusal. The changes are the ones earlier turns made, fixed when
 * the turn began. With none in this conversation, a single "undo" undoes the user's newest change
 * (the tool's default, e.g. a tick in the page's panel); several are never undone that way, since
 * a second call without an id would redo the first.
 */
function planUndo(count: number, turnIndex: number, steps: Step[], history: History): Plan {
  // The first refusal ends the walk back: its sentence says what to undo first.
  if (steps.some((step) => !step.outcome?.ok)) return { text: steps.map(describeStep).join(' ') };
  const targets = history.undoable(turnIndex, count);
  if (targets.length === 0 && count > 1) {
    return {
      text: `This conversation has made no change I could undo, so nothing was undone; "undo" undoes your newest change.`,
    };
  }
  const ids: Array<number | undefined> = targets.length === 0 ? [undefined] : targets;
  const next = ids[steps.length];
  if (steps.length < ids.length) {
    return { calls: [{ name: 'undo_change', args: next === undefined ? {} : { change_id: next } }] };
  }
  const note =
    targets.length < count
      ? ` This conversation made only ${plural(targets.length, 'change')} I could undo.`
      : '';
  return { text: `${steps.map(describeStep).join(' ')}${note}` };
}

function resolve(
  ref: Exclude<Ref, TitleRef>,
  turnIndex: number,
  history: History,
): { id: number } | { text: string } {
  if (ref.kind === 'id') return { id: ref.id };
  if (ref.kind === 'it') {
    const it = history.lastTouched(turnIndex);
    if (it === undefined)
      return { text: 'I\'m not sure which task "it" is here; name it by its #id, e.g. "done 2".' };
    if ('id' in it) return it;
    if (it.several.length > 10) {
      return {
        text: 'The last list had several tasks, so I\'m not sure which one "it" is; name it by its #id.',
      };
    }
    const named = it.several.map((t) => `#${t.id} "${t.title}"`);
    return { text: `Which one do you mean by "it": ${joinOr(named)}? Name it by its #id.` };
  }
  const list = history.lastList(turnIndex);
  if (!list) {
    return {
      text: `I haven't shown you a list in this conversation yet, so I don't know which is "${ref.text}"; say "list" first, or use the task's #id.`,
    };
  }
  const task = ref.index >= 0 ? list[ref.index] : list[list.length + ref.index];
  if (!task) {
    return {
      text: `The last list I showed has ${plural(list.length, 'task')}, so there is no "${ref.text}"; say "list" to see them again.`,
    };
  }
  return { id: task.id };
}

function actionCall(intent: ActionIntent, taskId: number): Call {
  switch (intent.kind) {
    case 'complete':
      return {
        name: 'complete_task',
        args: intent.completed ? { task_id: taskId } : { task_id: taskId, completed: false },
      };
    case 'update':
      return { name: 'update_task', args: { task_id: taskId, ...intent.changes } };
    case 'delete':
      return { name: 'delete_task', args: { task_id: taskId } };
  }
}

/**
 * add_task's arguments for one task. A time, a repetition or a reminder goes in only when the tool
 * offers that argument; without it the task is still added, and the reply says what was left out.
 */
function addCall(task: NewTask, ctx: Context): Call {
  const { time, repeat, remind, remindBefore: _, ...args } = task;
  const offers = ctx.tools.get('add_task') ?? new Set();
  const extra: Record<string, unknown> = {};
  if (time && offers.has('due_time')) extra.due_time = time;
  if (repeat && offers.has('repeat')) extra.repeat = repeat.rule;
  const reminder = reminderAt(task, ctx.today);
  if (reminder && offers.has('reminder')) {
    extra.reminder = localInstant(reminder.date, reminder.time, ctx.zone);
  }
  // "at 5pm" with no day is today's.
  const dated = time ? { due_date: args.due_date ?? ctx.today } : {};
  return { name: 'add_task', args: { ...args, ...dated, ...extra } };
}

/** A reminder said without a time of day ("remind me every monday to ...") is at this local time. */
export const DEFAULT_REMINDER_TIME = '09:00';

/**
 * The local date and time a task's reminder is asked for: its due day at its time (else at
 * DEFAULT_REMINDER_TIME), that much earlier for "30 minutes before". Undefined when none is asked.
 * A repeating task's reminder then moves with each occurrence (the tool does that).
 */
function reminderAt(task: NewTask, today: string): { date: string; time: string } | undefined {
  if (!task.remind) return undefined;
  return addMinutes(
    task.due_date ?? today,
    task.time ?? DEFAULT_REMINDER_TIME,
    -(task.remindBefore?.minutes ?? 0),
  );
}

function listArgs(intent: Extract<Intent, { kind: 'list' }>): Record<string, unknown> {
  if (intent.search !== undefined) return { search: intent.search };
  // What was finished when is filtered here, from the newest 100 completed tasks.
  if (intent.finished) return { status: 'completed', limit: 100 };
  // Due dates are filtered here, from the newest 100 pending tasks.
  if (intent.due) return { status: 'pending', limit: 100 };
  return { status: intent.status };
}

// Completing looks among pending tasks and reopening among completed ones, so "mark the milk one
// done" is not made ambiguous by last week's milk.
function lookupArgs(intent: ActionIntent, ref: TitleRef): Record<string, unknown> {
  const search = searchWord(ref);
  if (intent.kind === 'complete') return { status: intent.completed ? 'pending' : 'completed', search };
  return { search };
}

function lookupText(intent: ActionIntent, ref: TitleRef, found: TaskLike[], more: boolean): string {
  const which = intent.kind === 'complete' ? (intent.completed ? 'pending task' : 'completed task') : 'task';
  if (more) {
    return `Too many tasks contain "${searchWord(ref)}" for me to pick one; name it by its #id (say "find ${searchWord(ref)}" to see them).`;
  }
  if (found.length === 0) {
    return `No ${which} matches "${ref.text}"; say "list" to see your tasks, or use the task's #id.`;
  }
  const shown = found.slice(0, 10).map((t) => `#${t.id} "${t.title}"`);
  const rest = found.length > 10 ? ` and ${found.length - 10} more` : '';
  return `${found.length} ${which}s match "${ref.text}": ${joinAnd(shown)}${rest}. Which one do you mean? Answer with its #id or "the first one".`;
}

// ---------------------------------------------------------------------------------------------
// Replies: one short sentence saying what happened, task ids as #id.

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function taskRef(task: Json): string {
  return `#${String(task.id ?? task.task_id ?? '?')} "${str(task.title) ?? ''}"`;
}

function details(due: unknown, priority: unknown): string {
  const parts = [
    typeof due === 'string' ? `due ${due}` : undefined,
    typeof priority === 'string' && priority !== 'medium' ? `${priority} priority` : undefined,
  ].filter((p) => p !== undefined);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function describeStep(step: Step): string {
  const outcome = step.outcome;
  if (!outcome) return 'Done.';
  if (!outcome.ok) return `Sorry: ${outcome.error}`;
  const value = outcome.value;
  if (!isObject(value)) return typeof value === 'string' && value ? value : `${step.name}: ${compact(value)}`;
  const args = isObject(step.input) ? step.input : {};
  switch (step.name) {
    case 'add_task':
      return `Added ${taskRef(value)}${details(value.dueDate, value.priority)}.`;
    case 'complete_task':
      return value.completed === false ? `Reopened ${taskRef(value)}.` : `Marked ${taskRef(value)} done.`;
    case 'update_task':
      return describeUpdate(value, args);
    case 'delete_task':
      return `Deleted ${taskRef(value)}.`;
    case 'list_tasks':
      return listLines(tasksOf(value), value.total).join('\n') || 'No tasks.';
    case 'undo_change':
      return describeUndo(value);
    default:
      return `${step.name}: ${compact(value)}`;
  }
}

/** An undo's result: the undo (its `before` is the task as it found it) and the task as it left it. */
function describeUndo(value: Json): string {
  const change = isObject(value.change) ? value.change : {};
  const found = isObject(change.before) ? change.before : undefined;
  const task = isObject(value.task) ? value.task : undefined;
  if (!task) return `Undone: ${taskRef(found ?? { id: change.taskId })} is removed again.`;
  if (!found) return `Undone: ${taskRef(task)} is back, with its number.`;
  if (found.completed !== task.completed) {
    return `Undone: ${taskRef(task)} is ${task.completed === true ? 'done' : 'open'} again.`;
  }
  return `Undone: ${taskRef(task)} is back as it was${details(task.dueDate, task.priority)}.`;
}

/** The title inside an undo's result, for "it" after an undo. */
function titleOf(value: unknown): string {
  if (!isObject(value)) return '';
  const task = isObject(value.task)
    ? value.task
    : isObject(value.change) && isObject(value.change.before)
      ? value.change.before
      : undefined;
  return str(task?.title) ?? '';
}

/** The reply to adding one task or several, with what the tools could not take said plainly. */
function describeAdds(tasks: NewTask[], steps: Step[]): string {
  const added = steps.map((step, i) => {
    const value = step.outcome?.ok && isObject(step.outcome.value) ? step.outcome.value : undefined;
    const task = tasks[i];
    return value && task && step.name === 'add_task' ? { value, task, step } : undefined;
  });
  if (added.some((a) => a === undefined) || added.length !== tasks.length) {
    return steps.map(describeStep).join('\n');
  }
  const done = added as Array<{ value: Json; task: NewTask; step: Step }>;
  const items = done.map(({ value, task }) => `${taskRef(value)}${addedDetails(value, task)}`);
  const head = items.length === 1 ? `Added ${items[0]}.` : `Added ${items.length} tasks: ${joinAnd(items)}.`;
  const notes = done.flatMap(({ task, step }) => leftOut(task, isObject(step.input) ? step.input : {}));
  return [head, ...notes].join(' ');
}

/** "reminder at 16:30", with its day when that is not the due day ("reminder at 09:00 on 2026-11-29"). */
function reminderWords(asked: NewTask, dueDate: unknown): string | undefined {
  const at = typeof dueDate === 'string' ? reminderAt(asked, dueDate) : undefined;
  if (!at) return undefined;
  return at.date === dueDate ? `reminder at ${at.time}` : `reminder at ${at.time} on ${at.date}`;
}

function addedDetails(task: Json, asked: NewTask): string {
  const due =
    typeof task.dueDate === 'string'
      ? `due ${task.dueDate}${typeof task.dueTime === 'string' ? ` ${task.dueTime}` : ''}`
      : undefined;
  const parts = [
    due,
    typeof task.priority === 'string' && task.priority !== 'medium' ? `${task.priority} priority` : undefined,
    typeof task.repeat === 'string' && asked.repeat ? `repeats ${asked.repeat.words}` : undefined,
    typeof task.reminder === 'string' ? reminderWords(asked, task.dueDate) : undefined,
  ].filter((p) => p !== undefined);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** What the user asked for that add_task did not take, in a sentence each. */
function leftOut(task: NewTask, args: Json): string[] {
  const notes: string[] = [];
  if (task.repeat && !('repeat' in args)) {
    notes.push(
      `Repeating tasks are not available here yet, so "${task.title}" was added once${task.due_date ? `, due ${task.due_date}` : ''}, not ${task.repeat.words}.`,
    );
  }
  if (task.remind && !('reminder' in args)) {
    // The call's own due date: "at 5pm" alone is today's.
    const at = reminderAt(task, typeof args.due_date === 'string' ? args.due_date : (task.due_date ?? ''));
    notes.push(`Reminders are not available here yet, so nothing will remind you at ${at?.time}.`);
  } else if (task.time && !('due_time' in args)) {
    notes.push(`Times of day are not available here yet, so ${task.time} was not saved.`);
  }
  return notes;
}

function describeUpdate(task: Json, args: Json): string {
  const changed = ['title', 'due_date', 'priority', 'description'].filter((key) => key in args);
  const id = `#${String(task.id ?? '?')}`;
  if (changed.length === 1) {
    if (changed[0] === 'title') return `Renamed ${id} to "${str(task.title) ?? ''}".`;
    if (changed[0] === 'due_date') {
      return task.dueDate
        ? `Moved ${taskRef(task)} to ${str(task.dueDate)}.`
        : `Removed the due date of ${taskRef(task)}.`;
    }
    if (changed[0] === 'priority') return `Set ${taskRef(task)} to ${str(task.priority) ?? '?'} priority.`;
  }
  return `Updated ${taskRef(task)}${details(task.dueDate, task.priority)}.`;
}

function describeList(intent: Extract<Intent, { kind: 'list' }>, step: Step, ctx: Context): string {
  const { today } = ctx;
  if (!step.outcome?.ok) return describeStep(step);
  const value = step.outcome.value;
  const all = tasksOf(value);
  const total = isObject(value) ? value.total : undefined;
  if (intent.finished) return describeFinished(all, intent.finished, ctx.zone);
  const shown = filterDue(all, intent.due);
  const lines = intent.due ? shown.map(line) : listLines(all, total);
  if (intent.due) {
    const words = dueWords(intent.due, today);
    if (shown.length === 0) return `Nothing pending is due ${words}.`;
    return [`Due ${words} (${shown.length}):`, ...lines].join('\n');
  }
  const count = typeof total === 'number' ? total : all.length;
  if (intent.search !== undefined) {
    if (all.length === 0) return `No tasks match "${intent.search}".`;
    return [`Tasks matching "${intent.search}" (${count}):`, ...lines].join('\n');
  }
  const noun = { all: 'tasks', pending: 'pending tasks', completed: 'completed tasks' }[intent.status];
  if (all.length === 0) return intent.status === 'all' ? 'You have no tasks yet.' : `You have no ${noun}.`;
  const header = { all: 'Your tasks', pending: 'Pending tasks', completed: 'Completed tasks' }[intent.status];
  return [`${header} (${count}):`, ...lines].join('\n');
}

/**
 * Completed tasks last changed in `range`: the tools keep no completion time, so a task completed
 * earlier and edited in the range shows too, and the reply says what it goes by.
 */
function describeFinished(tasks: TaskLike[], range: DateRange, zone: string): string {
  const days = range.from === range.to ? range.from : `${range.from} to ${range.to}`;
  const shown = tasks.filter((task) => {
    const day = typeof task.updatedAt === 'string' ? dayOfInstant(task.updatedAt, zone) : undefined;
    return day !== undefined && day >= range.from && day <= range.to;
  });
  if (shown.length === 0) return `No completed task was last changed ${range.words} (${days}).`;
  return [
    `Completed tasks last changed ${range.words} (${days}), which is as close as I can tell to when they were finished (${shown.length}):`,
    ...shown.map(line),
  ].join('\n');
}

/** The calendar day of a stored instant in `zone`, YYYY-MM-DD; undefined for one that is no date. */
function dayOfInstant(instant: string, zone: string): string | undefined {
  const date = new Date(instant);
  return Number.isNaN(date.getTime()) ? undefined : dayIn(zone, date);
}

function dueWords(due: DueFilter, today: string): string {
  switch (due.kind) {
    case 'on':
      if (due.date === today) return `today (${due.date})`;
      // "on Friday (2026-11-27)", "tomorrow (Tuesday 2026-11-24)": the weekday once.
      return due.words.includes(weekdayName(due.date))
        ? `${due.words} (${due.date})`
        : `${due.words} (${weekdayName(due.date)} ${due.date})`;
    case 'range':
      return `${due.words} (${due.from} to ${due.to})`;
    case 'overdue':
      return `before today (${due.today})`;
    case 'upcoming':
      return `from today (${due.today}) on`;
  }
}

function listLines(tasks: TaskLike[], total: unknown): string[] {
  const lines = tasks.map(line);
  if (typeof total === 'number' && total > tasks.length) lines.push(`(showing ${tasks.length} of ${total})`);
  return lines;
}

function line(task: TaskLike): string {
  // Medium is the default, so only the exceptions are worth the space.
  const extras = [
    task.dueDate ? `due ${task.dueDate}` : undefined,
    task.priority && task.priority !== 'medium' ? task.priority : undefined,
  ].filter((part) => part !== undefined);
  const suffix = extras.length ? ` (${extras.join(', ')})` : '';
  return `#${task.id} [${task.completed === true ? 'x' : ' '}] ${task.title}${suffix}`;
}

function missText(suggestions: string[]): string {
  const quoted = suggestions.map((s) => `"${s}"`);
  return `I didn't understand that (I'm an offline command reader, not an AI); try ${joinOr(quoted)}.`;
}

function bareSuggestions(r: Ref): string[] {
  const name = r.kind === 'id' ? String(r.id) : r.kind === 'position' ? `the ${r.text}` : 'it';
  return [`done ${name}`, `delete ${name}`, 'help'];
}

function joinAnd(items: string[]): string {
  return items.length < 2 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

function joinOr(items: string[]): string {
  return items.length < 2 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function compact(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// The V4 glue.

function decide(options: LanguageModelV4CallOptions): ModelStep {
  const convo = readConversation(options.prompt);
  const lastRole = options.prompt.at(-1)?.role;
  const turnIndex = convo.turns.length - 1;
  const turn = convo.turns[turnIndex];
  if (!turn || (lastRole !== 'user' && lastRole !== 'tool')) return { kind: 'text', text: OFFLINE_HELP };

  const answer = answerToWaitingCall(convo, turnIndex, () => toolCallId(options));
  if (answer) return answer;
  const history = new History(convo);
  const intent = history.intentOf(turnIndex);
  const tools = offeredTools(options);
  const next = plan(intent, turnIndex, turn.steps, history, { today: convo.today, zone: convo.zone, tools });
  if ('calls' in next) {
    const missing = next.calls.find((call) => !tools.has(call.name));
    if (missing) {
      return { kind: 'text', text: `The ${missing.name} tool is not available here, so I can't do that.` };
    }
    const id = toolCallId(options);
    return {
      kind: 'tools',
      calls: next.calls.map((call, i) => ({
        toolCallId: i === 0 ? id : `${id}-${i}`,
        toolName: call.name,
        input: JSON.stringify(call.args),
      })),
    };
  }
  // The first answer of a conversation says what this is; the help already does.
  const note =
    convo.answeredBefore || intent.kind === 'help' || intent.kind === 'miss' ? '' : `\n${FIRST_NOTE}`;
  const firstMiss = !convo.answeredBefore && (intent.kind === 'miss' || intent.kind === 'bare');
  const text = firstMiss
    ? next.text.replace('not an AI)', 'not an AI; set OPENAI_API_KEY for a real one)')
    : next.text;
  return { kind: 'text', text: `${text}${intent.kind === 'bare' ? '' : note}` };
}

// A call that waited for the user's approval and was not run because the user typed a message
// instead of pressing Approve / Deny: the server tells the model it was not run (that message
// superseded it). Decisions only come from the client, so a typed "yes" cannot approve it; it asks
// again (the same call, which waits again for Approve), and a typed "no" confirms nothing was done.
const CONFIRM = /^\s*(yes|yeah|yep|sure|ok|okay|do it|go ahead|please do|confirm)\b[\s.!]*$/i;
const CANCEL = /^\s*(no|nope|cancel|don't|do not|never ?mind|stop)\b[\s.!]*$/i;
const NOT_RUN = /^This tool call was not run\b/;

function answerToWaitingCall(
  convo: Conversation,
  turnIndex: number,
  newCallId: () => string,
): ModelStep | undefined {
  const turn = convo.turns[turnIndex];
  const waited = convo.turns[turnIndex - 1]?.steps.findLast(
    (s) => s.outcome?.ok === false && NOT_RUN.test(s.outcome.error),
  );
  if (!turn || !waited) return undefined;
  if (CONFIRM.test(turn.text)) {
    const last = turn.steps.at(-1);
    // Asked again and decided: say what came of it.
    if (last?.outcome) return { kind: 'text', text: describeStep(last) };
    if (last) return undefined;
    return {
      kind: 'tools',
      calls: [{ toolCallId: newCallId(), toolName: waited.name, input: JSON.stringify(waited.input) }],
    };
  }
  if (CANCEL.test(turn.text) && turn.steps.length === 0) {
    return {
      kind: 'text',
      text: `OK, I did not run ${waited.name} ${compact(waited.input)}; nothing changed.`,
    };
  }
  return undefined;
}

/** The tools offered to this call, each with the names of the arguments its schema takes. */
type OfferedTools = Map<string, Set<string>>;

function offeredTools(options: LanguageModelV4CallOptions): OfferedTools {
  if (options.toolChoice?.type === 'none') return new Map();
  const offered: OfferedTools = new Map();
  for (const tool of options.tools ?? []) {
    if (tool.type !== 'function') continue;
    const properties = (tool.inputSchema as { properties?: unknown }).properties;
    offered.set(tool.name, new Set(isObject(properties) ? Object.keys(properties) : []));
  }
  return offered;
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
