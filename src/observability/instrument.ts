/**
 * @module observability/instrument
 * Metrics and spans put around the app's parts by composition, so the chat, task and database
 * modules stay free of observability code: `createApp` wraps the database, the turn store and the
 * task repository in the decorators below, hands the agent hooks for each run's model and tool
 * calls, and mounts two middlewares (one span per request; turn metrics on POST /chat).
 *
 * A turn's figures (its statements, how BEGIN TURN and END TURN went) are gathered in a probe that
 * the POST /chat middleware puts in async-local storage: everything the turn runs, including a
 * streamed turn's work after the response has started, finds it there. Span attributes carry ids,
 * counts and outcomes only: never message text, task titles, search terms or user ids.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Attributes,
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { BeginTurnResult, TurnStore } from '../chat/store/turn-store.ts';
import type { RunHooks } from '../chat/turn/agent.ts';
import type { Database } from '../db/client.ts';
import { classifyDbError, DbUnavailableError } from '../db/resilience.ts';
import type { AppEnv } from '../http/env.ts';
import { textBodyOf } from '../http/node-body.ts';
import type { TaskRepository } from '../tasks/repository.ts';
import { costUsd, type Prices } from '../usage/prices.ts';
import type { DbErrorKind, Metrics, TurnAnswer, TurnOutcome } from './metrics.ts';
import { inSpan } from './tracing.ts';

type TurnProbe = {
  statements: number;
  begin?: BeginTurnResult['outcome'];
  end?: 'done' | 'failed';
  /** Set when the response left before the turn ended (a stream): called by END TURN. */
  onEnd?: () => void;
};

const turnScope = new AsyncLocalStorage<TurnProbe>();

/** The database with every statement counted (per turn too) and every failure counted by kind. */
export function instrumentDatabase(database: Database, metrics: Metrics): Database {
  return {
    get db() {
      return database.db;
    },
    get closed() {
      return database.closed;
    },
    driver: database.driver,
    run(operation, options) {
      let attempts = 0;
      return database
        .run(async (db) => {
          attempts++;
          metrics.statement();
          const probe = turnScope.getStore();
          if (probe) probe.statements++;
          try {
            return await operation(db);
          } catch (error) {
            metrics.dbError(errorKind(error));
            throw error;
          }
        }, options)
        .catch((error: unknown) => {
          if (attempts === 0 && error instanceof DbUnavailableError) metrics.dbError('breaker_open');
          throw error;
        });
    },
    ping: (timeoutMs) => database.ping(timeoutMs),
    poolStats: () => database.poolStats(),
    breakerState: () => database.breakerState(),
    close: () => database.close(),
  };
}

function errorKind(error: unknown): DbErrorKind {
  const kind = classifyDbError(error);
  return kind === 'cancelled' || kind === 'read_timeout' ? 'timeout' : kind;
}

/**
 * BEGIN TURN and the turn's ending (END TURN, or the failure ending) as spans, and what they
 * decided noted in the turn's probe: a turn is over when one of its endings has been written.
 */
export function instrumentTurnStore(turns: TurnStore, tracer: Tracer | undefined): TurnStore {
  const ended = (status: 'done' | 'failed') => {
    const probe = turnScope.getStore();
    if (!probe || probe.end) return;
    probe.end = status;
    probe.onEnd?.();
  };
  return {
    beginTurn: (...args) =>
      inSpan(
        tracer,
        'BEGIN TURN',
        {
          ...DB,
          'taskchat.message.id': args[0].messageId,
          ...(args[0].conversationId ? { 'taskchat.conversation.id': args[0].conversationId } : {}),
        },
        async (span) => {
          const result = await turns.beginTurn(...args);
          const probe = turnScope.getStore();
          if (probe) probe.begin = result.outcome;
          span?.setAttribute('taskchat.turn.begin', result.outcome);
          if (result.outcome === 'started') {
            span?.setAttributes({
              'taskchat.conversation.id': result.conversationId,
              'taskchat.turn.id': result.turnId,
              'taskchat.turn.rerun': result.rerun,
              'taskchat.history.messages': result.history.length,
            });
          }
          return result;
        },
      ),
    // A false answer or a failure is followed by the failure ending, which ends the turn then.
    endTurn: (...args) =>
      inSpan(
        tracer,
        'END TURN',
        { ...ending(args[0], 'done'), 'taskchat.turn.messages': args[0].messages.length },
        async (span) => {
          const stored = await turns.endTurn(...args);
          span?.setAttribute('taskchat.turn.stored', stored);
          if (stored) ended('done');
          return stored;
        },
      ),
    failTurn: (...args) =>
      inSpan(tracer, 'END TURN', ending(args[0], 'failed'), async () => {
        try {
          return await turns.failTurn(...args);
        } finally {
          ended('failed');
        }
      }),
    pendingEndings: (...args) => turns.pendingEndings(...args),
  };
}

const DB: Attributes = { 'db.system.name': 'postgresql' };

/** What both endings of a turn (END TURN, stored or failed) say about it. */
const ending = (turn: { conversationId: string; turnId: string }, status: 'done' | 'failed'): Attributes => ({
  ...DB,
  'taskchat.conversation.id': turn.conversationId,
  'taskchat.turn.id': turn.turnId,
  'taskchat.turn.status': status,
});

/**
 * Each repository method is one statement: one span, a child of the tool call that ran it. Spans
 * are all this adds, so without a tracer the repository is used as it is: no wrapper, no
 * attribute objects, no extra promise per tool call.
 */
export function instrumentTaskRepository(tasks: TaskRepository, tracer: Tracer | undefined): TaskRepository {
  if (!tracer) return tasks;
  const statement = <T>(
    method: string,
    operation: string,
    attributes: Attributes,
    work: () => Promise<T>,
    described: (result: T) => Attributes,
  ) =>
    inSpan(
      tracer,
      `tasks.${method}`,
      { ...DB, 'db.operation.name': operation, ...attributes },
      async (span) => {
        const result = await work();
        span?.setAttributes(described(result));
        return result;
      },
    );
  const found = (task: object | undefined): Attributes => ({
    'taskchat.task.found': task !== undefined,
  });
  // Every argument is passed on as it came, whatever the methods take now or later.
  return {
    add: (...args) =>
      statement(
        'add',
        'INSERT',
        {},
        () => tasks.add(...args),
        (added) => ({ 'taskchat.task.id': added.task.id }),
      ),
    get: (...args) =>
      statement('get', 'SELECT', { 'taskchat.task.id': args[1] }, () => tasks.get(...args), found),
    list: (...args) =>
      statement(
        'list',
        'SELECT',
        { 'taskchat.tasks.limit': args[1].limit },
        () => tasks.list(...args),
        (page) => ({ 'db.response.returned_rows': page.tasks.length, 'taskchat.tasks.total': page.total }),
      ),
    setCompleted: (...args) =>
      statement(
        'setCompleted',
        'UPDATE',
        { 'taskchat.task.id': args[1] },
        () => tasks.setCompleted(...args),
        found,
      ),
    update: (...args) =>
      statement('update', 'UPDATE', { 'taskchat.task.id': args[1] }, () => tasks.update(...args), found),
    remove: (...args) =>
      statement('remove', 'DELETE', { 'taskchat.task.id': args[1] }, () => tasks.remove(...args), found),
    changes: (...args) =>
      statement(
        'changes',
        'SELECT',
        {},
        () => tasks.changes(...args),
        (changes) => ({
          'db.response.returned_rows': changes.length,
        }),
      ),
    undo: (...args) =>
      statement(
        'undo',
        'UPDATE',
        {},
        () => tasks.undo(...args),
        (result) => ({
          'taskchat.undo.outcome': result.outcome,
        }),
      ),
  };
}

/**
 * Each run's model and tool calls as metrics: a model call's duration and tokens, a tool call's
 * outcome. A tool call is `refused` when it answered `{error}` (bad arguments, no such task, over
 * the limit), `error` when it threw (a database outage), `ok` otherwise.
 */
export function modelMetrics(metrics: Metrics, prices: Prices): () => RunHooks {
  return () => {
    // A run's model calls happen one after another: at most one is running.
    let running: { model: string; started: number } | undefined;
    const finish = (outcome: 'ok' | 'error' | 'aborted') => {
      if (!running) return;
      metrics.modelCall(running.model, outcome, (performance.now() - running.started) / 1000);
      running = undefined;
    };
    return {
      onLanguageModelCallStart(event) {
        running = { model: event.modelId, started: performance.now() };
      },
      onLanguageModelCallEnd(event) {
        finish(event.finishReason === 'error' ? 'error' : 'ok');
        const { usage, modelId } = event;
        const tokens = {
          input: usage.inputTokens ?? 0,
          cached_input: usage.inputTokenDetails?.cacheReadTokens ?? 0,
          output: usage.outputTokens ?? 0,
          reasoning: usage.outputTokenDetails?.reasoningTokens ?? 0,
        };
        const cost = costUsd(prices, modelId, {
          inputTokens: tokens.input,
          cachedInputTokens: tokens.cached_input,
          outputTokens: tokens.output,
        });
        metrics.modelTokens(modelId, tokens, cost);
      },
      onStepError() {
        finish('error');
      },
      onAbort() {
        finish('aborted');
      },
      onToolExecutionEnd({ toolCall, toolOutput }) {
        const outcome =
          toolOutput.type === 'tool-error' ? 'error' : isErrorResult(toolOutput.output) ? 'refused' : 'ok';
        metrics.toolCall(toolCall.toolName, outcome);
      },
    };
  };
}

/** A task tool's `{ error }` result (tasks/tools.ts): the call was refused, nothing was done. */
function isErrorResult(output: unknown): boolean {
  return typeof output === 'object' && output !== null && 'error' in output;
}

/**
 * POST /chat: turns in flight, each turn's duration, outcome and statements. A streamed turn ends
 * when END TURN has run (the stream's finish part waits for it too), not when its response starts.
 */
export function turnMetrics(metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method !== 'POST') return next();
    const probe: TurnProbe = { statements: 0 };
    const started = performance.now();
    metrics.turnStarted();
    let recorded = false;
    const record = (answer: TurnAnswer, status: number) => {
      if (recorded) return;
      recorded = true;
      const seconds = (performance.now() - started) / 1000;
      metrics.turnEnded(answer, outcomeOf(probe, status), seconds, probe.statements);
    };
    try {
      await turnScope.run(probe, next);
    } catch (error) {
      record('json', 500);
      throw error;
    }
    const answer: TurnAnswer = isEventStream(c) ? 'stream' : 'json';
    const status = c.res.status;
    if (probe.begin === 'started' && probe.end === undefined) probe.onEnd = () => record(answer, status);
    else record(answer, status);
  };
}

function outcomeOf(probe: TurnProbe, status: number): TurnOutcome {
  if (probe.end === 'done') return 'ok';
  if (probe.end === 'failed') return 'failed';
  if (probe.begin === 'replay') return 'replay';
  if (status === 503) return 'unavailable';
  if (status >= 400 && status < 500) return 'refused';
  if (status >= 500) return 'error';
  return 'ok';
}

/**
 * One SERVER span per request (its W3C `traceparent` honoured), named by the matched route and
 * ended when the response body has been sent: a streamed turn's spans stay inside it. The URL's
 * query string is left out: it can carry a user's search text.
 */
export function requestSpans(
  tracer: Tracer | undefined,
  skip: ReadonlySet<string>,
): MiddlewareHandler<AppEnv> {
  const propagator = new W3CTraceContextPropagator();
  return async (c, next) => {
    if (!tracer || skip.has(c.req.path)) return next();
    const parent = propagator.extract(ROOT_CONTEXT, c.req.raw.headers, HEADERS);
    const span = tracer.startSpan(
      c.req.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': c.req.method,
          'url.path': c.req.path,
          'taskchat.request.id': c.get('requestId'),
        },
      },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), next);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw error;
    }
    const route = routePath(c, -1);
    span.updateName(`${c.req.method} ${route}`);
    span.setAttributes({ 'http.route': route, 'http.response.status_code': c.res.status });
    if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    if (c.res.body && isEventStream(c)) c.res = whenBodyEnds(c.res, () => span.end());
    else span.end();
  };
}

const HEADERS: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

function isEventStream(c: Context<AppEnv>): boolean {
  return (c.res.headers.get('content-type') ?? '').startsWith('text/event-stream');
}

/** The same response, calling `done` once its body has been read to the end, failed or been cancelled. */
function whenBodyEnds(res: Response, done: () => void): Response {
  // A text body written straight to Node's response says itself when it has ended.
  const text = textBodyOf(res);
  if (text) {
    text.onEnd(done);
    return res;
  }
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done();
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await reader.read();
        if (next.done) {
          controller.close();
          finish();
        } else controller.enqueue(next.value);
      } catch (error) {
        controller.error(error);
        finish();
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}
