/**
 * @module chat/messages/stored
 * The one reader of stored model messages. A conversation is stored as the AI SDK model messages
 * the model saw (user, assistant and tool messages, content as text or parts); every view of it
 * (the model's history window, the contract's transcript, the UI messages) reads parts and tool
 * results through here, so they agree on what a message says and on what a tool call came to.
 */
import type { ModelMessage, ToolResultPart } from 'ai';
import { toolErrorText } from '../../tasks/tools.ts';

/** A stored message as BEGIN TURN returns it for the history window. */
export type StoredMessage = {
  seq: number;
  role: 'user' | 'assistant' | 'tool';
  content: ModelMessage;
  /** The turn that stored it; null for rows stored before messages recorded it. */
  turnId?: string | null;
  /** Part of an answer a regenerated one replaced. */
  replaced?: boolean;
};

/** A stored message as the conversation view reads it. */
export type ViewRow = {
  id: string;
  role: 'user' | 'assistant' | 'tool';
  content: ModelMessage;
  createdAt: string;
  /** The turn that stored it; null for rows stored before messages recorded it. */
  turnId: string | null;
  replaced: boolean;
  /** For a user message: the client's messageId of its turn. */
  messageId: string | null;
};

/**
 * How a stored answer that its person stopped (POST /chat/:id/stop) says so: its last assistant
 * message carries these provider options, which no provider reads, so the views can show
 * `stopped: true` from the messages alone (../turn/stopped.ts puts it there).
 */
export const STOPPED_MARK: { taskchat: { stopped: true } } = { taskchat: { stopped: true } };

/** True for the assistant message that ends a stopped answer. */
export function wasStopped(message: ModelMessage): boolean {
  const options = message.providerOptions as { taskchat?: { stopped?: unknown } } | undefined;
  return options?.taskchat?.stopped === true;
}

/** One tool call of a turn as clients see it: the contract's `{name, args, result}`. */
export type ToolCallRecord = { name: string; args: unknown; result: unknown };

/** A part of a stored message, as loosely as the readers need it (old rows may lack fields). */
export type StoredPart = {
  type: string;
  text?: string;
  toolCallId?: string;
  toolName?: string;
  input?: unknown;
  output?: ToolResultPart['output'];
};

/** The parts of a message: plain text content is one text part. */
export function partsOf(message: ModelMessage): StoredPart[] {
  if (typeof message.content === 'string') return [{ type: 'text', text: message.content }];
  return Array.isArray(message.content) ? (message.content as StoredPart[]) : [];
}

/** The non-empty text parts of a message, joined by `separator`. */
export function textOf(message: ModelMessage, separator: string): string {
  return partsOf(message)
    .filter((p) => p.type === 'text' && p.text)
    .map((p) => p.text)
    .join(separator);
}

/** What a tool call came to: the tool's value, or the error the model was told. */
export type ToolOutcome = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * A stored tool result as its outcome. An error is an SDK error output (an unknown tool, arguments
 * that were not JSON), a call that was denied, or a tool's own `{ error }` result: the task tools
 * answer bad requests with that RESULT, which is what the model must receive, but every view shows
 * it as a failure.
 */
export function toolOutcome(output: StoredPart['output']): ToolOutcome {
  switch (output?.type) {
    case 'error-text':
      return { ok: false, error: String(output.value) };
    case 'error-json':
      return { ok: false, error: JSON.stringify(output.value) };
    case 'execution-denied':
      return { ok: false, error: output.reason ?? 'The tool call was denied.' };
    default: {
      const value = output && 'value' in output ? (output.value ?? null) : null;
      const error = toolErrorText(value);
      return error === undefined ? { ok: true, value } : { ok: false, error };
    }
  }
}
