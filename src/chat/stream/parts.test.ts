import type { ModelMessage, UIMessageChunk } from 'ai';
import { describe, expect, it } from 'vitest';
import { answerChunks, answerParts, canonicalChunks } from './parts.ts';

describe('the live chunks, narrowed to what the stored answer reads back as', () => {
  const narrow = (chunks: UIMessageChunk[]) => chunks.flatMap(canonicalChunks());

  it('drops step markers and opens a text part only once it has text', () => {
    expect(
      narrow([
        { type: 'start-step' },
        { type: 'text-start', id: 'a' },
        { type: 'text-delta', id: 'a', delta: '' },
        { type: 'text-end', id: 'a' },
        { type: 'text-start', id: 'b' },
        { type: 'text-delta', id: 'b', delta: 'Hi' },
        { type: 'text-end', id: 'b' },
        { type: 'finish-step' },
      ]),
    ).toEqual([
      { type: 'text-start', id: 'b' },
      { type: 'text-delta', id: 'b', delta: 'Hi' },
      { type: 'text-end', id: 'b' },
    ]);
  });

  it("sends a tool's { error } result as an output error, and other results as they are", () => {
    expect(
      narrow([
        { type: 'tool-output-available', toolCallId: 'c1', output: { error: 'Task #9 not found.' } },
        { type: 'tool-output-available', toolCallId: 'c2', output: { id: 1 } },
      ]),
    ).toEqual([
      { type: 'tool-output-error', toolCallId: 'c1', errorText: 'Task #9 not found.' },
      { type: 'tool-output-available', toolCallId: 'c2', output: { id: 1 } },
    ]);
  });
});

describe('a stored answer as UI parts and as the chunks of its replay', () => {
  const stored: ModelMessage[] = [
    {
      role: 'assistant',
      content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'add_task', input: { title: 'milk' } }],
    },
    {
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'c1',
          toolName: 'add_task',
          output: { type: 'error-text', value: 'No.' },
        },
      ],
    },
    {
      role: 'assistant',
      content: [
        { type: 'reasoning', text: 'hmm' },
        { type: 'text', text: 'Could not add it.' },
      ],
    },
  ];

  it('reads text and each call with its outcome, in order, without reasoning', () => {
    expect(answerParts(stored)).toEqual([
      {
        type: 'tool-add_task',
        toolCallId: 'c1',
        input: { title: 'milk' },
        state: 'output-error',
        errorText: 'No.',
      },
      { type: 'text', text: 'Could not add it.', state: 'done' },
    ]);
  });

  it('replays them between a start part naming the message and a finish part', () => {
    const metadata = { conversationId: 'conv', createdAt: 'now' };
    expect(answerChunks({ id: 'm1', createdAt: 'now', parts: answerParts(stored) }, metadata)).toEqual([
      { type: 'start', messageId: 'm1', messageMetadata: metadata },
      { type: 'tool-input-available', toolCallId: 'c1', toolName: 'add_task', input: { title: 'milk' } },
      { type: 'tool-output-error', toolCallId: 'c1', errorText: 'No.' },
      { type: 'text-start', id: 'text-1' },
      { type: 'text-delta', id: 'text-1', delta: 'Could not add it.' },
      { type: 'text-end', id: 'text-1' },
      { type: 'finish', messageMetadata: metadata },
    ]);
  });
});
