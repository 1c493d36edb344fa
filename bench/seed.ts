// Set-based seeding for the size rows and the usual-design rows: a user's task list and long
// conversations, each written by one INSERT ... SELECT over generate_series (100,000 rows in a
// second or two, where turn by turn would take minutes). The messages copy a real turn that
// the app stored (`templateTurn`), so their JSON is exactly what BEGIN TURN reads back; each
// copy gets its own tool call id.
import pg from 'pg';

/** What one stored turn looks like: its messages' content, oldest first. */
export type TemplateTurn = { contents: unknown[]; toolCallId: string };

/** The messages of the newest complete turn of `conversationId` (user message to final reply). */
export async function templateTurn(url: string, conversationId: string): Promise<TemplateTurn> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ role: string; content: unknown }>(
      `select role, content from messages where conversation_id = $1 order by seq desc limit 4`,
      [conversationId],
    );
    const contents = rows.reverse().map((r) => r.content);
    if (rows[0]?.role !== 'user' || contents.length !== 4)
      throw new Error('template turn: expected 4 messages');
    const toolCallId = /"toolCallId":"([^"]+)"/.exec(JSON.stringify(contents))?.[1];
    if (!toolCallId) throw new Error('template turn: no tool call');
    return { contents, toolCallId };
  });
}

/**
 * A conversation of `messages` messages (a multiple of the template's length) owned by `userId`,
 * its seqs 1..messages, its `last_seq` at the end; returns its id.
 */
export async function seedConversation(
  url: string,
  userId: string,
  messages: number,
  template: TemplateTurn,
): Promise<string> {
  const size = template.contents.length;
  if (messages % size !== 0) throw new Error(`messages must be a multiple of ${size}`);
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `with c as (
         insert into conversations (user_id, title, last_seq) values ($1, 'seeded', $2) returning id
       ),
       m as (
         insert into messages (conversation_id, seq, role, content)
         select c.id, g, t.content->>'role',
                replace(t.content::text, $4, 'seed-' || ((g - 1) / $5 + 1))::jsonb
         from c, generate_series(1, $2::int) g,
              lateral (select $3::jsonb -> ((g - 1) % $5) as content) t
       )
       select id from c`,
      [userId, messages, JSON.stringify(template.contents), template.toolCallId, size],
    );
    return rows[0]?.id as string;
  });
}

/** `count` tasks for `userId` (numbered 1..count, as the app numbers a user's tasks), a third completed. */
export async function seedTasks(url: string, userId: string, count: number): Promise<void> {
  await withClient(url, (client) =>
    client.query(
      `with seeded as (
         insert into tasks (user_id, id, title, completed)
         select $1, g, 'seeded task ' || g, g % 3 = 0 from generate_series(1, $2::int) g
       )
       insert into task_counters (user_id, last_task_id) values ($1, $2::int)
       on conflict (user_id) do update set last_task_id = excluded.last_task_id`,
      [userId, count],
    ),
  );
}

/**
 * What autovacuum does on any real server (the shared bench server runs with it off): statistics
 * for the planner and the visibility map that lets index-only scans skip the heap.
 */
export async function vacuumAnalyze(url: string): Promise<void> {
  await withClient(url, (client) =>
    client.query('vacuum analyze tasks, task_counters, conversations, messages, turns'),
  );
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
