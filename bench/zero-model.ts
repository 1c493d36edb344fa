// A zero-latency language model for the benchmark: answers at once, in-process, and decides its
// step from the last prompt message like a real model in a tool loop does.
//
//   user "add <title>"    -> one add_task call, then (after the tool result) a short text
//   user "add3 <title>"   -> three add_task calls in one step, then text
//   user anything else    -> text only (no tool call)
//
// So a turn of "add ..." is BEGIN TURN + 1 tool statement + END TURN: 3 statements.
import type { LanguageModelV4, LanguageModelV4CallOptions } from '@ai-sdk/provider';
import { createStepModel, type ModelStep } from '../src/model/step-model.ts';

let nextCall = 0;

function decide(options: LanguageModelV4CallOptions): ModelStep {
  const last = options.prompt.at(-1);
  if (last?.role === 'tool') {
    const count = last.content.filter((part) => part.type === 'tool-result').length;
    return { kind: 'text', text: count === 1 ? 'Added the task.' : `Added ${count} tasks.` };
  }
  if (last?.role !== 'user') return { kind: 'text', text: 'Hello.' };
  const text = last.content.map((part) => (part.type === 'text' ? part.text : '')).join(' ');
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
