// A MODEL OF THE USUAL DESIGN, for the benchmark only: a chat turn stored the way common chat
// implementations store it (the Vercel AI chatbot template and most tutorials), behind the same
// TurnStore interface, so the rest of the app (HTTP, the AI SDK loop, the tools, the JSON answer)
// is exactly ours and the rows compare only the storage pattern:
//
//   1. check the conversation (SELECT), or create it (INSERT)
//   2. insert the user message (INSERT)
//   3. load the whole history (SELECT every message of the conversation, oldest first)
//      ... the model and its tool calls run ...
//   4. insert the reply messages (INSERT)
//   5. update the conversation (UPDATE last_seq, updated_at)
//
// Five round trips plus one per tool call, each its own autocommit statement, and an O(n) history
// read. It keeps the same window for the model (the newest HISTORY_MESSAGES, sliced in
// JavaScript), so the model sees what ours sees. Like those implementations it has no turn lease,
// no idempotency record, no record of a tool's effects and no rate limit: it does less than ours,
// and is not for serving. It runs on our database handle, so it gets our driver's prepared
// statements too.
import { randomUUID } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import { windowFromUserMessage } from '../src/chat/messages/history.ts';
import type { StoredMessage } from '../src/chat/messages/stored.ts';
import type { TurnStore } from '../src/chat/store/turn-store.ts';
import type { Database } from '../src/db/client.ts';
import { conversations, messages } from '../src/db/schema.ts';
import { createTaskRepository, type TaskRepository } from '../src/tasks/repository.ts';

/** The app's stores for the model: its turn store, and our task statements without effect records. */
export function createUsualStores(database: Database): { turns: TurnStore; tasks: TaskRepository } {
  const repo = createTaskRepository(database);
  const tasks: TaskRepository = {
    ...repo,
    add: (userId, task, { source }) => repo.add(userId, task, { source }),
    setCompleted: (userId, taskId, completed, { source }) =>
      repo.setCompleted(userId, taskId, completed, { source }),
    update: (userId, taskId, patch, { source }) => repo.update(userId, taskId, patch, { source }),
    remove: (userId, taskId, { source }) => repo.remove(userId, taskId, { source }),
    undo: (userId, changeId, { source }) => repo.undo(userId, changeId, { source }),
  };
  return { turns: createUsualTurnStore(database), tasks };
}

function createUsualTurnStore(database: Database): TurnStore {
  return {
    async beginTurn(input) {
      const { userId } = input;
      let conversationId = input.conversationId;
      let lastSeq = 0;
      if (conversationId) {
        const id = conversationId;
        const [found] = await database.run((db) =>
          db
            .select({ lastSeq: conversations.lastSeq })
            .from(conversations)
            .where(and(eq(conversations.id, id), eq(conversations.userId, userId))),
        );
        if (!found) return { outcome: 'not_found' };
        lastSeq = found.lastSeq;
      } else {
        const [created] = await database.run((db) =>
          db.insert(conversations).values({ userId, title: input.title }).returning({ id: conversations.id }),
        );
        conversationId = created?.id as string;
      }
      const id = conversationId;
      const seq = lastSeq + 1;
      await database.run((db) =>
        db.insert(messages).values({ conversationId: id, seq, role: 'user', content: input.message }),
      );
      const all = await database.run((db) =>
        db
          .select({ seq: messages.seq, role: messages.role, content: messages.content })
          .from(messages)
          .where(eq(messages.conversationId, id))
          .orderBy(asc(messages.seq)),
      );
      const history: StoredMessage[] = windowFromUserMessage(all.slice(-input.historyMessages));
      return {
        outcome: 'started',
        conversationId: id,
        turnId: randomUUID(),
        attemptId: randomUUID(),
        lastSeq: seq,
        rerun: false,
        userSeq: seq,
        history,
        effects: [],
        continues: null,
        timezone: 'UTC',
      };
    },

    async endTurn(input) {
      const { conversationId, lastSeq } = input;
      if (input.messages.length > 0) {
        await database.run((db) =>
          db.insert(messages).values(
            input.messages.map((message, i) => ({
              // The first reply message keeps the id the client was told, as ours does.
              ...(i === 0 ? { id: input.answerId } : {}),
              conversationId,
              seq: lastSeq + 1 + i,
              role: message.role as StoredMessage['role'],
              content: message,
            })),
          ),
        );
      }
      await database.run((db) =>
        db
          .update(conversations)
          .set({ lastSeq: lastSeq + input.messages.length, updatedAt: new Date() })
          .where(eq(conversations.id, conversationId)),
      );
      return true;
    },

    // Nothing to release: the usual design holds no lease and keeps no turn record.
    failTurn: async () => {},
    pendingEndings: () => 0,
  };
}
