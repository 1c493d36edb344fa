/**
 * @module model/step-model
 * A LanguageModelV4 built from one function that decides the next step (text, or tool calls)
 * from the call options. The offline command model and the benchmark's zero-latency model are
 * both this, so the V4 plumbing (content, stream parts, finish reason, usage) is written once.
 */
import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4Content,
  LanguageModelV4FinishReason,
  LanguageModelV4StreamPart,
  LanguageModelV4Usage,
} from '@ai-sdk/provider';

export type ToolCallStep = { toolCallId: string; toolName: string /** JSON text */; input: string };
export type ModelStep = { kind: 'text'; text: string } | { kind: 'tools'; calls: ToolCallStep[] };

export function createStepModel(options: {
  provider: string;
  modelId: string;
  decide: (call: LanguageModelV4CallOptions) => ModelStep;
}): LanguageModelV4 {
  const { provider, modelId, decide } = options;
  return {
    specificationVersion: 'v4',
    provider,
    modelId,
    supportedUrls: {},
    async doGenerate(call) {
      const step = decide(call);
      return {
        content: content(step),
        finishReason: finishReason(step),
        usage: usage(),
        warnings: [],
        response: { modelId, timestamp: new Date() },
      };
    },
    async doStream(call) {
      const parts = streamParts(decide(call), modelId);
      const stream = new ReadableStream<LanguageModelV4StreamPart>({
        start(controller) {
          for (const part of parts) controller.enqueue(part);
          controller.close();
        },
      });
      return { stream };
    },
  };
}

// Nothing is tokenised or billed; zeros are the truth, not an unknown.
function usage(): LanguageModelV4Usage {
  return {
    inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: 0, text: 0, reasoning: 0 },
  };
}

function finishReason(step: ModelStep): LanguageModelV4FinishReason {
  return step.kind === 'tools'
    ? { unified: 'tool-calls', raw: 'tool-calls' }
    : { unified: 'stop', raw: 'stop' };
}

function content(step: ModelStep): LanguageModelV4Content[] {
  if (step.kind === 'text') return [{ type: 'text', text: step.text }];
  return step.calls.map((c) => ({ type: 'tool-call' as const, ...c }));
}

function streamParts(step: ModelStep, modelId: string): LanguageModelV4StreamPart[] {
  const parts: LanguageModelV4StreamPart[] = [
    { type: 'stream-start', warnings: [] },
    { type: 'response-metadata', modelId, timestamp: new Date() },
  ];
  if (step.kind === 'text') {
    parts.push({ type: 'text-start', id: 'text-0' });
    // Line-sized deltas so clients exercise their incremental rendering path.
    for (const delta of step.text.split(/(?<=\n)/)) parts.push({ type: 'text-delta', id: 'text-0', delta });
    parts.push({ type: 'text-end', id: 'text-0' });
  } else {
    for (const { toolCallId: id, toolName, input } of step.calls) {
      parts.push(
        { type: 'tool-input-start', id, toolName },
        { type: 'tool-input-delta', id, delta: input },
        { type: 'tool-input-end', id },
        { type: 'tool-call', toolCallId: id, toolName, input },
      );
    }
  }
  parts.push({ type: 'finish', finishReason: finishReason(step), usage: usage() });
  return parts;
}
