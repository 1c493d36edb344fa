/**
 * @module chat/stream/parts
 * The one place a turn's answer becomes AI SDK UI message parts (what `useChat` holds), for the
 * live stream and for re-reading stored messages alike. Stored model messages stay the truth; three
 * producers must agree part for part:
 * - the live stream of a turn: the run's parts as UI chunks (./live.ts), narrowed by
 *   `canonicalChunks` to what the stored view rebuilds (no step markers, no provider metadata, no
 *   empty text, tool error results as errors);
 * - the replay of a repeated messageId (`answerChunks` of the answer stored with the turn);
 * - the stored messages read back (`answerParts`, which ../messages/ui-messages.ts uses for
 *   `GET /conversations/:id/messages`).
 * A turn is one user message and at most one assistant message, whose id is the one the stream's
 * start part announced (the row id of the first stored message of the answer).
 *
 * Tool errors: the task tools answer bad requests with an `{ error }` RESULT, which is what the
 * model must receive (the contract says so, and a thrown error would reach the model as plain text
 * instead). A UI must show it as a failure, so such a result becomes an `output-error` part whose
 * `errorText` is the error.
 *
 * Approvals (../turn/approvals.ts): a call waiting for the user is a tool part in state
 * `approval-requested` with `approval.id`; the decision turn's stored tool message makes it
 * `approval-responded`, and its result `output-available` (approved) or `output-denied`.
 */
import type { ModelMessage, UIMessage, UIMessageChunk } from 'ai';
import { toolErrorText } from '../../tasks/tools.ts';
import { partsOf, type StoredPart, type ToolOutcome, toolOutcome } from '../messages/stored.ts';

/** `{conversationId, createdAt}` for the AI SDK UI body; the contract body keeps `{conversationId, messageId}`. */
export type ChatMetadata = Record<string, string | boolean>;

export type TextUIPart = { type: 'text'; text: string; state: 'done' };
export type Approval = { id: string; approved?: boolean; reason?: string };
export type ToolUIPart = {
  type: `tool-${string}`;
  toolCallId: string;
  input: unknown;
  approval?: Approval;
} & (
  | { state: 'output-available'; output: unknown }
  | { state: 'output-error'; errorText: string }
  | { state: 'approval-requested' | 'approval-responded' | 'output-denied' }
);
export type AnswerPart = TextUIPart | ToolUIPart;

/** An assistant answer as the UI holds it: stored with the turn, so a replay needs no other read. */
export type UIAnswer = { id?: string; createdAt: string; parts: AnswerPart[] };

export type ChatUIMessage = UIMessage<ChatMetadata>;

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
  const approvals = new Map<string, number>();
  /** The call part at `index`, changed (text parts are never changed). */
  const update = (index: number | undefined, change: (call: ToolUIPart) => Partial<ToolUIPart>) => {
    const call = index === undefined ? undefined : parts[index];
    if (call && call.type !== 'text')
      parts[index as number] = { ...call, ...change(call as ToolUIPart) } as ToolUIPart;
  };
  for (const message of messages) {
    for (const part of partsOf(message) as (StoredPart & {
      approvalId?: string;
      approved?: boolean;
      reason?: string;
    })[]) {
      if (part.type === 'tool-approval-request' && part.approvalId && part.toolCallId) {
        const index = calls.get(part.toolCallId);
        if (index !== undefined) approvals.set(part.approvalId, index);
        update(index, () => ({ state: 'approval-requested', approval: { id: part.approvalId as string } }));
        continue;
      }
      if (part.type === 'tool-approval-response' && part.approvalId) {
        const { approvalId: id, approved = false, reason } = part;
        update(approvals.get(id), () => ({
          state: 'approval-responded',
          approval: { id, approved, ...(reason ? { reason } : {}) },
        }));
        continue;
      }
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
        const output = part.output;
        update(calls.get(part.toolCallId), (call) =>
          output?.type === 'execution-denied'
            ? {
                state: 'output-denied',
                approval: {
                  id: call.approval?.id ?? '',
                  approved: false,
                  ...(output.reason ? { reason: output.reason } : {}),
                },
              }
            : uiToolState(toolOutcome(output)),
        );
      }
    }
  }
  return parts.filter((p): p is AnswerPart => p.state !== undefined);
}

/** A tool call's outcome as the state of its UI part. */
function uiToolState(
  outcome: ToolOutcome,
): { state: 'output-available'; output: unknown } | { state: 'output-error'; errorText: string } {
  return outcome.ok
    ? { state: 'output-available', output: outcome.value }
    : { state: 'output-error', errorText: outcome.error };
}

/** One tool call with its result as a UI part: an `{ error }` result is an error. */
export function toolPart(name: string, toolCallId: string, input: unknown, result: unknown): ToolUIPart {
  const errorText = toolErrorText(result);
  const outcome: ToolOutcome =
    errorText === undefined ? { ok: true, value: result } : { ok: false, error: errorText };
  return { type: `tool-${name}`, toolCallId, input, ...uiToolState(outcome) };
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
    chunks.push(...toolStateChunks(part));
  });
  return chunks;
}

/** The chunks that bring a tool part from its input to its state. */
function toolStateChunks(part: ToolUIPart): UIMessageChunk[] {
  const { toolCallId, approval } = part;
  const asked: UIMessageChunk[] = approval
    ? [{ type: 'tool-approval-request', approvalId: approval.id, toolCallId }]
    : [];
  switch (part.state) {
    case 'output-available':
      return [...asked, { type: 'tool-output-available', toolCallId, output: part.output }];
    case 'output-error':
      return [...asked, { type: 'tool-output-error', toolCallId, errorText: part.errorText }];
    case 'output-denied':
      return [...asked, { type: 'tool-output-denied', toolCallId }];
    default:
      return asked;
  }
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
