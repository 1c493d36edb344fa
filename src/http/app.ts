/**
 * @module http/app
 * Builds the Hono app from its dependencies, so tests build it in-process (PGlite, a fake model)
 * and call `app.request(...)`, and the Node entry point is a few lines around it. Every error
 * leaves through `onError` in the contract's `{"error": {"code", "message"}}` shape; no stack
 * trace or driver message ever reaches a client.
 */

import type { LanguageModel } from 'ai';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { type RequestIdVariables, requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { createChatModel } from '../chat/agent.ts';
import { chatRoutes } from '../chat/routes.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { DbUnavailableError } from '../db/resilience.ts';
import { createLogger, errorFields, type Logger } from '../log.ts';
import { mcpRoute } from '../mcp/http.ts';
import { taskRoutes } from '../tasks/routes.ts';
import { type AuthVariables, authenticate } from './auth.ts';
import { ApiError, ERROR_STATUS, type ErrorCode, errorBody } from './errors.ts';
import { Inflight } from './inflight.ts';

export type AppEnv = { Variables: AuthVariables & RequestIdVariables & { log: Logger } };

export type AppDeps = {
  config: Config;
  database: Database;
  logger?: Logger;
  /** Defaults to the model the config names. */
  model?: LanguageModel;
  /** Turns still running after their response ended; shutdown waits for them. */
  inflight?: Inflight;
  /** Today's date (YYYY-MM-DD) for the model; tests pin it. */
  today?: () => string;
};

const HEALTH_TIMEOUT_MS = 1500;

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { config, database } = deps;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const model = deps.model ?? createChatModel(config.model);
  const inflight = deps.inflight ?? new Inflight();
  const app = new Hono<AppEnv>();

  app.use(requestId());
  app.use(async (c, next) => {
    const log = logger.child({ requestId: c.get('requestId') });
    c.set('log', log);
    const started = performance.now();
    await next();
    log.info('request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(performance.now() - started),
    });
  });
  app.use(secureHeaders());
  if (config.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: [...config.corsOrigins],
        exposeHeaders: ['X-Conversation-Id', 'X-Message-Id', 'X-Request-Id'],
      }),
    );
  }
  app.use(
    bodyLimit({
      maxSize: config.chat.maxBodyBytes,
      onError: () => {
        throw new ApiError('payload_too_large', `Request body is over ${config.chat.maxBodyBytes} bytes`, {
          Connection: 'close',
        });
      },
    }),
  );

  app.get('/health', async (c) => {
    const ok = await database.ping(HEALTH_TIMEOUT_MS);
    const pool = database.poolStats();
    if (ok) return c.json({ status: 'ok', db: 'ok', ...(pool ? { pool } : {}) });
    c.header('Retry-After', '5');
    return c.json({ status: 'unavailable', db: 'unavailable', ...(pool ? { pool } : {}) }, 503);
  });

  app.use(authenticate(config.auth));
  app.route('/mcp', mcpRoute({ database }));
  app.route('/', chatRoutes({ config, database, model, inflight, today: deps.today }));
  app.route('/', taskRoutes(database));

  app.notFound((c) => c.json(errorBody('not_found', 'No such route', c.get('requestId')), 404));

  app.onError((error, c) => {
    const { code, message, headers } = describeError(error);
    const log = c.get('log') ?? logger;
    if (ERROR_STATUS[code] >= 500) log.error('request failed', { code, ...errorFields(error) });
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
    return c.json(errorBody(code, message, c.get('requestId')), ERROR_STATUS[code]);
  });

  return app;
}

function describeError(error: unknown): {
  code: ErrorCode;
  message: string;
  headers: Record<string, string>;
} {
  if (error instanceof ApiError) return { code: error.code, message: error.message, headers: error.headers };
  if (error instanceof DbUnavailableError) {
    return {
      code: 'db_unavailable',
      message: 'The database is unavailable; try again shortly',
      headers: { 'Retry-After': String(error.retryAfterSeconds) },
    };
  }
  if (error instanceof HTTPException && error.status === 400) {
    return { code: 'invalid_request', message: 'Malformed request', headers: {} };
  }
  return { code: 'internal_error', message: 'Internal server error', headers: {} };
}
