/**
 * @module chat/transcript
 * Turns stored AI SDK model messages into the contract's transcript: user and assistant messages
 * with plain text, and each tool call folded, with its result, into the assistant message that
 * made it. One turn's assistant steps and tool messages read as one assistant message.
 */
import type { StoredMessage } from './store.ts';

export type TranscriptMessage = {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  toolCalls?: { name: string; args: unknown; result: unknown }[];
  createdAt: string;
};

type Part = {
  type?: string;
  text?: string;
  toolCallId?: string;
  toolName?: string;
  input?: unknown;
  output?: { type?: string; value?: unknown };
};

const partsOf = (content: unknown): Part[] =>
  typeof content === 'string'
    ? [{ type: 'text', text: content }]
    : Array.isArray(content)
      ? (content as Part[])
      : [];

export function toTranscript(
  messages: (StoredMessage & { id: string; createdAt: string })[],
): TranscriptMessage[] {
  const out: TranscriptMessage[] = [];
  const calls = new Map<string, { name: string; args: unknown; result: unknown }>();
  for (const stored of messages) {
    const parts = partsOf(stored.content.content);
    if (stored.role === 'user') {
      out.push({ id: stored.id, role: 'user', content: textOf(parts), createdAt: stored.createdAt });
      continue;
    }
    let current = out.at(-1);
    if (current?.role !== 'assistant') {
      current = { id: stored.id, role: 'assistant', content: '', createdAt: stored.createdAt };
      out.push(current);
    }
    if (stored.role === 'assistant') {
      const text = textOf(parts);
      if (text) current.content = current.content ? `${current.content}\n\n${text}` : text;
      for (const p of parts) {
        if (p.type !== 'tool-call' || !p.toolCallId) continue;
        const call = { name: p.toolName ?? '', args: p.input ?? {}, result: null as unknown };
        calls.set(p.toolCallId, call);
        current.toolCalls = [...(current.toolCalls ?? []), call];
      }
    } else {
      for (const p of parts) {
        const call = p.type === 'tool-result' && p.toolCallId ? calls.get(p.toolCallId) : undefined;
        if (call) call.result = resultValue(p.output);
      }
    }
  }
  return out;
}

function textOf(parts: Part[]): string {
  return parts
    .filter((p) => p.type === 'text' && p.text)
    .map((p) => p.text)
    .join('');
}

function resultValue(output: Part['output']): unknown {
  if (!output) return null;
  if (output.type === 'error-text' || output.type === 'error-json') return { error: output.value };
  return output.value ?? null;
}
