import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/client.ts';
import { type ChatHarness, startChatApp } from './support/app.ts';

// A guard that is not a timing: no statement of a turn or of a read route may read rows in
// proportion to the size of the user's data. The same scenario (turns with every tool in a long
// conversation, a new conversation, the history re-read, the read routes) runs against a user
// with SIZE tasks and a SIZE-message conversation, then, in a fresh database, with twice that;
// each statement the app sends is EXPLAIN ANALYZEd just before it really runs (on the same data,
// the changes rolled back), and the rows every plan node touched must not grow with the size.
//
// The statements are the app's own, caught at the driver as it sends them (text and parameters).
// Each is explained twice: as sent (a custom plan) and as a prepared statement forced to its
// generic plan, the plan Postgres settles on for the named statements that `pg` and Neon's Pool
// send (src/db/client.ts). Other users' rows are interleaved with the user's (the user owns a
// sixth of each table), so a plan that walks the table instead of the user's index range shows.
//
// Two choices are checked as what they are rather than as bounded:
// - a search (`list_tasks` / GET /tasks with text) reads the user's own tasks, newest first, until
//   it has a page and the capped total: text that few tasks contain is looked for in all of them
//   (src/tasks/repository.ts). It must never read another user's rows.
// - DELETE /conversations/:id removes a conversation's messages, one row each: not run here.
const SIZE = 10_000;
const SHARE = 6; // the user owns one row in SHARE of tasks and conversations
const CONVERSATIONS = 1_500;
const TOLERANCE = { factor: 1.25, rows: 20 };

const drivers = process.env.TEST_DATABASE_URL ? (['pglite', 'pg'] as const) : (['pglite'] as const);
const user = 'big-user';

type PlanNode = { [key: string]: unknown; Plans?: PlanNode[] };
type Query = (text: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;
/** Most rows any node of a statement's plans touched, by plan kind and statement text. */
type Touched = Map<string, { rows: number; node: string; search: boolean }>;

describe.each(drivers)('statement plans on %s', (driver) => {
  const touched: Record<number, Touched> = {};

  for (const scale of [1, 2]) {
    describe(`with ${(scale * SIZE).toLocaleString('en')} tasks and messages`, () => {
      let h: ChatHarness;
      let conversation = '';
      let explaining = false;
      const seen: Touched = new Map();

      beforeAll(async () => {
        // Retries: seeding can outlast the fake server's keep-alive, and the first model call
        // after it may meet the closed socket.
        h = await startChatApp(driver, {
          env: { RATE_LIMIT_TURNS_PER_MINUTE: '1000', MODEL_MAX_RETRIES: '2' },
        });
        const { db } = h.db.database;
        // One real turn of the app gives the stored shape of a turn's four messages.
        h.fake.reply({ toolCalls: [{ name: 'add_task', args: { title: 'template' } }] }, { text: 'Added.' });
        const template = (await h.say('template-user', 'add template')).conversationId;
        conversation = await seed(db, scale * SIZE, template);
        await db.execute(sql`analyze`);
        wrapDriver(db, driver, async (text, params, query) => {
          if (!explaining || params.length === 0) return;
          for (const generic of [false, true])
            record(seen, text, generic, await explain(query, text, params, generic));
        });
      }, 240_000);
      afterAll(() => h?.close());

      async function turn(
        toolCalls: { name: string; args: Record<string, unknown> }[],
        conversationId?: string,
      ) {
        h.fake.reply(toolCalls.length > 0 ? { toolCalls } : { text: 'Hello.' }, { text: 'Done.' });
        return h.say(user, 'go', conversationId ? { conversationId } : {});
      }

      it('runs every turn statement and read route, explaining each', async () => {
        const added = await turn([{ name: 'add_task', args: { title: 'buy milk' } }], conversation);
        const id = added.toolCalls[0]?.result?.id as number;
        explaining = true;
        await turn(
          [{ name: 'add_task', args: { title: 'call mum', description: 'about sunday' } }],
          conversation,
        );
        for (const args of [{}, { status: 'pending' }, { status: 'completed', limit: 100 }]) {
          await turn([{ name: 'list_tasks', args }], conversation);
        }
        await turn([{ name: 'list_tasks', args: { search: 'no such words' } }], conversation);
        await turn([{ name: 'list_tasks', args: { search: 'seeded' } }], conversation);
        await turn([{ name: 'complete_task', args: { task_id: id } }], conversation);
        await turn(
          [{ name: 'update_task', args: { task_id: id, title: 'buy oat milk', priority: 'high' } }],
          conversation,
        );
        await turn([{ name: 'delete_task', args: { task_id: id } }], conversation);
        await turn([]); // a new conversation
        for (const path of [
          '/conversations',
          `/conversations/${conversation}`,
          `/conversations/${conversation}/messages`,
          `/tasks/${id + 1}`,
          '/tasks',
          '/tasks?status=pending',
          '/tasks?status=completed&limit=100',
          '/tasks?search=seeded%20task%201',
        ]) {
          expect((await h.get(user, path)).status, path).toBe(200);
        }
        // BEGIN TURN reads the history again when its window misses the newest stored message (a
        // turn that waited for the previous END TURN); removing that message makes it happen.
        explaining = false;
        await h.db.database.db.execute(
          sql`delete from messages where conversation_id = ${conversation}::uuid
              and seq = (select last_seq from conversations where id = ${conversation}::uuid)`,
        );
        explaining = true;
        await turn([], conversation);
        explaining = false;
        expect([...seen.keys()].some((k) => k.includes('from messages') && !k.includes('with'))).toBe(true);
        touched[scale] = seen;
      });

      it('searches read the user’s own tasks only', () => {
        const searches = [...seen.values()].filter((t) => t.search);
        expect(searches.length).toBeGreaterThan(0);
        for (const t of searches) expect(t.rows, t.node).toBeLessThanOrEqual(scale * SIZE + 1_100);
      });
    });
  }

  it('touches no more rows with twice the data', () => {
    const [small, large] = [touched[1], touched[2]];
    if (!small || !large) throw new Error('a size did not run');
    const grown: string[] = [];
    for (const [key, at2] of large) {
      const at1 = small.get(key);
      if (!at1 || at2.search) continue;
      if (at2.rows > at1.rows * TOLERANCE.factor + TOLERANCE.rows)
        grown.push(`${at1.rows} -> ${at2.rows} rows: ${at2.node}, in ${key.slice(0, 160)}`);
    }
    expect(grown).toEqual([]);
    expect([...large.keys()].filter((k) => !small.has(k))).toEqual([]);
  });
});

/**
 * `size` tasks (a third completed) and CONVERSATIONS * size / SIZE conversations for the user, each
 * among SHARE - 1 times as many of other users', interleaved; and two conversations of `size`
 * messages copied from the template conversation's four (another user's first), the user's last.
 */
async function seed(db: Db, size: number, template: string): Promise<string> {
  const owner = (g: string) =>
    sql.raw(`case when ${g} % ${SHARE} = 0 then '${user}' else 'other-' || (${g} % 97) end`);
  // Numbered per user, as the app numbers them, with each user's counter at its last number.
  await db.execute(sql`
    insert into tasks (user_id, id, title, completed)
    select owner, row_number() over (partition by owner order by g), 'seeded task ' || g, (g / ${SHARE}) % 3 = 0
    from (select g, ${owner('g')} as owner from generate_series(1, ${size * SHARE}::int) g) s
    order by g`);
  await db.execute(sql`
    insert into task_counters (user_id, last_task_id) select user_id, max(id) from tasks group by user_id
    on conflict (user_id) do update set last_task_id = excluded.last_task_id`);
  await db.execute(sql`
    insert into conversations (user_id, title, updated_at)
    select ${owner('g')}, 'seeded ' || g, now() - g * interval '1 second'
    from generate_series(1, ${(CONVERSATIONS * SHARE * size) / SIZE}::int) g`);
  let id = '';
  for (const owner of ['other-user', user]) {
    const result = (await db.execute(sql`
      with c as (insert into conversations (user_id, title, last_seq) values (${owner}, 'long', ${size}::int) returning id),
      t as (select row_number() over (order by seq) as k, role, content from messages where conversation_id = ${template}::uuid)
      insert into messages (conversation_id, seq, role, content)
      select c.id, g, t.role, t.content from c, generate_series(1, ${size}::int) g
      join t on t.k = (g - 1) % 4 + 1
      returning conversation_id`)) as unknown as { rows: { conversation_id: string }[] };
    id = result.rows[0]?.conversation_id as string;
  }
  return id;
}

/**
 * Makes the driver under `db` call `before(text, params, query)` ahead of each statement, where
 * `query` runs other statements on a connection of its own (pg) or the only one (PGlite).
 */
function wrapDriver(
  db: Db,
  driver: 'pg' | 'pglite',
  before: (text: string, params: unknown[], query: Query) => Promise<void>,
): void {
  const client = (db as unknown as { $client: Record<string, unknown> }).$client;
  const original = (client.query as (...args: unknown[]) => Promise<unknown>).bind(client);
  const textOf = (config: unknown) =>
    typeof config === 'string' ? config : String((config as { text?: string }).text);
  client.query = async (config: unknown, params?: unknown, ...rest: unknown[]) => {
    const values = Array.isArray(params) ? params : [];
    if (driver === 'pglite') {
      await before(textOf(config), values, (text, p) => original(text, p) as ReturnType<Query>);
    } else {
      const pool = client as unknown as { connect(): Promise<{ query: Query; release(): void }> };
      const connection = await pool.connect();
      try {
        await before(textOf(config), values, (text, p) => connection.query(text, p));
      } finally {
        connection.release();
      }
    }
    return original(config, params, ...rest);
  };
}

/** The statement's plan with actual rows, its changes rolled back. */
async function explain(query: Query, text: string, params: unknown[], generic: boolean): Promise<PlanNode> {
  await query('begin');
  try {
    let rows: Record<string, unknown>[];
    if (generic) {
      await query('set local plan_cache_mode = force_generic_plan');
      await query(`prepare plans_test_statement as ${text}`);
      try {
        ({ rows } = await query(
          `explain (analyze, format json) execute plans_test_statement(${params.map(literal).join(', ')})`,
        ));
      } finally {
        await query('deallocate plans_test_statement');
      }
    } else {
      ({ rows } = await query(`explain (analyze, format json) ${text}`, params));
    }
    const json = Object.values(rows[0] ?? {})[0];
    const parsed = (typeof json === 'string' ? JSON.parse(json) : json) as { Plan: PlanNode }[];
    return (parsed[0] as { Plan: PlanNode }).Plan;
  } finally {
    await query('rollback');
  }
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  const text =
    value instanceof Date
      ? value.toISOString()
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  return `'${text.replace(/'/g, "''")}'`;
}

/** Keeps, per plan kind and statement, the most rows one plan node touched (read or filtered out). */
function record(seen: Touched, text: string, generic: boolean, plan: PlanNode): void {
  const key = `${generic ? 'generic' : 'custom'} plan of ${text.replace(/\s+/g, ' ').trim()}`;
  const walk = (node: PlanNode) => {
    const loops = Number(node['Actual Loops'] ?? 1);
    const rows =
      loops *
      (Number(node['Actual Rows'] ?? 0) +
        Number(node['Rows Removed by Filter'] ?? 0) +
        Number(node['Rows Removed by Index Recheck'] ?? 0));
    const previous = seen.get(key);
    if (!previous || rows > previous.rows) {
      const where = node['Relation Name'] ?? node['CTE Name'] ?? node['Index Name'] ?? '';
      seen.set(key, { rows, node: `${node['Node Type']} ${where}`.trim(), search: /\bilike\b/i.test(text) });
    }
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan);
}
