/**
 * @module chat/turn/effects
 * Tool effects are facts. A task a tool created exists whether or not the turn later failed (the
 * model failed after the tool ran, END TURN never committed, the write's answer was lost in a
 * stall), so a turn that runs again under the same turn id must not make it twice. The rule:
 *
 *   within one turn id, the n-th call of a changing tool with the same canonical arguments is
 *   made once; every later attempt of that turn gets the recorded result instead.
 *
 * The record is `turn_effects`, keyed by (turn id, sha256(tool, canonical arguments), occurrence).
 * It is written by the tool's own write statement (tasks/repository.ts: a data-modifying CTE), so
 * it commits with the change or not at all and costs no round trip. BEGIN TURN returns a turn's
 * recorded effects in its one statement, and only a re-run can have any. This module is the
 * in-process side for one attempt: the `EffectLedger` the tools consult before a change, and the
 * earlier effects as tool messages, so the model sees what was already done (and a naive model
 * that does it again is answered from the record, not obeyed).
 *
 * Anything that re-runs a turn id gets all of this by passing BEGIN TURN's `effects` here: a
 * re-run after a failure today, a regenerated answer (`trigger: "regenerate-message"`) tomorrow.
 */
import { hash } from 'node:crypto';
import type { ModelMessage } from 'ai';
import type { EffectRecord } from '../../tasks/repository.ts';
import { type EffectLedger, type TaskToolName, taskTools } from '../../tasks/tools.ts';
import type { ToolCallRecord } from '../messages/stored.ts';

/** One recorded change, as BEGIN TURN returns it (oldest first). */
export type RecordedEffect = {
  callKey: string;
  occurrence: number;
  tool: string;
  args: Record<string, unknown>;
  /** What the change recorded for its result: the task row with its change id (see tools' `replay`). */
  task: unknown;
};

/** The ledger of one attempt of a turn: the turn's earlier effects, and this attempt's count of each call. */
export class TurnEffects implements EffectLedger {
  readonly #turnId: string;
  readonly #attemptId: string;
  readonly #recorded: RecordedEffect[];
  readonly #byKey = new Map<string, RecordedEffect>();
  readonly #seen = new Map<string, number>();

  /**
   * `attemptId` names the tool call ids shown for earlier effects, so that two answers of one turn
   * (a regenerated one and the one it replaces) never share a tool call id in the conversation.
   */
  constructor(turnId: string, recorded: RecordedEffect[] = [], attemptId: string = turnId) {
    this.#turnId = turnId;
    this.#attemptId = attemptId;
    this.#recorded = recorded;
    for (const effect of recorded) this.#byKey.set(`${effect.callKey}#${effect.occurrence}`, effect);
  }

  claim(tool: TaskToolName, args: Record<string, unknown>): { replay: unknown } | { record: EffectRecord } {
    const canonical = canonicalArgs(args);
    const callKey = effectKey(tool, canonical);
    const occurrence = (this.#seen.get(callKey) ?? 0) + 1;
    this.#seen.set(callKey, occurrence);
    const done = this.#byKey.get(`${callKey}#${occurrence}`);
    if (done) return { replay: done.task };
    return { record: { turnId: this.#turnId, callKey, occurrence, tool, args: canonical } };
  }

  /** The earlier attempts' changes as the contract's tool calls, in the order they were made. */
  calls(): ToolCallRecord[] {
    return this.#recorded.map((effect) => ({
      name: effect.tool,
      args: effect.args,
      result: resultOf(effect),
    }));
  }

  /**
   * The earlier attempts' changes as one assistant message calling the tools and one tool message
   * with their results: shown to the model after the user message, and stored with the turn's
   * answer, so the record of the turn says what it did. None when there were none.
   */
  messages(): ModelMessage[] {
    if (this.#recorded.length === 0) return [];
    const calls = this.#recorded.map((effect) => ({
      toolCallId: `recorded-${this.#attemptId.slice(0, 8)}-${effect.callKey.slice(0, 12)}-${effect.occurrence}`,
      toolName: effect.tool,
      input: effect.args,
      output: resultOf(effect),
    }));
    return [
      {
        role: 'assistant',
        content: calls.map(({ toolCallId, toolName, input }) => ({
          type: 'tool-call',
          toolCallId,
          toolName,
          input,
        })),
      },
      {
        role: 'tool',
        content: calls.map(({ toolCallId, toolName, output }) => ({
          type: 'tool-result',
          toolCallId,
          toolName,
          output: { type: 'json', value: output as never },
        })),
      },
    ];
  }
}

function resultOf(effect: RecordedEffect): unknown {
  return taskTools[effect.tool as TaskToolName]?.replay?.(effect.task) ?? effect.task;
}

/**
 * The arguments as one text per meaning: keys sorted, absent and null values dropped (models send
 * null for "not given"), so `{"title":"milk"}` and `{"priority":null,"title":"milk"}` are one call.
 */
export function canonicalArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(args).sort()) {
    const value = args[key];
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

// One-shot `hash`: a third of `createHash(...).update().digest()`'s cost, same digest.
function effectKey(tool: string, canonical: Record<string, unknown>): string {
  return hash('sha256', `${tool}\n${JSON.stringify(canonical)}`, 'hex');
}
