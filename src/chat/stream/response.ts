/**
 * @module chat/stream/response
 * The AI SDK UI message stream as an HTTP response, in one stream stage. The SDK's
 * `createUIMessageStreamResponse(createUIMessageStream(...))` passes every part through four web
 * streams (the writer's stream, a transform that puts the message id in the start part, JSON to
 * SSE text, text to bytes), and on Node each stage costs promises and queue work per part. Here
 * `writer.write` encodes the part as its SSE event straight into the response body: the same
 * bytes, the same headers, the same `[DONE]` ending, the same error part for a failed `execute`.
 */
import { generateId, UI_MESSAGE_STREAM_HEADERS, type UIMessageChunk } from 'ai';

export type UIStreamWriter = {
  write(part: UIMessageChunk): void;
  /** Forwards every part of `stream`, in order; `execute` is done when all merged streams are. */
  merge(stream: ReadableStream<UIMessageChunk>): void;
};

export type UIStreamOptions = {
  execute(options: { writer: UIStreamWriter }): Promise<void> | void;
  /** The error part's text for a failure of `execute` or of a merged stream. */
  onError?: (error: unknown) => string;
  headers?: Record<string, string>;
  status?: number;
};

const encoder = new TextEncoder();

export function uiMessageStreamResponse({
  execute,
  onError = () => 'An error occurred.',
  headers,
  status,
}: UIStreamOptions): Response {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let cancelled = false;
  const readers = new Set<ReadableStreamDefaultReader<UIMessageChunk>>();
  const messageId = generateId();
  const send = (text: string) => {
    if (cancelled) return;
    try {
      controller.enqueue(encoder.encode(text));
    } catch {
      // The response was closed or cancelled: the parts have no reader any more.
    }
  };
  const write = (part: UIMessageChunk) => {
    // As the SDK's stream does: the start part carries a message id.
    const out = part.type === 'start' && part.messageId == null ? { ...part, messageId } : part;
    send(`data: ${JSON.stringify(out)}\n\n`);
  };
  const failed = (error: unknown) => {
    let errorText: string;
    try {
      errorText = onError(error);
    } catch {
      errorText = 'An error occurred.';
    }
    write({ type: 'error', errorText });
  };
  const pending: Promise<void>[] = [];
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    async cancel(reason) {
      cancelled = true;
      await Promise.all(Array.from(readers, (reader) => reader.cancel(reason)));
    },
  });
  const writer: UIStreamWriter = {
    write,
    merge(stream) {
      if (cancelled) {
        stream.cancel().catch(() => {});
        return;
      }
      const reader = stream.getReader();
      readers.add(reader);
      pending.push(
        (async () => {
          try {
            for (let next = await reader.read(); !next.done; next = await reader.read()) write(next.value);
          } finally {
            readers.delete(reader);
            reader.releaseLock();
          }
        })().catch(failed),
      );
    },
  };
  try {
    const running = execute({ writer });
    if (running) pending.push(running.catch(failed));
  } catch (error) {
    failed(error);
  }
  (async () => {
    while (pending.length > 0) await pending.shift();
  })().finally(() => {
    send('data: [DONE]\n\n');
    try {
      controller.close();
    } catch {}
  });
  return new Response(body, { status, headers: { ...UI_MESSAGE_STREAM_HEADERS, ...headers } });
}
