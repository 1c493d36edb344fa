// The real-path rows' model (./real-path.ts): an OpenAI-compatible Chat Completions server in a
// process of its own, as a deployment's model is, so that the app pays for the HTTP call, the
// SSE parsing and the socket as it would in production, and the model's own CPU is not the app's.
// test/support/fake-openai.ts scripts replies per test and keeps every request; this one only
// answers the bench's one conversation shape, at scale, from prebuilt chunks:
//
//   last message from the user, "add <title>"  -> one add_task call (at once)
//   last message a tool result (or anything)   -> a text reply of `tokens` tokens
//
// A streamed reply sends its tokens one SSE event each, `paceMs` apart (the first after `paceMs`),
// so each token reaches the app on its own, as a thinking model sends them. A JSON reply (the
// app's non-streaming turns) sends all tokens in one body. The reply's shape is set between rows
// with `POST /bench/reply {"tokens": n, "paceMs": ms}`; `GET /bench/stats` counts connections
// (the bench's own control calls included) and model requests.
//
//   node bench/model-server.ts     (prints its port on stdout; exits when stdin closes)
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

let reply = { tokens: 0, paceMs: 0 };
let nextId = 0;
/** Connections the app opened to this server, and requests on them: does the app keep its sockets alive? */
const stats = { connections: 0, requests: 0 };

const TOKEN = ' word';
const usage = (completion: number) => ({
  prompt_tokens: 500,
  completion_tokens: completion,
  total_tokens: 500 + completion,
});

function chunk(id: string, choices: unknown[], extra: Record<string, unknown> = {}): string {
  return `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model: 'bench', choices, ...extra })}\n\n`;
}
const delta = (id: string, d: Record<string, unknown>, finish: string | null = null) =>
  chunk(id, [{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);

type Step = { text: string; tokens: number; call?: { name: string; arguments: string } };

function decide(body: { messages?: { role?: string; content?: unknown }[] }): Step {
  const last = body.messages?.at(-1);
  const text = typeof last?.content === 'string' ? last.content : '';
  const add = last?.role === 'user' ? /^add\s+(.+)$/.exec(text) : null;
  if (add)
    return { text: '', tokens: 0, call: { name: 'add_task', arguments: JSON.stringify({ title: add[1] }) } };
  return { text: TOKEN.repeat(reply.tokens), tokens: reply.tokens };
}

function answerJson(res: ServerResponse, id: string, step: Step): void {
  const message = step.call
    ? {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: `call_${id}`, type: 'function', function: step.call }],
      }
    : { role: 'assistant', content: step.text };
  const body = JSON.stringify({
    id,
    object: 'chat.completion',
    created: 0,
    model: 'bench',
    choices: [{ index: 0, message, logprobs: null, finish_reason: step.call ? 'tool_calls' : 'stop' }],
    usage: usage(step.tokens),
  });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function answerStream(res: ServerResponse, id: string, step: Step, includeUsage: boolean): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(delta(id, { role: 'assistant', content: '' }));
  const finish = () => {
    if (step.call) {
      const callId = `call_${id}`;
      res.write(
        delta(id, {
          tool_calls: [
            { index: 0, id: callId, type: 'function', function: { name: step.call.name, arguments: '' } },
          ],
        }),
      );
      res.write(delta(id, { tool_calls: [{ index: 0, function: { arguments: step.call.arguments } }] }));
    }
    res.write(delta(id, {}, step.call ? 'tool_calls' : 'stop'));
    if (includeUsage) res.write(chunk(id, [], { usage: usage(step.tokens) }));
    res.end('data: [DONE]\n\n');
  };
  if (step.call || step.tokens === 0) {
    finish();
    return;
  }
  const tokenEvent = delta(id, { content: TOKEN });
  const { paceMs } = reply;
  let sent = 0;
  if (paceMs === 0) {
    // Unpaced: one write for all tokens (the app still parses one event per token).
    res.write(tokenEvent.repeat(step.tokens));
    finish();
    return;
  }
  const timer = setInterval(() => {
    res.write(tokenEvent);
    if (++sent < step.tokens) return;
    clearInterval(timer);
    finish();
  }, paceMs);
  res.once('close', () => clearInterval(timer));
}

async function readJson(req: IncomingMessage): Promise<any> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return JSON.parse(Buffer.concat(parts).toString('utf8') || '{}');
}

const server = createServer(async (req, res) => {
  try {
    const body = await readJson(req);
    if (req.url === '/bench/stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
      return;
    }
    if (req.url === '/bench/reply') {
      reply = { tokens: Number(body.tokens ?? 0), paceMs: Number(body.paceMs ?? 0) };
      res.writeHead(204).end();
      return;
    }
    if (req.url !== '/v1/chat/completions') {
      res.writeHead(404).end();
      return;
    }
    stats.requests++;
    const id = `chatcmpl-${++nextId}`;
    const step = decide(body);
    if (body.stream) answerStream(res, id, step, body.stream_options?.include_usage === true);
    else answerJson(res, id, step);
  } catch (error) {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: String(error), type: 'server_error' } }));
  }
});
// Keep-alive longer than the app's client keeps idle sockets, so the app never writes to a socket
// this side already closed.
server.keepAliveTimeout = 60_000;
server.on('connection', () => stats.connections++);
server.maxRequestsPerSocket = 0;
// A thousand turns at once open hundreds of connections at once: Node's default backlog (511)
// would drop SYNs and delay the app's model calls by the kernel's retry seconds.
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => {
  server.close();
  server.closeAllConnections();
});
