/**
 * @module chat/turn
 * One chat turn, whole: BEGIN TURN (one statement: refuse, replay, or start and read the history
 * window), the model loop with the user's tools (one statement per tool call), END TURN (one
 * statement: store the new messages and release the lease), or the failure ending. JSON and the
 * UI message stream are two ways of answering the same lifecycle; the route only validates the
 * request and picks one. Nothing is kept in the process between requests; a streamed turn whose
 * client went away still runs to the end and is stored.
 */
import {
  createUIMessageStream,
  createUIMessageStreamResponse,
  type LanguageModel,
  type ModelMessage,
} from 'ai';
import type { Config } from '../config.ts';
import { ApiError, describeError, notFound } from '../http/errors.ts';
import type { Inflight } from '../http/inflight.ts';
import type { Logger } from '../log.ts';
import type { TaskRepository } from '../tasks/repository.ts';
import { createTaskTools } from '../tasks/tools.ts';
import { generateTurn, streamTurn, type ToolCallRecord, type TurnInput, type TurnOutcome } from './agent.ts';
import { pairToolExchanges } from './history.ts';
import type { BeginTurnResult, TurnStore } from './turn-store.ts';
import { uiMessageStreamResponse } from './ui-stream.ts';

export type ChatTurnDeps = {
  config: Config;
  turns: TurnStore;
  tasks: TaskRepository;
  model: LanguageModel;
  /** Turns still running after their response ended; shutdown waits for them. */
  inflight: Inflight;
  /** Today's date (YYYY-MM-DD) for the system prompt. */
  today: () => string;
};

export type TurnRequest = {
  userId: string;
  /** Undefined: start a new conversation. */
  conversationId: string | undefined;
  /** The client's idempotency key. */
  messageId: string;
  text: string;
  log: Logger;
};

/** The contract's JSON answer, also stored with the turn and replayed for a repeated messageId. */
export type ChatAnswer = {
  conversationId: string;
  messageId: string;
  reply: string;
  toolCalls: ToolCallRecord[];
};

/** A turn that BEGIN TURN started: what the model needs, and the two ways it can end. */
type StartedTurn = {
  conversationId: string;
  input: TurnInput;
  finish(outcome: TurnOutcome): Promise<ChatAnswer>;
  fail(error: unknown): Promise<never>;
};

export function createChatTurns(deps: ChatTurnDeps) {
  const { config, turns, tasks, model, inflight } = deps;

  async function begin(req: TurnRequest): Promise<{ replay: ChatAnswer } | { started: StartedTurn }> {
    const { userId, messageId, log } = req;
    const message: ModelMessage = { role: 'user', content: req.text };
    const begun = await turns.beginTurn({
      userId,
      conversationId: req.conversationId,
      messageId,
      message,
      title: req.text.slice(0, 80),
      historyMessages: config.chat.historyMessages,
      leaseMs: config.chat.leaseMs,
      rateLimit: config.chat.rateLimitPerMinute,
    });
    const started = refuseUnlessStarted(begun);
    if (started.outcome === 'replay') return { replay: started.answer as ChatAnswer };

    const { conversationId, turnId, lastSeq } = started;
    const end = (status: 'done' | 'failed', messages: ModelMessage[], answer: ChatAnswer | null) =>
      turns.endTurn({ conversationId, turnId, lastSeq, status, messages, answer });
    return {
      started: {
        conversationId,
        input: {
          model,
          tools: createTaskTools(tasks, userId),
          history: pairToolExchanges(started.history.map((m) => m.content)),
          settings: config.model,
          today: deps.today(),
        },
        async finish(outcome) {
          const answer = { conversationId, messageId, reply: outcome.reply, toolCalls: outcome.toolCalls };
          const kept = await end('done', outcome.messages, answer);
          if (!kept) log.warn('turn outlived its lease; its messages were not stored', { conversationId });
          return answer;
        },
        async fail(error) {
          await end('failed', [], null).catch(() =>
            log.warn('could not record the failed turn; its lease will expire', { conversationId }),
          );
          throw error;
        },
      },
    };
  }

  /** The turn answered as the contract's JSON. */
  async function answerJson(req: TurnRequest): Promise<ChatAnswer> {
    const begun = await begin(req);
    if ('replay' in begun) return begun.replay;
    const turn = begun.started;
    return inflight.track(generateTurn(turn.input).then(turn.finish, turn.fail));
  }

  /** The turn answered as the AI SDK UI message stream, stored whether or not the client stays. */
  async function answerStream(req: TurnRequest): Promise<Response> {
    const begun = await begin(req);
    if ('replay' in begun) return replayStream(begun.replay);
    const turn = begun.started;
    const { conversationId } = turn;
    const run = streamTurn(turn.input);
    const stored = inflight.track(run.outcome.then(turn.finish, turn.fail));
    stored.catch(() => {});
    const metadata = { conversationId, messageId: req.messageId };
    let errorSent = false;
    return uiMessageStreamResponse({
      headers: { 'X-Conversation-Id': conversationId, 'X-Message-Id': req.messageId },
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
            return describeError(error).message;
          },
        });
        for await (const part of parts) writer.write(part);
        // The finish part goes out only once the turn is stored: a client that sends its next
        // message on "finish" never finds the conversation still busy.
        try {
          await stored;
          writer.write({ type: 'finish', messageMetadata: metadata });
        } catch (error) {
          if (!errorSent) writer.write({ type: 'error', errorText: describeError(error).message });
        }
      },
    });
  }

  return { answerJson, answerStream };
}

export type ChatTurns = ReturnType<typeof createChatTurns>;

function refuseUnlessStarted(begun: BeginTurnResult) {
  switch (begun.outcome) {
    case 'not_found':
      throw notFound('Conversation');
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
