/**
 * @module observability/metrics
 * What an operator graphs and alerts on, in Prometheus's text format at `GET /metrics`: how long
 * chat turns take and how they end, how long the model takes, which tools run and how they end,
 * how many statements a turn costs (the design's budget: 2 plus 1 per tool call), database errors
 * by kind, the circuit breaker, turns in flight and the pool. One registry per app instance, so
 * tests can build many apps in one process. Labels are bounded sets (outcomes, tool names, the
 * configured model id): never user ids, conversation ids or text.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/client.ts';
import type { BreakerState } from '../db/resilience.ts';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/errors.ts';
import { errorResponses, PUBLIC } from '../http/openapi.ts';

/** How the turn was answered: the contract's JSON, or the UI message stream. */
export type TurnAnswer = 'json' | 'stream';
/**
 * How a turn ended: `ok` (the model ran and the turn was stored), `replay` (a repeated messageId
 * answered from the store), `failed` (started, then the model or the database failed; stored as
 * failed), `refused` (4xx: invalid, busy, not found, rate limited), `unavailable` (503 before it
 * started: database down, draining), `error` (any other failure).
 */
export type TurnOutcome = 'ok' | 'replay' | 'failed' | 'refused' | 'unavailable' | 'error';
/**
 * `busy`: no pool connection in time (too many statements waiting: load, not an outage);
 * `connect`: no connection (refused, timed out, Neon waking); `lost`: the connection died during a
 * statement; `timeout`: the statement timeout or the driver's read timeout; `breaker_open`: refused
 * at once by the open circuit breaker; `other`: the database answered with an error (a constraint,
 * a bug).
 */
export type DbErrorKind = 'busy' | 'connect' | 'lost' | 'timeout' | 'breaker_open' | 'other';
/** The kinds of tokens counted: input includes cached input, output includes reasoning. */
export type TokenType = 'input' | 'cached_input' | 'output' | 'reasoning';
/** `ok`; `refused`: the tool answered `{error}` (bad arguments, no such task, limit); `error`: it threw. */
export type ToolOutcome = 'ok' | 'refused' | 'error';

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'half-open', 'open'];

export type MetricsOptions = {
  /** Breaker and pool figures are read from it at each scrape. */
  database: Pick<Database, 'breakerState' | 'poolStats'>;
  /**
   * Node's process metrics (CPU, memory, event loop lag, GC). Once per process: the server turns
   * them on; apps built by tests do not (each call would start another event-loop monitor).
   */
  processMetrics?: boolean;
};

export function createMetrics({ database, processMetrics = false }: MetricsOptions) {
  const registry = new Registry();
  const registers = [registry];
  if (processMetrics) collectDefaultMetrics({ register: registry });

  const turnDuration = new Histogram({
    name: 'taskchat_chat_turn_duration_seconds',
    help: 'POST /chat turns from request to stored answer (a stream: until its turn is stored), by answer type and outcome',
    labelNames: ['answer', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120],
    registers,
  });
  const turnStatements = new Histogram({
    name: 'taskchat_chat_turn_statements',
    help: 'Database statements one chat turn sent (the budget: 2 plus 1 per tool call), by outcome',
    labelNames: ['outcome'] as const,
    buckets: [1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50],
    registers,
  });
  const turnsInFlight = new Gauge({
    name: 'taskchat_chat_turns_in_flight',
    help: 'POST /chat turns started and not yet ended (streamed turns until stored)',
    registers,
  });
  const modelCallDuration = new Histogram({
    name: 'taskchat_model_call_duration_seconds',
    help: 'One model call (one step of the tool loop, provider retries included), by model and outcome',
    labelNames: ['model', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60],
    registers,
  });
  const modelTokens = new Counter({
    name: 'taskchat_model_tokens_total',
    help: 'Tokens the model reported, by model and type (input: all input, cached included; cached_input; output; reasoning: part of output)',
    labelNames: ['model', 'type'] as const,
    registers,
  });
  const modelCost = new Counter({
    name: 'taskchat_model_cost_usd_total',
    help: 'What the model calls cost in USD at MODEL_PRICES, by model (models without a price are not counted)',
    labelNames: ['model'] as const,
    registers,
  });
  const toolCalls = new Counter({
    name: 'taskchat_tool_calls_total',
    help: 'Tool calls the chat model made, by tool and outcome (ok, refused: an {error} result, error: threw)',
    labelNames: ['tool', 'outcome'] as const,
    registers,
  });
  const dbStatements = new Counter({
    name: 'taskchat_db_statements_total',
    help: 'Database statements sent (every attempt, retries included)',
    registers,
  });
  const dbErrors = new Counter({
    name: 'taskchat_db_errors_total',
    help: 'Failed database statements by kind (busy, connect, lost, timeout, breaker_open, other), retried attempts included',
    labelNames: ['kind'] as const,
    registers,
  });
  new Gauge({
    name: 'taskchat_db_breaker_state',
    help: 'The database circuit breaker: 1 for its current state (closed, half-open, open), 0 for the others',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const current = database.breakerState();
      for (const state of BREAKER_STATES) this.set({ state }, state === current ? 1 : 0);
    },
  });
  const pool = (
    name: string,
    help: string,
    read: (p: NonNullable<ReturnType<Database['poolStats']>>) => number,
  ) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const stats = database.poolStats();
        if (stats) this.set(read(stats));
      },
    });
  // Drivers without a pool (PGlite, Neon over HTTP) get no pool metrics rather than misleading zeros.
  if (database.poolStats() !== undefined) {
    pool('taskchat_db_pool_connections', 'Connections the pool holds (busy and idle)', (p) => p.total);
    pool('taskchat_db_pool_idle_connections', 'Idle connections in the pool', (p) => p.idle);
    pool('taskchat_db_pool_waiting_requests', 'Requests waiting for a pool connection', (p) => p.waiting);
  }

  return {
    registry,
    turnStarted(): void {
      turnsInFlight.inc();
    },
    turnEnded(answer: TurnAnswer, outcome: TurnOutcome, seconds: number, statements: number): void {
      turnsInFlight.dec();
      turnDuration.observe({ answer, outcome }, seconds);
      turnStatements.observe({ outcome }, statements);
    },
    modelCall(model: string, outcome: 'ok' | 'error' | 'aborted', seconds: number): void {
      modelCallDuration.observe({ model, outcome }, seconds);
    },
    modelTokens(model: string, tokens: Partial<Record<TokenType, number>>, costUsd: number | null): void {
      for (const [type, count] of Object.entries(tokens)) if (count) modelTokens.inc({ model, type }, count);
      if (costUsd) modelCost.inc({ model }, costUsd);
    },
    toolCall(tool: string, outcome: ToolOutcome): void {
      toolCalls.inc({ tool, outcome });
    },
    statement(): void {
      dbStatements.inc();
    },
    dbError(kind: DbErrorKind): void {
      dbErrors.inc({ kind });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * `GET /metrics`. Open unless `token` is set; then only `Authorization: Bearer <token>` reads it
 * (compared in constant time), anything else is the contract's 401.
 */
const metricsDocs = describeRoute({
  tags: ['Operations'],
  summary: 'Prometheus metrics',
  description:
    'Text exposition format. Open unless `METRICS_TOKEN` is set; then `Authorization: Bearer <it>`.',
  security: PUBLIC,
  responses: {
    200: { description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
    ...errorResponses(401),
  },
});

export function metricsRoute(metrics: Metrics, token: string | undefined): Hono<AppEnv> {
  const expected = token === undefined ? undefined : digest(token);
  const app = new Hono<AppEnv>();
  app.get('/metrics', metricsDocs, async (c) => {
    if (expected) {
      const presented = /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '')?.[1];
      if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
        throw new ApiError('unauthorized', 'Send Authorization: Bearer <METRICS_TOKEN>', {
          'WWW-Authenticate': 'Bearer realm="metrics"',
        });
      }
    }
    const body = await metrics.registry.metrics();
    return c.body(body, 200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' });
  });
  return app;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
