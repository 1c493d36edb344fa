/**
 * @module chat/store/conversations
 * The conversation read model: what the conversation routes list, show and delete, each one
 * statement scoped by user. The views of the rows it reads (the contract's transcript, the UI
 * messages) are in ../messages/.
 */
import { sql } from 'drizzle-orm';
import { type Database, queryRows } from '../../db/client.ts';
import type { ViewRow } from '../messages/stored.ts';
import { chatTargets } from './ids.ts';

export type ConversationSummary = { id: string; title: string; createdAt: string; updatedAt: string };
export type ConversationDetail = {
  id: string;
  title: string;
  messages: (ViewRow & { seq: number })[];
  /** Approvals of this conversation still pending but past their time: no decision can be taken any more. */
  expiredApprovals: string[];
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
          queryRows<{
            id: string;
            title: string;
            messages: ConversationDetail['messages'];
            expired_approvals: string[];
          }>(
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
                                        order by seq desc limit ${limit}::int) m) x), '[]'::json) as messages,
                  -- Through approvals_pending_idx: only this conversation's still-pending rows.
                  array(select a.id from approvals a
                        where a.conversation_id = c.id and a.status = 'pending' and a.expires_at <= now()
                  ) as expired_approvals
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
          expiredApprovals: row.expired_approvals,
        }
      );
    },

    /** The conversation a UI chat id names for this user (its own id, or the one derived from it). */
    getChat(userId: string, chatId: string, limit = 1000): Promise<ConversationDetail | undefined> {
      const { given, named } = chatTargets(userId, chatId);
      return this.get(userId, given, limit, named);
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

export type Conversations = ReturnType<typeof createConversations>;
