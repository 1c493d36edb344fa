/**
 * One chat message, rendered from `message.parts` by `part.type` as the AI SDK's own examples do:
 * text as text, every `tool-<name>` part as a compact card by its state. Nothing here re-parses
 * the model's prose to find out what happened. A call waiting for the user's decision has
 * Approve / Deny buttons (`onDecide`; absent while a turn runs).
 */
import { getToolName, isToolUIPart, type UIMessage } from 'ai';
import { askLine, doneLine, errorInOutput, errorLine, pendingLine } from './tool-summary.ts';
import { changeIdOf, UndoButton } from './undo.tsx';

/** Why a call did not run, when the server closed its approval (../../src/chat/messages/ui-messages.ts). */
const deniedBecause: Record<string, string> = {
  superseded: 'you moved on',
  expired: 'the approval expired',
};

type Part = UIMessage['parts'][number];
type ToolPart = Extract<Part, { toolCallId: string }>;
/** The user's answer to a call waiting for approval. */
export type Decide = (approvalId: string, approved: boolean) => void;

export function MessageView({ message, onDecide }: { message: UIMessage; onDecide?: Decide }) {
  const role = message.role === 'user' ? 'user' : 'assistant';
  // An answer that failed before its first text or tool call has nothing to show but its error.
  if (!message.parts.some((p) => (p.type === 'text' && p.text !== '') || isToolUIPart(p))) return null;
  return (
    <li className={`message ${role}`} data-role={role} data-message-id={message.id}>
      <div className="bubble">
        {message.parts.map((part, index) => (
          // Parts never reorder within a message, so their position is a stable key.
          // biome-ignore lint/suspicious/noArrayIndexKey: see above
          <PartView key={index} part={part} onDecide={onDecide} />
        ))}
      </div>
    </li>
  );
}

function PartView({ part, onDecide }: { part: Part; onDecide?: Decide }) {
  if (part.type === 'text') return <p className="text">{part.text}</p>;
  if (isToolUIPart(part)) return <ToolCard part={part} onDecide={onDecide} />;
  // step-start, reasoning, sources, files, data parts: nothing this server sends to show.
  return null;
}

function ToolCard({ part, onDecide }: { part: ToolPart; onDecide?: Decide }) {
  const tool = getToolName(part);
  if (part.state === 'approval-requested') {
    const approvalId = part.approval.id;
    return (
      <div className="tool-card asking" data-tool={tool} data-state={part.state}>
        <span className="tool-line">{askLine(tool, part.input)}</span>
        <span className="tool-actions">
          <button
            type="button"
            className="primary"
            disabled={!onDecide}
            onClick={() => onDecide?.(approvalId, true)}
          >
            Approve
          </button>
          <button
            type="button"
            className="danger"
            disabled={!onDecide}
            onClick={() => onDecide?.(approvalId, false)}
          >
            Deny
          </button>
        </span>
      </div>
    );
  }
  const outputError = part.state === 'output-available' ? errorInOutput(part.output) : undefined;
  if (part.state === 'output-error' || outputError !== undefined) {
    return (
      <div className="tool-card error" data-tool={tool} data-state="output-error" role="status">
        <span className="tool-icon" aria-hidden="true">
          !
        </span>
        <div>
          <div className="tool-line">{errorLine(tool, part.input)}</div>
          <div className="tool-error-text">{part.errorText ?? outputError}</div>
        </div>
      </div>
    );
  }
  if (part.state === 'output-available') {
    const changeId = changeIdOf(part.output);
    const card = (
      <details className="tool-card done" data-tool={tool} data-state={part.state}>
        <summary>
          <span className="tool-icon" aria-hidden="true">
            ✓
          </span>
          <span className="tool-line">{doneLine(tool, part.input, part.output)}</span>
        </summary>
        <pre className="tool-detail">
          {JSON.stringify({ input: part.input, output: part.output }, null, 2)}
        </pre>
      </details>
    );
    // A call that changed a task can be undone from its card (the undo is outside the summary, so
    // clicking it does not fold the card open).
    return changeId === undefined ? (
      card
    ) : (
      <div className="tool-card-row">
        {card}
        {/* An undo's own change undone puts the change back: a redo. */}
        <UndoButton changeId={changeId} label={tool === 'undo_change' ? 'Redo' : 'Undo'} />
      </div>
    );
  }
  if (part.state === 'output-denied') {
    return (
      <div className="tool-card" data-tool={tool} data-state={part.state}>
        <span className="tool-line">
          {errorLine(tool, part.input).replace('Could not', 'Did not')}
          {part.approval?.reason
            ? ` (${deniedBecause[part.approval.reason] ?? part.approval.reason})`
            : ': denied'}
        </span>
      </div>
    );
  }
  return (
    <div className="tool-card pending" data-tool={tool} data-state={part.state}>
      <span className="spinner" aria-hidden="true" />
      <span className="tool-line">{pendingLine(tool, part.input)}</span>
    </div>
  );
}
