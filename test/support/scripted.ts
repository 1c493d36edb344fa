// Scripted conversations: a conversation written as data (what the user says, the steps the fake
// model answers, what must be true afterwards), run turn by turn through HTTP POST /chat in one
// conversation, with the checks after every turn. Failures name the turn and what the user said.
//
//   await runConversation(h, 'alice', [
//     {
//       user: 'add buy milk for tomorrow',
//       model: [{ toolCalls: [{ name: 'add_task', args: { title: 'buy milk', due_date: '2026-11-24' } }] },
//               { text: 'Added #1.' }],
//       expectTasks: [{ title: 'buy milk', dueDate: '2026-11-24' }],
//     },
//     {
//       user: 'done with it',
//       model: [{ toolCalls: [{ name: 'complete_task', args: (ids) => ({ task_id: ids[0] }) }] }],
//       expectTasks: [{ title: 'buy milk', completed: true }],
//     },
//   ]);
//
// Tool-call arguments may be a function of the ids of the tasks created so far (by add_task, in
// creation order, including earlier steps of the same turn), since real ids depend on the
// database. Each turn's model steps are served lazily, so a step sees the ids of the steps
// before it. When a turn's steps run out the fake answers as by default ("Done." after a tool
// result, else "OK.").
import { expect } from 'vitest';
import type { Task } from '../../src/tasks/task.ts';
import type { ChatHarness } from './app.ts';
import { defaultScript, type FakeReply, type FakeRequest } from './fake-openai.ts';

export type ScriptedArgs = Record<string, unknown> | ((ids: number[]) => Record<string, unknown>);
export type ScriptedToolCall = { name: string; args: ScriptedArgs };
/** A FakeReply whose tool-call arguments may depend on the ids created so far. */
export type ScriptedReply =
  | { text?: string; toolCalls?: ScriptedToolCall[] }
  | Extract<FakeReply, { status: number }>
  | Extract<FakeReply, { hang: true }>;

export type ChatAnswer = Awaited<ReturnType<ChatHarness['say']>>;

export type TurnContext = {
  /** 0-based turn index. */
  index: number;
  answer: ChatAnswer;
  /** The requests the fake model received during this turn, in order. */
  requests: FakeRequest[];
  /** Ids of the tasks created so far in this conversation (after this turn), creation order. */
  ids: number[];
  /** The user's tasks after the turn (GET /tasks), newest first. */
  tasks: Task[];
};

export type Turn = {
  user: string;
  /** The steps the fake model answers in this turn, in order. */
  model: ScriptedReply[];
  /** The user's full task list after the turn, newest first: same length, each toMatchObject. */
  expectTasks?: Partial<Task>[];
  /** The `reply` of the answer: equal to a string, or matching a RegExp. */
  expectReply?: string | RegExp;
  /** The `result` of every tool call in the answer, in order (toMatchObject, same length). */
  expectToolResults?: unknown[];
  /** Any further assertion. */
  check?: (ctx: TurnContext) => void | Promise<void>;
};

export type ConversationResult = {
  conversationId: string;
  /** Ids of the tasks created in this conversation, in creation order. */
  ids: number[];
  answers: ChatAnswer[];
};

/**
 * Runs `turns` for `userId` as one conversation through POST /chat (carrying `conversationId`)
 * and checks each turn. Besides the turn's own expectations it always checks that the answer's
 * `toolCalls` are the scripted calls (names and arguments, in order), that the fake model was
 * asked exactly once per scripted step (plus the final default answer after a last tool step),
 * and that the answer belongs to the same conversation.
 */
export async function runConversation(
  h: ChatHarness,
  userId: string,
  turns: Turn[],
  options: { conversationId?: string } = {},
): Promise<ConversationResult> {
  let conversationId = options.conversationId;
  const ids: number[] = [];
  const answers: ChatAnswer[] = [];

  try {
    for (const [index, turn] of turns.entries()) {
      const label = `turn ${index} (${JSON.stringify(turn.user)})`;
      const steps = [...turn.model];
      const sentCalls: { name: string; args: Record<string, unknown> }[] = [];
      const firstRequest = h.fake.requests.length;

      h.fake.setScript((req) => {
        const step = steps.shift();
        if (!step) return defaultScript(req, 0);
        if ('status' in step || 'hang' in step) return step;
        const known = [...ids, ...createdInThisTurn(req)];
        const toolCalls = step.toolCalls?.map((call) => {
          const args = typeof call.args === 'function' ? call.args(known) : call.args;
          sentCalls.push({ name: call.name, args });
          return { name: call.name, args };
        });
        return toolCalls ? { ...step, toolCalls } : { text: step.text };
      });

      const res = await h.chat(userId, { message: turn.user, ...(conversationId ? { conversationId } : {}) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${label}: POST /chat answered ${res.status}: ${text}`);
      const answer = JSON.parse(text) as ChatAnswer;
      answers.push(answer);
      if (conversationId) expect(answer.conversationId, `${label}: conversationId`).toBe(conversationId);
      conversationId = answer.conversationId;

      expect(steps, `${label}: model steps the app never asked for`).toEqual([]);
      const requests = h.fake.requests.slice(firstRequest);
      const lastStep = turn.model.at(-1);
      const endsWithTools = !!lastStep && 'toolCalls' in lastStep && !!lastStep.toolCalls?.length;
      expect(requests.length, `${label}: model requests in this turn`).toBe(
        turn.model.length + (endsWithTools || turn.model.length === 0 ? 1 : 0),
      );
      expect(
        answer.toolCalls.map(({ name, args }) => ({ name, args })),
        `${label}: toolCalls in the answer`,
      ).toEqual(sentCalls);

      for (const call of answer.toolCalls) {
        const id = (call.result as { id?: unknown } | null)?.id;
        if (call.name === 'add_task' && typeof id === 'number') ids.push(id);
      }

      if (turn.expectReply !== undefined) {
        if (typeof turn.expectReply === 'string')
          expect(answer.reply, `${label}: reply`).toBe(turn.expectReply);
        else expect(answer.reply, `${label}: reply`).toMatch(turn.expectReply);
      }
      if (turn.expectToolResults) {
        expect(
          answer.toolCalls.map((c) => c.result),
          `${label}: tool results`,
        ).toMatchObject(turn.expectToolResults);
      }
      const needTasks = turn.expectTasks !== undefined || turn.check !== undefined;
      const tasks: Task[] = needTasks ? await h.tasks(userId) : [];
      if (turn.expectTasks) {
        expect(tasks.map(summary), `${label}: task titles after the turn (newest first)`).toHaveLength(
          turn.expectTasks.length,
        );
        expect(tasks, `${label}: tasks after the turn (newest first)`).toMatchObject(turn.expectTasks);
      }
      try {
        await turn.check?.({ index, answer, requests, ids: [...ids], tasks });
      } catch (error) {
        if (error instanceof Error) error.message = `${label}: check: ${error.message}`;
        throw error;
      }
    }
  } finally {
    h.fake.setScript(defaultScript);
  }
  return { conversationId: conversationId ?? '', ids, answers };
}

/** Ids created by add_task in the current turn so far: the tool messages after the last user message. */
function createdInThisTurn(req: FakeRequest): number[] {
  const lastUser = req.messages.findLastIndex((m) => m?.role === 'user');
  const tail = req.messages.slice(lastUser + 1);
  const addCalls = new Set<string>();
  for (const m of tail) {
    for (const call of m?.tool_calls ?? []) if (call?.function?.name === 'add_task') addCalls.add(call.id);
  }
  const created: number[] = [];
  for (const m of tail) {
    if (m?.role !== 'tool' || !addCalls.has(m.tool_call_id)) continue;
    try {
      const id = JSON.parse(m.content)?.id;
      if (typeof id === 'number') created.push(id);
    } catch {
      // not JSON: no task was created
    }
  }
  return created;
}

/** Short form of a task for length-mismatch messages. */
function summary(task: Task): string {
  return `#${task.id} ${task.title}${task.completed ? ' (done)' : ''}`;
}

/** The task-related tool calls sent in a request's history: `{name, args, result}` per call, in order. */
export function toolExchanges(req: FakeRequest): { name: string; args: unknown; result: unknown }[] {
  const results = new Map<string, unknown>();
  for (const m of req.messages) {
    if (m?.role === 'tool') results.set(m.tool_call_id, parseJson(m.content));
  }
  const out: { name: string; args: unknown; result: unknown }[] = [];
  for (const m of req.messages) {
    for (const call of m?.role === 'assistant' ? (m.tool_calls ?? []) : []) {
      out.push({
        name: call.function.name,
        args: parseJson(call.function.arguments),
        result: results.get(call.id),
      });
    }
  }
  return out;
}

function parseJson(text: unknown): unknown {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
