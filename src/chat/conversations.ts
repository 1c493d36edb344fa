/**
 * @module chat/conversations
 * The conversation read model: what the conversation routes list, show and delete, each one
 * statement scoped by user, and the contract's transcript built from stored model messages (user
 * and assistant messages with plain text, each tool call folded with its result into the
 * assistant message that made it). The UI message view of the same rows is ./ui-messages.ts.
 */
import type { TextPart, ToolCallPart, ToolResultPart } from 'ai';
import { sql } from 'drizzle-orm';
import { type Database, queryRows } from '../db/client.ts';
import type { ToolCallRecord } from './agent.ts';
import type { StoredMessage } from './history.ts';

export type ConversationSummary = { id: string; title: string; createdAt: string; updatedAt: string };
export type ConversationDetail = {
  id: string;
  title: string;
  messages: (StoredMessage & {
    id: string;
    createdAt: string;
    turnId: string | null;
    replaced: boolean;
    /** For a user message: the client's messageId of its turn. */
    messageId: string | null;
  })[];
};

const iso = (value: unknown) => new Date(value as string).toISOString();

/** The conversation routes' statements; each one statement, each scoped by user. */
export function createConversations(database: Database) {
  return {
    async list(userId: string, limit = 100): Promise<ConversationSummary[]> {
      const rows = await database.run(
        (db) =>
          queryRows<{ id: string; title: string; created_at: string; updated_at: string }>(
            db,
            // NULLS LAST as in conversations_user_recent_idx, so the index gives the order and
            // the read stops at `limit`; plain DESC sorted all the user's conversations.
            sql`select id, title, created_at, updated_at from conversations
                where user_id = ${userId} order by updated_at desc nulls last limit ${limit}::int`,
          ),
        { idempotent: true },
      );
      return rows.map((r) => ({
        id: r.id,
        title: r.title,
        createdAt: iso(r.created_at),
        updatedAt: iso(r.updated_at),
      }));
    },

    /**
     * The conversation with its newest `limit` messages, oldest first; undefined if not this user's.
     * `alias`: another id that may name it (a chat id's derived conversation), tried second.
     */
    async get(
      userId: string,
      conversationId: string | null,
      limit = 1000,
      alias: string | null = null,
    ): Promise<ConversationDetail | undefined> {
      const rows = await database.run(
        (db) =>
          queryRows<{ id: string; title: string; messages: ConversationDetail['messages'] }>(
            db,
            // At most `limit` messages, read backwards on (conversation_id, seq) whatever the
            // conversation's length; json_agg of the rows appends text where a jsonb object per
            // message copied every content again.
            sql`select c.id, c.title,
                  coalesce((select json_agg(x order by x.seq)
                            from (select m.id, m.seq, m.role, m.content, m.created_at as "createdAt",
                                    m.turn_id as "turnId", m.replaced,
                                    (select t.message_id from turns t
                                     where t.id = m.turn_id and m.role = 'user') as "messageId"
                                  from (select * from messages where conversation_id = c.id
                                        order by seq desc limit ${limit}::int) m) x), '[]'::json) as messages
                from conversations c
                where c.user_id = ${userId} and (c.id = ${conversationId}::uuid or c.id = ${alias}::uuid)
                order by (c.id = ${conversationId}::uuid) is true desc
                limit 1`,
          ),
        { idempotent: true },
      );
      const row = rows[0];
      return (
        row && {
          id: row.id,
          title: row.title,
          messages: row.messages.map((m) => ({ ...m, createdAt: iso(m.createdAt) })),
        }
      );
    },

    async remove(userId: string, conversationId: string): Promise<boolean> {
      const rows = await database.run((db) =>
        queryRows(
          db,
          sql`delete from conversations where id = ${conversationId}::uuid and user_id = ${userId} returning id`,
        ),
      );
      return rows.length > 0;
    },
  };
}

export type TranscriptMessage = {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  toolCalls?: ToolCallRecord[];
  createdAt: string;
};

export type Conversations = ReturnType<typeof createConversations>;

type Part = { type: string } & Partial<
  Pick<TextPart, 'text'> &
    Pick<ToolCallPart, 'toolCallId' | 'toolName' | 'input'> & { output: ToolResultPart['output'] }
>;

const partsOf = (content: unknown): Part[] =>
  typeof content === 'string'
    ? [{ type: 'text', text: content }]
    : Array.isArray(content)
      ? (content as Part[])
      : [];

/**
 * Stored model messages as the contract's transcript: one turn's assistant steps and tool
 * messages read as one assistant message, each tool call folded in with its result.
 */
export function toTranscript(messages: ConversationDetail['messages']): TranscriptMessage[] {
  const out: TranscriptMessage[] = [];
  const calls = new Map<string, ToolCallRecord>();
  for (const stored of messages) {
    // An answer a regenerated one replaced is history for the model only.
    if (stored.replaced) continue;
    const parts = partsOf(stored.content.content);
    if (stored.role === 'user') {
      out.push({ id: stored.id, role: 'user', content: textOf(parts), createdAt: stored.createdAt });
      continue;
    }
    let current = out.at(-1);
    if (current?.role !== 'assistant') {
      current = { id: stored.id, role: 'assistant', content: '', createdAt: stored.createdAt };
      out.push(current);
    }
    if (stored.role === 'assistant') {
      const text = textOf(parts);
      if (text) current.content = current.content ? `${current.content}\n\n${text}` : text;
      for (const p of parts) {
        if (p.type !== 'tool-call' || !p.toolCallId) continue;
        const call: ToolCallRecord = { name: p.toolName ?? '', args: p.input ?? {}, result: null };
        calls.set(p.toolCallId, call);
        current.toolCalls = [...(current.toolCalls ?? []), call];
      }
    } else {
      for (const p of parts) {
        const call = p.type === 'tool-result' && p.toolCallId ? calls.get(p.toolCallId) : undefined;
        if (call) call.result = resultValue(p.output);
      }
    }
  }
  return out;
}

function textOf(parts: Part[]): string {
  return parts
    .filter((p) => p.type === 'text' && p.text)
    .map((p) => p.text)
    .join('');
}

function resultValue(output: Part['output']): unknown {
  if (!output) return null;
  if (output.type === 'error-text' || output.type === 'error-json') return { error: output.value };
  return 'value' in output ? output.value : null;
}
