// Reads an AI SDK UI message stream response (SSE `data:` events) back into its chunks, for
// `readUIMessageStream`, the way `useChat` does in a browser.
export function uiChunks(res: Response): ReadableStream<any> {
  const lines = res.body?.pipeThrough(new TextDecoderStream()) as ReadableStream<string>;
  let buffer = '';
  return lines.pipeThrough(
    new TransformStream<string, any>({
      transform(chunk, controller) {
        buffer += chunk;
        const events = buffer.split('\n\n');
        buffer = events.pop() ?? '';
        for (const event of events) {
          const data = event.replace(/^data: /, '').trim();
          if (data && data !== '[DONE]') controller.enqueue(JSON.parse(data));
        }
      },
    }),
  );
}
