/**
 * Undo on the page: a button that undoes one logged change (`POST /changes/:id/undo`) and says what
 * came of it, used by the chat's tool cards (a result carrying `change_id`) and by the task panel
 * after a tick (the PATCH answer's `changeId`). Whatever the undo did, the task panel is told to
 * reload, so what it shows is the server's state after every click; a refusal (`409 undo_conflict`)
 * shows the server's own sentence, which says what to undo first or what already undid it.
 */
import { useState } from 'react';
import { ApiProblem, api, type Task } from './api.ts';

// After an undo anywhere on the page, the app reloads the task panel (as api.ts's onUnauthorized:
// one listener in the app, no props threaded through the chat's cards).
const tasksChangedListeners = new Set<() => void>();

export function onTasksChanged(listener: () => void): () => void {
  tasksChangedListeners.add(listener);
  return () => tasksChangedListeners.delete(listener);
}

function reportTasksChanged(): void {
  for (const listener of tasksChangedListeners) listener();
}

type Undone = { change: { id: number; taskId: number }; task: Task | null };

/** The change id a tool result carries, if it changed a task. */
export function changeIdOf(output: unknown): number | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const id = (output as { change_id?: unknown }).change_id;
  return typeof id === 'number' && Number.isInteger(id) && id > 0 ? id : undefined;
}

/** What the undo did, in the page's words. */
function undoneLine({ change, task }: Undone): string {
  if (!task) return `Undone: #${change.taskId} removed`;
  return `Undone: #${task.id} ${task.title} is back as it was`;
}

type State = { kind: 'idle' | 'working' } | { kind: 'done' | 'refused'; text: string };

export function UndoButton({ changeId, label = 'Undo' }: { changeId: number; label?: string }) {
  const [state, setState] = useState<State>({ kind: 'idle' });
  const undo = async () => {
    setState({ kind: 'working' });
    try {
      const undone = await api<Undone>(`/changes/${changeId}/undo`, { method: 'POST' });
      setState({ kind: 'done', text: undoneLine(undone) });
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      const { problem } = error;
      const text =
        problem.code === 'undo_conflict' ? (problem.serverMessage ?? problem.sentence) : problem.sentence;
      setState({ kind: 'refused', text });
    }
    // Refused too: the refusal means the task changed elsewhere, which the panel should show.
    reportTasksChanged();
  };
  if (state.kind === 'done' || state.kind === 'refused') {
    return (
      <span className={`undo-result ${state.kind}`} role="status" data-change-id={changeId}>
        {state.text}
      </span>
    );
  }
  return (
    <button
      type="button"
      className="link-button small undo-button"
      data-change-id={changeId}
      disabled={state.kind === 'working'}
      onClick={() => void undo()}
    >
      {state.kind === 'working' ? 'Undoing…' : label}
    </button>
  );
}
