/**
 * @module auth/config-route
 * `GET /auth/config`: how this server identifies people, for a client that has to ask them before
 * it can call anything else. The chat page reads it to offer the one sign-in that can work (a user
 * name in dev mode, a token in jwt mode) instead of making the person guess. Public, like the page
 * itself, and it says nothing a 401 challenge would not: the mode, never a secret or a key.
 *
 * @example
 * app.route('/', authConfigRoute(config.auth));   // before authenticate()
 */
import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { AppEnv } from '../http/env.ts';
import { jsonResponse, PUBLIC } from '../http/openapi.ts';

const authConfigSchema = z
  .object({
    mode: z.enum(['jwt', 'dev']).meta({
      description:
        '`jwt`: send `Authorization: Bearer <token>` (from your identity provider, or `npm run token`); `dev`: send `X-User-Id: <name>`.',
    }),
  })
  .meta({ id: 'AuthConfig' });

const docs = describeRoute({
  tags: ['Operations'],
  summary: 'How this server identifies people',
  description:
    'What a client asks its user for before the first call: a token (jwt mode) or a user name (dev mode).',
  security: PUBLIC,
  responses: { ...jsonResponse(200, 'The auth mode', authConfigSchema) },
});

export function authConfigRoute(auth: Config['auth']): Hono<AppEnv> {
  const body: z.infer<typeof authConfigSchema> = { mode: auth.mode };
  return new Hono<AppEnv>().get('/auth/config', docs, (c) =>
    c.json(body, 200, { 'Cache-Control': 'no-cache' }),
  );
}
