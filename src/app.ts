/**
 * @module app
 * Builds the whole HTTP app from its dependencies: the task repository, the turn store, the
 * conversation read model and the model are made once here and handed to the feature routes, so
 * tests build the app in-process (PGlite, a fake model) and the benchmark can hand it fakes of the
 * stores. Every error leaves through `onError` in the contract's `{"error": {"code", "message"}}`
 * shape; no stack trace or driver message ever reaches a client.
 */
import type { LanguageModel } from 'ai';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { authenticate } from './auth/middleware.ts';
import { protectedResource, resourceMetadataRoutes } from './auth/resource-metadata.ts';
import { scopeByMethod } from './auth/scopes.ts';
import { type Conversations, createConversations } from './chat/conversations.ts';
import { chatRoutes } from './chat/routes.ts';
import { createChatTurns } from './chat/turn.ts';
import { createTurnStore, type TurnStore } from './chat/turn-store.ts';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import type { AppEnv } from './http/env.ts';
import { ApiError, describeError, ERROR_STATUS, errorBody } from './http/errors.ts';
import { Inflight } from './http/inflight.ts';
import { checkOrigin } from './http/origin.ts';
import { createLogger, errorFields, type Logger } from './log.ts';
import { mcpRoute } from './mcp/http.ts';
import { createChatModel } from './model/provider.ts';
import { createTaskRepository, type TaskRepository } from './tasks/repository.ts';
import { taskRoutes } from './tasks/routes.ts';

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
  /** The stores default to the ones over `database`; the benchmark's no-database run replaces them. */
  tasks?: TaskRepository;
  turns?: TurnStore;
  conversations?: Conversations;
};

const HEALTH_TIMEOUT_MS = 1500;

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { config, database } = deps;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const tasks = deps.tasks ?? createTaskRepository(database);
  const turns = createChatTurns({
    config,
    turns: deps.turns ?? createTurnStore(database),
    tasks,
    model: deps.model ?? createChatModel(config.model),
    inflight: deps.inflight ?? new Inflight(),
    today: deps.today ?? (() => new Date().toISOString().slice(0, 10)),
  });
  const conversations = deps.conversations ?? createConversations(database);
  const resource = protectedResource(config);
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
  // Before CORS, so a foreign origin gets no CORS headers, and before everything that does work.
  app.use(
    checkOrigin({
      publicUrl: config.publicUrl,
      corsOrigins: config.corsOrigins,
      checkHost: config.auth.mode === 'dev',
    }),
  );
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

  app.route('/', resourceMetadataRoutes(resource));
  app.use(authenticate(config.auth, resource));
  app.route('/mcp', mcpRoute(tasks, resource)); // checks scopes per MCP message
  app.use(scopeByMethod(resource));
  app.route('/', chatRoutes({ config, turns, conversations }));
  app.route('/', taskRoutes(tasks));

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
