/**
 * The MCP app itself: `list_tasks`' result as the chat page's task list, inside the host's
 * conversation. The host hands it the tool result (`ui/notifications/tool-result`); every change
 * a person makes here (tick, reopen, rename, undo) is a `tools/call` the app asks the host to
 * make (`callServerTool`), so it goes through the host's own connection, consent and
 * authentication to this server, exactly as if the model had called the tool. Nothing here talks
 * to the network itself: the resource's CSP allows no connections at all.
 *
 * Undo appears only after a change whose result carries a `change_id` (contract: every result
 * that changed a task does, once the server records changes), and calls `undo_change` with it.
 */

import type { CallToolResult } from '@modelcontextprotocol/client';
import { useApp } from '@modelcontextprotocol/ext-apps/react';
import { useState } from 'react';
import type { Task } from '../api.ts';
import { TaskRow } from '../task-row.tsx';
import { type Read, readChangedTask, readTaskPage, readUndoneChange, type TaskPage } from './results.ts';

const APP_INFO = { name: 'taskchat-tasks', version: '1.0.0' };

/** The newest change made here that can be undone, and how to name it to the person. */
type Undoable = { changeId: number; done: string };

const UNREACHABLE = 'The host did not pass this on to taskchat. Nothing was changed; try again.';

export function TaskListApp() {
  const [page, setPage] = useState<TaskPage>();
  const [problem, setProblem] = useState<string>();
  const [saving, setSaving] = useState<number>();
  const [undoable, setUndoable] = useState<Undoable>();
  const { app, error } = useApp({
    appInfo: APP_INFO,
    capabilities: {},
    onAppCreated: (created) => {
      created.ontoolresult = (result) => {
        const read = readTaskPage(result);
        if (read.ok) setPage(read.value);
        setProblem(read.ok ? undefined : read.message);
      };
      created.ontoolcancelled = () => setProblem('The task list was not fetched (cancelled).');
    },
  });

  /** One tool call through the host; a refusal or a failed call becomes the problem shown. */
  const call = async <T,>(
    name: string,
    args: Record<string, unknown>,
    read: (result: CallToolResult) => Read<T>,
  ): Promise<T | undefined> => {
    if (!app) return undefined;
    setProblem(undefined);
    let outcome: Read<T>;
    try {
      outcome = read(await app.callServerTool({ name, arguments: args }));
    } catch {
      outcome = { ok: false, message: UNREACHABLE };
    }
    if (!outcome.ok) setProblem(outcome.message);
    return outcome.ok ? outcome.value : undefined;
  };

  const change = async (task: Task, name: string, args: Record<string, unknown>, done: string) => {
    setSaving(task.id);
    const changed = await call(name, { task_id: task.id, ...args }, readChangedTask);
    setSaving(undefined);
    if (!changed) return;
    setPage((current) => current && withTask(current, changed.task));
    setUndoable(changed.changeId === undefined ? undefined : { changeId: changed.changeId, done });
  };

  const toggle = (task: Task) =>
    change(
      task,
      'complete_task',
      { completed: !task.completed },
      `${task.completed ? 'Reopened' : 'Completed'} #${task.id}`,
    );
  const rename = (task: Task, title: string) => change(task, 'update_task', { title }, `Renamed #${task.id}`);

  const undo = async (target: Undoable) => {
    setUndoable(undefined);
    const undone = await call('undo_change', { change_id: target.changeId }, readUndoneChange);
    if (!undone) return;
    setPage(
      (current) =>
        current && (undone.task ? withTask(current, undone.task) : withoutTask(current, undone.taskId)),
    );
  };

  const tasks = page?.tasks ?? [];
  const pending = tasks.filter((t) => !t.completed);
  const done = tasks.filter((t) => t.completed);
  const row = (task: Task) => (
    <TaskRow key={task.id} task={task} saving={saving === task.id} onToggle={toggle} onRename={rename} />
  );
  return (
    <main className="task-panel mcp-app" aria-label="Tasks">
      <div className="panel-head">
        <h2>Tasks</h2>
        {page ? <span className="muted small">{countLine(page)}</span> : null}
      </div>
      {problem ? (
        <div className="problem small" role="alert">
          <p className="problem-sentence">{problem}</p>
        </div>
      ) : null}
      {page === undefined && !problem ? (
        <p className="muted">{error ? 'This view could not connect to the host.' : 'Loading the tasks…'}</p>
      ) : null}
      {page?.tasks.length === 0 ? <p className="muted">No tasks match.</p> : null}
      <ul className="tasks">{pending.map(row)}</ul>
      {done.length > 0 ? (
        <details className="done-tasks" open>
          <summary>Done ({done.length})</summary>
          <ul className="tasks">{done.map(row)}</ul>
        </details>
      ) : null}
      {undoable ? (
        <div className="undo-bar" role="status">
          <span>{undoable.done}</span>
          <button type="button" className="small" onClick={() => void undo(undoable)}>
            Undo
          </button>
        </div>
      ) : null}
    </main>
  );
}

function countLine({ tasks, total }: TaskPage): string {
  const word = (n: number) => `${n} task${n === 1 ? '' : 's'}`;
  return tasks.length >= total ? word(total) : `${tasks.length} of ${word(total)}`;
}

/** The page with `task` as it is now: replaced where it was, or first when it is back (undo). */
function withTask(page: TaskPage, task: Task): TaskPage {
  const known = page.tasks.some((t) => t.id === task.id);
  return known
    ? { ...page, tasks: page.tasks.map((t) => (t.id === task.id ? task : t)) }
    : { tasks: [task, ...page.tasks], total: page.total + 1 };
}

function withoutTask(page: TaskPage, taskId: number): TaskPage {
  const tasks = page.tasks.filter((t) => t.id !== taskId);
  return { tasks, total: page.total - (page.tasks.length - tasks.length) };
}
