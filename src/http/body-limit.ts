/**
 * @module http/body-limit
 * Hono's `bodyLimit`, without its cost for the ordinary request. Hono's middleware first reads
 * `c.req.raw.body`, which under @hono/node-server turns the adapter's light request into a full
 * `Request` whose body is a web stream over the socket: about a tenth of a millisecond of a chat
 * turn under load, and the handler's `c.req.json()` then reads through that stream instead of
 * the adapter's direct path. Under Node's server a GET or HEAD has no body, and a body with a
 * declared length (and no `Transfer-Encoding`) is decided by that length, both exactly as Hono
 * decides them, without touching the body. Everything else (chunked bodies, requests that did not
 * come through Node's server, such as `app.request` in tests) goes to Hono's middleware itself.
 *
 * @example
 * app.use(limitBody({ maxSize: 65_536, onError: () => { throw new ApiError('payload_too_large', '...') } }));
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

export type BodyLimitOptions = {
  maxSize: number;
  /** Answers a body over `maxSize` (or throws the error that does). */
  onError: (c: Context) => Response | Promise<Response>;
};

export function limitBody(options: BodyLimitOptions): MiddlewareHandler {
  const hono = bodyLimit(options);
  return async (c, next) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (!incoming) return hono(c, next);
    const method = c.req.method;
    // The adapter gives these no body at all: Hono's middleware lets them through.
    if (method === 'GET' || method === 'HEAD' || method === 'TRACE') return next();
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return hono(c, next);
    return Number.parseInt(length || '0', 10) > options.maxSize ? options.onError(c) : next();
  };
}
