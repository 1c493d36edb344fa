/**
 * @module chat/messages/transcript
 * The contract's transcript of a conversation (`GET /conversations/:id`), built from the stored
 * model messages: user and assistant messages with plain text, one turn's assistant steps and tool
 * messages read as one assistant message, each tool call folded in with its result (a call with
 * no result, such as one waiting for a decision, has `result: null`).
 */
import { partsOf, type ToolCallRecord, textOf, toolOutcome, type ViewRow } from './stored.ts';

export type TranscriptMessage = {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  toolCalls?: ToolCallRecord[];
  createdAt: string;
};

/**
 * Stored model messages as the contract's transcript: one turn's assistant steps and tool
 * messages read as one assistant message, each tool call folded in with its result.
 */
export function toTranscript(messages: ViewRow[]): TranscriptMessage[] {
  const out: TranscriptMessage[] = [];
  const calls = new Map<string, ToolCallRecord>();
  for (const stored of messages) {
    // An answer a regenerated one replaced is history for the model only.
    if (stored.replaced) continue;
    if (stored.role === 'user') {
      out.push({
        id: stored.id,
        role: 'user',
        content: textOf(stored.content, ''),
        createdAt: stored.createdAt,
      });
      continue;
    }
    let current = out.at(-1);
    if (current?.role !== 'assistant') {
      current = { id: stored.id, role: 'assistant', content: '', createdAt: stored.createdAt };
      out.push(current);
    }
    if (stored.role === 'assistant') {
      const text = textOf(stored.content, '');
      if (text) current.content = current.content ? `${current.content}\n\n${text}` : text;
      for (const p of partsOf(stored.content)) {
        if (p.type !== 'tool-call' || !p.toolCallId) continue;
        const call: ToolCallRecord = { name: p.toolName ?? '', args: p.input ?? {}, result: null };
        calls.set(p.toolCallId, call);
        current.toolCalls = [...(current.toolCalls ?? []), call];
      }
    } else {
      for (const p of partsOf(stored.content)) {
        const call = p.type === 'tool-result' && p.toolCallId ? calls.get(p.toolCallId) : undefined;
        if (!call) continue;
        const outcome = toolOutcome(p.output);
        call.result = outcome.ok ? outcome.value : { error: outcome.error };
      }
    }
  }
  return out;
}
