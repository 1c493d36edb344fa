/**
 * The user's tasks beside the chat (`GET /tasks`), so what the tools did is visible as state and
 * not only as cards. It reloads whenever `version` changes (the app bumps it when a turn's tools
 * ran) and lets a person tick a task done with `PATCH /tasks/:id`, the same change the
 * `complete_task` tool makes, so the chat sees it on its next turn. The tick's change can be undone
 * at once from the line that says what it did (./undo.tsx).
 */
import { useCallback, useEffect, useState } from 'react';
import { ApiProblem, api, type Task } from './api.ts';
import type { Problem } from './problems.ts';
import { TaskRow } from './task-row.tsx';
import { UndoButton } from './undo.tsx';

/** The last tick: what it did and the change that undoes it. */
type Ticked = { changeId: number; text: string };

export function TaskPanel({ version, onCount }: { version: number; onCount(pending: number): void }) {
  const [tasks, setTasks] = useState<Task[] | undefined>();
  const [problem, setProblem] = useState<Problem>();
  const [saving, setSaving] = useState<number>();
  const [ticked, setTicked] = useState<Ticked>();

  const load = useCallback(async () => {
    try {
      const { tasks } = await api<{ tasks: Task[]; total: number }>('/tasks?status=all');
      setTasks(tasks);
      setProblem(undefined);
      onCount(tasks.filter((t) => !t.completed).length);
    } catch (error) {
      if (error instanceof ApiProblem) setProblem(error.problem);
      else throw error;
    }
  }, [onCount]);

  useEffect(() => {
    void version;
    void load();
  }, [load, version]);

  const toggle = async (task: Task) => {
    setSaving(task.id);
    // Shown at once; the reload below puts back the server's truth, whatever happened.
    setTasks((list) => list?.map((t) => (t.id === task.id ? { ...t, completed: !task.completed } : t)));
    try {
      const changed = await api<Task & { changeId?: number }>(`/tasks/${task.id}`, {
        method: 'PATCH',
        json: { completed: !task.completed },
      });
      const verb = changed.completed ? 'Completed' : 'Reopened';
      setTicked(
        changed.changeId === undefined
          ? undefined
          : { changeId: changed.changeId, text: `${verb} #${changed.id} ${changed.title}` },
      );
      setProblem(undefined);
    } catch (error) {
      if (error instanceof ApiProblem) setProblem(error.problem);
      else throw error;
    } finally {
      setSaving(undefined);
    }
    await load();
  };

  const pending = tasks?.filter((t) => !t.completed) ?? [];
  const done = tasks?.filter((t) => t.completed) ?? [];
  return (
    <section className="task-panel" aria-label="Tasks">
      <div className="panel-head">
        <h2>Tasks</h2>
        <button type="button" className="link-button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {problem ? (
        <div className="problem small" role="alert">
          <p className="problem-sentence">{problem.sentence}</p>
          {problem.serverMessage ? (
            <p className="problem-detail">Server said: {problem.serverMessage}</p>
          ) : null}
        </div>
      ) : null}
      {ticked ? (
        <div className="panel-undo" role="status" key={ticked.changeId}>
          <span>{ticked.text}</span>
          <UndoButton changeId={ticked.changeId} />
        </div>
      ) : null}
      {tasks === undefined && !problem ? <p className="muted">Loading…</p> : null}
      {tasks?.length === 0 ? <p className="muted">No tasks yet. Ask the chat to add one.</p> : null}
      <ul className="tasks">
        {pending.map((task) => (
          <TaskRow key={task.id} task={task} saving={saving === task.id} onToggle={toggle} />
        ))}
      </ul>
      {done.length > 0 ? (
        <details className="done-tasks" open>
          <summary>Done ({done.length})</summary>
          <ul className="tasks">
            {done.map((task) => (
              <TaskRow key={task.id} task={task} saving={saving === task.id} onToggle={toggle} />
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
}
