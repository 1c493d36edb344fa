import type { ModelMessage } from 'ai';
import { describe, expect, it } from 'vitest';
import {
  inTurnOrder,
  modelHistory,
  NOT_RUN_TEXT,
  pairToolExchanges,
  windowFromUserMessage,
  withTurnLast,
} from './history.ts';
import type { StoredMessage } from './stored.ts';

const user = (seq: number, text: string, turnId = `t${seq}`): StoredMessage => ({
  seq,
  role: 'user',
  content: { role: 'user', content: text },
  turnId,
});
const reply = (seq: number, text: string, turnId: string, replaced = false): StoredMessage => ({
  seq,
  role: 'assistant',
  content: { role: 'assistant', content: [{ type: 'text', text }] },
  turnId,
  replaced,
});
const call = (id: string, toolName = 'add_task'): ModelMessage => ({
  role: 'assistant',
  content: [{ type: 'tool-call', toolCallId: id, toolName, input: { title: 'milk' } }],
});
const result = (id: string, toolName = 'add_task'): ModelMessage => ({
  role: 'tool',
  content: [{ type: 'tool-result', toolCallId: id, toolName, output: { type: 'json', value: { id: 1 } } }],
});
const notRun = (id: string, toolName = 'add_task') => ({
  type: 'tool-result',
  toolCallId: id,
  toolName,
  output: { type: 'json', value: { error: NOT_RUN_TEXT } },
});
const texts = (messages: ModelMessage[]) =>
  messages.map((m) => (typeof m.content === 'string' ? m.content : m.content.map((p) => p.type).join('+')));

describe('the history window', () => {
  it('starts at a user message, so no tool result comes without its call', () => {
    const rows: StoredMessage[] = [
      { seq: 1, role: 'tool', content: result('a'), turnId: 't0' },
      reply(2, 'done', 't0'),
      user(3, 'next'),
    ];
    expect(windowFromUserMessage(rows).map((m) => m.seq)).toEqual([3]);
    expect(windowFromUserMessage([reply(1, 'orphan', 't0')])).toEqual([]);
  });

  it('puts an answer regenerated after later turns right after its own question', () => {
    const rows = [
      user(1, 'first'),
      user(3, 'second'),
      reply(4, 'second answer', 't3'),
      reply(5, 'new first', 't1'),
    ];
    expect(inTurnOrder(rows).map((m) => m.seq)).toEqual([1, 5, 3, 4]);
  });

  it('moves a re-run turn last, repeating its question when the window lost it', () => {
    const rows = [reply(2, 'earlier attempt', 't1'), user(3, 'later'), reply(4, 'later answer', 't3')];
    const question = user(1, 'first', 't1');
    expect(withTurnLast(rows, 't1', question).map((m) => m.seq)).toEqual([3, 4, 1, 2]);
    expect(withTurnLast([question, ...rows], 't1', question).map((m) => m.seq)).toEqual([3, 4, 1, 2]);
  });

  it('leaves out replaced answers, and the answer a regenerate is replacing', () => {
    const rows = [user(1, 'q'), reply(2, 'old', 't1', true), reply(3, 'current', 't1'), user(4, 'q2')];
    expect(texts(modelHistory(rows))).toEqual(['q', 'text', 'q2']);
    expect(texts(modelHistory(rows, 't1'))).toEqual(['q', 'q2']);
  });
});

describe('tool exchanges shown to the model', () => {
  it('keeps calls that have their results as they are', () => {
    const messages = [{ role: 'user', content: 'add milk' } as ModelMessage, call('a'), result('a')];
    expect(pairToolExchanges(messages)).toEqual(messages);
  });

  it('shows a stored call without a result (one waiting for a decision) as not run', () => {
    const messages: ModelMessage[] = [{ role: 'user', content: 'delete #3' }, call('a', 'delete_task')];
    expect(pairToolExchanges(messages)).toEqual([
      ...messages,
      { role: 'tool', content: [notRun('a', 'delete_task')] },
    ]);
  });

  it('adds the not-run result to the tool message of the same step, before the next message', () => {
    const twoCalls: ModelMessage = {
      role: 'assistant',
      content: [
        { type: 'tool-call', toolCallId: 'a', toolName: 'add_task', input: {} },
        { type: 'tool-call', toolCallId: 'b', toolName: 'delete_task', input: {} },
      ],
    };
    const next: ModelMessage = { role: 'user', content: 'and now?' };
    const paired = pairToolExchanges([twoCalls, result('a'), next]);
    expect(paired).toEqual([
      twoCalls,
      { role: 'tool', content: [...(result('a').content as object[]), notRun('b', 'delete_task')] },
      next,
    ]);
  });

  it('drops a result whose call is not in the window, and a message left empty by it', () => {
    const paired = pairToolExchanges([{ role: 'user', content: 'hi' }, result('gone')]);
    expect(paired).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('pairs the whole window modelHistory returns', () => {
    const rows: StoredMessage[] = [
      user(1, 'delete #3'),
      { seq: 2, role: 'assistant', content: call('a'), turnId: 't1' },
    ];
    const history = modelHistory(rows);
    expect(history.at(-1)).toEqual({ role: 'tool', content: [notRun('a')] });
  });

  it('a call waiting for approval owes no result once its decision follows: the run itself runs or denies it', () => {
    const asking: ModelMessage = {
      role: 'assistant',
      content: [
        { type: 'tool-call', toolCallId: 'a', toolName: 'delete_task', input: { task_id: 3 } },
        { type: 'tool-approval-request', approvalId: 'ap1', toolCallId: 'a' },
      ],
    };
    const decision: ModelMessage = {
      role: 'tool',
      content: [{ type: 'tool-approval-response', approvalId: 'ap1', approved: true }],
    };
    const rows: StoredMessage[] = [
      user(1, 'delete #3'),
      { seq: 2, role: 'assistant', content: asking, turnId: 't1' },
      { seq: 3, role: 'tool', content: decision, turnId: 't2' },
    ];
    // The decision turn (t2) keeps its own opening message; the model is shown it last.
    expect(modelHistory(rows, 't2', 3)).toEqual([{ role: 'user', content: 'delete #3' }, asking, decision]);
    // Without the decision, the call was not run.
    expect(modelHistory(rows.slice(0, 2)).at(-1)).toEqual({
      role: 'tool',
      content: [notRun('a', 'delete_task')],
    });
  });
});
