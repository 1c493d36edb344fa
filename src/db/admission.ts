/**
 * @module db/admission
 * Who gets one of the pool's connections under load, and for how long a statement waits for one.
 * A burst of turns (a thousand users at once, each BEGIN TURN a few milliseconds) is far more than
 * the pool's connections, and that is fine: they wait their turn, first come first served, for at
 * most `waitMs`. Only when `maxWaiting` statements are already waiting, or one waited `waitMs` in
 * vain, is it refused (`PoolBusyError`, answered 503 with Retry-After), and that is load, not an
 * outage: it is not retried (a retry would only join the back of the queue again) and does not
 * count towards the circuit breaker (db/resilience.ts), which would otherwise fail every request
 * for its cool-down because the database was busy rather than down.
 *
 * `pg`'s pool has a queue of its own, but one timeout for two things: its `connectionTimeoutMillis`
 * bounds both opening a connection to a server that may be down (seconds) and waiting behind
 * other statements for a connection that is busy (which under a burst takes as long as the burst),
 * and its wait has no bound on length. So the pool here is given no more callers at a time than it
 * has connections, and its own timeout is left to mean "could not connect".
 */

/** A statement could not get a connection: too many were waiting, or it waited too long. */
export class PoolBusyError extends Error {
  override name = 'PoolBusyError';
  readonly reason: 'queue_full' | 'wait_timeout';
  constructor(reason: 'queue_full' | 'wait_timeout') {
    super(
      reason === 'queue_full'
        ? 'too many statements waiting for a database connection'
        : 'waited too long for a database connection',
    );
    this.reason = reason;
  }
}

export type AdmissionOptions = {
  /** Connections in the pool: callers let through at a time. */
  connections: number;
  /** Callers that may wait; the next one is refused at once. */
  maxWaiting: number;
  /** How long one caller waits before it is refused. */
  waitMs: number;
};

type Waiter = { admit(): void; timer: NodeJS.Timeout };

/** A pool's `connect`, in both of pg's forms (promise, callback). */
type Connect = (callback?: (error: Error | undefined, client?: unknown, done?: unknown) => void) => unknown;
type Releasable = { release(error?: unknown): void };
type PoolLike = { connect: Connect };

/**
 * Puts the gate in front of `pool.connect` (which `pool.query` and Drizzle's transactions both go
 * through). Returns how many callers are waiting at the gate, for the pool's figures.
 */
export function admitToPool(pool: PoolLike, options: AdmissionOptions): () => number {
  let free = options.connections;
  const waiting: Waiter[] = [];
  const enter = (): Promise<void> => {
    if (free > 0) {
      free--;
      return Promise.resolve();
    }
    if (waiting.length >= options.maxWaiting) return Promise.reject(new PoolBusyError('queue_full'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        admit: resolve,
        timer: setTimeout(() => {
          waiting.splice(waiting.indexOf(waiter), 1);
          reject(new PoolBusyError('wait_timeout'));
        }, options.waitMs),
      };
      // A waiting statement alone does not keep the process alive (its caller's work does).
      waiter.timer.unref();
      waiting.push(waiter);
    });
  };
  const leave = () => {
    const next = waiting.shift();
    if (!next) {
      free++;
      return;
    }
    clearTimeout(next.timer);
    next.admit();
  };
  const connect = pool.connect.bind(pool) as () => Promise<Releasable>;
  const admitted = async (): Promise<Releasable> => {
    await enter();
    let client: Releasable;
    try {
      client = await connect();
    } catch (error) {
      leave();
      throw error;
    }
    // The pool gives each checkout its own `release`; the gate is left when that one is called.
    const release = client.release;
    let released = false;
    client.release = (error?: unknown) => {
      if (!released) {
        released = true;
        leave();
      }
      return release.call(client, error);
    };
    return client;
  };
  pool.connect = (callback) => {
    const client = admitted();
    if (!callback) return client;
    client.then(
      (c) => callback(undefined, c, c.release),
      (error: Error) => callback(error),
    );
    return undefined;
  };
  return () => waiting.length;
}
