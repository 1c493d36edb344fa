/**
 * @module chat/stream/live
 * A running turn's parts (../turn/agent.ts `streamTurn`) as the UI chunks its client is sent: each
 * part becomes its chunk by the SDK's own `toUIMessageChunk` (which `toUIMessageStream` runs behind
 * four more stream stages), then the chunk is made what the client may see and what the stored
 * answer will read back as (./parts.ts `canonicalChunks`):
 * - text cleaned piece by piece the way the stored text is cleaned whole (../../text.ts), tool
 *   inputs and outputs cleaned;
 * - tool errors in our words (`toolError`), and a call the SDK refused sent once (its
 *   tool-input-error part; the tool-error part that follows says it again);
 * - no error part: the turn writes the one error part itself, in the words the JSON answer has.
 */
import { type TextStreamPart, type ToolSet, toUIMessageChunk, type UIMessageChunk } from 'ai';
import { cleanDeep, createDeltaCleaner } from '../../text.ts';
import { canonicalChunks } from './parts.ts';

/** The run's UI parts a streamed turn sends; the turn writes start, finish and errors itself. */
const UI_PARTS = {
  sendStart: false,
  sendFinish: false,
  // Tool errors stay tool parts with the text the model saw.
  redactToolErrors: false,
  // Reasoning is stored (it must go back to the model) but is not the client's business; with the
  // Responses API it is mostly encrypted content.
  sendReasoning: false,
  onError: () => '',
} as const;

/**
 * A converter for one run: from each of its parts to the chunks to send for it, in order.
 * `toolError` gives our words for a failed call (the run knows them by the time its error part comes).
 */
export function liveChunks(
  tools: ToolSet,
  toolError: (toolCallId: string) => string,
): (part: TextStreamPart<ToolSet>) => UIMessageChunk[] {
  const options = { ...UI_PARTS, tools };
  const canonical = canonicalChunks();
  const texts = new Map<string, ReturnType<typeof createDeltaCleaner>>();
  const refused = new Set<string>();
  const cleaned = (chunk: UIMessageChunk): UIMessageChunk[] => {
    switch (chunk.type) {
      case 'error':
      case 'abort':
        return [];
      case 'text-delta': {
        const cleaner = texts.get(chunk.id) ?? createDeltaCleaner();
        texts.set(chunk.id, cleaner);
        const delta = cleaner.push(chunk.delta);
        return delta ? [{ ...chunk, delta }] : [];
      }
      case 'text-end': {
        const rest = texts.get(chunk.id)?.flush();
        return rest ? [{ type: 'text-delta', id: chunk.id, delta: rest }, chunk] : [chunk];
      }
      case 'tool-input-error':
      case 'tool-output-error':
        return [cleanDeep({ ...chunk, errorText: toolError(chunk.toolCallId) })];
      default:
        return [cleanDeep(chunk)];
    }
  };
  return (part) => {
    // Most parts are text deltas: straight to their chunk, as the general path below makes it.
    if (part.type === 'text-delta') {
      let cleaner = texts.get(part.id);
      if (!cleaner) {
        cleaner = createDeltaCleaner();
        texts.set(part.id, cleaner);
      }
      const delta = cleaner.push(part.text);
      return delta ? canonical({ type: 'text-delta', id: part.id, delta }) : [];
    }
    if (part.type === 'tool-call' && part.invalid) refused.add(part.toolCallId);
    if (part.type === 'tool-error' && !part.providerExecuted && refused.delete(part.toolCallId)) return [];
    const chunk = toUIMessageChunk(part, options);
    return chunk ? cleaned(chunk).flatMap(canonical) : [];
  };
}
