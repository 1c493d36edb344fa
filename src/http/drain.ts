/**
 * @module http/drain
 * The server's shutdown state, in one place every part can read: `/health` (and a `/readyz`)
 * answer 503 while draining, every new request is answered `503 draining` with `Retry-After` and
 * `Connection: close` (on kept-alive connections too, which a closed listener would still serve),
 * and when the grace period is nearly over `stopTurns()` aborts the turns still running, so they
 * end as failed turns (their leases released, their effects recorded) instead of being cut off.
 *
 * @example
 * const drain = new Drain();
 * app.use(refuseWhileDraining(drain));
 * process.once('SIGTERM', () => drain.begin());
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.ts';

/** Seconds a client should wait before sending again (to another instance, normally). */
export const DRAINING_RETRY_AFTER_SECONDS = 1;

export class Drain {
  #draining = false;
  readonly #stop = new AbortController();
  readonly #begun = new AbortController();

  /** True from `begin()` on: new work is refused. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Aborted by `stopTurns()`: running turns give up and end as failed. */
  get stopSignal(): AbortSignal {
    return this.#stop.signal;
  }

  /**
   * Aborted by `begin()`: what never finishes by itself (an event stream) ends then, so a drain
   * does not wait for it; its client reconnects to another instance.
   */
  get drainSignal(): AbortSignal {
    return this.#begun.signal;
  }

  begin(): void {
    this.#draining = true;
    this.#begun.abort();
  }

  stopTurns(): void {
    this.begin();
    this.#stop.abort();
  }
}

/** The contract's answer to a request that arrives while the server drains. */
export function drainingError(): ApiError {
  return new ApiError('draining', 'The server is shutting down; send the request again', {
    'Retry-After': String(DRAINING_RETRY_AFTER_SECONDS),
    Connection: 'close',
  });
}

/**
 * Refuses every request while draining, and closes the connection after any response produced
 * while draining (a request that started before the drain and ends during it), so that no
 * kept-alive connection carries a new request afterwards.
 */
export function refuseWhileDraining(drain: Drain): MiddlewareHandler {
  return async (c, next) => {
    if (drain.draining) throw drainingError();
    await next();
    if (drain.draining && !c.res.headers.has('Connection')) {
      try {
        c.res.headers.set('Connection', 'close');
      } catch {
        // A response with immutable headers (rare): the server's idle sweep closes the socket.
      }
    }
  };
}
