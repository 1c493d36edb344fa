/**
 * @module http/origin
 * Which web pages may talk to this server. A browser attaches `Origin` to every cross-origin
 * request (and to same-origin POSTs); a page on another site must not be able to drive the API or
 * MCP with the credentials a browser adds by itself. The MCP specification asks servers to check
 * it for exactly that reason. So a request whose `Origin` is neither the server's own origin
 * (`PUBLIC_URL`) nor listed in `CORS_ORIGINS` answers `403 forbidden_origin`, on every route,
 * before anything else runs. Requests without `Origin` (curl, server-to-server, MCP hosts that
 * are not browsers) pass: they are not made by a page.
 *
 * Dev mode trusts any caller that can name a user, so it also pins the `Host`: with DNS rebinding
 * a page on `evil.test` can make its own name resolve to 127.0.0.1 and then send same-origin
 * requests (its `Origin` and `Host` both say `evil.test`) to a server on this machine. The `Host`
 * must be a loopback name or `PUBLIC_URL`'s host. In jwt mode a rebound page holds no token, so
 * the `Host` is not checked there (proxies and load balancers rewrite it freely).
 *
 * One addition to "own origin": a page served from a loopback name of this server (say
 * `http://localhost:3000` while `PUBLIC_URL` says `http://127.0.0.1:3000`) is same-origin when its
 * `Origin` equals the request's own scheme and `Host`. Rebinding cannot produce a loopback `Host`,
 * and another local port is another origin, so nothing foreign passes that way.
 *
 * @example
 * app.use(checkOrigin({ publicUrl, corsOrigins, checkHost: config.auth.mode === 'dev' }));
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.ts';
import { ApiError } from './errors.ts';

export type OriginPolicy = {
  /** The server's externally visible base URL; its origin is always allowed. */
  publicUrl: string;
  /** Further browser origins allowed to call the API. */
  corsOrigins: readonly string[];
  /** Dev mode: refuse a `Host` that is neither a loopback name nor `publicUrl`'s host. */
  checkHost: boolean;
};

export function checkOrigin(policy: OriginPolicy): MiddlewareHandler<AppEnv> {
  const own = new URL(policy.publicUrl);
  const allowed = new Set([own.origin, ...policy.corsOrigins.map((origin) => originOf(origin) ?? origin)]);

  return async (c, next) => {
    // The URL's host is the request's Host header (how @hono/node-server builds it).
    const url = new URL(c.req.url);
    if (policy.checkHost && !isLoopbackName(url.hostname) && url.hostname !== own.hostname) {
      throw new ApiError(
        'forbidden_origin',
        'This Host is not served in dev mode; use a loopback address or set PUBLIC_URL',
      );
    }
    // Compared as sent: browsers serialise origins one way (lowercase, no default port), and the
    // CORS middleware after this one matches the same exact strings.
    const origin = c.req.header('origin');
    if (origin !== undefined) {
      const sameLoopback = origin === url.origin && isLoopbackName(url.hostname);
      if (!(allowed.has(origin) || sameLoopback)) {
        throw new ApiError('forbidden_origin', 'Requests from this origin are not allowed');
      }
    }
    await next();
  };
}

/** A configured origin in the form browsers send (`scheme://host[:port]`), or undefined. */
function originOf(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/** localhost (and *.localhost, RFC 6761), 127.0.0.0/8 and ::1: names that only reach this machine. */
export function isLoopbackName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    name === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
  );
}
