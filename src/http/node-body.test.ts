import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TextBody, textBodyOf } from './node-body.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A loopback server whose one request is answered by `answer`; resolves with what a client read. */
async function served(answer: (res: ServerResponse) => void | Promise<void>, readUntil?: string) {
  const server = createServer((_req, res) => {
    void answer(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<{ headers: Record<string, unknown>; text: string }>((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', path: '/' }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          // Leave mid-body: the socket closes under the writer.
          if (readUntil && text.includes(readUntil)) {
            req.destroy();
            resolve({ headers: res.headers, text });
          }
        });
        res.on('end', () => resolve({ headers: res.headers, text }));
        res.on('error', reject);
      });
      req.on('error', (error) => (readUntil ? undefined : reject(error)));
      req.end();
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('TextBody', () => {
  it('is an ordinary response body for a reader that is not Node (app.request)', async () => {
    const body = new TextBody();
    const response = new Response(body.stream, { headers: { 'content-type': 'text/event-stream' } });
    expect(textBodyOf(response)).toBe(body);
    body.write('data: 1\n\n');
    setTimeout(() => {
      body.write('data: 2\n\n');
      body.end();
      body.write('data: after the end\n\n');
    }, 5);
    expect(await response.text()).toBe('data: 1\n\ndata: 2\n\n');
  });

  it('writes what one tick produced to the socket once, with the head it was given', async () => {
    const body = new TextBody();
    let writes = 0;
    const { headers, text } = await served(async (res) => {
      const write = res.write.bind(res) as (chunk: string) => boolean;
      res.write = ((chunk: string) => {
        writes++;
        return write(chunk);
      }) as typeof res.write;
      body.write('a');
      body.sendTo(res, 200, new Headers({ 'content-type': 'text/event-stream', 'x-one': '1' }));
      body.write('b');
      body.write('c');
      await tick();
      body.write('d');
      await tick();
      body.write('e');
      body.end();
    });
    expect(headers['content-type']).toBe('text/event-stream');
    expect(headers['x-one']).toBe('1');
    expect(text).toBe('abcde');
    // "a" with the head, "bc" in one tick, "d" in the next; "e" goes with the end.
    expect(writes).toBe(3);
  });

  it('stops writing, without failing its writer, when the client leaves', async () => {
    const body = new TextBody();
    let closedSeen = false;
    body.onClose(() => {
      closedSeen = true;
    });
    const ended = new Promise<void>((resolve) => body.onEnd(resolve));
    const { text } = await served(async (res) => {
      body.sendTo(res, 200, new Headers({ 'content-type': 'text/event-stream' }));
      body.write('first;');
      for (let i = 0; i < 200 && !body.closed; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        body.write(`more ${i};`);
      }
      body.end();
    }, 'first;');
    await ended;
    expect(text).toContain('first;');
    expect(body.closed).toBe(true);
    expect(closedSeen).toBe(true);
  });
});
