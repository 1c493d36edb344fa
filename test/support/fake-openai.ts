// A scripted OpenAI-compatible Chat Completions server for tests. It speaks the real wire
// format (JSON and SSE) so that tests exercise the actual @ai-sdk/openai provider, HTTP
// handling, retries and timeouts end to end, instead of a mock model that skips all of that.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeToolCall = { name: string; args: Record<string, unknown> };

export type FakeReply =
  | { text?: string; toolCalls?: FakeToolCall[] } // one assistant step
  | { status: number; body?: unknown } // HTTP error answer (e.g. 500, 429)
  | { hang: true }; // never answers (until the server closes)

export type FakeRequest = {
  body: any;
  messages: any[];
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

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A broken script should fail the test loudly, not hang it.
      if (!res.headersSent) sendError(res, 500, `fake-openai script failed: ${String(err)}`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
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
    const fakeReq: FakeRequest = {
      body,
      messages: Array.isArray(body?.messages) ? body.messages : [],
      tools: Array.isArray(body?.tools) ? body.tools : [],
      stream: body?.stream === true,
      headers: { ...req.headers },
    };
    const index = requests.push(fakeReq) - 1;
    const reply = queue.length > 0 ? (queue.shift() as FakeReply) : await currentScript(fakeReq, index);

    if ('hang' in reply) return; // the socket stays open until the client aborts or close()
    if ('status' in reply) {
      if (reply.body === undefined) sendError(res, reply.status, `fake-openai error ${reply.status}`);
      else sendJson(res, reply.status, reply.body);
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
        arguments: JSON.stringify(c.args),
      })),
      usage: fakeUsage(fakeReq.messages, reply),
    };
    if (fakeReq.stream) sendStream(res, step, body?.stream_options?.include_usage === true);
    else sendJson(res, 200, completionJson(step));
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
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
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
function sendStream(res: ServerResponse, step: Step, includeUsage: boolean): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => {
    const payload = {
      id: step.id,
      object: 'chat.completion.chunk',
      created: step.created,
      model: step.model,
      choices,
      ...extra,
    };
    res.write(`data: ${JSON.stringify(payload)}\n\n`);
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
  res.end('data: [DONE]\n\n');
}

function splitText(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

// Rough token counts: tests only need plausible, non-zero numbers.
function fakeUsage(messages: unknown[], reply: { text?: string; toolCalls?: FakeToolCall[] }) {
  const prompt = Math.max(1, Math.ceil(JSON.stringify(messages).length / 4));
  const completion = Math.max(
    1,
    Math.ceil(JSON.stringify([reply.text ?? '', reply.toolCalls ?? []]).length / 4),
  );
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
}

// The shape @ai-sdk/openai's failed-response handler parses into the error message.
function sendError(res: ServerResponse, status: number, message: string): void {
  const type =
    status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
  sendJson(res, status, { error: { message, type, param: null, code: null } });
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
