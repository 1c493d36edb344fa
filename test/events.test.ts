// Live events (GET /events, issue 22) through the real interface: two app instances on one real
// database, each behind its own HTTP listener and each with its own listening connection (as two
// processes behind a load balancer would be). Changes are made through instance B (REST and MCP)
// and read as server-sent events from instance A.
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { Drain } from '../src/http/drain.ts';
import { createLogger } from '../src/log.ts';
import { createTestApp, type Listener, listen, type TestApp } from './support/app.ts';
import { createTestDb, type TestDb, testDrivers } from './support/db.ts';
import { type EventStreamClient, openEventStream, type ServerSentEvent } from './support/event-stream.ts';

type Instance = { app: TestApp; http: Listener; drain: Drain; logs: string[] };

const HEARTBEAT_MS = 150;
const newUser = () => `u-${randomUUID()}`;
const isTask = (e: ServerSentEvent) => e.event === 'task';
const changeOf = (e: ServerSentEvent) => JSON.parse(e.data);

describe.each(testDrivers)('live events on two instances (%s)', (driver) => {
  let db: TestDb;
  let a: Instance;
  let b: Instance;
  const streams: EventStreamClient[] = [];
  const clients: Client[] = [];
  /** Every statement either instance sent (they share the database handle). */
  const statements: string[] = [];
  /** The live read of a user's changes (events/reads.ts `changesAfter`). */
  const liveReads = () => statements.filter((text) => text.includes('as change from (')).length;

  async function instance(): Promise<Instance> {
    const drain = new Drain();
    const logs: string[] = [];
    const logger = createLogger('warn', (line) => logs.push(line));
    const app = createTestApp(db, { drain, logger, eventHeartbeatMs: HEARTBEAT_MS });
    return { app, drain, logs, http: await listen(app.fetch) };
  }

  async function events(on: Instance, userId: string, headers: Record<string, string> = {}, query = '') {
    const stream = await openEventStream(`${on.http.url}/events${query}`, {
      'x-user-id': userId,
      ...headers,
    });
    streams.push(stream);
    return stream;
  }

  async function addTask(on: Instance, userId: string, title: string) {
    const res = await fetch(`${on.http.url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': userId },
      body: JSON.stringify({ title }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: number; title: string };
  }

  async function mcp(on: Instance, userId: string): Promise<Client> {
    const client = new Client({ name: 'events-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', on.http.url), {
        requestInit: { headers: { 'x-user-id': userId } },
      }),
    );
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    db = await createTestDb(driver, { onStatement: (text) => statements.push(text) });
    a = await instance();
    b = await instance();
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    for (const client of clients) await client.close().catch(() => {});
    await a?.http.close();
    await b?.http.close();
    await db?.drop();
  });

  it('sends a change made through instance B (REST) to a stream on instance A within a second', async () => {
    const u = newUser();
    const stream = await events(a, u);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const task = await addTask(b, u, 'Buy milk');
    const event = await stream.waitFor(isTask, 1000);
    const change = changeOf(event);
    expect(change).toMatchObject({ taskId: task.id, action: 'add', source: 'rest', before: null });
    expect(change.after).toMatchObject({ id: task.id, title: 'Buy milk', completed: false });
    // The id is the change id, and the event is the change exactly as GET /changes shows it.
    expect(event.id).toBe(String(change.id));
    const log = await fetch(`${b.http.url}/changes`, { headers: { 'x-user-id': u } });
    expect(((await log.json()) as { changes: unknown[] }).changes[0]).toEqual(change);
  });

  it('sends a change made over MCP on instance B, and every later one in order', async () => {
    const u = newUser();
    const stream = await events(a, u);
    const client = await mcp(b, u);
    await client.callTool({ name: 'add_task', arguments: { title: 'Call the dentist' } });
    await client.callTool({ name: 'complete_task', arguments: { task_id: 1 } });
    await stream.waitFor((e) => isTask(e) && changeOf(e).action === 'complete');
    const changes = stream.events.filter(isTask).map(changeOf);
    expect(changes.map((c) => [c.id, c.action, c.source])).toEqual([
      [1, 'add', 'mcp'],
      [2, 'complete', 'mcp'],
    ]);
  });

  it("never sends another user's changes", async () => {
    const u = newUser();
    const v = newUser();
    const mine = await events(a, v);
    await addTask(b, u, 'Not for v');
    await addTask(a, u, 'Not for v either');
    await addTask(b, v, 'For v');
    await mine.waitFor(isTask);
    // v's own change came after both of u's: had u's been sent, they would be here first.
    expect(mine.events.filter(isTask).map((e) => changeOf(e).after.title)).toEqual(['For v']);
  });

  it('replays what a reconnecting client missed after its Last-Event-ID, then follows live, without gap or duplicate', async () => {
    const u = newUser();
    const first = await events(a, u);
    await addTask(b, u, 'one');
    await addTask(b, u, 'two');
    const seen = await first.waitFor((e) => isTask(e) && changeOf(e).after.title === 'two');
    first.close();
    await first.ended;
    await addTask(b, u, 'three');
    await addTask(a, u, 'four');

    const again = await events(a, u, { 'last-event-id': seen.id as string });
    await again.waitFor((e) => isTask(e) && changeOf(e).after.title === 'four');
    await addTask(b, u, 'five');
    await again.waitFor((e) => isTask(e) && changeOf(e).after.title === 'five');
    expect(again.events.filter(isTask).map((e) => [e.id, changeOf(e).after.title])).toEqual([
      ['3', 'three'],
      ['4', 'four'],
      ['5', 'five'],
    ]);

    // The query parameter does the same for clients that cannot set headers.
    const byQuery = await events(b, u, {}, '?lastEventId=3');
    await byQuery.waitFor((e) => e.id === '5');
    expect(byQuery.events.filter(isTask).map((e) => e.id)).toEqual(['4', '5']);
  });

  it('keeps the changes of a burst in order, each once, on every stream of the user', async () => {
    const u = newUser();
    const tabs = [await events(a, u), await events(a, u), await events(b, u)];
    await Promise.all(Array.from({ length: 12 }, (_, i) => addTask(i % 2 ? a : b, u, `burst ${i}`)));
    for (const tab of tabs) {
      await tab.waitFor((e) => e.id === '12');
      expect(tab.events.filter(isTask).map((e) => Number(e.id))).toEqual(
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
    }
  });

  it.skipIf(driver === 'pglite')(
    'keeps following after the listening connection was cut: a change made meanwhile still arrives',
    async () => {
      const u = newUser();
      const stream = await events(a, u);
      await addTask(b, u, 'before');
      await stream.waitFor(isTask);
      // Every listening connection to this database (both instances') is cut, as a restart would.
      const cut = await db.database.run((d) =>
        queryRows(
          d,
          sql`select pg_terminate_backend(pid) from pg_stat_activity
              where application_name = 'taskchat-listen' and datname = current_database()`,
        ),
      );
      expect(cut.length).toBeGreaterThanOrEqual(1);
      await addTask(b, u, 'meanwhile');
      await stream.waitFor((e) => isTask(e) && changeOf(e).after.title === 'meanwhile', 10_000);
      await addTask(b, u, 'after');
      await stream.waitFor((e) => isTask(e) && changeOf(e).after.title === 'after');
      expect(stream.events.filter(isTask).map((e) => e.id)).toEqual(['1', '2', '3']);
      expect(a.logs.join('')).toContain('live notifications lost their database connection; reconnecting');
    },
  );

  it('reads a change once for all the streams of its user, and not at all for the others', async () => {
    const u = newUser();
    const tabs = await Promise.all(Array.from({ length: 40 }, () => events(a, u)));
    const others = await Promise.all(Array.from({ length: 40 }, () => events(a, newUser())));
    const before = liveReads();
    await addTask(b, u, 'one read');
    for (const tab of tabs) await tab.waitFor(isTask);
    expect(liveReads() - before).toBe(1);
    // Another user's change: only their own streams' read, none for u's 40.
    const someone = newUser();
    const theirs = await events(a, someone);
    const again = liveReads();
    await addTask(b, someone, 'theirs');
    await theirs.waitFor(isTask);
    expect(liveReads() - again).toBe(1);
    for (const stream of [...tabs, ...others])
      expect(stream.events.filter(isTask)).toHaveLength(tabs.includes(stream) ? 1 : 0);
  });

  it('writes a comment line at the heartbeat interval', async () => {
    const stream = await events(a, newUser());
    await stream.waitForComments(3, 20 * HEARTBEAT_MS);
    expect(stream.comments).toContain('keep-alive');
    expect(stream.events).toEqual([]);
  });

  it('sends a delivered reminder once, to its user only, without an id', async () => {
    const u = newUser();
    const other = newUser();
    const task = await addTask(b, u, 'Pay rent');
    const stream = await events(a, u);
    const bystander = await events(a, other);
    const taskJson = { ...task, completed: false };
    const deliver = (deliveryId: string, userId: string, late: boolean) =>
      db.database.run((d) =>
        queryRows(
          d,
          sql`with delivered as (
                insert into reminder_deliveries (id, user_id, task_id, remind_at, late, task)
                values (${deliveryId}, ${userId}, ${task.id}, now(), ${late}, ${JSON.stringify(taskJson)}::jsonb)
                on conflict (id) do nothing returning id, user_id)
              select pg_notify('taskchat_events',
                json_build_object('type', 'reminder', 'userId', user_id, 'deliveryId', id)::text)
              from delivered`,
        ),
      );
    const notifyAgain = (deliveryId: string, userId: string) =>
      db.database.run((d) =>
        queryRows(
          d,
          sql`select pg_notify('taskchat_events',
                json_build_object('type', 'reminder', 'userId', ${userId}::text, 'deliveryId', ${deliveryId}::text)::text)`,
        ),
      );
    const deliveryId = randomUUID();
    await deliver(deliveryId, u, true);
    const reminder = await stream.waitFor((e) => e.event === 'reminder');
    expect(reminder.id).toBeUndefined();
    expect(JSON.parse(reminder.data)).toEqual({ task: taskJson, late: true });
    // The same delivery announced again (a retried job), then a change as a marker that it was heard.
    await notifyAgain(deliveryId, u);
    // Someone else's delivery id, announced as if it were this user's: not sent.
    const foreign = randomUUID();
    await deliver(foreign, other, false);
    await notifyAgain(foreign, u);
    await addTask(b, u, 'marker');
    await stream.waitFor(isTask);
    expect(stream.events.filter((e) => e.event === 'reminder')).toHaveLength(1);
    await bystander.waitFor((e) => e.event === 'reminder');
    expect(JSON.parse((bystander.events[0] as ServerSentEvent).data)).toEqual({
      task: taskJson,
      late: false,
    });
  });

  it('refuses a Last-Event-ID that is not a change id, and anonymous callers', async () => {
    const bad = await fetch(`${a.http.url}/events`, {
      headers: { 'x-user-id': newUser(), 'last-event-id': 'abc' },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.code).toBe('invalid_request');
    const anonymous = await fetch(`${a.http.url}/events`);
    expect(anonymous.status).toBe(401);
  });

  it('counts open streams in /metrics; a HEAD request opens none', async () => {
    const before = await openStreams(a);
    const head = await fetch(`${a.http.url}/events`, { method: 'HEAD', headers: { 'x-user-id': newUser() } });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await openStreams(a)).toBe(before);
    const stream = await events(a, newUser());
    expect(await openStreams(a)).toBe(before + 1);
    stream.close();
    await stream.ended;
    await expect.poll(() => openStreams(a)).toBe(before);
  });

  it('ends every stream when the instance drains, and opens none after', async () => {
    const drained = await instance();
    try {
      const stream = await openEventStream(`${drained.http.url}/events`, { 'x-user-id': newUser() });
      await stream.waitForComments(1);
      drained.drain.begin();
      await stream.ended;
      const refused = await fetch(`${drained.http.url}/events`, { headers: { 'x-user-id': newUser() } });
      expect(refused.status).toBe(503);
    } finally {
      await drained.http.close();
    }
  });
});

async function openStreams(on: Instance): Promise<number> {
  const text = await (await fetch(`${on.http.url}/metrics`)).text();
  return Number(/^taskchat_event_streams_open (\d+)$/m.exec(text)?.[1]);
}
