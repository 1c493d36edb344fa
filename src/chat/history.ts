/**
 * @module chat/history
 * What the model is shown of a conversation: stored model messages, cut into a window that starts
 * at a user message, with every tool call paired with its result. Pure functions over the rows
 * BEGIN TURN returns, so the turn store, the turn and the benchmark's no-database fake share them.
 */
import type { ModelMessage, ToolCallPart, ToolResultPart } from 'ai';

export type StoredMessage = {
  seq: number;
  role: 'user' | 'assistant' | 'tool';
  content: ModelMessage;
  /** The turn that stored it; null for rows stored before messages recorded it. */
  turnId?: string | null;
  /** Part of an answer a regenerated one replaced. */
  replaced?: boolean;
};

/** Cuts the window so that it starts at a user message: never a tool result without its call. */
export function windowFromUserMessage(history: StoredMessage[]): StoredMessage[] {
  const start = history.findIndex((m) => m.role === 'user');
  return start === -1 ? [] : history.slice(start);
}

/**
 * The window as the model sees it. An answer that a regenerated one replaced (or, while `turnId`
 * regenerates, that turn's current answer, about to be replaced) keeps its tool calls and results,
 * because those changes happened, but not its text: the new answer speaks instead.
 */
export function modelHistory(window: StoredMessage[], turnId?: string): ModelMessage[] {
  const out: ModelMessage[] = [];
  for (const m of window) {
    const superseded =
      m.replaced === true || (turnId !== undefined && m.turnId === turnId && m.role !== 'user');
    if (!superseded || m.role !== 'assistant') {
      out.push(m.content);
      continue;
    }
    // Reasoning stays only with the calls it led to: OpenAI refuses a reasoning item that nothing follows.
    const content = partsOf(m.content).filter((p) => p.type !== 'text');
    if (content.some((p) => p.type === 'tool-call')) out.push({ ...m.content, content } as ModelMessage);
  }
  return out;
}

type ContentPart = { type: string } & Partial<Pick<ToolCallPart | ToolResultPart, 'toolCallId'>>;

/** The parts of a message with array content (assistant and tool messages); none for plain text. */
export function partsOf(message: ModelMessage): ContentPart[] {
  return Array.isArray(message.content) ? (message.content as ContentPart[]) : [];
}

/**
 * Drops tool calls that have no result and results that have no call. END TURN stores a turn's
 * messages all at once, so this only matters for data written some other way, but one such
 * exchange would otherwise make the provider refuse every later turn of the conversation.
 */
export function pairToolExchanges(messages: ModelMessage[]): ModelMessage[] {
  const calls = new Set<string>();
  const results = new Set<string>();
  for (const m of messages) {
    for (const p of partsOf(m)) {
      if (p.type === 'tool-call' && p.toolCallId) calls.add(p.toolCallId);
      if (p.type === 'tool-result' && p.toolCallId) results.add(p.toolCallId);
    }
  }
  const keep = (p: ContentPart) =>
    p.type === 'tool-call'
      ? results.has(p.toolCallId ?? '')
      : p.type === 'tool-result'
        ? calls.has(p.toolCallId ?? '')
        : true;
  const out: ModelMessage[] = [];
  for (const m of messages) {
    if (!Array.isArray(m.content)) {
      out.push(m);
      continue;
    }
    const content = partsOf(m).filter(keep);
    if (content.length > 0) out.push({ ...m, content } as ModelMessage);
  }
  return out;
}
