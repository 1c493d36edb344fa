/**
 * @module chat/ui-messages
 * The AI SDK UI view of a conversation (what `useChat` holds), built from the stored model
 * messages, which stay the truth. One view, three producers that must agree part for part:
 * - the live stream of a turn, whose chunks `canonicalChunks` narrows to what the view can rebuild
 *   (no step markers, no provider metadata, no empty text, tool error results as errors);
 * - the replay of a repeated messageId (`answerChunks` of the answer stored with the turn);
 * - `GET /conversations/:id/messages` (`conversationUIMessages`).
 * A turn is one user message and at most one assistant message, whose id is the one the stream's
 * start part announced (the row id of the first stored message of the answer).
 *
 * Tool errors: the task tools answer bad requests with an `{ error }` RESULT, which is what the
 * model must receive (the contract says so, and a thrown error would reach the model as plain text
 * instead). A UI must show it as a failure, so the view turns such a result into an
 * `output-error` part whose `errorText` is the error.
 */
import type { ModelMessage, UIMessage, UIMessageChunk } from 'ai';

/** `{conversationId, createdAt}` for the AI SDK UI body; the contract body keeps `{conversationId, messageId}`. */
export type ChatMetadata = Record<string, string>;

export type TextUIPart = { type: 'text'; text: string; state: 'done' };
export type ToolUIPart = {
  type: `tool-${string}`;
  toolCallId: string;
  input: unknown;
} & ({ state: 'output-available'; output: unknown } | { state: 'output-error'; errorText: string });
export type AnswerPart = TextUIPart | ToolUIPart;

/** An assistant answer as the UI holds it: stored with the turn, so a replay needs no other read. */
export type UIAnswer = { id?: string; createdAt: string; parts: AnswerPart[] };

export type ChatUIMessage = UIMessage<ChatMetadata>;

/** The error text of a tool's `{ error }` result; undefined for any other result. */
export function toolErrorText(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const error = (value as { error?: unknown }).error;
  return typeof error === 'string' ? error : undefined;
}

type StoredPart = {
  type: string;
  text?: string;
  toolCallId?: string;
  toolName?: string;
  input?: unknown;
  output?: { type: string; value?: unknown; reason?: string };
};

const partsOf = (message: ModelMessage): StoredPart[] =>
  typeof message.content === 'string'
    ? [{ type: 'text', text: message.content }]
    : Array.isArray(message.content)
      ? (message.content as StoredPart[])
      : [];

/**
 * One answer's stored assistant and tool messages as UI parts, in the order they streamed: text
 * (non-empty) and one `tool-<name>` part per call with its result. Reasoning is not the client's
 * (it is not streamed either); a call without a result is left out, as the model never used it.
 */
export function answerParts(messages: ModelMessage[]): AnswerPart[] {
  const parts: (
    | AnswerPart
    | { type: `tool-${string}`; toolCallId: string; input: unknown; state?: undefined }
  )[] = [];
  const calls = new Map<string, number>();
  for (const message of messages) {
    for (const part of partsOf(message)) {
      if (message.role === 'assistant' && part.type === 'text' && part.text) {
        parts.push({ type: 'text', text: part.text, state: 'done' });
      } else if (message.role === 'assistant' && part.type === 'tool-call' && part.toolCallId) {
        calls.set(part.toolCallId, parts.length);
        parts.push({
          type: `tool-${part.toolName ?? ''}`,
          toolCallId: part.toolCallId,
          input: part.input ?? {},
        });
      } else if (message.role === 'tool' && part.type === 'tool-result' && part.toolCallId) {
        const index = calls.get(part.toolCallId);
        const call = index === undefined ? undefined : parts[index];
        if (call && call.type !== 'text') parts[index as number] = { ...call, ...toolOutcome(part.output) };
      }
    }
  }
  return parts.filter((p): p is AnswerPart => p.state !== undefined);
}

function toolOutcome(
  output: StoredPart['output'],
): { state: 'output-available'; output: unknown } | { state: 'output-error'; errorText: string } {
  switch (output?.type) {
    case 'error-text':
      return { state: 'output-error', errorText: String(output.value) };
    case 'error-json':
      return { state: 'output-error', errorText: JSON.stringify(output.value) };
    case 'execution-denied':
      return { state: 'output-error', errorText: output.reason ?? 'The tool call was denied.' };
    default: {
      const value = output?.value ?? null;
      const errorText = toolErrorText(value);
      return errorText === undefined
        ? { state: 'output-available', output: value }
        : { state: 'output-error', errorText };
    }
  }
}

/** One tool call with its result as a UI part: an `{ error }` result is an error. */
export function toolPart(name: string, toolCallId: string, input: unknown, result: unknown): ToolUIPart {
  const errorText = toolErrorText(result);
  return errorText === undefined
    ? { type: `tool-${name}`, toolCallId, input, state: 'output-available', output: result }
    : { type: `tool-${name}`, toolCallId, input, state: 'output-error', errorText };
}

/** The chunks that stream an answer (a replay), read by `useChat` into exactly `answer.parts`. */
export function answerChunks(answer: UIAnswer, metadata: ChatMetadata): UIMessageChunk[] {
  return [
    { type: 'start', ...(answer.id ? { messageId: answer.id } : {}), messageMetadata: metadata },
    ...partChunks(answer.parts),
    { type: 'finish', messageMetadata: metadata },
  ];
}

/** The chunks that make these parts, in order (a replay, or a re-run's recorded tool calls). */
export function partChunks(parts: AnswerPart[]): UIMessageChunk[] {
  const chunks: UIMessageChunk[] = [];
  parts.forEach((part, i) => {
    if (part.type === 'text') {
      const id = `text-${i}`;
      chunks.push(
        { type: 'text-start', id },
        { type: 'text-delta', id, delta: part.text },
        { type: 'text-end', id },
      );
      return;
    }
    const { toolCallId, input } = part;
    chunks.push({
      type: 'tool-input-available',
      toolCallId,
      toolName: part.type.slice('tool-'.length),
      input,
    });
    chunks.push(
      part.state === 'output-available'
        ? { type: 'tool-output-available', toolCallId, output: part.output }
        : { type: 'tool-output-error', toolCallId, errorText: part.errorText },
    );
  });
  return chunks;
}

/**
 * Narrows the SDK's live chunks (`toUIMessageChunk` of each part of the run, without start and
 * finish: the caller writes those) to the ones `answerParts` rebuilds from storage, so the message
 * a client holds after the stream equals the one it reads back:
 * - step markers dropped (the view has no steps), provider metadata dropped (provider internals);
 * - a text part only once it has text (providers open one for an empty delta; nothing is stored);
 * - a tool's `{ error }` result sent as `tool-output-error`; a call the SDK refused
 *   (`tool-input-error`) sent with the input it was stored with, not the raw text.
 * Returns a function from one chunk to the chunks to send for it.
 */
export function canonicalChunks(): (chunk: UIMessageChunk) => UIMessageChunk[] {
  const unopened = new Set<string>();
  return (chunk) => {
    switch (chunk.type) {
      case 'start':
      case 'finish':
      case 'start-step':
      case 'finish-step':
      case 'message-metadata':
        return [];
      case 'text-start':
        unopened.add(chunk.id);
        return [];
      case 'text-delta': {
        if (!chunk.delta) return [];
        const out: UIMessageChunk[] = [];
        if (unopened.delete(chunk.id)) out.push({ type: 'text-start', id: chunk.id });
        out.push({ type: 'text-delta', id: chunk.id, delta: chunk.delta });
        return out;
      }
      case 'text-end':
        return unopened.delete(chunk.id) ? [] : [{ type: 'text-end', id: chunk.id }];
      case 'tool-input-start':
        return [{ type: 'tool-input-start', toolCallId: chunk.toolCallId, toolName: chunk.toolName }];
      case 'tool-input-available':
        return [
          {
            type: 'tool-input-available',
            toolCallId: chunk.toolCallId,
            toolName: chunk.toolName,
            input: chunk.input,
          },
        ];
      case 'tool-input-error':
        return [
          {
            type: 'tool-input-error',
            toolCallId: chunk.toolCallId,
            toolName: chunk.toolName,
            // What the SDK stores for a call whose input did not parse: not the raw text.
            input: typeof chunk.input === 'object' ? chunk.input : {},
            errorText: chunk.errorText,
          },
        ];
      case 'tool-output-available': {
        const errorText = toolErrorText(chunk.output);
        return [
          errorText === undefined
            ? { type: 'tool-output-available', toolCallId: chunk.toolCallId, output: chunk.output ?? null }
            : { type: 'tool-output-error', toolCallId: chunk.toolCallId, errorText },
        ];
      }
      case 'tool-output-error':
        return [{ type: 'tool-output-error', toolCallId: chunk.toolCallId, errorText: chunk.errorText }];
      default:
        return [chunk];
    }
  };
}

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
 * A conversation's stored messages (oldest first) as UI messages: each user message (its id the
 * client's messageId), then its turn's answer as one assistant message (its id the first stored
 * row's, which is the id the stream announced), replaced answers left out. An answer stored after
 * later turns (a regenerate from a stale client) still follows its own user message.
 */
export function conversationUIMessages(conversationId: string, rows: ViewRow[]): ChatUIMessage[] {
  type Turn = { user?: ViewRow; answer: ViewRow[] };
  const turns: Turn[] = [];
  const byTurnId = new Map<string, Turn>();
  for (const row of rows) {
    if (row.role === 'user') {
      const turn: Turn = { user: row, answer: [] };
      turns.push(turn);
      if (row.turnId) byTurnId.set(row.turnId, turn);
      continue;
    }
    if (row.replaced) continue;
    let turn = (row.turnId && byTurnId.get(row.turnId)) || turns.at(-1);
    if (!turn) {
      // The oldest rows of a long conversation can start inside an answer whose question is cut off.
      turn = { answer: [] };
      turns.push(turn);
    }
    turn.answer.push(row);
  }
  const out: ChatUIMessage[] = [];
  for (const { user, answer } of turns) {
    if (user) {
      out.push({
        id: user.messageId ?? user.id,
        role: 'user',
        parts: [{ type: 'text', text: userText(user.content) }],
        metadata: { conversationId, createdAt: user.createdAt },
      });
    }
    const first = answer[0];
    if (!first) continue;
    out.push({
      id: first.id,
      role: 'assistant',
      parts: answerParts(answer.map((r) => r.content)) as ChatUIMessage['parts'],
      metadata: { conversationId, createdAt: first.createdAt },
    });
  }
  return out;
}

function userText(message: ModelMessage): string {
  return partsOf(message)
    .filter((p) => p.type === 'text' && p.text)
    .map((p) => p.text)
    .join('\n');
}
