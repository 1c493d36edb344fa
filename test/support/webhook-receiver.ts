// A webhook receiver written from the contract alone ("Reminders" in CONTRACT.md), as a user of
// taskchat would write one: it verifies `Taskchat-Signature` with WebCrypto (not with the app's
// signing code), keeps every request it got, and answers as the test scripts it: a status, a
// redirect, or no answer at all (to meet the 10 s limit). Real HTTP on 127.0.0.1.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Received = {
  /** The body exactly as it arrived, and parsed. */
  raw: string;
  body: { id: string; type: string; createdAt: string; data: any };
  signature: string | undefined;
  contentType: string | undefined;
  /** The Host header: the URL's host name, whatever address the connection went to. */
  host: string | undefined;
  path: string;
  at: Date;
};

/** What the receiver does with a request: answer a status (with a Location for 3xx), or hang. */
export type Answer = number | { redirect: string } | 'hang';

/** Checks a `Taskchat-Signature` header the way the contract describes it; `toleranceS`: freshness. */
export async function verifySignature(
  header: string | undefined,
  raw: string,
  secret: string,
  toleranceS = 300,
): Promise<boolean> {
  const parts = Object.fromEntries((header ?? '').split(',').map((part) => part.split('=', 2)));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || typeof parts.v1 !== 'string') return false;
  if (Math.abs(Date.now() / 1000 - t) > toleranceS) return false;
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${t}.${raw}`)));
  const expected = [...mac].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return expected === parts.v1;
}

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

export async function startWebhookReceiver() {
  const received: Received[] = [];
  // Answers to give, in order; once used up, `fallback`.
  const script: Answer[] = [];
  let fallback: Answer = 200;
  const hanging = new Set<ServerResponse>();
  const waiters: { count: number; resolve: () => void }[] = [];

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Received['body'];
      try {
        body = JSON.parse(raw);
      } catch {
        body = { id: '', type: 'unparsable', createdAt: '', data: null };
      }
      received.push({
        raw,
        body,
        signature: req.headers['taskchat-signature'] as string | undefined,
        contentType: req.headers['content-type'],
        host: req.headers.host,
        path: req.url ?? '/',
        at: new Date(),
      });
      for (const waiter of waiters.filter((w) => received.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      const answer = script.shift() ?? fallback;
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      if (typeof answer === 'object') {
        res.writeHead(302, { location: answer.redirect }).end('moved');
        return;
      }
      // A body the app must not keep: the log test looks for it.
      res
        .writeHead(answer, { 'content-type': 'text/plain' })
        .end(`receiver says ${answer}: SECRET-ANSWER-TEXT`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    port,
    url: `http://127.0.0.1:${port}/hooks/taskchat`,
    received,
    /** The next answers, in order, then `then` for every later request. */
    answer(answers: Answer[], then: Answer = 200) {
      script.splice(0, script.length, ...answers);
      fallback = then;
    },
    /** Resolves once `count` requests arrived in all, or rejects after `timeoutMs`. */
    waitFor(count: number, timeoutMs = 15_000): Promise<void> {
      if (received.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`receiver got ${received.length} requests, expected ${count}`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
