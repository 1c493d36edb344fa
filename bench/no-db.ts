// The two "no database" ceilings of the benchmark.
//
// 1. `createSdkOnlyClient`: the AI SDK part of a turn alone: `generateTurn` from src/chat/agent.ts
//    (the function POST /chat calls: same system prompt, same tool wrapping, same stopWhen) with
//    the real tool definitions (`createTaskTools`) over a repository whose methods return a canned
//    task, and the conversation's history window kept in memory. No HTTP/Hono layer, no BEGIN/END
//    TURN, no SQL.
// 2. `createFakeDatabase`: the whole app (Hono, auth, body validation, store and repository code,
//    Drizzle building the SQL, JSON answer) over a `Database` whose Drizzle instance talks to a fake
//    `pg` client that answers each statement at once with a canned row. It measures everything
//    the app does except the Postgres client's network work and Postgres itself.
import { randomUUID } from 'node:crypto';
import type { LanguageModel, ModelMessage } from 'ai';
import { getTableColumns } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { generateTurn } from '../src/chat/agent.ts';
import { type StoredMessage, windowFromUserMessage } from '../src/chat/store.ts';
import type { Config } from '../src/config.ts';
import type { Database, Db } from '../src/db/client.ts';
import { Resilience } from '../src/db/resilience.ts';
import * as schema from '../src/db/schema.ts';
import type { Task, TaskRepository } from '../src/tasks/repository.ts';
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
    createdAt: now,
    updatedAt: now,
  };
}

/** Every method answers at once with a canned result: the tools' own work minus the SQL. */
export const cannedRepository: TaskRepository = {
  add: async (_userId, task) => cannedTask(task.title),
  list: async () => ({ tasks: [cannedTask('canned')], total: 1 }),
  setCompleted: async (_userId, taskId) => ({ ...cannedTask('canned'), id: taskId, completed: true }),
  update: async (_userId, taskId) => ({ ...cannedTask('canned'), id: taskId }),
  remove: async (_userId, taskId) => ({ ...cannedTask('canned'), id: taskId }),
};

/** One virtual client of the SDK-only ceiling: its own user and in-memory conversation. */
export function createSdkOnlyClient(model: LanguageModel, config: Config, userId: string) {
  const tools = createTaskTools(cannedRepository, userId);
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
        today: TODAY,
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

type FakeResult = { rows: unknown[]; rowCount: number; command: string; fields: [] };

/**
 * A `Database` with a real Drizzle instance over a fake `pg` client. BEGIN TURN answers "go" with
 * `history` (parsed from JSON text per call, as the driver would), END TURN answers ok, and the
 * task INSERT ... RETURNING answers a row; any other statement is an error.
 */
export function createFakeDatabase(history: StoredMessage[], onStatement?: (sql: string) => void): Database {
  const historyJson = JSON.stringify(history);
  const lastSeq = (history.at(-1)?.seq ?? 0) + 1;
  const conversationId = randomUUID();
  const taskColumns = Object.values(getTableColumns(schema.tasks)).map((column) => column.name);
  let nextId = 0;
  const answer = (rows: unknown[]): FakeResult => ({
    rows,
    rowCount: rows.length,
    command: 'SELECT',
    fields: [],
  });

  const client = {
    async query(config: string | { text: string }, params: unknown[] = []): Promise<FakeResult> {
      const text = typeof config === 'string' ? config : config.text;
      onStatement?.(text);
      if (text.includes('prior as (')) {
        return answer([
          {
            outcome: 'go',
            conversation_id: conversationId,
            turn_id: randomUUID(),
            last_seq: lastSeq,
            rerun: false,
            answer: null,
            retry_after_ms: null,
            history: JSON.parse(historyJson),
          },
        ]);
      }
      if (text.includes('released as (')) return answer([{ ok: true }]);
      if (text.startsWith('insert into "tasks"')) {
        const now = new Date().toISOString().replace('T', ' ').replace('Z', '+00');
        const values: Record<string, unknown> = {
          id: ++nextId,
          user_id: params[0],
          title: 'bench task',
          description: null,
          completed: false,
          priority: 'medium',
          due_date: null,
          created_at: now,
          updated_at: now,
        };
        return answer([taskColumns.map((name) => values[name] ?? null)]);
      }
      throw new Error(`fake driver: unexpected statement ${text.slice(0, 60)}`);
    },
  };
  const db = drizzle({ client: client as never, schema }) as unknown as Db;
  const resilience = new Resilience();
  return {
    db,
    driver: 'pg',
    run: (operation, options) => resilience.run(() => operation(db), options),
    ping: async () => true,
    poolStats: () => undefined,
    close: async () => {},
  };
}
