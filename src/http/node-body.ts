/**
 * @module http/node-body
 * A streamed text body (the chat's UI message stream) written straight to Node's response when the
 * app runs under `@hono/node-server`, instead of through a `ReadableStream` that the adapter reads
 * chunk by chunk. Per streamed token the web-stream route cost an enqueue, a read promise and its
 * microtasks, a `TextEncoder` copy and one socket write; here the text a tick produced is joined and
 * written once, when the tick is over (one `setImmediate` for every body with text waiting), so a
 * burst of parts (a tool call, the end of a step) is one system call.
 *
 * The handler still returns an ordinary `Response` (whose body is a `ReadableStream` fed by the same
 * writes), so every middleware sees and changes its status and headers as before, and in-process
 * callers (`app.request`) read it as before. Only the app's outermost middleware
 * (`writeTextBodiesToNode`), once the response is final, takes over: it sends the status and headers
 * to Node's `ServerResponse` itself and tells the adapter the response is already sent.
 *
 * A reader that goes away (the client disconnected, the stream was cancelled) only stops the
 * writes: the producer learns it from `closed`/`onClose` and carries on with its own work.
 */
import type { ServerResponse } from 'node:http';
import type { MiddlewareHandler } from 'hono';

const encoder = new TextEncoder();

/** Bodies by the stream their `Response` carries (the same stream whichever `Response` wraps it). */
const bodies = new WeakMap<ReadableStream<Uint8Array>, TextBody>();

/** Bodies with text waiting for the end of this tick, and whether the flush is scheduled. */
const waiting = new Set<TextBody>();
let flushScheduled = false;
const flushWaiting = () => {
  flushScheduled = false;
  for (const body of waiting) body.flush();
  waiting.clear();
};

export class TextBody {
  /** The body as a web stream, for a caller that is not Node's server (or wraps the body). */
  readonly stream: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  /** Where the text goes: not decided yet (kept in `#pending`), Node's response, or `stream`. */
  #sink: 'undecided' | 'node' | 'stream' = 'undecided';
  #outgoing: ServerResponse | undefined;
  #pending = '';
  #ended = false;
  #closed = false;
  #finished = false;
  #onClose: (() => void)[] = [];
  #onEnd: (() => void)[] = [];

  constructor() {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        // The first read decides: this body is read as a web stream.
        pull: () => {
          if (this.#sink !== 'undecided') return;
          this.#sink = 'stream';
          if (this.#pending) this.#controller.enqueue(encoder.encode(this.#pending));
          this.#pending = '';
          if (this.#ended) this.#closeStream();
        },
        cancel: () => this.#readerGone(),
      },
      // No read ahead: `pull` runs only for a reader.
      { highWaterMark: 0 },
    );
    bodies.set(this.stream, this);
  }

  /** True once the reader has gone: further writes are dropped. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Called once when the reader goes away before the end. */
  onClose(listener: () => void): void {
    this.#onClose.push(listener);
  }

  /** Called once when the body has been handed over in full, or its reader went away. */
  onEnd(listener: () => void): void {
    if (this.#finished) listener();
    else this.#onEnd.push(listener);
  }

  write(text: string): void {
    if (this.#ended || this.#closed) return;
    if (this.#sink === 'stream') {
      try {
        this.#controller.enqueue(encoder.encode(text));
      } catch {
        this.#readerGone();
      }
      return;
    }
    this.#pending += text;
    if (this.#sink === 'node') {
      waiting.add(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushWaiting);
      }
    }
  }

  /** No more text: what is waiting goes out now, then the body ends. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#closed) return;
    if (this.#sink === 'node') {
      const outgoing = this.#outgoing as ServerResponse;
      const rest = this.#pending;
      this.#pending = '';
      waiting.delete(this);
      outgoing.end(rest);
      this.#done();
    } else if (this.#sink === 'stream') this.#closeStream();
  }

  /** Writes what this tick produced (the shared flush calls it). */
  flush(): void {
    if (!this.#pending || this.#closed || this.#sink !== 'node') return;
    const text = this.#pending;
    this.#pending = '';
    (this.#outgoing as ServerResponse).write(text);
  }

  /** Sends the response's status and headers to Node, then this body as it comes. */
  sendTo(outgoing: ServerResponse, status: number, headers: Headers): void {
    this.#sink = 'node';
    this.#outgoing = outgoing;
    const record: Record<string, string | string[]> = {};
    for (const [name, value] of headers) if (name !== 'set-cookie') record[name] = value;
    const cookies = headers.getSetCookie();
    if (cookies.length > 0) record['set-cookie'] = cookies;
    const gone = () => {
      if (!this.#ended || !outgoing.writableFinished) this.#readerGone();
    };
    outgoing.once('close', gone);
    outgoing.on('error', gone);
    if (outgoing.destroyed) {
      this.#readerGone();
      return;
    }
    outgoing.writeHead(status, record);
    if (this.#ended) {
      this.#ended = false;
      this.end();
    } else if (this.#pending) this.flush();
    // The headers go out now, not with the first part: the client's time to first byte.
    else outgoing.flushHeaders();
  }

  #closeStream(): void {
    try {
      this.#controller.close();
    } catch {}
    this.#done();
  }

  #readerGone(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = '';
    waiting.delete(this);
    for (const listener of this.#onClose.splice(0)) listener();
    this.#done();
  }

  #done(): void {
    this.#finished = true;
    for (const listener of this.#onEnd.splice(0)) listener();
  }
}

/** The `TextBody` a response's body is, if it is one. */
export function textBodyOf(response: Response): TextBody | undefined {
  const stream = response.body;
  return stream ? bodies.get(stream) : undefined;
}

/**
 * The app's outermost middleware: a final response whose body is a `TextBody`, under
 * `@hono/node-server`, is sent by the body itself to Node's response (see the module header).
 */
export function writeTextBodiesToNode(): MiddlewareHandler<{ Bindings: { outgoing?: ServerResponse } }> {
  return async (c, next) => {
    await next();
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    if (!outgoing || typeof outgoing.writeHead !== 'function') return;
    const res = c.res;
    // Only an event stream can be one; reading `body` first would turn the adapter's light
    // Response (a JSON answer) into a full one and cost every other request its fast path.
    if (!res.headers.get('content-type')?.startsWith('text/event-stream')) return;
    const body = textBodyOf(res);
    if (!body || res.body?.locked) return;
    body.sendTo(outgoing, res.status, res.headers);
    // Unset first: Hono's setter would copy the old headers into a new (adapter) Response, which
    // the adapter answers by writing its head again.
    c.res = undefined;
    c.res = alreadySent();
  };
}

let sent: Response | undefined;
/**
 * The adapter's "already sent" answer (`x-hono-already-sent`: it then writes nothing). It must be a
 * native `Response`: the adapter's own lightweight one takes a path that ignores that header, and
 * it replaces the global `Response` once it serves; its `clone()` gives the native one either way.
 */
function alreadySent(): Response {
  sent ??= new Response(null, { headers: { 'x-hono-already-sent': 'true' } }).clone();
  return sent;
}
