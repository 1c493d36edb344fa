/**
 * One task as a row: a checkbox that ticks it done or reopens it, its number, title, due date and
 * time, how it repeats, its reminder and priority. Shared by the chat page's task panel (./task-panel.tsx, over the REST API) and the MCP
 * app (./mcp-app/, over the host's tool calls), so a task looks the same wherever a person meets
 * it. Renaming is offered only where the caller can carry it out (`onRename`).
 */
import { useState } from 'react';
import type { Task } from './api.ts';
import { dueLabel, reminderLabel, repeatLabel } from './task-when.ts';

export type TaskRowProps = {
  task: Task;
  /** A change of this task is under way: its controls wait for it. */
  saving: boolean;
  onToggle(task: Task): void;
  onRename?: ((task: Task, title: string) => void) | undefined;
};

export function TaskRow({ task, saving, onToggle, onRename }: TaskRowProps) {
  const [editing, setEditing] = useState(false);
  const label = `#${task.id} ${task.title}`;
  return (
    <li className={`task${task.completed ? ' completed' : ''}`} data-task-id={task.id}>
      {editing && onRename ? (
        <RenameForm
          task={task}
          onDone={(title) => {
            setEditing(false);
            if (title !== undefined && title !== task.title) onRename(task, title);
          }}
        />
      ) : (
        <div className="task-line">
          <label>
            <input
              type="checkbox"
              checked={task.completed}
              disabled={saving}
              onChange={() => onToggle(task)}
              aria-label={`${task.completed ? 'Reopen' : 'Complete'} ${label}`}
            />
            <span className="task-title">
              <span className="task-id">#{task.id}</span> {task.title}
            </span>
          </label>
          {onRename ? (
            <button
              type="button"
              className="link-button small"
              disabled={saving}
              onClick={() => setEditing(true)}
              aria-label={`Rename ${label}`}
            >
              Rename
            </button>
          ) : null}
        </div>
      )}
      <span className="task-meta">
        {task.dueDate ? <span className="due">{dueLabel(task.dueDate, task.dueTime)}</span> : null}
        {task.repeat ? (
          <span className="repeat" title={task.repeat}>
            repeats {repeatLabel(task.repeat)}
          </span>
        ) : null}
        {task.reminder ? (
          <span className="reminder" title={task.reminder}>
            {reminderLabel(task.reminder)}
          </span>
        ) : null}
        {task.priority !== 'medium' ? (
          <span className={`priority ${task.priority}`}>{task.priority}</span>
        ) : null}
      </span>
    </li>
  );
}

/**
 * The title in a text box; Enter or Save keeps it, Escape or Cancel gives `undefined`. Not a
 * `<form>`: MCP hosts sandbox the app without `allow-forms`, where a form's submit never fires.
 */
function RenameForm({ task, onDone }: { task: Task; onDone(title: string | undefined): void }) {
  const [title, setTitle] = useState(task.title);
  const save = () => {
    const trimmed = title.trim();
    onDone(trimmed === '' ? undefined : trimmed);
  };
  return (
    <div className="task-rename">
      <input
        // biome-ignore lint/a11y/noAutofocus: the person just asked to edit this title
        autoFocus
        value={title}
        maxLength={200}
        onChange={(event) => setTitle(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter') save();
          if (event.key === 'Escape') onDone(undefined);
        }}
        aria-label={`New title for #${task.id}`}
      />
      <button type="button" className="small primary" onClick={save}>
        Save
      </button>
      <button type="button" className="small" onClick={() => onDone(undefined)}>
        Cancel
      </button>
    </div>
  );
}
