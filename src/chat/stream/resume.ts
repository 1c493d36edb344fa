/**
 * @module chat/stream/resume
 * `GET /chat/:id/stream` and `POST /chat/:id/stop`: a running turn's answer had again, or stopped,
 * from any instance. Resuming finds the running turn (./running.ts), then streams it from the
 * relay (./relay.ts): this instance's buffer, or Redis. When neither has it (another instance runs
 * it and there is no Redis, Redis is away, or the answer outgrew the relay) the client waits for
 * the turn to end and gets the stored answer as one stream, as a replay of a finished send would.
 */
import { UI_MESSAGE_STREAM_HEADERS, type UIMessageChunk } from 'ai';
import type { Database } from '../../db/client.ts';
import { TextBody } from '../../http/node-body.ts';
import type { Logger } from '../../log.ts';
import { errorFields } from '../../log.ts';
import type { StopSignals } from '../../relay/stops.ts';
import { answerChunks, type ChatMetadata, type UIAnswer } from './parts.ts';
import type { AnswerRelay } from './relay.ts';
import { type RunningTurn, runningTurn, stillRunning, storedAnswer } from './running.ts';

/** How often a client waiting for another instance's turn asks whether it has ended. */
const WAIT_POLL_MS = 500;

export type LiveAnswers = ReturnType<typeof createLiveAnswers>;

export function createLiveAnswers({
  database,
  relay,
  stops,
}: {
  database: Database;
  relay: AnswerRelay;
  stops: StopSignals;
}) {
  return {
    /** The running turn's stream from its start, live to its end; undefined when none runs. */
    async resume(userId: string, chatId: string, log: Logger): Promise<Response | undefined> {
      const turn = await runningTurn(database, userId, chatId);
      if (!turn) return undefined;
      const running = () => stillRunning(database, turn);
      const relayed = relay.follow(turn.attemptId, running);
      const body = new TextBody();
      const send = (json: string) => body.write(`data: ${json}\n\n`);
      (async () => {
        let sent = 0;
        try {
          if (relayed) {
            for await (const json of relayed) {
              if (body.closed) break;
              send(json);
              sent++;
            }
          }
        } catch (error) {
          if (sent === 0)
            log.debug('resume: no relayed stream, waiting for the stored answer', errorFields(error));
          else log.warn('resume: the relayed stream broke off', errorFields(error));
        }
        try {
          if (sent === 0 && !body.closed) {
            for (const chunk of await storedChunks(database, turn, running, () => body.closed))
              send(JSON.stringify(chunk));
          }
        } catch (error) {
          log.warn('resume: the stored answer could not be read', errorFields(error));
          send(
            JSON.stringify({ type: 'error', errorText: 'The answer could not be read; reload to see it' }),
          );
        }
        send('[DONE]');
        body.end();
      })();
      return new Response(body.stream, {
        headers: { ...UI_MESSAGE_STREAM_HEADERS, 'X-Conversation-Id': turn.conversationId },
      });
    },

    /** Stops the running turn wherever it runs; false when none runs. */
    async stop(userId: string, chatId: string): Promise<boolean> {
      return (await stops.stop(userId, chatId)) !== undefined;
    },
  };
}

/** Waits for the turn to end, then its stored answer as the chunks of a stream. */
async function storedChunks(
  database: Database,
  turn: RunningTurn,
  running: () => Promise<boolean>,
  gone: () => boolean,
): Promise<UIMessageChunk[]> {
  while (await running()) {
    if (gone()) return [];
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
  }
  const answer = (await storedAnswer(database, turn.turnId)) as { ui?: UIAnswer; stopped?: boolean } | null;
  if (!answer?.ui) {
    return [
      { type: 'error', errorText: 'The answer was not finished; your message was kept, send it again' },
    ];
  }
  const metadata: ChatMetadata = {
    conversationId: turn.conversationId,
    createdAt: answer.ui.createdAt,
    ...(answer.stopped ? { stopped: true } : {}),
  };
  return answerChunks(answer.ui, metadata);
}
