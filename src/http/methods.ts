/**
 * @module http/methods
 * The app's "no such route" answer: `405 method_not_allowed` with an `Allow` header when the path
 * is served with other methods (`PUT /tasks/1`: it takes GET, PATCH and DELETE), as RFC 9110
 * asks, so a client learns it has the wrong method rather than a wrong address; `404 not_found`
 * when no method serves the path. The methods are read from the app's own routes on first use, so
 * a new route needs nothing here.
 *
 * What never reaches it: HEAD on a GET route (Hono answers it from the GET handler), a CORS
 * preflight (the CORS middleware answers it), and paths whose routes answer every method
 * themselves (`/mcp`).
 *
 * @example
 * app.notFound(routeNotFound(app));
 */
import type { Context, Hono } from 'hono';
import type { AppEnv } from './env.ts';
import { errorBody } from './errors.ts';

type Route = { method: string; pattern: RegExp };

const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export function routeNotFound(app: Hono<AppEnv>): (c: Context<AppEnv>) => Response {
  let routes: Route[] | undefined;
  return (c) => {
    routes ??= app.routes
      // `ALL` is middleware (or a route that answers every method itself): no method of its own.
      .filter((route) => route.method !== 'ALL')
      .map((route) => ({ method: route.method, pattern: pathPattern(route.path) }));
    const allowed = allowedMethods(routes, c.req.path);
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    // The method is served here and still nothing answered (a file that is not there): not found.
    if (allowed.length === 0 || allowed.includes(method)) {
      return c.json(errorBody('not_found', 'No such route', c.get('requestId')), 404);
    }
    return c.json(
      errorBody(
        'method_not_allowed',
        `${c.req.method} is not allowed on ${c.req.path}; it takes ${allowed.join(', ')}`,
        c.get('requestId'),
      ),
      405,
      { Allow: allowed.join(', ') },
    );
  };
}

function allowedMethods(routes: Route[], path: string): string[] {
  const methods = new Set(routes.filter((route) => route.pattern.test(path)).map((route) => route.method));
  if (methods.has('GET')) methods.add('HEAD');
  return METHOD_ORDER.filter((method) => methods.has(method));
}

/** A Hono route path (`/tasks/:id`, `/assets/*`) as a pattern for a whole request path. */
function pathPattern(path: string): RegExp {
  const segments = path.split('/').map((segment) => {
    if (segment === '*') return '.*';
    // `:name`, or `:name{regex}`.
    const param = /^:[\w-]+(?:\{(.+)\})?$/.exec(segment);
    if (param) return param[1] ? `(?:${param[1]})` : '[^/]+';
    return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${segments.join('/')}$`);
}
