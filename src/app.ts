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
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { authConfigRoute } from './auth/config-route.ts';
import { authenticate } from './auth/middleware.ts';
import { protectedResource, resourceMetadataRoutes } from './auth/resource-metadata.ts';
import { scopeByMethod } from './auth/scopes.ts';
import { chatRoutes } from './chat/routes.ts';
import { type Conversations, createConversations } from './chat/store/conversations.ts';
import { createTurnStore, type TurnStore } from './chat/store/turn-store.ts';
import { localRelay, redisRelay } from './chat/stream/relay.ts';
import { createLiveAnswers } from './chat/stream/resume.ts';
import { createChatTurns } from './chat/turn/turn.ts';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import { createNotifications, type Notifications } from './db/notifications.ts';
import { createEventHub } from './events/hub.ts';
import { createEventReads } from './events/reads.ts';
import { eventRoutes } from './events/routes.ts';
import { healthRoutes } from './health/routes.ts';
import { limitBody } from './http/body-limit.ts';
import { Drain, refuseWhileDraining } from './http/drain.ts';
import type { AppEnv } from './http/env.ts';
import { ApiError, describeError, ERROR_STATUS, errorBody } from './http/errors.ts';
import { Inflight } from './http/inflight.ts';
import { routeNotFound } from './http/methods.ts';
import { writeTextBodiesToNode } from './http/node-body.ts';
import { apiDocsRoutes } from './http/openapi.ts';
import { checkOrigin } from './http/origin.ts';
import { createLogger, errorFields, type Logger } from './log.ts';
import { mcpRoute } from './mcp/http.ts';
import { createChatModel } from './model/provider.ts';
import { createObservability, type Observability } from './observability/index.ts';
import {
  instrumentDatabase,
  instrumentTaskRepository,
  instrumentTurnStore,
  modelMetrics,
  requestSpans,
  turnMetrics,
} from './observability/instrument.ts';
import { metricsRoute } from './observability/metrics.ts';
import { pageRoutes } from './page/routes.ts';
import type { Redis } from './relay/redis.ts';
import { createStopSignals, type StopSignals } from './relay/stops.ts';
import { changeRoutes } from './tasks/change-routes.ts';
import { createTaskRepository, type TaskRepository } from './tasks/repository.ts';
import { taskRoutes } from './tasks/routes.ts';
import { meRoutes } from './time/routes.ts';
import { usageRoutes } from './usage/routes.ts';
import { webhookRoutes } from './webhooks/routes.ts';
import { createWebhookStore, throughDatabase } from './webhooks/store.ts';

export type AppDeps = {
  config: Config;
  database: Database;
  logger?: Logger;
  /** Defaults to the model the config names. */
  model?: LanguageModel;
  /** Turns still running after their response ended; shutdown waits for them. */
  inflight?: Inflight;
  /** The shutdown state (server.ts drives it): refuse new work, stop running turns. */
  drain?: Drain;
  /** The clock: the users' local dates and times, their days for budgets; tests move it. */
  now?: () => Date;
  /** Pins the model's date whatever the clock and the user's zone; tests that need no zone use it. */
  today?: () => string;
  /** The stores default to the ones over `database`; the benchmark's no-database run replaces them. */
  tasks?: TaskRepository;
  turns?: TurnStore;
  conversations?: Conversations;
  /** This process's liveness record (instances/registry.ts), named on the leases its turns take. */
  instanceId?: string;
  /** REDIS_URL's Redis (server.ts connects it): relays answers and stops between instances. */
  redis?: Redis;
  /**
   * How stops reach the instance running a turn; by default within this process only (enough for
   * PGlite and in-process tests). server.ts passes one listening on Redis or Postgres.
   */
  stops?: StopSignals;
  /**
   * The process's one listening connection (db/notifications.ts), shared by the live events and
   * the stops: server.ts passes its own and closes it. By default the app makes one, connected
   * only while an event stream is open (so an app of a test holds no connection of its own).
   */
  notifications?: Notifications;
  /** How often every event stream gets a comment line (the contract: at least every 25 s). */
  eventHeartbeatMs?: number;
  /** Metrics and traces; by default the app's own, from config (the server passes its own to flush them). */
  observability?: Observability;
  /** The background worker this process runs (WORKER=true; server.ts starts it), for /health. */
  worker?: { readonly state: 'running' | 'stopped' };
};

/** Event streams' comment lines: within the contract's 25 s, and under common proxies' 30 s idle limits. */
const EVENT_HEARTBEAT_MS = 20_000;

/** Probes and scrapes: not traced (they would drown the traces of real requests). */
const UNTRACED = new Set(['/livez', '/readyz', '/health', '/metrics']);

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { config } = deps;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const { metrics, tracing } =
    deps.observability ?? createObservability(config, { database: deps.database, logger });
  const database = instrumentDatabase(deps.database, metrics);
  const now = deps.now ?? (() => new Date());
  const tasks = instrumentTaskRepository(
    deps.tasks ?? createTaskRepository(database, { now, defaultTimezone: config.defaultTimezone }),
    tracing.tracer,
  );
  const inflight = deps.inflight ?? new Inflight();
  const drain = deps.drain ?? new Drain();
  const turnStore =
    deps.turns ??
    createTurnStore(database, {
      logger,
      // Shutdown waits for the failure endings still being retried, as for running turns.
      track: (work) => inflight.track(work),
      abandonConfirmMs: config.db.statementTimeoutMs + 1000,
      instanceId: deps.instanceId,
    });
  // The agent hands `config.model.telemetry` to the AI SDK as it is. Only traces need it: enabled,
  // even without an integration, it copies and filters every lifecycle event and opens a diagnostics
  // channel span per step, a quarter of a millisecond of CPU per turn. Metrics use `observe`.
  const telemetry = tracing.aiTelemetry
    ? { ...config.model.telemetry, integrations: [tracing.aiTelemetry] }
    : { isEnabled: false };
  const relay = deps.redis
    ? redisRelay(deps.redis, logger, { ttlSeconds: Math.ceil(config.chat.leaseMs / 1000) + 60 })
    : localRelay();
  const stops = deps.stops ?? createStopSignals({ database, logger });
  const turns = createChatTurns({
    config: { ...config, model: { ...config.model, telemetry } },
    observe: modelMetrics(metrics, config.usage.prices),
    store: instrumentTurnStore(turnStore, tracing.tracer),
    tasks,
    model: deps.model ?? createChatModel(config.model),
    inflight,
    now,
    today: deps.today,
    stop: drain.stopSignal,
    stops,
    relay,
  });
  const conversations = deps.conversations ?? createConversations(database);
  const events = createEventHub({
    reads: createEventReads(database),
    notifications:
      deps.notifications ??
      createNotifications({
        database: deps.database,
        logger,
        listenUrl: config.db.driver === 'pglite' ? undefined : config.db.migrationUrl,
        connectTimeoutMs: config.db.connectTimeoutMs,
      }),
    logger,
    heartbeatMs: deps.eventHeartbeatMs ?? EVENT_HEARTBEAT_MS,
    drain: drain.drainSignal,
  });
  const resource = protectedResource(config);
  const app = new Hono<AppEnv>();

  // Outermost: a streamed answer's final status and headers go to Node's response, then its body
  // is written there directly (http/node-body.ts).
  app.use(writeTextBodiesToNode());
  app.use(requestId());
  app.use(requestSpans(tracing.tracer, UNTRACED));
  app.use(async (c, next) => {
    const log = logger.child({ requestId: c.get('requestId') });
    c.set('log', log);
    const started = performance.now();
    await next();
    // requestId() puts its header on the context's response before the handler runs; a handler
    // answering with a Response of its own (the UI message stream) would go out without it.
    c.res.headers.set('X-Request-Id', c.get('requestId'));
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
    limitBody({
      maxSize: config.chat.maxBodyBytes,
      onError: () => {
        throw new ApiError('payload_too_large', `Request body is over ${config.chat.maxBodyBytes} bytes`, {
          Connection: 'close',
        });
      },
    }),
  );

  app.route(
    '/',
    healthRoutes({
      database,
      degradedMs: config.health.degradedMs,
      isDraining: () => drain.draining,
      offline: config.model.id === 'offline',
      redis: deps.redis,
      worker: deps.worker,
    }),
  );
  app.route('/', metricsRoute(metrics, config.metricsToken));

  // Everything but the probes and /metrics: no new work once the server drains.
  app.use(refuseWhileDraining(drain));

  app.route('/', apiDocsRoutes(app));
  // The chat page and its assets are public: the page asks the person who they are.
  app.route('/', pageRoutes());
  app.route('/', resourceMetadataRoutes(resource));
  app.route('/', authConfigRoute(config.auth));
  app.use(authenticate(config.auth, resource));
  app.use('/chat', turnMetrics(metrics));
  app.route('/mcp', mcpRoute(tasks, resource, config.defaultTimezone)); // checks scopes per MCP message
  app.use(scopeByMethod(resource));
  const live = createLiveAnswers({ database, relay, stops });
  app.route('/', chatRoutes({ config, turns, conversations, live }));
  app.route('/', taskRoutes(tasks, config.defaultTimezone));
  app.route('/', changeRoutes(tasks));
  app.route('/', eventRoutes(events, metrics.registry));
  app.route('/', meRoutes(database, config.defaultTimezone, now));
  app.route(
    '/',
    usageRoutes(database, {
      defaultTimezone: config.defaultTimezone,
      budgetTokensPerDay: config.usage.budgetTokensPerDay,
      prices: config.usage.prices,
      now,
    }),
  );
  app.route('/', webhookRoutes(createWebhookStore(throughDatabase(database)), config.webhooks));

  app.notFound(routeNotFound(app));

  app.onError((error, c) => {
    const { code, message, headers } = describeError(error);
    const log = c.get('log') ?? logger;
    // A drain's refusals are expected; outages and bugs are worth an operator's attention. An
    // unreachable JWKS was already logged by auth, with the reason it has and this handler has not.
    if (ERROR_STATUS[code] >= 500 && code !== 'draining' && code !== 'auth_unavailable') {
      // `code` is the contract's; `cause` the SQLSTATE, errno or status behind it.
      const { code: cause, ...detail } = errorFields(error);
      log.error('request failed', { code, cause, ...detail });
    }
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
    return c.json(errorBody(code, message, c.get('requestId')), ERROR_STATUS[code]);
  });

  return app;
}
