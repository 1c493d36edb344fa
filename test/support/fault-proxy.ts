// A TCP proxy of our own between the app and Postgres, so fault tests can make the network slow,
// silent or broken at any moment while connections are open, without root, iptables or tc.
// It forwards bytes and nothing else: it knows no protocol, so every driver (pg, the Neon
// WebSocket bridge, migrations) sees exactly what a bad network would show it.

import net from 'node:net';

export type FaultProxyTarget = { host: string; port: number };

export type FaultProxyMode = 'flowing' | 'stalled' | 'cut';

export type FaultProxy = {
  /** The proxy's own port on 127.0.0.1 (ephemeral). */
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's (user, database, query kept). */
  urlFor(url: string): string;
  /**
   * Every request/response round trip costs `ms` more from now on: each direction is delayed by
   * `ms / 2`, byte order kept per connection. Applies to bytes arriving after the call; `0` ends it.
   * Independent of stall/cut: `heal()` does not reset it.
   */
  latency(ms: number): void;
  /**
   * Connections stay open but nothing is forwarded either way; new connections are accepted
   * (and not connected upstream) until `heal()`. Bytes received meanwhile are delivered after it.
   */
  stall(): void;
  /**
   * Destroys every open connection, both sides, and every new one at once, until `heal()`.
   * `reset: true` sends a TCP RST (the client sees ECONNRESET) instead of a FIN (a clean close
   * the client reads as "connection terminated unexpectedly"; the kernel still sends a RST if
   * bytes the proxy had not read yet were pending, e.g. a query written just before the cut).
   */
  cut(options?: { reset?: boolean }): void;
  /** Ends a stall or a cut: forwarding resumes (stalled bytes first), new connections go through. */
  heal(): void;
  readonly mode: FaultProxyMode;
  /** Connections accepted since start (including those a cut destroyed at once). */
  readonly connectionsOpened: number;
  /** Connections currently open (client side not yet closed). */
  readonly connectionsOpen: number;
  /**
   * Bytes received and not yet forwarded (held by a stall or a delay), both directions: poll it
   * to know that a request is certainly in flight before you cut, stop or heal.
   */
  readonly bytesHeld: number;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
};

/**
 * Starts a fault-injecting TCP proxy on 127.0.0.1 in front of `target`.
 *
 * @example
 * const proxy = await startFaultProxy({ host: '127.0.0.1', port: 5432 });
 * const url = proxy.urlFor('postgres://postgres@127.0.0.1:5432/db'); // postgres://postgres@127.0.0.1:<proxy.port>/db
 * proxy.latency(40);   // every round trip +40 ms
 * proxy.stall();       // queries hang, bytes are held
 * proxy.heal();        // held bytes flow, queries complete
 * proxy.cut();         // every connection dies; new ones die at once
 * proxy.heal();        // new connections work again
 * await proxy.close();
 */
export async function startFaultProxy(target: FaultProxyTarget): Promise<FaultProxy> {
  let mode: FaultProxyMode = 'flowing';
  let halfDelay = 0;
  let opened = 0;
  const connections = new Set<Connection>();

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    opened++;
    client.setNoDelay(true);
    if (mode === 'cut') {
      client.on('error', () => {});
      client.destroy();
      return;
    }
    const connection = new Connection(client, target, () => halfDelay);
    connections.add(connection);
    connection.onDone = () => connections.delete(connection);
    if (mode === 'flowing') connection.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    urlFor(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    latency(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new Error(`latency must be >= 0 ms, got ${ms}`);
      halfDelay = ms / 2;
    },
    stall() {
      mode = 'stalled';
      for (const c of connections) c.pause();
    },
    cut(options = {}) {
      mode = 'cut';
      for (const c of [...connections]) c.destroy(options.reset === true);
    },
    heal() {
      mode = 'flowing';
      for (const c of connections) c.resume();
    },
    get mode() {
      return mode;
    },
    get connectionsOpened() {
      return opened;
    },
    get bytesHeld() {
      let held = 0;
      for (const c of connections) held += c.bytesHeld;
      return held;
    },
    get connectionsOpen() {
      let open = 0;
      for (const c of connections) if (c.clientOpen) open++;
      return open;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of [...connections]) c.destroy(false);
      });
    },
  };
}

// What travels one way through a connection, in order: bytes, the sender's FIN, or its abort.
type Payload = { kind: 'data'; bytes: Buffer } | { kind: 'end' | 'abort' };
type Item = Payload & { due: number };

/** One direction of a connection: a FIFO that releases each item when it is due and not paused. */
class Lane {
  private readonly queue: Item[] = [];
  heldBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private paused = true;
  private readonly getDelay: () => number;
  private readonly deliver: (item: Item) => void;

  constructor(getDelay: () => number, deliver: (item: Item) => void) {
    this.getDelay = getDelay;
    this.deliver = deliver;
  }

  push(payload: Payload): void {
    this.queue.push({ ...payload, due: Date.now() + this.getDelay() });
    if (payload.kind === 'data') this.heldBytes += payload.bytes.length;
    this.pump();
  }

  pause(): void {
    this.paused = true;
    this.clearTimer();
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  clear(): void {
    this.queue.length = 0;
    this.heldBytes = 0;
    this.clearTimer();
  }

  // Strict FIFO: an item never overtakes an earlier one, even if latency was lowered in between.
  private pump(): void {
    if (this.paused || this.timer) return;
    while (this.queue.length > 0 && !this.paused) {
      const head = this.queue[0] as Item;
      const wait = head.due - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      this.queue.shift();
      if (head.kind === 'data') this.heldBytes -= head.bytes.length;
      this.deliver(head);
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

class Connection {
  /** Called once both sockets are closed (or the client closed before an upstream existed). */
  onDone: () => void = () => {};
  clientOpen = true;
  private readonly client: net.Socket;
  private upstream: net.Socket | undefined;
  private upstreamOpen = false;
  private readonly target: FaultProxyTarget;
  private readonly toServer: Lane;
  private readonly toClient: Lane;
  private done = false;

  constructor(client: net.Socket, target: FaultProxyTarget, getDelay: () => number) {
    this.client = client;
    this.target = target;
    this.toServer = new Lane(getDelay, (item) => this.forward(item, this.upstream));
    this.toClient = new Lane(getDelay, (item) => this.forward(item, this.client));
    client.on('data', (bytes: Buffer) => this.toServer.push({ kind: 'data', bytes }));
    client.on('end', () => this.toServer.push({ kind: 'end' }));
    client.on('error', () => this.toServer.push({ kind: 'abort' }));
    client.on('close', () => {
      this.clientOpen = false;
      this.toClient.clear();
      // What the client sent before leaving (its FIN or abort included) still reaches the server,
      // after the delay or the stall like everything else; without an upstream there is no one to tell.
      if (!this.upstream) this.toServer.clear();
      this.settle();
    });
  }

  /** Flowing: connects upstream on first use, then releases what is due in both lanes. */
  resume(): void {
    if (this.done) return;
    if (!this.upstream && this.clientOpen) this.connectUpstream();
    this.toServer.resume();
    this.toClient.resume();
  }

  pause(): void {
    this.toServer.pause();
    this.toClient.pause();
  }

  get bytesHeld(): number {
    return this.toServer.heldBytes + this.toClient.heldBytes;
  }

  destroy(reset: boolean): void {
    this.toServer.clear();
    this.toClient.clear();
    for (const socket of [this.client, this.upstream]) {
      if (!socket || socket.destroyed) continue;
      try {
        if (reset) socket.resetAndDestroy();
        else socket.destroy();
      } catch {
        socket.destroy(); // resetAndDestroy refuses a socket that is not connected yet
      }
    }
    // Both sockets are gone as far as anyone can observe: count it now, not at their 'close'.
    this.clientOpen = false;
    this.upstreamOpen = false;
    this.settle();
  }

  // Connecting only when flowing makes a connection opened during a stall hang the way the
  // network would, even if the target is down; a refusal then reaches the client in order, as an
  // abort after the delay.
  private connectUpstream(): void {
    const upstream = net.connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    this.upstream = upstream;
    this.upstreamOpen = true;
    upstream.setNoDelay(true);
    upstream.on('data', (bytes: Buffer) => this.toClient.push({ kind: 'data', bytes }));
    upstream.on('end', () => this.toClient.push({ kind: 'end' }));
    upstream.on('error', () => this.toClient.push({ kind: 'abort' }));
    upstream.on('close', () => {
      this.upstreamOpen = false;
      this.settle();
    });
  }

  private forward(item: Item, to: net.Socket | undefined): void {
    if (!to || to.destroyed) return;
    if (item.kind === 'data') to.write(item.bytes);
    else if (item.kind === 'end') to.end();
    else this.destroy(false); // one side aborted: the other sees its connection die too
  }

  private settle(): void {
    if (this.done || this.clientOpen || this.upstreamOpen) return;
    this.done = true;
    this.onDone();
  }
}
