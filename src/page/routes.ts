/**
 * @module page/routes
 * Serves the chat page (web/, built by `npm run build` into web/dist) from the API's own origin:
 * one origin means no CORS setup, and the page's requests pass the server's Origin check as they
 * are. Mount it BEFORE the auth middleware: the page and its assets need no credentials (the page
 * asks the person for them). Vite hashes asset names, so `/assets/*` is cached for a year and
 * immutable, while `index.html`, which names the current hashes, is revalidated on every load.
 * A missing build is not a crash: `GET /` says how to build it and the API keeps working.
 *
 * @example
 * ```ts
 * app.route('/', pageRoutes());
 * app.use(authenticate(config.auth));
 * ```
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { PUBLIC } from '../http/openapi.ts';

const DEFAULT_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url));

const IMMUTABLE = 'public, max-age=31536000, immutable';

// Everything the page loads comes from this origin; it talks to nothing else.
const PAGE_CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>taskchat: page not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>The chat page is not built</h1>
<p>This taskchat server runs, and its API answers, but the chat page in <code>web/</code> has not
been built into <code>web/dist</code>. In the project directory, run:</p>
<pre>npm install
npm run build</pre>
<p>then reload this page (no restart needed). The API reference is at <a href="/docs">/docs</a>.</p>
</body></html>`;

const pageDocs = describeRoute({
  tags: ['Operations'],
  summary: 'The chat page',
  description: 'Built on the AI SDK’s own chat client; its hashed assets are under `/assets/`.',
  security: PUBLIC,
  responses: {
    200: { description: 'The page', content: { 'text/html': {} } },
    503: { description: 'The page is not built yet: how to build it', content: { 'text/html': {} } },
  },
});

export type PageOptions = {
  /** The built page; defaults to web/dist next to src/. */
  root?: string;
};

export function pageRoutes(options: PageOptions = {}): Hono {
  const root = options.root ?? DEFAULT_ROOT;
  const app = new Hono();

  // serveStatic is given absolute paths and no `root`: with a root it complains on the console at
  // start-up when web/dist does not exist yet, which is a normal state here.
  const index = serveStatic({ path: join(root, 'index.html') });
  app.on(['GET', 'HEAD'], '/', pageDocs, async (c) => {
    // Looked up per request, so a build made while the server runs is served without a restart.
    const page = existsSync(join(root, 'index.html')) ? await index(c, async () => {}) : undefined;
    if (!page) {
      c.header('Cache-Control', 'no-store');
      return c.html(NOT_BUILT, 503);
    }
    // Set on the response itself: serveStatic builds it before any of its hooks run.
    page.headers.set('Cache-Control', 'no-cache');
    page.headers.set('Content-Security-Policy', PAGE_CSP);
    return page;
  });

  const asset = serveStatic({ rewriteRequestPath: (path) => join(root, path) });
  app.on(['GET', 'HEAD'], '/assets/*', async (c) => {
    const found = await asset(c, async () => {});
    // An unknown asset name (an old hash) is a plain 404, not a 401 from the API behind.
    if (!found) return c.json({ error: { code: 'not_found', message: 'No such asset' } }, 404);
    found.headers.set('Cache-Control', IMMUTABLE);
    return found;
  });

  return app;
}
