/**
 * @module chat/turn
 * One chat turn, whole: BEGIN TURN (one statement: refuse, replay, or start and read the history
 * window), the model loop with the user's tools (one statement per tool call), END TURN (one
 * statement: store the new messages and release the lease), or the failure ending. JSON and the
 * UI message stream are two ways of answering the same lifecycle; the route only validates the
 * request and picks one. Nothing is kept in the process between requests; a streamed turn whose
 * client went away still runs to the end and is stored.
 *
 * A turn always ends: once BEGIN TURN started it, whatever fails afterwards (the model, a tool's
 * database, END TURN itself) goes to the failure ending, which the turn store keeps retrying until
 * the database takes it (chat/turn-store.ts). A turn re-run under the same turn id starts from the
 * task changes its earlier attempts made (chat/turn-effects.ts): the model is shown them, a
 * repeated change is answered from their record, and they are part of the stored answer.
 *
 * A regenerate (`trigger: "regenerate-message"`) is such a re-run of a finished turn: its earlier
 * answer is replaced (END TURN marks it; the model no longer sees it), and what that answer's tools
 * changed comes back as the recorded effects. The answer's assistant message id and time are chosen
 * before the run, announced in the stream's start part and stored with the answer, so the stream, a
 * replay and the conversation read back (./ui-messages.ts) name the message alike.
 */
import { randomUUID } from 'node:crypto';
import {
  createUIMessageStream,
  createUIMessageStreamResponse,
  type LanguageModel,
  type ModelMessage,
} from 'ai';
import type { Config } from '../config.ts';
import { DbUnavailableError } from '../db/resilience.ts';
import { ApiError, describeError, notFound } from '../http/errors.ts';
import type { Inflight } from '../http/inflight.ts';
import type { Logger } from '../log.ts';
import type { TaskRepository } from '../tasks/repository.ts';
import { createTaskTools } from '../tasks/tools.ts';
import { truncateText } from '../text.ts';
import { generateTurn, streamTurn, type ToolCallRecord, type TurnInput, type TurnOutcome } from './agent.ts';
import { modelHistory, pairToolExchanges } from './history.ts';
import { TurnEffects } from './turn-effects.ts';
import type { BeginTurnResult, TurnStore } from './turn-store.ts';
import {
  answerChunks,
  answerParts,
  type ChatMetadata,
  canonicalChunks,
  partChunks,
  toolPart,
  type UIAnswer,
} from './ui-messages.ts';
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
  /** Aborted when shutdown's grace period is nearly over: running turns stop and end as failed. */
  stop?: AbortSignal;
  /** Hooks on each run's model and tool calls (the app's metrics). */
  observe?: TurnInput['observe'];
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
  /** What earlier attempts of this turn changed, as tool calls: shown to the model, they begin the answer. */
  earlier: ModelMessage[];
  /** Runs the turn's ending: END TURN for an outcome, or the failure ending. Never leaves it open. */
  end(run: Promise<TurnOutcome>): Promise<ChatAnswer>;
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
      title: truncateText(req.text, 80),
      historyMessages: config.chat.historyMessages,
      leaseMs: config.chat.leaseMs,
      rateLimit: config.chat.rateLimitPerMinute,
    });
    const started = refuseUnlessStarted(begun);
    if (started.outcome === 'replay') return { replay: started.answer as StoredAnswer };

    const { conversationId, turnId, attemptId, lastSeq, userSeq } = started;
    const answerId = randomUUID();
    const createdAt = new Date().toISOString();
    const effects = new TurnEffects(turnId, started.effects, attemptId);
    // What earlier attempts did comes after the user message, as the tool calls they were.
    const earlier = effects.messages();
    const finish = async (outcome: TurnOutcome): Promise<ChatAnswer> => {
      const answer = {
        conversationId,
        messageId,
        reply: outcome.reply,
        toolCalls: [...effects.calls(), ...outcome.toolCalls],
      };
      const messages = [...earlier, ...outcome.messages];
      const ui = { id: answerId, createdAt, parts: answerParts(messages) };
      const kept = await turns.endTurn({
        conversationId,
        turnId,
        attemptId,
        lastSeq,
        userSeq,
        answerId,
        createdAt,
        messages,
        answer: { ...answer, ui },
      });
      if (!kept) {
        // The turn outlived its lease (the database was too slow for too long) and another took
        // the conversation over: nothing was stored, so this answer must not be given as stored.
        log.warn('turn outlived its lease; its messages were not stored', { conversationId });
        throw new DbUnavailableError(1, { reason: 'timeout' });
      }
      return answer;
    };
    const fail = async (error: unknown): Promise<never> => {
      await turns.failTurn({ conversationId, turnId, attemptId });
      throw error;
    };
    return {
      started: {
        conversationId,
        answerId,
        createdAt,
        earlier,
        input: {
          model,
          tools: createTaskTools(tasks, userId, { source: 'chat', ledger: effects, log }),
          history: [...pairToolExchanges(modelHistory(started.history, turnId)), ...earlier],
          settings: config.model,
          today: deps.today(),
          stop: deps.stop,
          observe: deps.observe,
        },
        // A failure of END TURN itself ends the turn as failed too: whichever ending commits,
        // the other finds the lease gone (see chat/turn-store.ts).
        end: (run) => run.then(finish).catch(fail),
      },
    };
  }

  /** The turn answered as the contract's JSON. */
  async function answerJson(req: TurnRequest): Promise<ChatAnswer> {
    const begun = await begin(req);
    if ('replay' in begun) return jsonAnswer(begun.replay);
    const turn = begun.started;
    return inflight.track(turn.end(generateTurn(turn.input)));
  }

  /** The turn answered as the AI SDK UI message stream, stored whether or not the client stays. */
  async function answerStream(req: TurnRequest): Promise<Response> {
    const begun = await begin(req);
    if ('replay' in begun) return replayStream(begun.replay, req);
    const turn = begun.started;
    const { conversationId } = turn;
    const run = streamTurn(turn.input, UI_PARTS);
    const stored = inflight.track(turn.end(run.outcome));
    stored.catch(() => {});
    const metadata = streamMetadata(req, conversationId, turn.createdAt);
    return uiMessageStreamResponse({
      headers: { 'X-Conversation-Id': conversationId, 'X-Message-Id': req.messageId },
      execute: async ({ writer }) => {
        writer.write({ type: 'start', messageId: turn.answerId, messageMetadata: metadata });
        // A re-run shows first what its earlier attempts did, as the stored answer does.
        for (const chunk of partChunks(answerParts(turn.earlier))) writer.write(chunk);
        const canonical = canonicalChunks();
        await run.forEachPart((part) => {
          for (const chunk of canonical(part)) writer.write(chunk);
        });
        // The finish part goes out only once the turn is stored: a client that sends its next
        // message on "finish" never finds the conversation still busy. A failure is one error
        // part, in the words the JSON answer would have had.
        try {
          await stored;
          writer.write({ type: 'finish', messageMetadata: metadata });
        } catch (error) {
          writer.write({ type: 'error', errorText: describeError(error).message });
        }
      },
      // Only a bug gets here; never the SDK's "An error occurred.".
      onError: (error) => describeError(error).message,
    });
  }

  return { answerJson, answerStream };
}

export type ChatTurns = ReturnType<typeof createChatTurns>;

/** The run's UI parts a streamed turn sends; the turn writes start, finish and errors itself. */
const UI_PARTS = {
  sendStart: false,
  sendFinish: false,
  // Tool errors stay tool parts with the text the model saw.
  redactToolErrors: false,
  // Reasoning is stored (it must go back to the model) but is not the client's business; with the
  // Responses API it is mostly encrypted content.
  sendReasoning: false,
} as const;

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
