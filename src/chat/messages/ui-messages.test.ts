import type { ModelMessage } from 'ai';
import { describe, expect, it } from 'vitest';
import type { ViewRow } from './stored.ts';
import { toTranscript } from './transcript.ts';
import { conversationUIMessages } from './ui-messages.ts';

const at = '2026-12-05T08:00:00.000Z';
let nextId = 0;
const row = (
  role: ViewRow['role'],
  content: ModelMessage,
  turnId: string,
  extra: Partial<ViewRow> = {},
): ViewRow => ({
  id: `row-${++nextId}`,
  role,
  content,
  createdAt: at,
  turnId,
  replaced: false,
  messageId: null,
  ...extra,
});
const question = (text: string, turnId: string) =>
  row('user', { role: 'user', content: text }, turnId, { messageId: `msg-${turnId}` });
const answer = (text: string, turnId: string, replaced = false) =>
  row('assistant', { role: 'assistant', content: [{ type: 'text', text }] }, turnId, { replaced });
const toolCall = (id: string, turnId: string) =>
  row(
    'assistant',
    {
      role: 'assistant',
      content: [{ type: 'tool-call', toolCallId: id, toolName: 'add_task', input: { title: 'milk' } }],
    },
    turnId,
  );
const toolResult = (id: string, value: unknown, turnId: string) =>
  row(
    'tool',
    {
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: id,
          toolName: 'add_task',
          output: { type: 'json', value: value as never },
        },
      ],
    },
    turnId,
  );

describe('UI messages of a conversation', () => {
  it("is each user message under its messageId, then its turn's answer as one assistant message", () => {
    const rows = [
      question('add milk', 't1'),
      toolCall('c1', 't1'),
      toolResult('c1', { id: 1 }, 't1'),
      answer('Added #1.', 't1'),
    ];
    const messages = conversationUIMessages('conv', rows);
    expect(messages).toEqual([
      {
        id: 'msg-t1',
        role: 'user',
        parts: [{ type: 'text', text: 'add milk' }],
        metadata: { conversationId: 'conv', createdAt: at },
      },
      {
        id: rows[1]?.id,
        role: 'assistant',
        parts: [
          {
            type: 'tool-add_task',
            toolCallId: 'c1',
            input: { title: 'milk' },
            state: 'output-available',
            output: { id: 1 },
          },
          { type: 'text', text: 'Added #1.', state: 'done' },
        ],
        metadata: { conversationId: 'conv', createdAt: at },
      },
    ]);
  });

  it("shows a tool's { error } result as an output-error part, and leaves out a call with no result", () => {
    const rows = [
      question('done 9', 't1'),
      toolCall('c1', 't1'),
      toolResult('c1', { error: 'Task #9 not found.' }, 't1'),
      toolCall('c2', 't1'),
    ];
    const [, reply] = conversationUIMessages('conv', rows);
    expect(reply?.parts).toEqual([
      {
        type: 'tool-add_task',
        toolCallId: 'c1',
        input: { title: 'milk' },
        state: 'output-error',
        errorText: 'Task #9 not found.',
      },
    ]);
  });

  it('leaves out replaced answers and keeps a late regenerated answer after its own question', () => {
    const rows = [
      question('one', 't1'),
      answer('old one', 't1', true),
      question('two', 't2'),
      answer('two', 't2'),
      answer('new one', 't1'),
    ];
    const messages = conversationUIMessages('conv', rows);
    expect(messages.map((m) => [m.role, m.parts.map((p) => ('text' in p ? p.text : p.type))])).toEqual([
      ['user', ['one']],
      ['assistant', ['new one']],
      ['user', ['two']],
      ['assistant', ['two']],
    ]);
  });
});

describe('the transcript of a conversation', () => {
  it("folds each tool call with its result into its turn's assistant message; a waiting call has no result", () => {
    const rows = [
      question('add milk', 't1'),
      toolCall('c1', 't1'),
      toolResult('c1', { error: 'Invalid arguments.' }, 't1'),
      toolCall('c2', 't1'),
      answer('Could not.', 't1'),
    ];
    expect(toTranscript(rows)).toEqual([
      { id: rows[0]?.id, role: 'user', content: 'add milk', createdAt: at },
      {
        id: rows[1]?.id,
        role: 'assistant',
        content: 'Could not.',
        createdAt: at,
        toolCalls: [
          { name: 'add_task', args: { title: 'milk' }, result: { error: 'Invalid arguments.' } },
          { name: 'add_task', args: { title: 'milk' }, result: null },
        ],
      },
    ]);
  });
});
