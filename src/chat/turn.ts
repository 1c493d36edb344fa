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
 */
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
import { pairToolExchanges } from './history.ts';
import { TurnEffects } from './turn-effects.ts';
import type { BeginTurnResult, TurnStore } from './turn-store.ts';

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
  /** The task changes earlier attempts of this turn made, already shown to the model. */
  effects: TurnEffects;
  /** Runs the turn's ending: END TURN for an outcome, or the failure ending. Never leaves it open. */
  end(run: Promise<TurnOutcome>): Promise<ChatAnswer>;
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
      title: truncateText(req.text, 80),
      historyMessages: config.chat.historyMessages,
      leaseMs: config.chat.leaseMs,
      rateLimit: config.chat.rateLimitPerMinute,
    });
    const started = refuseUnlessStarted(begun);
    if (started.outcome === 'replay') return { replay: started.answer as ChatAnswer };

    const { conversationId, turnId, attemptId, lastSeq } = started;
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
      const kept = await turns.endTurn({ conversationId, turnId, attemptId, lastSeq, messages, answer });
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
        effects,
        input: {
          model,
          tools: createTaskTools(tasks, userId, { ledger: effects, log }),
          history: [...pairToolExchanges(started.history.map((m) => m.content)), ...earlier],
          settings: config.model,
          today: deps.today(),
          stop: deps.stop,
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
    if ('replay' in begun) return begun.replay;
    const turn = begun.started;
    return inflight.track(turn.end(generateTurn(turn.input)));
  }

  /** The turn answered as the AI SDK UI message stream, stored whether or not the client stays. */
  async function answerStream(req: TurnRequest): Promise<Response> {
    const begun = await begin(req);
    if ('replay' in begun) return replayStream(begun.replay);
    const turn = begun.started;
    const { conversationId } = turn;
    const run = streamTurn(turn.input);
    const stored = inflight.track(turn.end(run.outcome));
    stored.catch(() => {});
    const metadata = { conversationId, messageId: req.messageId };
    const earlier = turn.effects.calls();
    const stream = createUIMessageStream({
      execute: async ({ writer }) => {
        const parts = run.parts({
          sendFinish: false,
          messageMetadata: ({ part }) => (part.type === 'start' ? metadata : undefined),
          // Tool errors stay tool parts with the text the model saw.
          redactToolErrors: false,
          // Reasoning is stored (it must go back to the model) but is not the client's business;
          // with the Responses API it is mostly encrypted content.
          sendReasoning: false,
        });
        for await (const part of parts) {
          writer.write(part);
          // A re-run shows first what its earlier attempts did, as the stored answer does.
          if (part.type === 'start') writeToolCalls(writer, earlier, 'recorded');
        }
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

/**
 * A stored answer as a UI message stream (its tool calls with their results, then the reply), for a
 * repeated messageId with `Accept: text/event-stream`.
 */
function replayStream(answer: ChatAnswer): Response {
  const metadata = { conversationId: answer.conversationId, messageId: answer.messageId };
  const stream = createUIMessageStream({
    execute: ({ writer }) => {
      writer.write({ type: 'start', messageMetadata: metadata });
      writeToolCalls(writer, answer.toolCalls, 'replay');
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

type Writer = Parameters<Parameters<typeof createUIMessageStream>[0]['execute']>[0]['writer'];

/** Tool calls that already ran, as UI tool parts with their input and output. */
function writeToolCalls(writer: Writer, calls: ToolCallRecord[], prefix: string): void {
  calls.forEach((call, i) => {
    const toolCallId = `${prefix}-${i}`;
    writer.write({ type: 'tool-input-available', toolCallId, toolName: call.name, input: call.args });
    writer.write({ type: 'tool-output-available', toolCallId, output: call.result });
  });
}
