// A local stand-in for Neon's wsproxy: the Neon serverless driver only speaks Postgres over
// WebSocket, so tests of the `neon` driver need something that forwards a WebSocket to the
// local Postgres TCP port. Pair it with NEON_WS_PROXY=127.0.0.1:<port>.

import type { AddressInfo } from 'node:net';
import net from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import { sleep } from './sleep.ts';

export type WsBridge = {
  port: number;
  /** Stops accepting, lets sessions end on their own for up to `graceMs`, then terminates the rest. */
  close(graceMs?: number): Promise<void>;
};

// Forwarding to arbitrary hosts would make this an open relay; tests only need local Postgres.
const ALLOWED_HOSTS = new Set(['127.0.0.1', 'localhost']);

export async function startWsBridge(): Promise<WsBridge> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const sockets = new Set<net.Socket>();

  wss.on('connection', (ws, req) => {
    const url = new URL(req.url ?? '/', 'http://bridge');
    const target = parseTarget(url.pathname, url.searchParams.get('address'));
    if (!target) {
      ws.close(1008, 'bad or forbidden address');
      return;
    }
    const tcp = net.connect(target);
    sockets.add(tcp);
    tcp.setNoDelay(true);
    tcp.on('data', (data) => {
      if (ws.readyState === ws.OPEN) ws.send(data, { binary: true });
    });
    tcp.on('error', () => ws.terminate());
    tcp.on('close', () => {
      sockets.delete(tcp);
      closeWs(ws);
    });
    // Writes made before the TCP connect completes are buffered by net.Socket.
    ws.on('message', (data) => {
      if (!tcp.destroyed) tcp.write(toBuffer(data));
    });
    ws.on('error', () => tcp.destroy());
    ws.on('close', () => tcp.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const { port } = wss.address() as AddressInfo;

  return {
    port,
    async close(graceMs = 1000) {
      const closed = new Promise<void>((resolve) => wss.close(() => resolve()));
      // `await pool.end()` resolves before the driver's sockets have finished closing; killing
      // them at once makes each idle client emit an 'error' that the Pool rethrows as unhandled.
      const deadline = Date.now() + graceMs;
      while (wss.clients.size > 0 && Date.now() < deadline) await sleep(5);
      for (const ws of wss.clients) ws.terminate();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

function parseTarget(pathname: string, address: string | null): { host: string; port: number } | undefined {
  if (pathname !== '/v2' || !address) return undefined;
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  if (!ALLOWED_HOSTS.has(host) || !Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return { host, port };
}

function closeWs(ws: WebSocket): void {
  if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
