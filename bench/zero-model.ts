// A zero-latency language model for the benchmark: answers at once, in-process, and decides its
// step from the last prompt message like a real model in a tool loop does.
//
//   user "add <title>"    -> one add_task call, then (after the tool result) a short text
//   user "add3 <title>"   -> three add_task calls in one step, then text
//   user "list"           -> one list_tasks call (default arguments: 50 newest), then text
//   user anything else    -> text only (no tool call)
//
// So a turn of "add ..." or "list" is BEGIN TURN + 1 tool statement + END TURN: 3 statements.
// `timed` wraps a model to count the time spent inside it, so a row can show turn time minus
// model time.
import type { LanguageModelV4, LanguageModelV4CallOptions } from '@ai-sdk/provider';
import { createStepModel, type ModelStep } from '../src/model/step-model.ts';

let nextCall = 0;

function decide(options: LanguageModelV4CallOptions): ModelStep {
  const last = options.prompt.at(-1);
  if (last?.role === 'tool') {
    const results = last.content.filter((part) => part.type === 'tool-result');
    if (results[0]?.toolName === 'list_tasks') return { kind: 'text', text: 'Here are your tasks.' };
    return {
      kind: 'text',
      text: results.length === 1 ? 'Added the task.' : `Added ${results.length} tasks.`,
    };
  }
  if (last?.role !== 'user') return { kind: 'text', text: 'Hello.' };
  const text = last.content.map((part) => (part.type === 'text' ? part.text : '')).join(' ');
  if (/^list\b/.test(text)) {
    return {
      kind: 'tools',
      calls: [{ toolCallId: `call-${++nextCall}`, toolName: 'list_tasks', input: '{}' }],
    };
  }
  const match = /^add(\d*)\s+(.+)$/.exec(text);
  if (!match) return { kind: 'text', text: 'Hello! Nothing to do.' };
  const count = Number(match[1] || '1');
  const title = match[2] ?? 'task';
  const calls = Array.from({ length: count }, (_, i) => ({
    toolCallId: `call-${++nextCall}`,
    toolName: 'add_task',
    input: JSON.stringify({ title: count === 1 ? title : `${title} (${i + 1})` }),
  }));
  return { kind: 'tools', calls };
}

export function createZeroModel(): LanguageModelV4 {
  return createStepModel({ provider: 'bench', modelId: 'zero-latency', decide });
}

/** `model` with a clock: `elapsedMs()` is the total time spent inside its calls so far. */
export function timed(model: LanguageModelV4): { model: LanguageModelV4; elapsedMs(): number } {
  let elapsed = 0;
  const clock =
    <A extends unknown[], R>(f: (...args: A) => PromiseLike<R>) =>
    async (...args: A): Promise<R> => {
      const start = performance.now();
      try {
        return await f(...args);
      } finally {
        elapsed += performance.now() - start;
      }
    };
  return {
    model: {
      ...model,
      doGenerate: clock(model.doGenerate.bind(model)),
      doStream: clock(model.doStream.bind(model)),
    },
    elapsedMs: () => elapsed,
  };
}
