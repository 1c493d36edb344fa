/**
 * @module chat/stream/response
 * The AI SDK UI message stream as an HTTP response, with no stream stage of its own. The SDK's
 * `createUIMessageStreamResponse(createUIMessageStream(...))` passes every part through four web
 * streams (the writer's stream, a transform that puts the message id in the start part, JSON to
 * SSE text, text to bytes), and on Node each stage costs promises and queue work per part. Here
 * `writer.write` serializes the part once, as its SSE event, into the response's text body
 * (../../http/node-body.ts: under the Node server, written to the socket once per event-loop tick),
 * and hands the same JSON text to the relay that keeps the stream for a client that resumes it
 * (./relay.ts). The same bytes, the same headers, the same `[DONE]` ending, the same error part for
 * a failed `execute`. A client that goes away stops only the writes: `execute` runs to its end.
 */
import { generateId, UI_MESSAGE_STREAM_HEADERS, type UIMessageChunk } from 'ai';
import { TextBody } from '../../http/node-body.ts';

export type UIStreamWriter = {
  write(part: UIMessageChunk): void;
};

export type UIStreamOptions = {
  execute(options: { writer: UIStreamWriter }): Promise<void> | void;
  /** The error part's text for a failure of `execute`. */
  onError?: (error: unknown) => string;
  /** Also given each part `writer.write` sends, as the JSON text the response sent. */
  relay?: { write(json: string): void };
  headers?: Record<string, string>;
  status?: number;
};

export function uiMessageStreamResponse({
  execute,
  onError = () => 'An error occurred.',
  relay,
  headers,
  status,
}: UIStreamOptions): Response {
  const body = new TextBody();
  const messageId = generateId();
  const send = (part: UIMessageChunk): string => {
    const json = JSON.stringify(part);
    body.write(`data: ${json}\n\n`);
    return json;
  };
  const write = (part: UIMessageChunk) => {
    // As the SDK's stream does: the start part carries a message id.
    const json = send(part.type === 'start' && part.messageId == null ? { ...part, messageId } : part);
    relay?.write(json);
  };
  const failed = (error: unknown) => {
    let errorText: string;
    try {
      errorText = onError(error);
    } catch {
      errorText = 'An error occurred.';
    }
    send({ type: 'error', errorText });
  };
  const run = (): Promise<void> => {
    try {
      return Promise.resolve(execute({ writer: { write } }));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  run()
    .catch(failed)
    .finally(() => {
      body.write('data: [DONE]\n\n');
      body.end();
    });
  return new Response(body.stream, { status, headers: { ...UI_MESSAGE_STREAM_HEADERS, ...headers } });
}
