// The two "no database" ceilings of the benchmark.
//
// 1. `createSdkOnlyClient`: the AI SDK part of a turn alone: `generateTurn` from src/chat/turn/agent.ts
//    (the function POST /chat calls: same system prompt, same tool wrapping, same stopWhen) with
//    the real tool definitions (`createTaskTools`) over a repository whose methods return a canned
//    task, and the conversation's history window kept in memory. No HTTP/Hono layer, no BEGIN/END
//    TURN, no SQL.
// 2. `createFakeStores`: the whole app (Hono, auth, body validation, the turn's lifecycle, the
//    tools, JSON answer) built by `createApp` with in-memory fakes of its stores (the turn store
//    and the task repository) that answer at once. It measures everything the app does except
//    building the SQL, the Postgres client and Postgres itself.
import { randomUUID } from 'node:crypto';
import type { LanguageModel, ModelMessage } from 'ai';
import { windowFromUserMessage } from '../src/chat/messages/history.ts';
import type { StoredMessage } from '../src/chat/messages/stored.ts';
import type { TurnStore } from '../src/chat/store/turn-store.ts';
import { emptyUsage, generateTurn } from '../src/chat/turn/agent.ts';
import type { Config } from '../src/config.ts';
import type { Database, Db } from '../src/db/client.ts';
import type { TaskRepository } from '../src/tasks/repository.ts';
import type { Task } from '../src/tasks/task.ts';
import { createTaskTools } from '../src/tasks/tools.ts';

const TODAY = '2026-11-23';

let nextTaskId = 0;

function cannedTask(title: string): Task {
  const now = new Date().toISOString();
  return {
    id: ++nextTaskId,
    title,
    description: null,
    completed: false,
    priority: 'medium',
    dueDate: null,
    dueTime: null,
    repeat: null,
    reminder: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** Every method answers at once with a canned result: the tools' own work minus the SQL. */
let nextChangeId = 0;
const canned = (task: Task) => ({ task, changeId: ++nextChangeId });

export const cannedRepository: TaskRepository = {
  add: async (_userId, task) => canned(cannedTask(task.title)),
  get: async (_userId, taskId) => ({ ...cannedTask('canned'), id: taskId }),
  list: async () => ({ tasks: [cannedTask('canned')], total: 1 }),
  setCompleted: async (_userId, taskId) => canned({ ...cannedTask('canned'), id: taskId, completed: true }),
  update: async (_userId, taskId) => canned({ ...cannedTask('canned'), id: taskId }),
  remove: async (_userId, taskId) => canned({ ...cannedTask('canned'), id: taskId }),
  changes: async () => [],
  undo: async () => ({ outcome: 'not_found' }),
};

/** One virtual client of the SDK-only ceiling: its own user and in-memory conversation. */
export function createSdkOnlyClient(model: LanguageModel, config: Config, userId: string) {
  const tools = createTaskTools(cannedRepository, userId, { source: 'chat' });
  let stored: StoredMessage[] = [];
  let seq = 0;
  return {
    stored: () => stored,
    async turn(message: string): Promise<void> {
      const user: ModelMessage = { role: 'user', content: message };
      stored.push({ seq: ++seq, role: 'user', content: user });
      // The same window BEGIN TURN returns: the last HISTORY_MESSAGES messages, from a user message.
      const window = windowFromUserMessage(stored.slice(-config.chat.historyMessages));
      const outcome = await generateTurn({
        model,
        tools,
        history: window.map((m) => m.content),
        settings: config.model,
        now: { date: TODAY, time: '12:00', zone: 'UTC' },
        usage: emptyUsage(),
      });
      if (outcome.toolCalls.length === 0 && message.startsWith('add')) throw new Error('no tool call');
      for (const m of outcome.messages)
        stored.push({ seq: ++seq, role: m.role as StoredMessage['role'], content: m });
      if (stored.length > 4 * config.chat.historyMessages)
        stored = stored.slice(-config.chat.historyMessages);
    },
  };
}

/**
 * A steady-state history window (a conversation that already has many turns), made by running
 * the SDK-only client: what BEGIN TURN returns for a long conversation.
 */
export async function steadyStateHistory(model: LanguageModel, config: Config): Promise<StoredMessage[]> {
  const client = createSdkOnlyClient(model, config, 'history-maker');
  for (let i = 0; i < 20; i++) await client.turn(`add history task ${i}`);
  return windowFromUserMessage(client.stored().slice(-(config.chat.historyMessages - 1)));
}

/**
 * `createApp`'s stores, faked in memory: BEGIN TURN starts every turn with the same steady-state
 * `history`, END TURN succeeds, and the tools use `cannedRepository`. `onStatement` is called where
 * the real stores would send a statement, so the bench still counts statements per turn.
 */
export function createFakeStores(history: StoredMessage[], onStatement: () => void) {
  const lastSeq = (history.at(-1)?.seq ?? 0) + 1;
  const conversationId = randomUUID();
  const counted =
    <Args extends unknown[], R>(f: (...args: Args) => Promise<R>) =>
    (...args: Args) => {
      onStatement();
      return f(...args);
    };
  const turns: TurnStore = {
    beginTurn: counted(async (input) => ({
      outcome: 'started',
      conversationId,
      turnId: randomUUID(),
      attemptId: randomUUID(),
      lastSeq,
      rerun: false,
      userSeq: lastSeq,
      effects: [],
      continues: null,
      timezone: 'UTC',
      // A copy per turn, as rows parsed from the driver would be.
      history: [...structuredClone(history), { seq: lastSeq, role: 'user', content: input.message }],
    })),
    endTurn: counted(async () => true),
    failTurn: async () => {},
    pendingEndings: () => 0,
  };
  const tasks: TaskRepository = {
    add: counted(cannedRepository.add),
    get: counted(cannedRepository.get),
    list: counted(cannedRepository.list),
    setCompleted: counted(cannedRepository.setCompleted),
    update: counted(cannedRepository.update),
    remove: counted(cannedRepository.remove),
    changes: counted(cannedRepository.changes),
    undo: counted(cannedRepository.undo),
  };
  return { turns, tasks };
}

/** Stands in for the database where the fake stores replace every use of it. */
export const noDatabase: Database = {
  get db(): Db {
    throw new Error('the no-database bench touched the database');
  },
  driver: 'pg',
  closed: false,
  run: async () => {
    throw new Error('the no-database bench touched the database');
  },
  ping: async () => true,
  poolStats: () => undefined,
  breakerState: () => 'closed',
  close: async () => {},
};
