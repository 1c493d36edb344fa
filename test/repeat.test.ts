// Due times, repeating tasks and reminders through the interfaces people use: the REST API, the
// tools over MCP (the SDK client), on every test driver. Completing a repeating task keeps it open
// at its next occurrence (logged as a complete whose `before` is the completed occurrence, undone
// like any change), rescheduling keeps the rule, `repeat: null` stops it, a COUNT ends it; the
// list's due filters reckon "today" in the caller's zone.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Change, Task } from '../src/tasks/task.ts';
import { dayIn } from '../src/time/zone.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createTestDb, type TestDb, testDrivers } from './support/db.ts';

/** The calendar day `days` after `day` (YYYY-MM-DD). */
const plusDays = (day: string, days: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

describe.each(testDrivers)('repeating tasks on %s', (driver) => {
  let t: TestDb;
  let app: TestApp;
  let users = 0;
  const newUser = () => `repeat-${driver}-${++users}`;

  beforeAll(async () => {
    t = await createTestDb(driver);
    app = createTestApp(t);
  });
  afterAll(() => t?.drop());

  const send = (user: string, method: string, path: string, body?: unknown, zone?: string) =>
    app.request(path, {
      method,
      headers: {
        'x-user-id': user,
        ...(zone ? { 'x-timezone': zone } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const ok = async <T>(res: Response, status = 200): Promise<T> => {
    expect(res.status, await res.clone().text()).toBe(status);
    return (await res.json()) as T;
  };
  const add = async (user: string, body: Record<string, unknown>, zone?: string) =>
    ok<Task>(await send(user, 'POST', '/tasks', body, zone), 201);
  const patch = async (user: string, id: number, body: Record<string, unknown>) =>
    ok<Task>(await send(user, 'PATCH', `/tasks/${id}`, body));
  const changes = async (user: string) =>
    (await ok<{ changes: Change[] }>(await send(user, 'GET', '/changes'))).changes;

  it('stores a due time, a repeat in its canonical spelling and a reminder in UTC', async () => {
    const user = newUser();
    const task = await add(user, {
      title: 'standup',
      dueDate: '2026-12-07',
      dueTime: '09:30',
      repeat: 'rrule:freq=weekly;byday=fr,mo;interval=1',
      reminder: '2026-12-07T09:15:00+01:00',
    });
    expect(task).toMatchObject({
      dueDate: '2026-12-07',
      dueTime: '09:30',
      repeat: 'FREQ=WEEKLY;BYDAY=MO,FR',
      reminder: '2026-12-07T08:15:00.000Z',
    });
    expect(await ok<Task>(await send(user, 'GET', `/tasks/${task.id}`))).toEqual(task);
  });

  it('starts a repeat on its first matching day: from today without a due date, from the date given', async () => {
    const user = newUser();
    const zone = 'Pacific/Kiritimati';
    const today = dayIn(zone);
    const daily = await add(user, { title: 'water plants', repeat: 'FREQ=DAILY' }, zone);
    expect(daily.dueDate).toBe(today);
    const timed = await add(user, { title: 'call mum', dueTime: '18:00' }, zone);
    expect(timed).toMatchObject({ dueDate: today, dueTime: '18:00' });
    // 2026-12-05 is a Saturday: the first Monday from it.
    const mondays = await add(user, { title: 'gym', dueDate: '2026-12-05', repeat: 'FREQ=WEEKLY;BYDAY=MO' });
    expect(mondays.dueDate).toBe('2026-12-07');
  });

  it('refuses rules outside the subset and times without a date, naming the field', async () => {
    const user = newUser();
    const refused = async (body: Record<string, unknown>, words: string) => {
      const res = await send(user, 'POST', '/tasks', { title: 'x', ...body });
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toContain(words);
    };
    await refused({ repeat: 'FREQ=HOURLY' }, 'FREQ=DAILY|WEEKLY|MONTHLY|YEARLY');
    await refused({ repeat: 'FREQ=WEEKLY;BYDAY=1MO' }, 'BYDAY');
    await refused({ repeat: 'FREQ=MONTHLY;BYMONTHDAY=32' }, 'BYMONTHDAY');
    await refused({ repeat: 'FREQ=DAILY;COUNT=2;UNTIL=20270101' }, 'COUNT or UNTIL');
    await refused({ repeat: 'FREQ=DAILY;BYHOUR=9' }, 'not BYHOUR');
    await refused({ repeat: 'FREQ=YEARLY;BYDAY=MO' }, 'YEARLY');
    await refused({ dueTime: '25:00' }, 'dueTime must be a time of day');
    await refused({ reminder: '2026-12-07T09:00:00' }, 'reminder must be an ISO 8601');
    const task = await add(user, { title: 'y', dueDate: '2026-12-07' });
    const res = await send(user, 'PATCH', `/tasks/${task.id}`, { dueDate: null, repeat: 'FREQ=DAILY' });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('needs a due date');
  });

  it('completing moves the task, its reminder and its count to the next occurrence, logged as a complete', async () => {
    const user = newUser();
    const task = await add(user, {
      title: 'pay rent',
      dueDate: '2026-01-31',
      repeat: 'FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3',
      reminder: '2026-01-30T09:00:00Z',
    });
    const next = await patch(user, task.id, { completed: true });
    expect(next).toMatchObject({
      completed: false,
      dueDate: '2026-02-28',
      repeat: 'FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=2',
      reminder: '2026-02-27T09:00:00.000Z',
    });
    const [logged] = await changes(user);
    expect(logged).toMatchObject({
      action: 'complete',
      before: { dueDate: '2026-01-31', completed: false, repeat: 'FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3' },
      after: { dueDate: '2026-02-28', completed: false },
    });
    expect(await patch(user, task.id, { completed: true })).toMatchObject({
      completed: false,
      dueDate: '2026-03-31',
    });
    // COUNT=1 left: the last occurrence, so completing it completes the task.
    expect(await patch(user, task.id, { completed: true })).toMatchObject({
      completed: true,
      dueDate: '2026-03-31',
    });
  });

  // Every form of the contract's subset, completed through the API: the day it moves to, and for
  // COUNT and UNTIL, the occurrence after which completing completes the task.
  it.each([
    // rule, first due date, the due dates completing moves it to (null: completing completed it)
    ['FREQ=DAILY', '2026-12-07', ['2026-12-08', '2026-12-09']],
    ['FREQ=DAILY;INTERVAL=3', '2026-12-07', ['2026-12-10', '2026-12-13']],
    ['FREQ=DAILY;BYDAY=MO,WE,FR', '2026-12-07', ['2026-12-09', '2026-12-11', '2026-12-14']],
    ['FREQ=WEEKLY', '2026-12-07', ['2026-12-14']],
    ['FREQ=WEEKLY;BYDAY=MO,TH', '2026-12-07', ['2026-12-10', '2026-12-14']],
    ['FREQ=WEEKLY;INTERVAL=2;BYDAY=TU', '2026-12-08', ['2026-12-22', '2027-01-05']],
    ['FREQ=MONTHLY', '2026-12-07', ['2027-01-07']],
    ['FREQ=MONTHLY;INTERVAL=2', '2026-12-07', ['2027-02-07', '2027-04-07']],
    ['FREQ=MONTHLY;BYMONTHDAY=15', '2026-12-15', ['2027-01-15']],
    ['FREQ=MONTHLY;BYMONTHDAY=1,15', '2026-12-15', ['2027-01-01', '2027-01-15']],
    ['FREQ=MONTHLY;BYMONTHDAY=31', '2027-01-31', ['2027-03-31', '2027-05-31']],
    ['FREQ=MONTHLY;BYDAY=SA,SU', '2026-12-06', ['2026-12-12', '2026-12-13']],
    ['FREQ=YEARLY', '2026-12-25', ['2027-12-25']],
    ['FREQ=YEARLY;INTERVAL=2', '2026-12-25', ['2028-12-25']],
    ['FREQ=DAILY;COUNT=3', '2026-12-07', ['2026-12-08', '2026-12-09', null]],
    ['FREQ=WEEKLY;BYDAY=FR;UNTIL=20261218', '2026-12-11', ['2026-12-18', null]],
  ] as const)('completing %s from %s moves it to %j', async (repeat, dueDate, moves) => {
    const user = newUser();
    const task = await add(user, { title: 'again', dueDate, repeat });
    let due: string = dueDate;
    for (const next of moves) {
      const done = await patch(user, task.id, { completed: true });
      if (next === null) {
        // The last occurrence: the task is done, on the day it was due.
        expect(done).toMatchObject({ completed: true, dueDate: due });
      } else {
        expect(done).toMatchObject({ completed: false, dueDate: next });
        due = next;
      }
    }
  });

  it('rescheduling keeps every part of the rule, its COUNT left included', async () => {
    const user = newUser();
    const task = await add(user, {
      title: 'physio',
      dueDate: '2026-12-07',
      repeat: 'FREQ=WEEKLY;BYDAY=MO,TH;COUNT=4',
    });
    expect(await patch(user, task.id, { completed: true })).toMatchObject({
      dueDate: '2026-12-10',
      repeat: 'FREQ=WEEKLY;BYDAY=MO,TH;COUNT=3',
    });
    const moved = await patch(user, task.id, { dueDate: '2026-12-11' });
    expect(moved).toMatchObject({ dueDate: '2026-12-11', repeat: 'FREQ=WEEKLY;BYDAY=MO,TH;COUNT=3' });
    // From Friday the 11th, the rule's next day is Monday the 14th.
    expect(await patch(user, task.id, { completed: true })).toMatchObject({ dueDate: '2026-12-14' });
    const stopped = await patch(user, task.id, { repeat: null });
    expect(stopped).toMatchObject({ repeat: null, dueDate: '2026-12-14', completed: false });
    expect(await patch(user, task.id, { completed: true })).toMatchObject({
      completed: true,
      dueDate: '2026-12-14',
    });
  });

  it('undoing a completion brings back the completed occurrence', async () => {
    const user = newUser();
    const task = await add(user, { title: 'bins', dueDate: '2026-12-07', repeat: 'FREQ=WEEKLY;INTERVAL=2' });
    await patch(user, task.id, { completed: true });
    const [completion] = await changes(user);
    const undone = await ok<{ task: Task }>(await send(user, 'POST', `/changes/${completion?.id}/undo`));
    expect(undone.task).toMatchObject({
      dueDate: '2026-12-07',
      repeat: 'FREQ=WEEKLY;INTERVAL=2',
      completed: false,
    });
  });

  it('rescheduling or renaming keeps the rule; repeat: null stops it, and then completing completes', async () => {
    const user = newUser();
    const task = await add(user, {
      title: 'review',
      dueDate: '2026-12-07',
      dueTime: '10:00',
      repeat: 'FREQ=WEEKLY',
    });
    const moved = await patch(user, task.id, { dueDate: '2026-12-09', title: 'weekly review' });
    expect(moved).toMatchObject({ dueDate: '2026-12-09', dueTime: '10:00', repeat: 'FREQ=WEEKLY' });
    // The series follows the new date: a week after the Wednesday.
    expect(await patch(user, task.id, { completed: true })).toMatchObject({ dueDate: '2026-12-16' });
    expect(await patch(user, task.id, { repeat: null })).toMatchObject({
      repeat: null,
      dueDate: '2026-12-16',
    });
    expect(await patch(user, task.id, { completed: true })).toMatchObject({
      completed: true,
      dueDate: '2026-12-16',
    });
    // Clearing the due date takes its time (and any repeat) with it.
    expect(await patch(user, task.id, { dueDate: null })).toMatchObject({ dueDate: null, dueTime: null });
  });

  it('lists tasks due today, overdue and this week in the caller’s zone', async () => {
    const user = newUser();
    // Far east and far west of UTC: "today" differs between them for most of the day, or not.
    for (const zone of ['Pacific/Kiritimati', 'Pacific/Pago_Pago']) {
      const today = dayIn(zone);
      const ids = async (due: string) =>
        (await ok<{ tasks: Task[] }>(await send(user, 'GET', `/tasks?due=${due}`, undefined, zone))).tasks
          .filter((task) => task.title.startsWith(zone))
          .map((task) => task.title.slice(zone.length + 1));
      await add(user, { title: `${zone} today`, dueDate: today });
      await add(user, { title: `${zone} yesterday`, dueDate: plusDays(today, -1) });
      await add(user, { title: `${zone} done yesterday`, dueDate: plusDays(today, -1) }).then((task) =>
        patch(user, task.id, { completed: true }),
      );
      await add(user, { title: `${zone} in 6 days`, dueDate: plusDays(today, 6) });
      await add(user, { title: `${zone} in 7 days`, dueDate: plusDays(today, 7) });
      await add(user, { title: `${zone} undated` });
      expect(await ids('today')).toEqual(['today']);
      expect(await ids('overdue')).toEqual(['yesterday']);
      expect(await ids('week')).toEqual(['in 6 days', 'today']);
    }
    expect((await send(user, 'GET', '/tasks?due=tomorrow')).status).toBe(400);
  });

  it('takes the new arguments over MCP: add, list by due, reschedule and complete a repeating task', async () => {
    const user = newUser();
    const mcp = new Client({ name: 'taskchat-test', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL('http://localhost/mcp'), {
        requestInit: { headers: { 'x-user-id': user } },
        fetch: async (url, init) => app.request(String(url), init),
      }),
    );
    try {
      const call = async (name: string, args: Record<string, unknown>) =>
        (await mcp.callTool({ name, arguments: args })).structuredContent as Task & { error?: string };
      const added = await call('add_task', {
        title: 'yoga',
        repeat: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR',
        due_date: '2026-12-05',
        due_time: '07:00',
        reminder: '2026-12-07T06:50:00Z',
      });
      expect(added).toMatchObject({
        dueDate: '2026-12-07',
        dueTime: '07:00',
        repeat: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR',
      });
      const week = (await call('list_tasks', { due: 'week' })) as unknown as { tasks: Task[] };
      expect(Array.isArray(week.tasks)).toBe(true);
      const friday = await call('update_task', { task_id: added.id, due_date: '2026-12-11' });
      expect(friday).toMatchObject({ dueDate: '2026-12-11', repeat: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR' });
      // Friday's next weekday is Monday; the reminder keeps its 10 minutes before 07:00.
      const done = await call('complete_task', { task_id: added.id });
      expect(done).toMatchObject({
        completed: false,
        dueDate: '2026-12-14',
        reminder: '2026-12-14T06:50:00.000Z',
      });
      const stopped = await call('update_task', { task_id: added.id, repeat: null, reminder: null });
      expect(stopped).toMatchObject({ repeat: null, reminder: null, dueDate: '2026-12-14' });
      const bad = await mcp.callTool({ name: 'add_task', arguments: { title: 'x', repeat: 'every day' } });
      expect(bad.isError).toBe(true);
    } finally {
      await mcp.close();
    }
  });
});
