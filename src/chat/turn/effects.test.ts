import { describe, expect, it } from 'vitest';
import type { TaskJson } from '../../tasks/repository.ts';
import { canonicalArgs, type RecordedEffect, TurnEffects } from './effects.ts';

const taskJson: TaskJson = {
  id: 7,
  title: 'milk',
  description: null,
  completed: false,
  priority: 'medium',
  due_date: null,
  due_time: null,
  repeat: null,
  reminder: null,
  created_at: '2026-12-05T08:00:00Z',
  updated_at: '2026-12-05T08:00:00Z',
};

/** What a first attempt recorded for a call, as BEGIN TURN returns it to a re-run. */
function recordedBy(
  turnId: string,
  tool: 'add_task' | 'delete_task',
  args: Record<string, unknown>,
): RecordedEffect {
  const claim = new TurnEffects(turnId).claim(tool, args);
  if (!('record' in claim)) throw new Error('a new turn has nothing to replay');
  return {
    callKey: claim.record.callKey,
    occurrence: claim.record.occurrence,
    tool,
    args: canonicalArgs(args),
    task: taskJson,
  };
}

describe('turn effects', () => {
  it('reads arguments as one text per meaning: sorted keys, nulls and absent values dropped', () => {
    expect(canonicalArgs({ title: 'milk', priority: null, due_date: undefined, a: 1 })).toEqual({
      a: 1,
      title: 'milk',
    });
    expect(Object.keys(canonicalArgs({ b: 1, a: 2 }))).toEqual(['a', 'b']);
  });

  it('records a change a turn makes the first time, keyed by the call and how many times it was made', () => {
    const effects = new TurnEffects('turn-1');
    const first = effects.claim('add_task', { title: 'milk' });
    const second = effects.claim('add_task', { priority: null, title: 'milk' });
    expect(first).toMatchObject({
      record: { turnId: 'turn-1', occurrence: 1, tool: 'add_task', args: { title: 'milk' } },
    });
    expect(second).toMatchObject({ record: { occurrence: 2 } });
    if (!('record' in first) || !('record' in second)) throw new Error('expected records');
    expect(second.record.callKey).toBe(first.record.callKey);
  });

  it('answers a re-run that makes the same change from the record instead of making it again', () => {
    const recorded = recordedBy('turn-1', 'add_task', { title: 'milk' });
    const rerun = new TurnEffects('turn-1', [recorded], 'attempt-2');
    expect(rerun.claim('add_task', { title: 'milk', description: null })).toEqual({
      replay: expect.objectContaining({ id: 7, title: 'milk' }),
    });
    // A second "buy milk" in the same re-run is a new change.
    expect(rerun.claim('add_task', { title: 'milk' })).toMatchObject({ record: { occurrence: 2 } });
  });

  it("shows earlier attempts' changes as paired tool calls and results, and as the contract's tool calls", () => {
    const recorded = recordedBy('turn-1', 'delete_task', { task_id: 7 });
    const effects = new TurnEffects('turn-1', [recorded], 'attempt-2');
    const [calls, results] = effects.messages();
    if (!calls || !results) throw new Error('expected a call message and a result message');
    expect([calls.role, results.role]).toEqual(['assistant', 'tool']);
    const callIds = (calls.content as { toolCallId: string }[]).map((p) => p.toolCallId);
    const resultIds = (results.content as { toolCallId: string }[]).map((p) => p.toolCallId);
    expect(resultIds).toEqual(callIds);
    expect(callIds[0]).toMatch(/^recorded-attempt-/);
    expect(effects.calls()).toEqual([
      { name: 'delete_task', args: { task_id: 7 }, result: { task_id: 7, deleted: true, title: 'milk' } },
    ]);
  });

  it('has nothing to show for a turn with no earlier changes', () => {
    expect(new TurnEffects('turn-1').messages()).toEqual([]);
    expect(new TurnEffects('turn-1').calls()).toEqual([]);
  });
});
