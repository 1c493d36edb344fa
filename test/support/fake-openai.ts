// A scripted OpenAI-compatible server for tests, speaking Chat Completions
// (POST /v1/chat/completions) and the Responses API (POST /v1/responses) in their real wire
// formats (JSON and SSE), so that tests exercise the actual @ai-sdk/openai provider, HTTP
// handling, retries and timeouts end to end, instead of a mock model that skips all of that.
// Both routes share one queue and script. A reply can also fail the way providers fail (an
// error status, a body or stream cut part-way, silence, malformed tool calls), for fault tests.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeToolCall =
  | { name: string; args: Record<string, unknown> }
  // Arguments sent verbatim instead of JSON.stringify(args): invalid JSON, truncated JSON...
  | { name: string; rawArguments: string };

/**
 * Where and how an answer stops early. Streamed answers are cut between SSE events, JSON answers
 * inside the body; the status (200) and headers are always sent first.
 */
export type FakeCut = {
  /** Streamed answers: SSE events sent before the cut (default: half of them, at least one). */
  afterEvents?: number;
  /** JSON answers: bytes of the body sent before the cut (default: half of it). */
  afterBytes?: number;
  /**
   * What happens at the cut:
   * - `destroy` (default): the socket is destroyed; the client sees the connection die mid-body.
   * - `end`: the response ends properly there: an SSE stream without its finish (and `[DONE]`),
   *   or a complete 200 whose JSON is cut (Content-Length matches the cut body).
   * - `hang`: nothing more is sent; the connection stays open until the client aborts.
   * - `error`: streams send the provider's in-stream error event and end (Chat Completions a
   *   `data: {"error": ...}` chunk, Responses an `error` event); a JSON answer is an HTTP 500.
   */
  ending?: 'destroy' | 'end' | 'hang' | 'error';
  /** The error `ending: 'error'` sends, in OpenAI's shape (default: a server_error). */
  error?: { message: string; type?: string; code?: string | null };
};

/**
 * One assistant step. `reasoning` is used by the Responses route only (a reasoning item with this
 * summary text before the message; Chat Completions ignores it). `cut: true` cuts half-way and
 * destroys the socket; see FakeCut for the rest.
 */
export type FakeStep = {
  text?: string;
  toolCalls?: FakeToolCall[];
  reasoning?: string;
  cut?: true | FakeCut;
  /**
   * The usage this step reports (both wire formats, streamed or not); unset: about a token per
   * four characters of the request and the answer, nothing cached, no reasoning.
   */
  usage?: FakeUsage;
  /** Streams only: after `afterEvents` SSE events, waits for `until` before sending the rest. */
  pause?: FakePause;
};

/** Token counts as the provider reports them: `input` includes `cachedInput`, `output` includes `reasoning`. */
export type FakeUsage = { input: number; output: number; cachedInput?: number; reasoning?: number };

/** A streamed answer held part-way: a test acts while the answer is certainly being written. */
export type FakePause = { afterEvents: number; until: Promise<unknown> };

export type FakeReply =
  | FakeStep
  // HTTP error answer (e.g. 500, 429); without `body`, an OpenAI-style error body. `headers`
  // e.g. `{ 'retry-after': '1' }`, which the AI SDK's retries honour.
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { hang: true }; // never answers, not even headers (until the client aborts or close())

export type FakeRequest = {
  /** Which route was called: Chat Completions or the Responses API. */
  api: 'chat' | 'responses';
  body: any;
  /**
   * Chat Completions: `body.messages`. Responses: `body.input` read as chat messages (message
   * items by role with their text, `function_call` items as an assistant `tool_calls` message,
   * `function_call_output` as a `tool` message, `item_reference`s resolved to the items this
   * server stored, reasoning items as `{ role: 'reasoning', ... }`). The raw items stay in `body`.
   */
  messages: any[];
  /** The raw `body.tools` (Responses tools are flat: `{ type: 'function', name, ... }`). */
  tools: any[];
  stream: boolean;
  headers: Record<string, string | string[] | undefined>;
};

export type FakeScript = (req: FakeRequest, index: number) => FakeReply | Promise<FakeReply>;

export type FakeOpenAI = {
  baseURL: string;
  requests: FakeRequest[];
  setScript(script: FakeScript): void;
  reply(...replies: FakeReply[]): void;
  close(): Promise<void>;
};

/** The content of the last `user` message, flattened to a string. */
export function lastUserText(req: FakeRequest): string {
  const user = req.messages.filter((m) => m?.role === 'user').at(-1);
  return contentText(user?.content);
}

// Chat Completions allows content as a string or as an array of typed parts.
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (part?.type === 'text' && typeof part.text === 'string' ? part.text : ''))
    .join('');
}

export const defaultScript: FakeScript = (req) =>
  req.messages.at(-1)?.role === 'tool' ? { text: 'Done.' } : { text: 'OK.' };

export async function startFakeOpenAI(script: FakeScript = defaultScript): Promise<FakeOpenAI> {
  const requests: FakeRequest[] = [];
  const queue: FakeReply[] = [];
  let currentScript = script;
  // Counters live per server so ids are unique within a test and stable across runs.
  let completionSeq = 0;
  let callSeq = 0;
  let itemSeq = 0;
  // Responses output items kept as OpenAI keeps them (unless the request said store: false),
  // by id, so `item_reference`s resolve like they do there and unknown ids fail like there.
  const storedItems = new Map<string, any>();

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A broken script should fail the test loudly, not hang it.
      if (!res.headersSent) sendError(res, 500, `fake-openai script failed: ${String(err)}`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    const api = path === '/v1/chat/completions' ? 'chat' : path === '/v1/responses' ? 'responses' : undefined;
    if (req.method !== 'POST' || !api) {
      sendError(res, 404, `fake-openai: no route ${req.method} ${req.url}`);
      return;
    }
    let body: any;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      sendError(res, 400, 'fake-openai: body is not JSON');
      return;
    }
    let messages: any[];
    if (api === 'chat') messages = Array.isArray(body?.messages) ? body.messages : [];
    else {
      const input = Array.isArray(body?.input) ? body.input : [];
      const missing = input.find(
        (item: any) => item?.type === 'item_reference' && !storedItems.has(String(item.id)),
      );
      if (missing) {
        // What OpenAI answers for a reference to an item it does not hold.
        sendJson(res, 404, {
          error: {
            message: `Item with id '${missing.id}' not found. Items are not persisted when \`store\` is set to false.`,
            type: 'invalid_request_error',
            param: 'input',
            code: null,
          },
        });
        return;
      }
      messages = responsesInputMessages(input, storedItems);
    }
    const fakeReq: FakeRequest = {
      api,
      body,
      messages,
      tools: Array.isArray(body?.tools) ? body.tools : [],
      stream: body?.stream === true,
      headers: { ...req.headers },
    };
    const index = requests.push(fakeReq) - 1;
    const reply = queue.length > 0 ? (queue.shift() as FakeReply) : await currentScript(fakeReq, index);

    if ('hang' in reply) return; // the socket stays open until the client aborts or close()
    if ('status' in reply) {
      if (reply.body === undefined)
        sendError(res, reply.status, `fake-openai error ${reply.status}`, undefined, reply.headers);
      else sendJson(res, reply.status, reply.body, reply.headers);
      return;
    }
    const cut = reply.cut === true ? {} : reply.cut;
    if (cut?.ending === 'error' && !body?.stream) {
      sendError(res, 500, cut.error?.message ?? 'fake-openai: the model failed', cut.error);
      return;
    }

    const step = {
      id: `chatcmpl-fake-${++completionSeq}`,
      model: typeof body?.model === 'string' ? body.model : 'fake-model',
      created: Math.floor(Date.now() / 1000),
      text: reply.text,
      toolCalls: (reply.toolCalls ?? []).map((c) => ({
        id: `call_${++callSeq}`,
        name: c.name,
        arguments: 'rawArguments' in c ? c.rawArguments : JSON.stringify(c.args),
      })),
      usage: fakeUsage(fakeReq.messages, reply),
    };
    if (api === 'responses') {
      const include: unknown[] = Array.isArray(body?.include) ? body.include : [];
      const response = responseJson(step, {
        id: `resp_fake_${completionSeq}`,
        nextItemId: (prefix) => `${prefix}_fake_${++itemSeq}`,
        reasoning: reply.reasoning,
        encryptedReasoning: include.includes('reasoning.encrypted_content'),
        store: body?.store !== false,
      });
      // A cut response never completed, so OpenAI would hold none of its items.
      if (response.store && !cut) for (const item of response.output) storedItems.set(item.id, item);
      if (fakeReq.stream)
        await sendEvents(res, responseEvents(response), cut, responsesErrorEvent, reply.pause);
      else sendBody(res, response, cut);
      return;
    }
    if (fakeReq.stream)
      await sendEvents(
        res,
        chatEvents(step, body?.stream_options?.include_usage === true),
        cut,
        chatErrorEvent,
        reply.pause,
      );
    else sendBody(res, completionJson(step), cut);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    setScript(next) {
      currentScript = next;
    },
    reply(...replies) {
      queue.push(...replies);
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Hanging requests and keep-alive sockets would otherwise keep vitest alive.
        server.closeAllConnections();
      });
    },
  };
}

type Step = {
  id: string;
  model: string;
  created: number;
  text: string | undefined;
  toolCalls: { id: string; name: string; arguments: string }[];
  usage: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    prompt_tokens_details: { cached_tokens: number };
    completion_tokens_details: { reasoning_tokens: number };
  };
};

function finishReason(step: Step): 'tool_calls' | 'stop' {
  return step.toolCalls.length > 0 ? 'tool_calls' : 'stop';
}

function completionJson(step: Step) {
  return {
    id: step.id,
    object: 'chat.completion',
    created: step.created,
    model: step.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: step.text ?? null,
          ...(step.toolCalls.length > 0
            ? {
                tool_calls: step.toolCalls.map((c) => ({
                  id: c.id,
                  type: 'function',
                  function: { name: c.name, arguments: c.arguments },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: finishReason(step),
      },
    ],
    usage: step.usage,
  };
}

// Mirrors OpenAI's chunk sequence: role, content pieces, per-call header then arguments,
// a finish chunk, an optional usage chunk with empty choices, then [DONE].
function chatEvents(step: Step, includeUsage: boolean): string[] {
  const events: string[] = [];
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => {
    const payload = {
      id: step.id,
      object: 'chat.completion.chunk',
      created: step.created,
      model: step.model,
      choices,
      ...extra,
    };
    events.push(`data: ${JSON.stringify(payload)}\n\n`);
  };
  const delta = (d: Record<string, unknown>, finish: string | null = null) =>
    chunk([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);

  delta({ role: 'assistant', content: '' });
  // Several deltas, so consumers that assemble text from pieces are actually tested.
  for (const piece of splitText(step.text ?? '')) delta({ content: piece });
  step.toolCalls.forEach((call, i) => {
    delta({
      tool_calls: [{ index: i, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
    });
    delta({ tool_calls: [{ index: i, function: { arguments: call.arguments } }] });
  });
  delta({}, finishReason(step));
  if (includeUsage) chunk([], { usage: step.usage });
  events.push('data: [DONE]\n\n');
  return events;
}

// What OpenAI sends when a Chat Completions stream fails after it started.
function chatErrorEvent(error: OpenAIError): string {
  return `data: ${JSON.stringify({ error })}\n\n`;
}

// The Responses API's error event; its sequence number only has to be a number.
function responsesErrorEvent(error: OpenAIError, sequence: number): string {
  const { type: _type, ...fields } = error;
  return `event: error\ndata: ${JSON.stringify({ type: 'error', sequence_number: sequence, ...fields })}\n\n`;
}

// ---- Responses API ----------------------------------------------------------------------

/** Reads Responses `input` items as Chat Completions style messages (see FakeRequest.messages). */
function responsesInputMessages(input: any[], stored: Map<string, any>): any[] {
  const out: any[] = [];
  const resolved = input.map((item) =>
    item?.type === 'item_reference' ? { ...stored.get(String(item.id)), referenced: true } : item,
  );
  for (const item of resolved) {
    const type = item?.type ?? (item?.role ? 'message' : undefined);
    if (type === 'message') {
      out.push({ role: item.role, content: responsesContentText(item.content) });
    } else if (type === 'function_call') {
      const call = {
        id: item.call_id,
        type: 'function',
        function: { name: item.name, arguments: item.arguments },
      };
      const last = out.at(-1);
      // Calls of one step follow each other; like Chat Completions, they share one message.
      if (last?.role === 'assistant' && Array.isArray(last.tool_calls)) last.tool_calls.push(call);
      else out.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (type === 'function_call_output') {
      out.push({
        role: 'tool',
        tool_call_id: item.call_id,
        content: typeof item.output === 'string' ? item.output : JSON.stringify(item.output),
      });
    } else if (type === 'reasoning') {
      out.push({
        role: 'reasoning',
        id: item.id,
        summary: item.summary,
        encrypted_content: item.encrypted_content,
      });
    } else {
      out.push({ role: 'unknown', item });
    }
  }
  return out;
}

// Message content is a string or typed parts (input_text, output_text, ...).
function responsesContentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (typeof part?.text === 'string' ? part.text : '')).join('');
}

type ResponseOptions = {
  id: string;
  nextItemId: (prefix: string) => string;
  reasoning: string | undefined;
  encryptedReasoning: boolean;
  store: boolean;
};

type ResponseBody = ReturnType<typeof responseJson>;

// The shape of a completed Responses API response: output items in order (reasoning, message,
// function calls), usage in Responses naming.
function responseJson(step: Step, options: ResponseOptions) {
  const output: any[] = [];
  if (options.reasoning !== undefined) {
    const id = options.nextItemId('rs');
    output.push({
      type: 'reasoning',
      id,
      summary: options.reasoning ? [{ type: 'summary_text', text: options.reasoning }] : [],
      ...(options.encryptedReasoning ? { encrypted_content: `enc:${id}` } : {}),
    });
  }
  if (step.text !== undefined) {
    output.push({
      type: 'message',
      id: options.nextItemId('msg'),
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: step.text, annotations: [], logprobs: [] }],
    });
  }
  for (const call of step.toolCalls) {
    output.push({
      type: 'function_call',
      id: options.nextItemId('fc'),
      call_id: call.id,
      name: call.name,
      arguments: call.arguments,
      status: 'completed',
    });
  }
  return {
    id: options.id,
    object: 'response',
    created_at: step.created,
    status: 'completed',
    error: null,
    incomplete_details: null,
    model: step.model,
    output,
    store: options.store,
    usage: {
      input_tokens: step.usage.prompt_tokens,
      input_tokens_details: { cached_tokens: step.usage.prompt_tokens_details.cached_tokens },
      output_tokens: step.usage.completion_tokens,
      output_tokens_details: { reasoning_tokens: step.usage.completion_tokens_details.reasoning_tokens },
      total_tokens: step.usage.total_tokens,
    },
  };
}

// Mirrors OpenAI's event sequence: created, in_progress, per output item an added event, its
// deltas and done events, then completed with the whole response and usage. No [DONE].
function responseEvents(response: ResponseBody): string[] {
  const events: string[] = [];
  let sequence = 0;
  const event = (type: string, fields: Record<string, unknown>) => {
    events.push(
      `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`,
    );
  };
  const pending = { ...response, status: 'in_progress', output: [], usage: null };
  event('response.created', { response: pending });
  event('response.in_progress', { response: pending });
  response.output.forEach((item, output_index) => {
    if (item.type === 'reasoning') {
      event('response.output_item.added', {
        output_index,
        item: { ...item, summary: [] },
      });
      item.summary.forEach((part: { text: string }, summary_index: number) => {
        const ids = { item_id: item.id, output_index, summary_index };
        event('response.reasoning_summary_part.added', { ...ids, part: { type: 'summary_text', text: '' } });
        for (const delta of splitText(part.text))
          event('response.reasoning_summary_text.delta', { ...ids, delta });
        event('response.reasoning_summary_text.done', { ...ids, text: part.text });
        event('response.reasoning_summary_part.done', { ...ids, part });
      });
    } else if (item.type === 'message') {
      const text: string = item.content[0].text;
      const ids = { item_id: item.id, output_index, content_index: 0 };
      event('response.output_item.added', {
        output_index,
        item: { ...item, status: 'in_progress', content: [] },
      });
      event('response.content_part.added', {
        ...ids,
        part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
      });
      for (const delta of splitText(text))
        event('response.output_text.delta', { ...ids, delta, logprobs: [] });
      event('response.output_text.done', { ...ids, text, logprobs: [] });
      event('response.content_part.done', { ...ids, part: item.content[0] });
    } else if (item.type === 'function_call') {
      const ids = { item_id: item.id, output_index };
      event('response.output_item.added', {
        output_index,
        item: { ...item, arguments: '', status: 'in_progress' },
      });
      // Two pieces, so consumers that assemble arguments from deltas are actually tested.
      const half = Math.ceil(item.arguments.length / 2);
      for (const delta of [item.arguments.slice(0, half), item.arguments.slice(half)]) {
        if (delta) event('response.function_call_arguments.delta', { ...ids, delta });
      }
      event('response.function_call_arguments.done', { ...ids, arguments: item.arguments });
    }
    event('response.output_item.done', { output_index, item });
  });
  event('response.completed', { response });
  return events;
}

type OpenAIError = { message: string; type: string; param: null; code: string | null };

function openAIError(cut: FakeCut): OpenAIError {
  return {
    message: cut.error?.message ?? 'fake-openai: the model failed mid-stream',
    type: cut.error?.type ?? 'server_error',
    param: null,
    code: cut.error?.code ?? null,
  };
}

/** Sends SSE events, all of them or up to a cut (see FakeCut). */
async function sendEvents(
  res: ServerResponse,
  events: string[],
  cut: FakeCut | undefined,
  errorEvent: (error: OpenAIError, sequence: number) => string,
  pause?: FakePause,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  if (pause) {
    res.flushHeaders();
    for (const event of events.splice(0, pause.afterEvents)) res.write(event);
    await pause.until;
    if (res.destroyed) return;
  }
  // One write per event, as a real server flushes them as they are produced.
  if (!cut) {
    for (const event of events) res.write(event);
    res.end();
    return;
  }
  const sent = Math.min(
    events.length,
    Math.max(0, cut.afterEvents ?? Math.max(1, Math.floor(events.length / 2))),
  );
  res.flushHeaders();
  for (const event of events.slice(0, sent)) res.write(event);
  if (cut.ending === 'error') res.end(errorEvent(openAIError(cut), sent));
  else finishCut(res, '', cut.ending);
}

/** Sends a JSON body, whole or up to a cut (see FakeCut). */
function sendBody(res: ServerResponse, value: unknown, cut: FakeCut | undefined): void {
  if (!cut) {
    sendJson(res, 200, value);
    return;
  }
  const body = Buffer.from(JSON.stringify(value));
  const sent = body.subarray(
    0,
    Math.min(body.length, Math.max(0, cut.afterBytes ?? Math.floor(body.length / 2))),
  );
  // Content-Length announces the whole body unless the response is to end cleanly at the cut.
  const length = cut.ending === 'end' ? sent.length : body.length;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(length) });
  res.flushHeaders();
  finishCut(res, sent, cut.ending);
}

// `rest` is what still goes out before the cut (may be empty).
function finishCut(res: ServerResponse, rest: string | Buffer, ending: FakeCut['ending']): void {
  if (ending === 'end') res.end(rest);
  else if (ending === 'hang') {
    if (rest.length > 0) res.write(rest);
  } else {
    if (rest.length > 0) res.write(rest);
    // Destroying at once could discard what precedes the cut before it is sent: end the socket
    // (its queued writes go first, then a FIN, mid-body) and destroy it once that is done.
    const socket = res.socket;
    if (socket) socket.end(() => socket.destroy());
    else res.destroy();
  }
}

function splitText(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

// Rough token counts: tests only need plausible, non-zero numbers.
function fakeUsage(messages: unknown[], reply: FakeStep): Step['usage'] {
  const prompt = reply.usage?.input ?? Math.max(1, Math.ceil(JSON.stringify(messages).length / 4));
  const completion =
    reply.usage?.output ??
    Math.max(1, Math.ceil(JSON.stringify([reply.text ?? '', reply.toolCalls ?? []]).length / 4));
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: reply.usage?.cachedInput ?? 0 },
    completion_tokens_details: { reasoning_tokens: reply.usage?.reasoning ?? 0 },
  };
}

function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

// The shape @ai-sdk/openai's failed-response handler parses into the error message.
function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  error: { type?: string; code?: string | null } = {},
  headers: Record<string, string> = {},
): void {
  const type =
    error.type ??
    (status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error');
  sendJson(res, status, { error: { message, type, param: null, code: error.code ?? null } }, headers);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * A script that holds every model call until `release()`, so a test can act while a turn is
 * certainly running (its BEGIN TURN done, the model called) without guessing with sleeps.
 */
export function heldScript(reply: FakeReply): { script: FakeScript; called: Promise<void>; release(): void } {
  let release!: () => void;
  let called!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const firstCall = new Promise<void>((resolve) => {
    called = resolve;
  });
  return {
    script: async () => {
      called();
      await released;
      return reply;
    },
    called: firstCall,
    release,
  };
}
