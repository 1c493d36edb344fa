/**
 * @module chat/turn/turn
 * The turn lifecycle: the one place that begins, runs and ends a chat turn, whatever begins it.
 * A turn has one shape:
 *
 *   begin   BEGIN TURN, one statement (../store/turn-store.ts): refuse (not found, busy, rate
 *           limited, today's token budget spent in the user's zone), replay a finished send of the same messageId, or start: claim the lease,
 *           store what begins the turn, read the history window and a re-run's recorded effects
 *   run     the model loop over the user's tools (./agent.ts), one statement per tool call, each
 *           change recorded so that a re-run never makes it twice (./effects.ts)
 *   end     END TURN, one statement: store the answer's messages and the answer for replays,
 *           the run's usage (also stored by the failure ending: the tokens were spent), release the lease; or, for any failure after begin, the failure ending, which the
 *           store keeps retrying until the database takes it (../store/endings.ts)
 *   answer  the contract's JSON, or the UI message stream as the run goes (../stream/), with the
 *           run's failure as the contract's error (a `RunFailure` mapped here)
 *
 * What begins a turn (`TurnStart`) is a user message, or a regenerate (`trigger:
 * "regenerate-message"`): a re-run of a finished turn whose earlier answer is replaced (END TURN
 * marks it; the model no longer sees it), and whose tools' changes come back as the recorded
 * effects; or decisions on approvals (./approvals.ts): BEGIN TURN claims the calls a previous turn
 * ended waiting on (stored pending by its END TURN, shown to the model as not run until then:
 * ../messages/history.ts) with a compare-and-set, stores the decisions as the turn's opening
 * message, and the run begins by running the approved ones. A decision turn's answer continues the
 * UI message that asked (same id), so `useChat` merges it and the stored view shows one message.
 *
 * Nothing is kept in the process between requests; a streamed turn whose client went away still
 * runs to the end and is stored. While it runs, its UI stream is relayed (../stream/relay.ts) for a
 * client that resumes it, and its person may stop it from any instance (../../relay/stops.ts): the
 * run then ends well with the answer so far (./stopped.ts), stored by END TURN as `stopped`. The answer's assistant message id and time are chosen before the
 * run, announced in the stream's start part and stored with the answer, so the stream, a replay
 * and the conversation read back (../stream/parts.ts) name the message alike.
 */
import { randomUUID } from 'node:crypto';
import type { LanguageModel, ModelMessage } from 'ai';
import type { Config } from '../../config.ts';
import { DbUnavailableError } from '../../db/resilience.ts';
import { ApiError, describeError, notFound } from '../../http/errors.ts';
import type { Inflight } from '../../http/inflight.ts';
import type { Logger } from '../../log.ts';
import type { StopSignals } from '../../relay/stops.ts';
import type { TaskRepository } from '../../tasks/repository.ts';
import { createTaskTools } from '../../tasks/tools.ts';
import { truncateText } from '../../text.ts';
import { localDateTime, type RequestZone, resolvedZone } from '../../time/zone.ts';
import type { UsageValues } from '../../usage/statements.ts';
import { modelHistory } from '../messages/history.ts';
import type { ToolCallRecord } from '../messages/stored.ts';
import { chatTargets } from '../store/ids.ts';
import type { BeginTurnResult, TurnStore } from '../store/turn-store.ts';
import { liveChunks } from '../stream/live.ts';
import {
  answerChunks,
  answerParts,
  type ChatMetadata,
  partChunks,
  toolPart,
  type UIAnswer,
} from '../stream/parts.ts';
import type { AnswerRelay } from '../stream/relay.ts';
import { uiMessageStreamResponse } from '../stream/response.ts';
import { emptyUsage, generateTurn, RunFailure, type RunResult, streamTurn, type TurnInput } from './agent.ts';
import {
  type ApprovalDecision,
  decisionMessage,
  type PendingApproval,
  pendingApprovalsOf,
  toolApprovalFor,
} from './approvals.ts';
import { TurnEffects } from './effects.ts';
import { OpenTexts } from './stopped.ts';

export type ChatTurnDeps = {
  config: Config;
  store: TurnStore;
  tasks: TaskRepository;
  model: LanguageModel;
  /** Turns still running after their response ended; shutdown waits for them. */
  inflight: Inflight;
  /** The app's clock: the user's local date and time in the system prompt, their day for the budget. */
  now: () => Date;
  /** Pins the system prompt's date whatever the clock and zone (tests that predate time zones). */
  today?: () => string;
  /** Aborted when shutdown's grace period is nearly over: running turns stop and end as failed. */
  stop?: AbortSignal;
  /** Hooks on each run's model and tool calls (the app's metrics). */
  observe?: TurnInput['observe'];
  /** Where a running turn learns it was stopped by its person (POST /chat/:id/stop). */
  stops?: Pick<StopSignals, 'track'>;
  /** Keeps each streamed turn's UI stream for a client that resumes it (GET /chat/:id/stream). */
  relay?: AnswerRelay;
};

/**
 * What begins a turn. Each kind carries the client's idempotency key (`messageId`) and the user's
 * message: a regenerate resends its turn's message, which BEGIN TURN stores only if the turn is new.
 */
export type TurnStart =
  | { kind: 'message'; messageId: string; text: string }
  | { kind: 'regenerate'; messageId: string; text: string }
  | { kind: 'decisions'; messageId: string; decisions: ApprovalDecision[] };

export type TurnRequest = {
  userId: string;
  /**
   * The contract body's conversation (undefined: start a new one), or the AI SDK UI body's chat id
   * (a conversation id, or a client's own id naming one: ../store/ids.ts). A chat's stream metadata
   * is `{conversationId, createdAt}` instead of the contract body's `{conversationId, messageId}`.
   */
  target: { conversationId: string | undefined } | { chatId: string };
  start: TurnStart;
  /** The request's ends of the user's zone order (../../time/zone.ts). */
  zone: RequestZone;
  log: Logger;
};

/** The contract's JSON answer, also stored with the turn and replayed for a repeated messageId. */
export type ChatAnswer = {
  conversationId: string;
  messageId: string;
  reply: string;
  toolCalls: ToolCallRecord[];
  /** The calls the turn ended waiting on (only when there are some). */
  pendingApprovals?: Omit<PendingApproval, 'toolCallId'>[];
};

/**
 * What a finished turn stores for replays: the JSON answer, the answer as the UI holds it, and
 * whether its person stopped it (the UI answer's metadata says `stopped: true`).
 */
type StoredAnswer = ChatAnswer & { ui?: UIAnswer; stopped?: boolean };

/** A turn that BEGIN TURN started: what the model needs, and the two ways it can end. */
type StartedTurn = {
  conversationId: string;
  /** This BEGIN TURN's id: names the turn's relayed stream. */
  attemptId: string;
  /** The assistant message id and time the client is told before the run, and that are stored. */
  answerId: string;
  /** The UI message the answer goes into: `answerId`, or for a decision turn the one that asked. */
  uiMessageId: string;
  createdAt: string;
  input: TurnInput;
  /** What earlier attempts of this turn changed, as tool calls: shown to the model, they begin the answer. */
  earlier: ModelMessage[];
  /** Runs the turn's ending: END TURN for an outcome, or the failure ending. Never leaves it open. */
  end(run: Promise<RunResult>): Promise<StoredAnswer>;
};

export function createChatTurns(deps: ChatTurnDeps) {
  const { config, store, tasks, model, inflight } = deps;
  // The same for every turn: made once (the SDK only reads it).
  const toolApproval = toolApprovalFor(config.chat.approvalPolicy);

  async function begin(req: TurnRequest): Promise<{ replay: StoredAnswer } | { started: StartedTurn }> {
    const { userId, start, log } = req;
    const { messageId } = start;
    const message: ModelMessage =
      start.kind === 'decisions' ? decisionMessage(start.decisions) : { role: 'user', content: start.text };
    const begun = await store.beginTurn({
      userId,
      ...('chatId' in req.target
        ? { conversationId: undefined, chat: chatTargets(userId, req.target.chatId) }
        : { conversationId: req.target.conversationId }),
      regenerate: start.kind === 'regenerate',
      decisions: start.kind === 'decisions' ? start.decisions : undefined,
      messageId,
      message,
      title: start.kind === 'decisions' ? '' : truncateText(start.text, 80),
      historyMessages: config.chat.historyMessages,
      leaseMs: config.chat.leaseMs,
      rateLimit: config.chat.rateLimitPerMinute,
      zone: req.zone,
      now: deps.now(),
      budgetTokensPerDay: config.usage.budgetTokensPerDay,
    });
    const started = refuseUnlessStarted(begun);
    if (started.outcome === 'replay') return { replay: started.answer as StoredAnswer };

    const { conversationId, turnId, attemptId, lastSeq, userSeq, timezone } = started;
    const usage = emptyUsage();
    // What the run spent until it ended, well or not: every ending stores it.
    const spent = (): UsageValues => ({
      userId,
      timezone,
      endedAt: deps.now().toISOString(),
      model: usage.model ?? config.model.id,
      inputTokens: usage.inputTokens,
      cachedInputTokens: usage.cachedInputTokens,
      outputTokens: usage.outputTokens,
      reasoningTokens: usage.reasoningTokens ?? null,
    });
    const answerId = randomUUID();
    const uiMessageId = started.continues ?? answerId;
    const createdAt = new Date().toISOString();
    const effects = new TurnEffects(turnId, started.effects, attemptId);
    // What earlier attempts did comes after the user message, as the tool calls they were.
    const earlier = effects.messages();
    const finish = async (result: RunResult): Promise<StoredAnswer> => {
      const pending = pendingApprovalsOf(result.messages);
      const answer: ChatAnswer = {
        conversationId,
        messageId,
        reply: result.reply,
        toolCalls: [...effects.calls(), ...result.toolCalls],
        ...(pending.length > 0
          ? { pendingApprovals: pending.map(({ id, toolName, args }) => ({ id, toolName, args })) }
          : {}),
        ...(result.stopped ? { stopped: true } : {}),
      };
      const messages = [...earlier, ...result.messages];
      const ui = { id: uiMessageId, createdAt, parts: answerParts(messages) };
      const kept = await store.endTurn({
        conversationId,
        turnId,
        attemptId,
        lastSeq,
        userSeq,
        answerId,
        createdAt,
        messages,
        answer: { ...answer, ui },
        uiMessageId,
        approvals: pending,
        approvalTtlSeconds: Math.round(config.chat.approvalTtlMs / 1000),
        usage: spent(),
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
      await store.failTurn({ conversationId, turnId, attemptId, usage: spent() });
      throw contractError(error);
    };
    const stop = deps.stops?.track(conversationId);
    return {
      started: {
        conversationId,
        attemptId,
        answerId,
        uiMessageId,
        createdAt,
        earlier,
        input: {
          model,
          // The zone BEGIN TURN resolved: the tools' "today" is the one the system prompt states.
          tools: createTaskTools(tasks, userId, {
            source: 'chat',
            ledger: effects,
            log,
            zone: resolvedZone(timezone),
          }),
          toolApproval,
          history: [...modelHistory(started.history, turnId, started.userSeq), ...earlier],
          settings: config.model,
          now: localNow(deps, timezone),
          usage,
          stop: deps.stop,
          halt: stop?.signal,
          observe: deps.observe,
        },
        // A failure of END TURN itself ends the turn as failed too: whichever ending commits,
        // the other finds the lease gone (see ../store/turn-store.ts).
        end: (run) =>
          run
            .then(finish)
            .catch(fail)
            .finally(() => stop?.release()),
      },
    };
  }

  /** The turn answered as the contract's JSON. */
  async function answerJson(req: TurnRequest): Promise<ChatAnswer> {
    const begun = await begin(req);
    if ('replay' in begun) return jsonAnswer(begun.replay);
    const turn = begun.started;
    return jsonAnswer(await inflight.track(turn.end(generateTurn(turn.input))));
  }

  /** The turn answered as the AI SDK UI message stream, stored whether or not the client stays. */
  async function answerStream(req: TurnRequest): Promise<Response> {
    const begun = await begin(req);
    if ('replay' in begun) return replayStream(begun.replay, req);
    const turn = begun.started;
    const { conversationId } = turn;
    const run = streamTurn(turn.input);
    const stored = inflight.track(turn.end(run.result));
    stored.catch(() => {});
    const metadata = streamMetadata(req, conversationId, turn.createdAt);
    const relayed = deps.relay?.open(turn.attemptId);
    return uiMessageStreamResponse({
      headers: { 'X-Conversation-Id': conversationId, 'X-Message-Id': req.start.messageId },
      relay: relayed,
      execute: async ({ writer }) => {
        try {
          writer.write({ type: 'start', messageId: turn.uiMessageId, messageMetadata: metadata });
          // A re-run shows first what its earlier attempts did, as the stored answer does.
          for (const chunk of partChunks(answerParts(turn.earlier))) writer.write(chunk);
          const toChunks = liveChunks(turn.input.tools, run.toolError);
          const texts = new OpenTexts();
          await run.forEachPart((part) => {
            texts.note(part);
            for (const chunk of toChunks(part)) writer.write(chunk);
          });
          // The finish part goes out only once the turn is stored: a client that sends its next
          // message on "finish" never finds the conversation still busy. A failure is one error
          // part, in the words the JSON answer would have had.
          try {
            const answer = await stored;
            if (answer.stopped)
              for (const part of texts.closing()) for (const chunk of toChunks(part)) writer.write(chunk);
            writer.write({ type: 'finish', messageMetadata: stoppedMetadata(metadata, answer) });
          } catch (error) {
            writer.write({ type: 'error', errorText: describeError(error).message });
          }
        } finally {
          // Whatever ended the stream, its relay buffer goes with it.
          relayed?.end();
        }
      },
      // Only a bug gets here; never the SDK's "An error occurred.".
      onError: (error) => describeError(error).message,
    });
  }

  return { answerJson, answerStream };
}

export type ChatTurns = ReturnType<typeof createChatTurns>;

/** A run's failure as the contract's error; anything else (the database, a bug) as it is. */
function contractError(error: unknown): unknown {
  if (!(error instanceof RunFailure)) return error;
  const options = { cause: error.cause };
  switch (error.kind) {
    case 'stopped':
      return new ApiError(
        'draining',
        'The server is shutting down; your message was kept, send it again',
        { 'Retry-After': '1' },
        options,
      );
    case 'model_timeout':
      return new ApiError(
        'model_timeout',
        'The model gave no answer in time; your message was kept',
        {},
        options,
      );
    case 'model_error':
      return new ApiError(
        'model_error',
        'The model provider failed; your message was kept, send it again to retry',
        {},
        options,
      );
  }
}

function refuseUnlessStarted(begun: BeginTurnResult) {
  switch (begun.outcome) {
    case 'not_found':
      throw notFound('Conversation');
    case 'reused':
      throw new ApiError(
        'message_id_reused',
        'This messageId was already sent with a different message; give each new message its own id',
      );
    case 'busy':
      throw new ApiError(
        'conversation_busy',
        `An answer in this conversation is still being written; try again in ${begun.retryAfterSeconds} s`,
        { 'Retry-After': String(begun.retryAfterSeconds) },
      );
    case 'rate_limited':
      throw new ApiError('rate_limited', 'Too many chat turns in the last minute', {
        'Retry-After': String(begun.retryAfterSeconds),
      });
    case 'approval_not_pending':
      throw new ApiError(
        'approval_not_pending',
        'Nothing in this conversation is waiting for that decision: the approval is unknown, expired or already decided',
      );
    case 'budget_exhausted':
      throw new ApiError(
        'budget_exhausted',
        'Your token budget for today is spent; it renews at midnight in your time zone',
        { 'Retry-After': String(begun.retryAfterSeconds) },
      );
    default:
      return begun;
  }
}

/** The user's local date and time for the system prompt (a pinned date wins: see ChatTurnDeps). */
function localNow(deps: Pick<ChatTurnDeps, 'now' | 'today'>, zone: string): TurnInput['now'] {
  const local = localDateTime(deps.now(), zone);
  return { date: deps.today?.() ?? local.date, time: local.time, zone };
}

/** The JSON answer of the contract, without what is stored beside it for UI replays. */
function jsonAnswer({
  conversationId,
  messageId,
  reply,
  toolCalls,
  pendingApprovals,
}: StoredAnswer): ChatAnswer {
  return { conversationId, messageId, reply, toolCalls, ...(pendingApprovals ? { pendingApprovals } : {}) };
}

/** The message metadata of a streamed answer: per body, as the contract says. */
function streamMetadata(req: TurnRequest, conversationId: string, createdAt: string): ChatMetadata {
  return 'chatId' in req.target
    ? { conversationId, createdAt }
    : { conversationId, messageId: req.start.messageId };
}

/** A stopped answer's metadata says so. */
function stoppedMetadata(metadata: ChatMetadata, answer: StoredAnswer): ChatMetadata {
  return answer.stopped ? { ...metadata, stopped: true } : metadata;
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
  const chunks = answerChunks(
    ui,
    stoppedMetadata(streamMetadata(req, answer.conversationId, ui.createdAt), answer),
  );
  return uiMessageStreamResponse({
    headers: { 'X-Conversation-Id': answer.conversationId, 'X-Message-Id': answer.messageId },
    execute: ({ writer }) => {
      for (const chunk of chunks) writer.write(chunk);
    },
  });
}
