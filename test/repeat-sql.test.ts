// The SQL function that moves a repeating task when it is completed (task_next_occurrence, in
// migration 0007) gives the same next day as the rrule library, for every form of the RRULE subset
// and a spread of anchor days (month ends, leap days, every weekday), on every test driver.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { nextOccurrence } from '../src/tasks/repeat.ts';
import { createTestDb, type TestDb, testDrivers } from './support/db.ts';

const RULES = [
  'FREQ=DAILY',
  'FREQ=DAILY;INTERVAL=3',
  'FREQ=DAILY;BYDAY=MO,WE,FR',
  'FREQ=WEEKLY',
  'FREQ=WEEKLY;BYDAY=MO',
  'FREQ=WEEKLY;INTERVAL=2',
  'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH',
  'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR',
  'FREQ=MONTHLY',
  'FREQ=MONTHLY;BYMONTHDAY=1',
  'FREQ=MONTHLY;BYMONTHDAY=31',
  'FREQ=MONTHLY;BYMONTHDAY=-1',
  'FREQ=MONTHLY;BYMONTHDAY=1,15',
  'FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=30',
  'FREQ=MONTHLY;BYDAY=SA,SU',
  'FREQ=YEARLY',
  'FREQ=YEARLY;INTERVAL=2',
  'FREQ=DAILY;COUNT=1',
  'FREQ=DAILY;COUNT=3',
  'FREQ=WEEKLY;BYDAY=FR;UNTIL=20260220',
];

const ANCHORS = [
  '2026-01-31',
  '2026-02-13',
  '2026-02-28',
  '2024-02-29',
  '2026-03-01',
  '2026-03-15',
  '2026-06-30',
  '2026-12-31',
  '2026-02-16',
  '2026-02-18',
  '2026-02-21',
];

describe.each(testDrivers)('task_next_occurrence on %s', (driver) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(driver);
  });
  afterAll(() => t?.drop());

  it('agrees with the rrule library for every form of the subset', async () => {
    const pairs = RULES.flatMap((rule) => ANCHORS.map((anchor) => ({ rule, anchor })));
    const values = sql.join(
      pairs.map(({ rule, anchor }) => sql`(${rule}::text, ${anchor}::date)`),
      sql`, `,
    );
    const rows = await t.database.run((db) =>
      queryRows<{ rule: string; anchor: string; next: string | null }>(
        db,
        sql`select rule, anchor::text as anchor, task_next_occurrence(rule, anchor)::text as next
            from (values ${values}) as p(rule, anchor)`,
      ),
    );
    const fromSql = rows.map((row) => `${row.rule} after ${row.anchor}: ${row.next}`);
    const fromLibrary = pairs.map(
      ({ rule, anchor }) => `${rule} after ${anchor}: ${nextOccurrence(rule, anchor)}`,
    );
    expect(fromSql).toEqual(fromLibrary);
  });
});
