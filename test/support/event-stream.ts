// A client of GET /events as a program reads it: fetch (so headers such as Authorization work),
// the body parsed as server-sent events by the rules of the HTML standard (fields, comments,
// blank-line dispatch), every event and comment kept in order.

export type ServerSentEvent = { event: string; id: string | undefined; data: string };

export type EventStreamClient = {
  status: number;
  headers: Headers;
  /** Every event so far, in order. */
  events: ServerSentEvent[];
  /** Every comment line so far (without the colon). */
  comments: string[];
  /** Settles when the server ends the stream (or `close()` did). */
  ended: Promise<void>;
  /** The first event (from the start) that `match` accepts; rejects after `timeoutMs`. */
  waitFor(match: (event: ServerSentEvent) => boolean, timeoutMs?: number): Promise<ServerSentEvent>;
  /** Resolves once `count` comment lines came; rejects after `timeoutMs`. */
  waitForComments(count: number, timeoutMs?: number): Promise<void>;
  close(): void;
};

export async function openEventStream(
  url: string,
  headers: Record<string, string>,
): Promise<EventStreamClient> {
  const abort = new AbortController();
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  const events: ServerSentEvent[] = [];
  const comments: string[] = [];
  let waiters: (() => void)[] = [];
  const notify = () => {
    const current = waiters;
    waiters = [];
    for (const waiter of current) waiter();
  };
  let done = false;
  const ended = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    let event: { event: string; id: string | undefined; data: string[] } = {
      event: '',
      id: undefined,
      data: [],
    };
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline = buffer.indexOf('\n');
        while (newline >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, '');
          buffer = buffer.slice(newline + 1);
          newline = buffer.indexOf('\n');
          if (line === '') {
            if (event.data.length > 0) {
              events.push({ event: event.event || 'message', id: event.id, data: event.data.join('\n') });
            }
            event = { event: '', id: undefined, data: [] };
            notify();
            continue;
          }
          if (line.startsWith(':')) {
            comments.push(line.slice(1).trim());
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event.event = value;
          else if (field === 'data') event.data.push(value);
          else if (field === 'id') event.id = value;
        }
      }
    } catch {
      // Closed by us, or the connection was cut: either way the stream is over.
    } finally {
      done = true;
      notify();
    }
  })();

  const until = <T>(check: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
      const look = () => {
        const found = check();
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        } else if (done) {
          clearTimeout(timer);
          reject(new Error(`the stream ended before ${what}`));
        } else waiters.push(look);
      };
      look();
    });

  return {
    status: res.status,
    headers: res.headers,
    events,
    comments,
    ended,
    waitFor: (match, timeoutMs = 5000) => until(() => events.find(match), timeoutMs, 'matching event'),
    waitForComments: (count, timeoutMs = 5000) =>
      until(() => (comments.length >= count ? true : undefined), timeoutMs, `${count} comments`).then(
        () => {},
      ),
    close: () => abort.abort(),
  };
}
