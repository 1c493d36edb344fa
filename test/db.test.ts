import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { conversations, messages, tasks } from '../src/db/schema.ts';
import { createTestDb, type TestDb, testDrivers } from './support/db.ts';

describe.each(testDrivers)('database on %s', (driver) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(driver);
  });
  afterAll(() => t?.drop());

  it('applies the migrations and re-applying them changes nothing', async () => {
    await migrateDatabase(t.config.db, t.database);
    const rows = await queryRows<{ table_name: string }>(
      t.database.db,
      sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`,
    );
    expect(rows.map((r) => r.table_name)).toEqual([
      'approvals',
      'conversations',
      'instances',
      'messages',
      'rate_limits',
      'reminder_deliveries',
      'task_changes',
      'task_counters',
      'tasks',
      'turn_effects',
      'turn_usage',
      'turns',
      'usage_daily',
      'user_settings',
      'webhook_deliveries',
      'webhooks',
    ]);
  });

  it('stores tasks with integer ids and the contract defaults', async () => {
    const [task] = await t.database.db
      .insert(tasks)
      .values({ id: 1, userId: 'u1', title: 'buy milk' })
      .returning();
    expect(task).toMatchObject({ title: 'buy milk', completed: false, priority: 'medium', dueDate: null });
    expect(Number.isInteger(task?.id)).toBe(true);
  });

  it('refuses a second message with the same seq in one conversation', async () => {
    const [c] = await t.database.db.insert(conversations).values({ userId: 'u1', title: 'x' }).returning();
    const id = c?.id as string;
    const message = {
      conversationId: id,
      seq: 1,
      role: 'user' as const,
      content: { role: 'user' as const, content: 'hi' },
    };
    await t.database.db.insert(messages).values(message);
    await expect(t.database.db.insert(messages).values(message)).rejects.toThrow();
  });

  it('deleting a conversation deletes its messages', async () => {
    const [c] = await t.database.db.insert(conversations).values({ userId: 'u1', title: 'x' }).returning();
    const id = c?.id as string;
    await t.database.db
      .insert(messages)
      .values({ conversationId: id, seq: 1, role: 'user', content: { role: 'user', content: 'a' } });
    await t.database.db.delete(conversations).where(sql`${conversations.id} = ${id}`);
    const left = await queryRows<{ n: number }>(
      t.database.db,
      sql`select count(*)::int as n from messages where conversation_id = ${id}`,
    );
    expect(left).toEqual([{ n: 0 }]);
  });

  it('answers a ping and closes cleanly', async () => {
    expect(await t.database.ping(2000)).toBe(true);
  });
});
