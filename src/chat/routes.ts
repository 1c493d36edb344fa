/**
 * @module chat/routes
 * POST /chat and the conversation routes. A turn is: validate, BEGIN TURN (one statement), the
 * model loop with the user's tools (one statement per tool call), END TURN (one statement),
 * answer. Nothing is kept in the process between requests; a streamed turn whose client went
 * away still runs to the end and is stored.
 */
import { randomUUID } from 'node:crypto';
import {
  createUIMessageStream,
  createUIMessageStreamResponse,
  type LanguageModel,
  type ModelMessage,
} from 'ai';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { DbUnavailableError } from '../db/resilience.ts';
import type { AppEnv } from '../http/app.ts';
import { ApiError } from '../http/errors.ts';
import type { Inflight } from '../http/inflight.ts';
import { createTaskRepository } from '../tasks/repository.ts';
import { createTaskTools } from '../tasks/tools.ts';
import { generateTurn, ModelFailure, streamTurn, type TurnOutcome } from './agent.ts';
import {
  type BeginTurnResult,
  createConversationReader,
  createConversationStore,
  pairToolExchanges,
} from './store.ts';
import { toTranscript } from './transcript.ts';

export type ChatDeps = {
  config: Config;
  database: Database;
  model: LanguageModel;
  inflight: Inflight;
  /** Today's date (YYYY-MM-DD) for the system prompt. */
  today?: () => string;
};

export type ChatAnswer = {
  conversationId: string;
  messageId: string;
  reply: string;
  toolCalls: TurnOutcome['toolCalls'];
};

const Id = z.guid('must be a UUID');

export function chatRoutes(deps: ChatDeps): Hono<AppEnv> {
  const { config, database, model, inflight } = deps;
  const today = deps.today ?? (() => new Date().toISOString().slice(0, 10));
  const store = createConversationStore(database);
  const reader = createConversationReader(database);
  const repo = createTaskRepository(database);
  const ChatBody = z.object({
    message: z
      .string('message must be a string')
      .trim()
      .min(1, 'message must not be empty')
      .max(config.chat.maxMessageChars, `message is longer than ${config.chat.maxMessageChars} characters`),
    conversationId: Id.optional(),
    messageId: z
      .string('messageId must be a string')
      .regex(/^[\x21-\x7e]{1,200}$/, 'messageId must be 1-200 printable ASCII characters')
      .optional(),
  });

  const app = new Hono<AppEnv>();

  app.post('/chat', async (c) => {
    const body = parse(ChatBody, await c.req.json().catch(() => invalid('Body must be JSON')));
    const userId = c.get('userId');
    const messageId = body.messageId ?? randomUUID();
    const userMessage: ModelMessage = { role: 'user', content: body.message };
    const begun = await store.beginTurn({
      userId,
      conversationId: body.conversationId,
      messageId,
      message: userMessage,
      title: body.message.slice(0, 80),
      historyMessages: config.chat.historyMessages,
      leaseMs: config.chat.leaseMs,
      rateLimit: config.chat.rateLimitPerMinute,
    });
    const started = refuseUnlessStarted(begun);
    const wantsStream = (c.req.header('accept') ?? '').includes('text/event-stream');
    if (started.outcome === 'replay') {
      const answer = started.answer as ChatAnswer;
      return wantsStream ? replayStream(answer) : c.json(answer);
    }
    const { conversationId, turnId, lastSeq } = started;
    const history = pairToolExchanges(started.history.map((m) => m.content));
    // A re-run whose user message is no longer the newest still answers that message.
    if (started.rerun && history.at(-1)?.role !== 'user') history.push(userMessage);
    const turn = {
      model,
      tools: createTaskTools(repo, userId),
      history,
      settings: config.model,
      today: today(),
    };
    const log = c.get('log');

    const finish = async (outcome: TurnOutcome): Promise<ChatAnswer> => {
      const answer = { conversationId, messageId, reply: outcome.reply, toolCalls: outcome.toolCalls };
      const kept = await store.endTurn({
        conversationId,
        turnId,
        lastSeq,
        status: 'done',
        messages: outcome.messages,
        answer,
      });
      if (!kept) log.warn('turn outlived its lease; its messages were not stored', { conversationId });
      return answer;
    };
    const fail = async (error: unknown): Promise<never> => {
      await store
        .endTurn({ conversationId, turnId, lastSeq, status: 'failed', messages: [], answer: null })
        .catch(() => log.warn('could not record the failed turn; its lease will expire', { conversationId }));
      throw toApiError(error);
    };

    if (!wantsStream) {
      const answer = await inflight.track(generateTurn(turn).then(finish, fail));
      return c.json(answer);
    }

    const run = streamTurn(turn);
    const stored = inflight.track(run.outcome.then(finish, fail));
    stored.catch(() => {});
    const metadata = { conversationId, messageId };
    let errorSent = false;
    const stream = createUIMessageStream({
      execute: async ({ writer }) => {
        const parts = run.result.toUIMessageStream({
          sendFinish: false,
          messageMetadata: ({ part }) => (part.type === 'start' ? metadata : undefined),
          // Tool errors stay tool parts with the text the model saw; only stream errors come here.
          redactToolErrors: false,
          // Reasoning is stored (it must go back to the model) but is not the client's business;
          // with the Responses API it is mostly encrypted content.
          sendReasoning: false,
          onError: (error) => {
            errorSent = true;
            return toApiError(error).message;
          },
        });
        for await (const part of parts) writer.write(part);
        // The finish part goes out only once the turn is stored: a client that sends its next
        // message on "finish" never finds the conversation still busy.
        try {
          await stored;
          writer.write({ type: 'finish', messageMetadata: metadata });
        } catch (error) {
          if (!errorSent) writer.write({ type: 'error', errorText: toApiError(error).message });
        }
      },
    });
    return createUIMessageStreamResponse({
      stream,
      headers: { 'X-Conversation-Id': conversationId, 'X-Message-Id': messageId },
    });
  });

  app.get('/conversations', async (c) => c.json({ conversations: await reader.list(c.get('userId')) }));

  app.get('/conversations/:id', async (c) => {
    const id = parse(Id, c.req.param('id'));
    const conversation = await reader.get(c.get('userId'), id);
    if (!conversation) throw notFound();
    return c.json({
      id: conversation.id,
      title: conversation.title,
      messages: toTranscript(conversation.messages),
    });
  });

  app.delete('/conversations/:id', async (c) => {
    const id = parse(Id, c.req.param('id'));
    if (!(await reader.remove(c.get('userId'), id))) throw notFound();
    return c.body(null, 204);
  });

  return app;
}

function refuseUnlessStarted(begun: BeginTurnResult) {
  switch (begun.outcome) {
    case 'not_found':
      throw notFound();
    case 'busy':
      throw new ApiError(
        'conversation_busy',
        'Another turn of this conversation is still running; try again when it ends',
      );
    case 'rate_limited':
      throw new ApiError('rate_limited', 'Too many chat turns in the last minute', {
        'Retry-After': String(begun.retryAfterSeconds),
      });
    default:
      return begun;
  }
}

/**
 * A stored answer as a UI message stream (its tool calls with their results, then the reply), for a
 * repeated messageId with `Accept: text/event-stream`.
 */
function replayStream(answer: ChatAnswer): Response {
  const metadata = { conversationId: answer.conversationId, messageId: answer.messageId };
  const stream = createUIMessageStream({
    execute: ({ writer }) => {
      writer.write({ type: 'start', messageMetadata: metadata });
      answer.toolCalls.forEach((call, i) => {
        const toolCallId = `replay-${i}`;
        writer.write({ type: 'tool-input-available', toolCallId, toolName: call.name, input: call.args });
        writer.write({ type: 'tool-output-available', toolCallId, output: call.result });
      });
      writer.write({ type: 'text-start', id: 'replay' });
      writer.write({ type: 'text-delta', id: 'replay', delta: answer.reply });
      writer.write({ type: 'text-end', id: 'replay' });
      writer.write({ type: 'finish', messageMetadata: metadata });
    },
  });
  return createUIMessageStreamResponse({
    stream,
    headers: { 'X-Conversation-Id': answer.conversationId, 'X-Message-Id': answer.messageId },
  });
}

export function toApiError(error: unknown): ApiError | DbUnavailableError {
  if (error instanceof ApiError || error instanceof DbUnavailableError) return error;
  if (error instanceof ModelFailure && error.kind === 'timeout') {
    return new ApiError('model_timeout', 'The model gave no answer in time; your message was kept');
  }
  return new ApiError(
    'model_error',
    'The model provider failed; your message was kept, send it again to retry',
  );
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return invalid(`${where}${issue?.message ?? 'invalid request'}`);
}

function invalid(message: string): never {
  throw new ApiError('invalid_request', message);
}

function notFound(): ApiError {
  return new ApiError('not_found', 'Conversation not found');
}
