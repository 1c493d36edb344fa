/**
 * @module chat/stream/running
 * Which turn of a user's chat is running now, in one statement: what `GET /chat/:id/stream` resumes
 * and `POST /chat/:id/stop` stops. A turn runs while its attempt holds the conversation's lease and
 * the process named on the lease is alive (instances/registry.ts); a dead process's turn is not
 * running, whatever its lease says. The stop asks with `notify`: the same statement then sends the
 * stop to the instance running the turn (Postgres NOTIFY, delivered at commit), so a stop is only
 * ever sent for the user's own running turn.
 */
import { sql } from 'drizzle-orm';
import { type Database, queryRows } from '../../db/client.ts';
import { DEAD_AFTER_MS } from '../../instances/registry.ts';
import { chatTargets } from '../store/ids.ts';

/** The Postgres channel a stop is sent on: the payload is the conversation id. */
export const STOP_CHANNEL = 'taskchat_stop';

export type RunningTurn = { conversationId: string; turnId: string; attemptId: string };

export async function runningTurn(
  database: Database,
  userId: string,
  chatId: string,
  { notify = false }: { notify?: boolean } = {},
): Promise<RunningTurn | undefined> {
  const { given, named } = chatTargets(userId, chatId);
  const rows = await database.run(
    (db) =>
      queryRows<{ conversation_id: string; turn_id: string; attempt_id: string }>(
        db,
        sql`with target as (
              select c.id, c.lease_turn_id, c.lease_attempt_id from conversations c
              where c.user_id = ${userId} and (c.id = ${given}::uuid or c.id = ${named}::uuid)
                and c.lease_turn_id is not null and c.lease_expires_at > now()
                and (c.lease_instance_id is null or exists (
                  select 1 from instances i where i.id = c.lease_instance_id
                  and i.seen_at > now() - ${DEAD_AFTER_MS}::int * interval '1 millisecond'))
              order by (c.id = ${given}::uuid) is true desc
              limit 1)
            select id as conversation_id, lease_turn_id as turn_id, lease_attempt_id as attempt_id,
              case when ${notify}::boolean then pg_notify(${STOP_CHANNEL}, id::text) end as notified
            from target`,
      ),
    { idempotent: !notify },
  );
  const row = rows[0];
  return row && { conversationId: row.conversation_id, turnId: row.turn_id, attemptId: row.attempt_id };
}

/** The stored answer of a turn that ended (null: it failed, or stored none). */
export async function storedAnswer(database: Database, turnId: string): Promise<unknown> {
  const rows = await database.run(
    (db) => queryRows<{ answer: unknown }>(db, sql`select answer from turns where id = ${turnId}::uuid`),
    { idempotent: true },
  );
  return rows[0]?.answer ?? null;
}

/** True while this attempt of a turn still holds its conversation (the turn has not ended). */
export async function stillRunning(database: Database, turn: RunningTurn): Promise<boolean> {
  const rows = await database.run(
    (db) =>
      queryRows(
        db,
        sql`select 1 from conversations where id = ${turn.conversationId}::uuid
            and lease_attempt_id = ${turn.attemptId}::uuid and lease_expires_at > now()`,
      ),
    { idempotent: true },
  );
  return rows.length > 0;
}
