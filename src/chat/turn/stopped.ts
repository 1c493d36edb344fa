/**
 * @module chat/turn/stopped
 * What a run stopped by its person (POST /chat/:id/stop) leaves to store: the SDK keeps no result
 * for an aborted run (its end event never comes), so the run's parts are noted as they pass, step
 * by step, and the answer so far is rebuilt from them: the text written, and every tool call that
 * ran with its result (a task change that already ran is stored with the answer; a call cut before
 * its result is left out, as the model never saw it either). Reasoning is not kept: a stopped
 * answer is not continued by the model.
 */
import type { AssistantModelMessage, ModelMessage, TextStreamPart, ToolResultPart, ToolSet } from 'ai';
import { STOPPED_MARK, type ToolCallRecord } from '../messages/stored.ts';

/** A part of the run's stream, as ./agent.ts reads it (named here so the two modules form no circle). */
type RunPart = TextStreamPart<ToolSet>;

type Call = { toolCallId: string; toolName: string; input: unknown };
/** `texts`: the step's text deltas, joined only if the run is stopped (a string grown by `+=` costs a
 * node per delta on top of the text). */
type Step = { texts: string[]; calls: Map<string, Call>; results: ToolResultPart[] };

/** The parts of one run, noted for the answer a stop leaves. */
export class PartialRun {
  readonly #steps: Step[] = [];
  #current: Step | undefined;

  /** Notes one part of the run. */
  note(part: RunPart, toolErrorText: (toolCallId: string) => string): void {
    const step = this.#step();
    switch (part.type) {
      case 'text-delta':
        if (part.text) step.texts.push(part.text);
        return;
      case 'tool-call':
        step.calls.set(part.toolCallId, {
          toolCallId: part.toolCallId,
          toolName: part.toolName,
          input: part.input,
        });
        return;
      case 'tool-result':
        step.results.push({
          type: 'tool-result',
          toolCallId: part.toolCallId,
          toolName: part.toolName,
          output: { type: 'json', value: (part.output ?? null) as never },
        });
        return;
      case 'tool-error':
        step.results.push({
          type: 'tool-result',
          toolCallId: part.toolCallId,
          toolName: part.toolName,
          output: { type: 'error-text', value: toolErrorText(part.toolCallId) },
        });
        return;
      case 'finish-step':
        this.#current = undefined;
        return;
    }
  }

  /** Notes a step the run finished (generateText has no parts: its steps come whole). */
  noteStep(content: { type: string; text?: string }[], toolErrorText: (toolCallId: string) => string): void {
    for (const part of content) {
      if (part.type === 'text')
        this.note({ type: 'text-delta', id: '', text: part.text ?? '' }, toolErrorText);
      else this.note(part as RunPart, toolErrorText);
    }
    this.note({ type: 'finish-step' } as RunPart, toolErrorText);
  }

  /** The answer so far: its text, the calls that ran, and the messages to store. */
  result(): { reply: string; toolCalls: ToolCallRecord[]; messages: ModelMessage[] } {
    const texts: string[] = [];
    const toolCalls: ToolCallRecord[] = [];
    const messages: ModelMessage[] = [];
    for (const step of this.#steps) {
      const ran = step.results.filter((r) => step.calls.has(r.toolCallId));
      const content: Exclude<AssistantModelMessage['content'], string> = [];
      const text = step.texts.join('');
      if (text.trim()) {
        texts.push(text.trim());
        // Cut mid-answer: trailing space is where the next word would have come.
        content.push({ type: 'text', text: text.trimEnd() });
      }
      for (const result of ran) {
        const call = step.calls.get(result.toolCallId) as Call;
        content.push({ type: 'tool-call', ...call });
        const output = result.output as { type: string; value: unknown };
        toolCalls.push({
          name: call.toolName,
          args: call.input,
          result: output.type === 'error-text' ? { error: output.value } : output.value,
        });
      }
      if (content.length > 0) messages.push({ role: 'assistant', content });
      if (ran.length > 0) messages.push({ role: 'tool', content: ran });
    }
    // The stored answer says it was stopped (GET /conversations/:id/messages shows it).
    const last = messages.findLast((message) => message.role === 'assistant');
    if (last) last.providerOptions = STOPPED_MARK;
    return { reply: texts.join('\n\n'), toolCalls, messages };
  }

  #step(): Step {
    if (!this.#current) {
      this.#current = { texts: [], calls: new Map(), results: [] };
      this.#steps.push(this.#current);
    }
    return this.#current;
  }
}

/**
 * The text parts a run opened and has not closed. A stopped run's stream ends without the SDK's
 * text-end, so the turn closes them itself before its finish part: a client (useChat) then holds
 * the text as done, and a resumed stream reads the same.
 */
export class OpenTexts {
  readonly #open = new Set<string>();

  note(part: RunPart): void {
    if (part.type === 'text-start') this.#open.add(part.id);
    else if (part.type === 'text-end') this.#open.delete(part.id);
  }

  /** The text-end parts that close what is still open (then nothing is). */
  closing(): RunPart[] {
    const parts = [...this.#open].map((id) => ({ type: 'text-end', id }) as RunPart);
    this.#open.clear();
    return parts;
  }
}
