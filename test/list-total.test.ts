import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskRepository } from '../src/tasks/repository.ts';
import { TOTAL_CAP } from '../src/tasks/task.ts';
import { runTaskTool } from '../src/tasks/tools.ts';
import { createTestApp } from './support/app.ts';
import { createTestDb, type TestDb, testDrivers } from './support/db.ts';

// `total` is counted exactly up to TOTAL_CAP matching tasks and is TOTAL_CAP + 1 beyond ("more
// than TOTAL_CAP"), so a list costs the same for 1,000 tasks and for 100,000.
describe.each(testDrivers)('the total of a task list on %s', (driver) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(driver);
    // Every third task completed: `exact` has 1,000 tasks (334 completed), `many` 1,200 (400).
    for (const [user, count] of [
      ['exact', TOTAL_CAP],
      ['many', TOTAL_CAP + 200],
    ] as const) {
      await t.database.db.execute(sql`
        insert into tasks (user_id, id, title, completed)
        select ${user}, g, 'task ' || g, g % 3 = 1 from generate_series(1, ${count}::int) g`);
    }
  });
  afterAll(() => t?.drop());

  it('is exact up to the cap, for every status and for a search', async () => {
    const repo = createTaskRepository(t.database);
    expect((await repo.list('exact', { status: 'all', limit: 10 })).total).toBe(TOTAL_CAP);
    expect((await repo.list('exact', { status: 'completed', limit: 10 })).total).toBe(334);
    expect((await repo.list('many', { status: 'pending', limit: 10 })).total).toBe(800);
    expect((await repo.list('many', { status: 'all', search: 'task 11', limit: 10 })).total).toBe(111);
    expect((await repo.list('nobody', { status: 'all', limit: 10 })).total).toBe(0);
  });

  it('says "more than the cap" with cap + 1, the page still newest first', async () => {
    const page = await createTaskRepository(t.database).list('many', { status: 'all', limit: 3 });
    expect(page.total).toBe(TOTAL_CAP + 1);
    expect(page.tasks.map((task) => task.title)).toEqual(['task 1200', 'task 1199', 'task 1198']);
  });

  it('reads the same through the tool and the REST route', async () => {
    const tool = await runTaskTool(
      createTaskRepository(t.database),
      'many',
      'list_tasks',
      { limit: 1 },
      { source: 'mcp' },
    );
    expect(tool).toMatchObject({ total: TOTAL_CAP + 1 });
    const app = createTestApp(t);
    const res = await app.request('/tasks?status=completed&limit=1', { headers: { 'x-user-id': 'many' } });
    expect(await res.json()).toMatchObject({ total: 400, tasks: [{ title: 'task 1198' }] });
  });
});
