/**
 * @module chat/turn
 * One chat turn, whole: BEGIN TURN (one statement: refuse, replay, or start and read the history
 * window), the model loop with the user's tools (one statement per tool call), END TURN (one
 * statement: store the new messages and release the lease), or the failure ending. JSON and the
 * UI message stream are two ways of answering the same lifecycle; the route only validates the
 * request and picks one. Nothing is kept in the process between requests; a streamed turn whose
 * client went away still runs to the end and is stored.
 *
 * The answer's assistant message id and time are chosen before the run, announced in the stream's
 * start part and stored with the answer, so the stream, a replay and the conversation read back
 * (./ui-messages.ts) name the message alike. A regenerate is a re-run of the same turn (the same
 * turn id and idempotency record): its END TURN marks the earlier answer replaced.
 */
import { randomUUID } from 'node:crypto';
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
import { modelHistory, pairToolExchanges } from './history.ts';
import type { BeginTurnResult, TurnStore } from './turn-store.ts';
import {
  answerChunks,
  answerParts,
  type ChatMetadata,
  canonicalChunks,
  toolPart,
  type UIAnswer,
} from './ui-messages.ts';

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
  /** Undefined: start a new conversation (unless `chat` names one). */
  conversationId: string | undefined;
  /**
   * Set for the AI SDK UI body: its chat id resolved to conversations (see BeginTurnInput), and
   * whether it asks for a new answer (`trigger: "regenerate-message"`). Its stream's metadata is
   * `{conversationId, createdAt}` instead of the contract body's `{conversationId, messageId}`.
   */
  chat?: { given: string | null; named: string; regenerate: boolean };
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

/** What a finished turn stores for replays: the JSON answer, and the answer as the UI holds it. */
type StoredAnswer = ChatAnswer & { ui?: UIAnswer };

/** A turn that BEGIN TURN started: what the model needs, and the two ways it can end. */
type StartedTurn = {
  conversationId: string;
  /** The assistant message id and time the client is told before the run, and that are stored. */
  answerId: string;
  createdAt: string;
  input: TurnInput;
  finish(outcome: TurnOutcome): Promise<ChatAnswer>;
  fail(error: unknown): Promise<never>;
};

export function createChatTurns(deps: ChatTurnDeps) {
  const { config, turns, tasks, model, inflight } = deps;

  async function begin(req: TurnRequest): Promise<{ replay: StoredAnswer } | { started: StartedTurn }> {
    const { userId, messageId, log } = req;
    const message: ModelMessage = { role: 'user', content: req.text };
    const begun = await turns.beginTurn({
      userId,
      conversationId: req.conversationId,
      chat: req.chat && { given: req.chat.given, named: req.chat.named },
      regenerate: req.chat?.regenerate,
      messageId,
      message,
      title: req.text.slice(0, 80),
      historyMessages: config.chat.historyMessages,
      leaseMs: config.chat.leaseMs,
      rateLimit: config.chat.rateLimitPerMinute,
    });
    const started = refuseUnlessStarted(begun);
    if (started.outcome === 'replay') return { replay: started.answer as StoredAnswer };

    const { conversationId, turnId, lastSeq, userSeq } = started;
    const answerId = randomUUID();
    const createdAt = new Date().toISOString();
    const end = (status: 'done' | 'failed', messages: ModelMessage[], answer: StoredAnswer | null) =>
      turns.endTurn({
        conversationId,
        turnId,
        lastSeq,
        userSeq,
        answerId,
        createdAt,
        status,
        messages,
        answer,
      });
    return {
      started: {
        conversationId,
        answerId,
        createdAt,
        input: {
          model,
          tools: createTaskTools(tasks, userId),
          history: pairToolExchanges(modelHistory(started.history, turnId)),
          settings: config.model,
          today: deps.today(),
        },
        async finish(outcome) {
          const answer = { conversationId, messageId, reply: outcome.reply, toolCalls: outcome.toolCalls };
          const ui = { id: answerId, createdAt, parts: answerParts(outcome.messages) };
          const kept = await end('done', outcome.messages, { ...answer, ui });
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
    if ('replay' in begun) return jsonAnswer(begun.replay);
    const turn = begun.started;
    return inflight.track(generateTurn(turn.input).then(turn.finish, turn.fail));
  }

  /** The turn answered as the AI SDK UI message stream, stored whether or not the client stays. */
  async function answerStream(req: TurnRequest): Promise<Response> {
    const begun = await begin(req);
    if ('replay' in begun) return replayStream(begun.replay, req);
    const turn = begun.started;
    const { conversationId } = turn;
    const run = streamTurn(turn.input);
    const stored = inflight.track(run.outcome.then(turn.finish, turn.fail));
    stored.catch(() => {});
    const metadata = streamMetadata(req, conversationId, turn.createdAt);
    let errorSent = false;
    const stream = createUIMessageStream({
      execute: async ({ writer }) => {
        writer.write({ type: 'start', messageId: turn.answerId, messageMetadata: metadata });
        const canonical = canonicalChunks();
        const parts = run.result.toUIMessageStream({
          sendStart: false,
          sendFinish: false,
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
        for await (const part of parts) for (const chunk of canonical(part)) writer.write(chunk);
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
    return createUIMessageStreamResponse({
      stream,
      headers: { 'X-Conversation-Id': conversationId, 'X-Message-Id': req.messageId },
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

/** The JSON answer of the contract, without what is stored beside it for UI replays. */
function jsonAnswer({ conversationId, messageId, reply, toolCalls }: StoredAnswer): ChatAnswer {
  return { conversationId, messageId, reply, toolCalls };
}

/** The message metadata of a streamed answer: per body, as the contract says. */
function streamMetadata(req: TurnRequest, conversationId: string, createdAt: string): ChatMetadata {
  return req.chat ? { conversationId, createdAt } : { conversationId, messageId: req.messageId };
}

/**
 * A stored answer as a UI message stream, for a repeated messageId: the same assistant message id
 * and parts the first stream announced. An answer stored before turns kept their UI form replays
 * its tool calls with their results, then the reply, under no message id.
 */
function replayStream(answer: StoredAnswer, req: TurnRequest): Response {
  const ui = answer.ui ?? {
    createdAt: '',
    parts: [
      ...answer.toolCalls.map((call, i) => toolPart(call.name, `replay-${i}`, call.args, call.result)),
      ...(answer.reply ? [{ type: 'text', text: answer.reply, state: 'done' } as const] : []),
    ],
  };
  const chunks = answerChunks(ui, streamMetadata(req, answer.conversationId, ui.createdAt));
  const stream = createUIMessageStream({
    execute: ({ writer }) => {
      for (const chunk of chunks) writer.write(chunk);
    },
  });
  return createUIMessageStreamResponse({
    stream,
    headers: { 'X-Conversation-Id': answer.conversationId, 'X-Message-Id': answer.messageId },
  });
}
