// What a streamed token costs a Node process that does nothing but relay it: the floor under the
// app's CPU per token (BENCHMARKS.md, "The real path, third half"). Three processes: an upstream
// that streams Chat Completions chunks (one token per event, `PACE_MS` apart, one write each, as
// the real-path bench's model server does), a relay, and a client that opens `STREAMS` streams at
// once through the relay and reads them to the end. The relay's CPU (process.cpuUsage: user +
// system, so the kernel's socket work counts) is divided by the tokens relayed. Modes:
//   read     reads each token off the upstream socket and drops it (one line at the end)
//   raw      writes each upstream chunk to the client as it came (no parsing)
//   parse    splits the events, JSON.parses each, writes one UI text part per event loop tick
//   batch    the same, but text joined for 50 ms (what src/model/transport.ts does) before writing
//   fetch    raw, but reading the upstream with the global fetch (undici) instead of node:http
//
//   node bench/relay-floor.ts            (STREAMS=200 TOKENS=200 PACE_MS=10 ROUNDS=3)
import { type ChildProcess, fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const STREAMS = Number(process.env.STREAMS ?? '200');
const TOKENS = Number(process.env.TOKENS ?? '200');
const PACE_MS = Number(process.env.PACE_MS ?? '10');
const ROUNDS = Number(process.env.ROUNDS ?? '3');
const MODES = ['read', 'raw', 'parse', 'batch', 'fetch'] as const;
type Mode = (typeof MODES)[number];

const role = process.argv[2];

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', 4096, () => resolve((server.address() as AddressInfo).port)),
  );
}

async function upstream(): Promise<void> {
  const event = `data: ${JSON.stringify({
    id: 'chatcmpl-floor',
    object: 'chat.completion.chunk',
    created: 0,
    model: 'floor',
    choices: [{ index: 0, delta: { content: 'tok ' }, logprobs: null, finish_reason: null }],
  })}\n\n`;
  const port = await listen(
    http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let sent = 0;
      const timer = setInterval(() => {
        res.write(event);
        if (++sent < TOKENS) return;
        clearInterval(timer);
        res.end('data: [DONE]\n\n');
      }, PACE_MS);
    }),
  );
  process.send?.(port);
}

async function relay(mode: Mode, upstreamPort: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true });
  const target = `http://127.0.0.1:${upstreamPort}/`;
  // Streams with text waiting, written once per event-loop tick (as src/http/node-body.ts does).
  const waiting = new Map<http.ServerResponse, string>();
  let scheduled = false;
  const writeAll = () => {
    scheduled = false;
    for (const [res, text] of waiting) res.write(text);
    waiting.clear();
  };
  const write = (res: http.ServerResponse, text: string) => {
    waiting.set(res, (waiting.get(res) ?? '') + text);
    if (!scheduled) {
      scheduled = true;
      setImmediate(writeAll);
    }
  };
  const part = (delta: string) => `data: ${JSON.stringify({ type: 'text-delta', id: '0', delta })}\n\n`;
  const port = await listen(
    http.createServer(async (req, res) => {
      if (req.url === '/cpu') {
        const { user, system } = process.cpuUsage();
        res.end(String(user + system));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (mode === 'fetch') {
        const reader = (await fetch(target)).body?.getReader();
        for (let next = await reader?.read(); next && !next.done; next = await reader?.read())
          res.write(next.value);
        res.end();
        return;
      }
      http.get(target, { agent }, (up) => {
        if (mode === 'read' || mode === 'raw') {
          up.on('data', (chunk: Buffer) => mode === 'raw' && res.write(chunk));
          up.on('end', () => res.end(mode === 'read' ? 'data: done\n\n' : undefined));
          return;
        }
        up.setEncoding('utf8');
        let rest = '';
        let text = '';
        let last = 0;
        let timer: NodeJS.Timeout | undefined;
        const flush = () => {
          timer = undefined;
          last = performance.now();
          if (text) write(res, part(text));
          text = '';
        };
        up.on('data', (chunk: string) => {
          rest += chunk;
          for (let end = rest.indexOf('\n\n'); end >= 0; end = rest.indexOf('\n\n')) {
            const data = rest.slice(6, end);
            rest = rest.slice(end + 2);
            if (data !== '[DONE]') text += JSON.parse(data).choices[0].delta.content;
          }
          if (mode === 'parse') flush();
          else if (!timer) {
            const wait = last + 50 - performance.now();
            if (wait <= 0) flush();
            else timer = setTimeout(flush, wait);
          }
        });
        up.on('end', () => {
          clearTimeout(timer);
          flush();
          setImmediate(() => res.end());
        });
      });
    }),
  );
  process.send?.(port);
}

function start(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), args, { stdio: 'inherit' });
  return new Promise((resolve) => child.once('message', (port) => resolve({ child, port: Number(port) })));
}

async function main(): Promise<void> {
  const up = await start(['upstream']);
  const agent = new http.Agent({ keepAlive: true });
  const get = (port: number, path: string) =>
    new Promise<string>((resolve, reject) =>
      http
        .get(`http://127.0.0.1:${port}${path}`, { agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve(body));
        })
        .on('error', reject),
    );
  console.log(
    `${STREAMS} streams at once, ${TOKENS} tokens each, ${PACE_MS} ms apart; relay CPU per token, us`,
  );
  for (const mode of MODES) {
    const relayed = await start(['relay', mode, String(up.port)]);
    const rounds: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const before = Number(await get(relayed.port, '/cpu'));
      await Promise.all(Array.from({ length: STREAMS }, () => get(relayed.port, '/stream')));
      const after = Number(await get(relayed.port, '/cpu'));
      // Round 0 warms the JIT and the kept-alive connections.
      if (round > 0) rounds.push((after - before) / (STREAMS * TOKENS));
    }
    relayed.child.kill();
    const sorted = [...rounds].sort((a, b) => a - b);
    console.log(
      `  ${mode.padEnd(6)} median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} [${rounds.map((r) => r.toFixed(1)).join(' ')}]`,
    );
  }
  up.child.kill();
}

if (role === 'upstream') await upstream();
else if (role === 'relay') await relay(process.argv[3] as Mode, Number(process.argv[4]));
else await main();
