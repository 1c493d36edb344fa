/**
 * @module model/transport
 * The `fetch` the provider (`@ai-sdk/openai`) makes its calls with: Node's own HTTP client with
 * kept-alive connections, and streamed text batched before it enters the SDK.
 *
 * Why not the global fetch: every streamed token is one server-sent event, and everything the
 * process does per event is paid a thousand times per answer. Measured on the real path (see
 * BENCHMARKS.md), a token cost the server well over 100 us, most of it in stages upstream of our
 * code: undici's body stream, then the SDK's text decoder, SSE parser, JSON parse and validation
 * of every chunk, its chunk transform and `streamText`'s own stream stages. A bare relay that
 * reads a token off one socket and writes it to another costs about 30 us per token on the same
 * machine: that is the floor, set by one socket read per token.
 *
 * So this fetch does two things, and nothing else about the call changes (the SDK still builds
 * the request, classifies the status, retries, parses and validates what it receives):
 * - The call goes over `node:http(s)` with a keep-alive agent; the body is a web stream fed from
 *   the response's `data` events (one enqueue per socket read instead of undici's read loop).
 * - A streamed answer has its consecutive plain text chunks joined into one chunk, so the SDK
 *   parses, validates and hands on one chunk per batch instead of one per token: a batch is what
 *   came in one socket read, or, with `batchMs`, what came within `batchMs` of the last batch
 *   handed on (the first text after a quiet spell goes on at once: the first token is never held).
 *   Only chunks whose every field is known and plain are joined: in Chat Completions, one choice
 *   with a text delta (no finish, tool call or usage) of the same completion; in the Responses API,
 *   `response.output_text.delta` events of one output item without log probabilities. The rest
 *   passes through verbatim, in order, after the text before it. A person reading cannot see
 *   50 ms; the CPU can.
 *
 * What the SDK expects of a failed fetch is kept: a connection that cannot be made rejects with
 * `TypeError('fetch failed')` and the cause (which the SDK turns into a retryable `APICallError`),
 * a body cut off errors its stream with `TypeError('terminated')`, and an abort rejects (or errors
 * the body) with the signal's reason, so a time limit stays a `TimeoutError`. Redirects are not
 * followed (no OpenAI-compatible API redirects a POST); compressed bodies are inflated.
 */
import http from 'node:http';
import https from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';

export type ModelFetchOptions = {
  /** How long streamed text may wait to be joined with what follows; 0: only what came together. */
  batchMs: number;
};

const agents = {
  'http:': new http.Agent({ keepAlive: true, scheduling: 'lifo' }),
  'https:': new https.Agent({ keepAlive: true, scheduling: 'lifo' }),
};

export function createModelFetch(options: ModelFetchOptions): typeof fetch {
  return (input, init) => {
    const url = typeof input === 'string' ? new URL(input) : input instanceof URL ? input : undefined;
    const body = init?.body;
    // Anything the provider does not send for chat (a Request object, form data, a stream body)
    // goes the usual way.
    if (
      !url ||
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))
    ) {
      return fetch(input, init);
    }
    return request(url, init ?? {}, body ?? undefined, options);
  };
}

function request(
  url: URL,
  init: RequestInit,
  body: string | Uint8Array | undefined,
  options: ModelFetchOptions,
): Promise<Response> {
  const signal = init.signal ?? undefined;
  const agent = url.protocol === 'https:' ? agents['https:'] : agents['http:'];
  const send = url.protocol === 'https:' ? https.request : http.request;
  const headers = headersOf(init.headers);
  const method = init.method ?? 'GET';
  // Kept only until the answer starts (a second attempt needs it): a request body is the whole
  // history and the tools' schemas, and a streamed answer can run for a minute.
  let sending = body;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const attempt = (again: boolean) => {
      /** Set once the status line came: from then on failures end the body, not the call. */
      let answered: ResponseBody | undefined;
      const onAbort = () => {
        req.destroy();
        if (answered) answered.abort(signal?.reason);
        else reject(signal?.reason);
      };
      const req = send(url, { method, headers, agent }, (res) => {
        sending = undefined;
        answered = responseBody(res, options);
        resolve(
          new Response(answered.body, {
            status: res.statusCode ?? 500,
            statusText: res.statusMessage ?? '',
            headers: responseHeaders(res.rawHeaders),
          }),
        );
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (signal?.aborted) return;
        if (answered) return answered.cut(new TypeError('terminated', { cause: error }));
        // A kept-alive connection the server had just closed as idle: the request never reached
        // it, so it is sent once more on a new connection (Node's documented `reusedSocket` case).
        if (!again && req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
          signal?.removeEventListener('abort', onAbort);
          return attempt(true);
        }
        reject(new TypeError('fetch failed', { cause: error }));
      });
      req.on('close', () => signal?.removeEventListener('abort', onAbort));
      req.end(sending);
    };
    attempt(false);
  });
}

type ResponseBody = {
  body: ReadableStream<Uint8Array> | null;
  /** The connection broke: what was read before goes to the reader first, then the error. */
  cut(error: unknown): void;
  /** The caller gave up: the body ends at once with its reason. */
  abort(reason: unknown): void;
};

/** Queued chunks a reader may fall behind by before the socket stops being read. */
const QUEUED_CHUNKS = 64;

function responseBody(res: http.IncomingMessage, options: ModelFetchOptions): ResponseBody {
  const status = res.statusCode ?? 500;
  if (status === 204 || status === 304) {
    res.resume();
    return { body: null, cut: () => {}, abort: () => {} };
  }
  const source = inflated(res);
  const events =
    status >= 200 && status < 300 && /^text\/event-stream/i.test(String(res.headers['content-type'] ?? ''));
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  /** No more chunks will come: the body ended, broke or was given up. */
  let over = false;
  /** A break that waits for the reader to take what came before it (an error empties the queue). */
  let pendingError: { error: unknown } | undefined;
  const encoder = new TextEncoder();
  const batcher = events ? new TextBatcher(options.batchMs, (text) => push(encoder.encode(text))) : undefined;
  const push = (chunk: Uint8Array) => {
    if (over) return;
    controller.enqueue(chunk);
    // Backpressure: a reader that falls behind stops the socket's reads, as undici's body does.
    if ((controller.desiredSize ?? 1) <= 0) source.pause();
  };
  // An error empties the stream's queue and, through the SDK's piped stages, theirs: it waits
  // until the reader took every chunk, then one more turn of the event loop so the stages
  // downstream hand that text on before the error reaches them.
  let erroring = false;
  const errorWhenDrained = () => {
    if (!pendingError || erroring || controller.desiredSize !== QUEUED_CHUNKS) return;
    erroring = true;
    setImmediate(() => {
      if (!pendingError) return;
      controller.error(pendingError.error);
      pendingError = undefined;
    });
  };
  const cut = (error: unknown) => {
    if (over) return;
    batcher?.end();
    over = true;
    res.destroy();
    pendingError = { error };
    errorWhenDrained();
  };
  const abort = (reason: unknown) => {
    const open = !over || pendingError;
    over = true;
    pendingError = undefined;
    batcher?.stop();
    res.destroy();
    if (open) controller.error(reason);
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull() {
        if (pendingError) errorWhenDrained();
        else source.resume();
      },
      cancel() {
        over = true;
        batcher?.stop();
        res.destroy();
      },
    },
    { highWaterMark: QUEUED_CHUNKS },
  );
  if (batcher) {
    source.setEncoding('utf8');
    source.on('data', (text: string) => batcher.add(text));
  } else source.on('data', (chunk: Buffer) => push(chunk));
  source.on('end', () => {
    if (over) return;
    batcher?.end();
    over = true;
    controller.close();
  });
  // A body cut off mid-way: `error` on the body, or the connection closed before its end.
  source.on('error', (error) => cut(new TypeError('terminated', { cause: error })));
  res.on('close', () => {
    if (!res.complete)
      cut(new TypeError('terminated', { cause: new Error('the connection closed mid-body') }));
  });
  return { body, cut, abort };
}

function inflated(res: http.IncomingMessage): Readable {
  const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase();
  const inflate =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip()
      : encoding === 'deflate'
        ? zlib.createInflate()
        : encoding === 'br'
          ? zlib.createBrotliDecompress()
          : undefined;
  // `pipeline` hands a broken response on as the inflater's error, and its backpressure back.
  return inflate ? pipeline(res, inflate, () => {}) : res;
}

function headersOf(headers: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  if (headers instanceof Headers || Array.isArray(headers)) {
    for (const [name, value] of new Headers(headers)) out[name] = value;
    return out;
  }
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = value;
  return out;
}

function responseHeaders(raw: string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  return headers;
}

/**
 * Joins consecutive plain text chunks of one stream (`textChunk`: Chat Completions or the
 * Responses API). Text in, text out: whole events are handed on, in order, each followed by its
 * blank line.
 */
class TextBatcher {
  private rest = '';
  /** Verbatim once the stream uses `\r` line ends: nothing is joined. */
  private verbatim = false;
  /** The text being joined: its first chunk and that chunk's event as sent, and the texts. */
  private held: { first: TextChunk; event: string; texts: string[] } | undefined;
  private lastHandedOn = 0;
  private timer: NodeJS.Timeout | undefined;

  private readonly batchMs: number;
  private readonly handOn: (text: string) => void;

  constructor(batchMs: number, handOn: (text: string) => void) {
    this.batchMs = batchMs;
    this.handOn = handOn;
  }

  add(text: string): void {
    if (this.verbatim) {
      this.handOn(text);
      return;
    }
    if (text.includes('\r')) {
      this.verbatim = true;
      this.handOn(this.flushed() + this.rest + text);
      this.rest = '';
      return;
    }
    this.rest += text;
    let out = '';
    for (let end = this.rest.indexOf('\n\n'); end >= 0; end = this.rest.indexOf('\n\n')) {
      const event = this.rest.slice(0, end);
      this.rest = this.rest.slice(end + 2);
      out += this.take(event);
    }
    if (this.held && (this.batchMs === 0 || performance.now() - this.lastHandedOn >= this.batchMs)) {
      out += this.flushed();
    } else if (this.held && !this.timer) {
      this.timer = setTimeout(() => this.flushTimer(), this.lastHandedOn + this.batchMs - performance.now());
    }
    if (out) this.handOn(out);
  }

  /** The stream ended: what is held and any last unterminated event go on. */
  end(): void {
    const out = this.verbatim ? '' : this.flushed() + this.rest;
    this.rest = '';
    if (out) this.handOn(out);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.held = undefined;
  }

  /** One event: held to be joined, or handed on (after what is held) as it came. */
  private take(event: string): string {
    const chunk = textChunk(event);
    // The opening chunk (the role, no text yet) is no text to hold, nor the start of a batch.
    if (chunk && (chunk.text !== '' || this.held)) {
      const { held } = this;
      if (held && held.first.joins === chunk.joins) {
        held.texts.push(chunk.text);
        return '';
      }
      const out = this.flushed();
      this.held = { first: chunk, event, texts: [chunk.text] };
      return out;
    }
    return `${this.flushed()}${event}\n\n`;
  }

  private flushTimer(): void {
    this.timer = undefined;
    const out = this.flushed();
    if (out) this.handOn(out);
  }

  /** What is held, as one event (the first chunk with every text joined), or ''. */
  private flushed(): string {
    const { held } = this;
    if (!held) return '';
    this.held = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastHandedOn = performance.now();
    if (held.texts.length === 1) return `${held.event}\n\n`;
    return `${held.first.withText(held.texts.join(''))}\n\n`;
  }
}

/**
 * A plain text delta of either wire format: its text, what it may be joined with (`joins`: the
 * same completion or output item), and its event with another text in place of its own.
 */
type TextChunk = { text: string; joins: string; withText(text: string): string };

const CHAT_CHUNK_FIELDS = new Set([
  'id',
  'object',
  'created',
  'model',
  'system_fingerprint',
  'service_tier',
  'choices',
  'usage',
  'obfuscation',
]);
const CHAT_CHOICE_FIELDS = new Set(['index', 'delta', 'finish_reason', 'logprobs']);
const RESPONSES_DELTA_FIELDS = new Set([
  'type',
  'sequence_number',
  'item_id',
  'output_index',
  'content_index',
  'delta',
  'logprobs',
  'obfuscation',
]);
const RESPONSES_DELTA_EVENT = 'event: response.output_text.delta\n';

/** `event` as a text chunk when it is one (Chat Completions or the Responses API), else undefined. */
function textChunk(event: string): TextChunk | undefined {
  // Chat Completions: a single `data:` line. Responses: `event: <type>` then a `data:` line.
  const named = event.startsWith(RESPONSES_DELTA_EVENT);
  const line = named ? event.slice(RESPONSES_DELTA_EVENT.length) : event;
  if (!line.startsWith('data:') || line.includes('\n')) return undefined;
  const data = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
  if (data.charCodeAt(0) !== 123 /* { */) return undefined;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  return named ? responsesText(value) : chatText(value);
}

/** A Chat Completions chunk whose one choice carries text and nothing else of note. */
function chatText(value: Record<string, unknown>): TextChunk | undefined {
  if (value.object !== 'chat.completion.chunk' || value.usage != null) return undefined;
  for (const key in value) if (!CHAT_CHUNK_FIELDS.has(key)) return undefined;
  const choices = value.choices;
  if (!Array.isArray(choices) || choices.length !== 1) return undefined;
  const choice = choices[0] as Record<string, unknown>;
  if (choice.index !== 0 || choice.finish_reason != null || choice.logprobs != null) return undefined;
  for (const key in choice) if (!CHAT_CHOICE_FIELDS.has(key)) return undefined;
  const delta = choice.delta as Record<string, unknown> | null;
  if (delta === null || typeof delta !== 'object' || typeof delta.content !== 'string') return undefined;
  for (const key in delta) {
    if (key !== 'content' && key !== 'role' && delta[key] != null) return undefined;
  }
  return {
    text: delta.content,
    joins: `${String(value.id)}\u0000${String(value.model)}`,
    withText: (content) =>
      `data: ${JSON.stringify({ ...value, choices: [{ ...choice, delta: { ...delta, content } }] })}`,
  };
}

/** A Responses API `response.output_text.delta` without log probabilities. */
function responsesText(value: Record<string, unknown>): TextChunk | undefined {
  if (value.type !== 'response.output_text.delta' || typeof value.delta !== 'string') return undefined;
  if (Array.isArray(value.logprobs) ? value.logprobs.length > 0 : value.logprobs != null) return undefined;
  for (const key in value) if (!RESPONSES_DELTA_FIELDS.has(key)) return undefined;
  return {
    text: value.delta,
    joins: `${String(value.item_id)}\u0000${String(value.output_index)}\u0000${String(value.content_index)}`,
    withText: (delta) => `${RESPONSES_DELTA_EVENT}data: ${JSON.stringify({ ...value, delta })}`,
  };
}
