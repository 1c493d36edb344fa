// The invariants a fault must never break, checked in SQL on the database itself (a direct
// connection, not through the fault proxy) once everything ended:
// - no user message stored twice: each conversation holds one user message per turn row, and a
//   turn row is unique per (user, messageId);
// - seqs gapless: a conversation's messages are seq 1..last_seq, last_seq = max(seq);
// - every tool call paired with its result, and every result with its call;
// - no lease held, no turn running;
// - every 200 answer stored: its turn is done, with that reply;
// - tasks equal the successful add_task results stored in the conversations (per user).
import pg from 'pg';

export type AnsweredTurn = { userId: string; conversationId: string; messageId: string; reply: string };

/** Violations found (empty when all hold). */
export async function checkInvariants(databaseUrl: string, answered: AnsweredTurn[] = []): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const violations: string[] = [];
  const rows = async (text: string, values: unknown[] = []) => (await client.query(text, values)).rows;
  try {
    for (const r of await rows(`
      select c.id, (select count(*)::int from messages m where m.conversation_id = c.id and m.role = 'user') as users,
             (select count(*)::int from turns t where t.conversation_id = c.id) as turns
      from conversations c`)) {
      if (r.users !== r.turns)
        violations.push(`conversation ${r.id}: ${r.users} user messages for ${r.turns} turns`);
    }
    for (const r of await rows(`
      select c.id, c.last_seq, count(m.*)::int as n, coalesce(min(m.seq), 0) as lo, coalesce(max(m.seq), 0) as hi
      from conversations c left join messages m on m.conversation_id = c.id
      group by c.id, c.last_seq`)) {
      if (r.n !== r.last_seq || r.hi !== r.last_seq || (r.n > 0 && r.lo !== 1)) {
        violations.push(
          `conversation ${r.id}: seqs ${r.lo}..${r.hi} (${r.n} messages), last_seq ${r.last_seq}`,
        );
      }
    }
    for (const r of await rows(`
      with parts as (
        select m.conversation_id, p->>'type' as type, p->>'toolCallId' as id
        from messages m, jsonb_array_elements(case when jsonb_typeof(m.content->'content') = 'array'
                                                   then m.content->'content' else '[]'::jsonb end) p
        where p->>'type' in ('tool-call', 'tool-result')
      )
      select conversation_id, id, count(*) filter (where type = 'tool-call')::int as calls,
             count(*) filter (where type = 'tool-result')::int as results
      from parts group by conversation_id, id
      having count(*) filter (where type = 'tool-call') <> 1 or count(*) filter (where type = 'tool-result') <> 1`)) {
      violations.push(
        `conversation ${r.conversation_id}: tool call ${r.id} has ${r.calls} calls, ${r.results} results`,
      );
    }
    const [held] = await rows(`select count(*)::int as n from conversations where lease_turn_id is not null`);
    if (held?.n) violations.push(`${held.n} conversations still leased`);
    const [running] = await rows(`select count(*)::int as n from turns where status = 'running'`);
    if (running?.n) violations.push(`${running.n} turns still running`);
    for (const a of answered) {
      const [turn] = await rows(
        `select status, answer->>'reply' as reply, conversation_id from turns where user_id = $1 and message_id = $2`,
        [a.userId, a.messageId],
      );
      if (turn?.status !== 'done' || turn.reply !== a.reply || turn.conversation_id !== a.conversationId) {
        violations.push(
          `answered turn ${a.userId}/${a.messageId} is stored as ${JSON.stringify(turn ?? null)}`,
        );
      }
    }
    const stored = await rows(`
      select c.user_id, (p->'output'->'value'->>'id')::int as id
      from conversations c join messages m on m.conversation_id = c.id,
           jsonb_array_elements(case when jsonb_typeof(m.content->'content') = 'array'
                                     then m.content->'content' else '[]'::jsonb end) p
      where m.role = 'tool' and p->>'type' = 'tool-result' and p->>'toolName' = 'add_task'
        and p->'output'->>'type' = 'json' and p->'output'->'value' ? 'id'`);
    const tasks = await rows(`select user_id, id from tasks`);
    const key = (r: { user_id: string; id: number }) => `${r.user_id}#${r.id}`;
    const reported = new Set(stored.map(key));
    const existing = new Set(tasks.map(key));
    for (const k of existing)
      if (!reported.has(k)) violations.push(`task ${k} exists but no stored add_task result says so`);
    for (const k of reported)
      if (!existing.has(k)) violations.push(`task ${k} is reported added but does not exist`);
  } finally {
    await client.end();
  }
  return violations;
}
