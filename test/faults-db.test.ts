// Fault tests, the database side (issue 9): a private Postgres cluster behind our own TCP fault
// proxy, so a test can cut, stall or slow the database at any moment of a turn, through HTTP
// POST /chat. Leases are long here (TURN_LEASE_MS = 10 minutes): when a conversation accepts a
// turn again, it is because the living process ended what it held, not because a lease expired.
// At the end the invariants are checked in SQL and everything the app said is searched for leaks.
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.ts';
import { startServer } from '../src/server.ts';
import { testConfig } from './support/db.ts';
import { type FakeOpenAI, type FakeReply, startFakeOpenAI } from './support/fake-openai.ts';
import { type FaultApp, findLeaks, newTranscript, startFaultApp } from './support/fault-app.ts';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy.ts';
import { type AnsweredTurn, checkInvariants } from './support/invariants.ts';
import { type PgCluster, startPgCluster } from './support/pg-cluster.ts';
import { sleep } from './support/sleep.ts';

/** Polls `check` until it holds; fails naming `what` after `ms` (a bound, not a speed assertion). */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

const transcript = newTranscript();
const answered: AnsweredTurn[] = [];
let cluster: PgCluster;
let directUrl: string;
let proxy: FaultProxy;
let fake: FakeOpenAI;
let h: FaultApp;
let seq = 0;
const newUser = () => `db-fault-${++seq}`;

/** A model that waits at a gate until `open()`, so a test acts while turns certainly run. */
function gate(reply: (req: any) => FakeReply) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  let calls = 0;
  fake.setScript(async (req) => {
    calls++;
    await opened;
    return reply(req);
  });
  return { open, calls: () => calls };
}

const defaultReply = (req: any): FakeReply =>
  req.messages.at(-1)?.role === 'tool' ? { text: 'Done.' } : { text: 'OK.' };

async function sql<T = any>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: directUrl });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

const leasesHeld = async () =>
  (
    await sql<{ n: number }>('select count(*)::int as n from conversations where lease_turn_id is not null')
  )[0]?.n ?? -1;

/** POST /chat that must answer 200: recorded for the "every 200 answer is stored" invariant. */
async function say(user: string, body: Record<string, unknown>) {
  const res = await h.chat(user, body);
  expect(res.status, res.text).toBe(200);
  const answer = res.json();
  answered.push({
    userId: user,
    conversationId: answer.conversationId,
    messageId: answer.messageId,
    reply: answer.reply,
  });
  return answer;
}

beforeAll(async () => {
  cluster = await startPgCluster();
  directUrl = await cluster.createDatabase();
  proxy = await startFaultProxy({ host: cluster.host, port: cluster.port });
  fake = await startFakeOpenAI();
  h = await startFaultApp({
    databaseUrl: proxy.urlFor(directUrl),
    fake,
    transcript,
    env: { DB_STATEMENT_TIMEOUT_MS: '1000', TURN_LEASE_MS: '600000', DB_POOL_MAX: '4' },
    resilience: { openMs: 1000 },
  });
});
afterAll(async () => {
  proxy?.heal();
  await h?.close();
  await proxy?.close();
  await fake?.close();
  await cluster?.destroy();
});

/** Waits until the app reaches the database again (its breaker closed, its pool working). */
async function databaseBack() {
  await until(
    'the app reaches the database again',
    async () => (await h.get('probe', '/tasks')).status === 200,
  );
}

describe('defect 1: a turn always ends', () => {
  it('turns whose END TURN met an outage release their conversations once the database is back', async () => {
    const users = [newUser(), newUser(), newUser()];
    const model = gate(() => ({ text: 'too late' }));
    const turns = users.map((user, i) => h.chat(user, { message: 'hello', messageId: `stranded-${i}` }));
    await until('every turn reached the model', () => model.calls() === users.length);
    proxy.cut();
    model.open();
    const failed = await Promise.all(turns);
    expect(failed.map((r) => [r.status, r.json().error.code])).toEqual(
      users.map(() => [503, 'db_unavailable']),
    );
    expect(failed[0]?.headers.get('retry-after')).toMatch(/^\d+$/);
    fake.setScript(defaultReply);

    proxy.heal();
    await until('no conversation is leased', async () => (await leasesHeld()) === 0);
    // Each conversation takes a new turn, and the failed send runs again without a second user message.
    for (const [i, user] of users.entries()) {
      const answer = await say(user, { message: 'hello', messageId: `stranded-${i}` });
      const [row] = await sql<{ n: number }>(
        `select count(*)::int as n from messages where conversation_id = $1 and role = 'user'`,
        [answer.conversationId],
      );
      expect(row?.n).toBe(1);
    }
  });

  it('a BEGIN TURN that commits after its client gave up does not hold the conversation', async () => {
    const user = newUser();
    const first = await say(user, { message: 'warm up' }); // an open pooled connection to stall
    proxy.stall();
    const late = await h.chat(user, {
      message: 'hello',
      conversationId: first.conversationId,
      messageId: 'late-begin',
    });
    expect(late.status).toBe(503);
    expect(late.json().error).toEqual({
      code: 'db_unavailable',
      message: 'The database did not answer in time; try again shortly',
      requestId: expect.any(String),
    });
    proxy.heal(); // the stalled BEGIN TURN now reaches Postgres and commits
    await until('the late BEGIN TURN committed', async () => {
      const rows = await sql('select 1 from turns where user_id = $1 and message_id = $2', [
        user,
        'late-begin',
      ]);
      return rows.length === 1;
    });
    await until('no conversation is leased', async () => (await leasesHeld()) === 0);
    await databaseBack();
    const again = await say(user, {
      message: 'hello',
      conversationId: first.conversationId,
      messageId: 'late-begin',
    });
    expect(again.reply).toBe('OK.');
    const rows = await sql(
      `select count(*)::int as n from messages where conversation_id = $1 and role = 'user'`,
      [first.conversationId],
    );
    expect(rows[0].n).toBe(2);
  });
});

describe('defects 3 and 5: a database that does not answer in time', () => {
  it('a tool statement cancelled by the statement timeout answers 503, not a tool result carrying SQL', async () => {
    const user = newUser();
    const locker = new pg.Client({ connectionString: directUrl });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table tasks in access exclusive mode');
      fake.reply({ toolCalls: [{ name: 'add_task', args: { title: 'buy milk' } }] });
      const res = await h.chat(user, { message: 'add buy milk', messageId: 'locked' });
      expect(res.status, res.text).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(res.json().error.message).toBe('The database did not answer in time; try again shortly');
    } finally {
      await locker.query('rollback');
      await locker.end();
    }
    await until('no conversation is leased', async () => (await leasesHeld()) === 0);
    // Nothing was added; sent again, it is added once.
    fake.reply({ toolCalls: [{ name: 'add_task', args: { title: 'buy milk' } }] }, { text: 'Added.' });
    await say(user, { message: 'add buy milk', messageId: 'locked' });
    expect((await h.get(user, '/tasks')).json().tasks).toHaveLength(1);
  });

  it('a stalled database answers 503 with Retry-After to reads, and the stream says so in the contract words', async () => {
    const user = newUser();
    await say(user, { message: 'warm up' });
    proxy.stall();
    const tasks = await h.get(user, '/tasks');
    expect(tasks.status).toBe(503);
    expect(tasks.headers.get('retry-after')).toMatch(/^\d+$/);
    proxy.heal();
    await databaseBack();

    // Mid-stream: the tool's statement stalls after the stream started.
    const model = gate((req) =>
      req.messages.at(-1)?.role === 'tool'
        ? { text: 'Done.' }
        : { toolCalls: [{ name: 'list_tasks', args: {} }] },
    );
    const streamed = h.chat(user, { message: 'list' }, { accept: 'text/event-stream' });
    await until('the model was called', () => model.calls() === 1);
    proxy.stall();
    model.open();
    const res = await streamed;
    proxy.heal();
    fake.setScript(defaultReply);
    const errors = res.text
      .split('\n\n')
      .map((e) => e.replace(/^data: /, ''))
      .filter((e) => e.startsWith('{"type":"error"'));
    expect(errors.map((e) => JSON.parse(e).errorText)).toEqual([
      'The database did not answer in time; try again shortly',
    ]);
    await until('no conversation is leased', async () => (await leasesHeld()) === 0);
    await databaseBack();
  });
});

describe('defect 6: a change whose answer was lost', () => {
  it('is made once: the re-run finds it recorded and answers from the record', async () => {
    const user = newUser();
    await say(user, { message: 'warm up' });
    const model = gate((req) =>
      req.messages.at(-1)?.role === 'tool'
        ? { text: 'Added.' }
        : { toolCalls: [{ name: 'add_task', args: { title: 'water plants' } }] },
    );
    const turn = h.chat(user, { message: 'add water plants', messageId: 'lost-answer' });
    await until('the model was called', () => model.calls() === 1);
    proxy.stall(); // the INSERT goes out and waits in the proxy; its client gives up
    model.open();
    const res = await turn;
    expect(res.status).toBe(503);
    expect(res.json().error.message).toBe('The database did not answer in time; try again shortly');
    proxy.heal(); // the INSERT reaches Postgres and commits, with its record
    await until('no conversation is leased', async () => (await leasesHeld()) === 0);
    await databaseBack();
    expect((await h.get(user, '/tasks')).json().tasks.map((t: any) => t.title)).toEqual(['water plants']);

    // The same naive model calls the same tool again.
    const answer = await say(user, { message: 'add water plants', messageId: 'lost-answer' });
    fake.setScript(defaultReply);
    const tasks = (await h.get(user, '/tasks')).json().tasks;
    expect(tasks.map((t: any) => t.title)).toEqual(['water plants']);
    expect(answer.toolCalls.every((c: any) => c.result.id === tasks[0].id)).toBe(true);
    expect(answer.toolCalls.some((c: any) => 'error' in c.result)).toBe(false);
  });
});

describe('defect 9: an outage in the middle of a stream', () => {
  it('ends the stream with the contract sentence', async () => {
    const user = newUser();
    await say(user, { message: 'warm up' });
    const model = gate((req) =>
      req.messages.at(-1)?.role === 'tool'
        ? { text: 'Done.' }
        : { toolCalls: [{ name: 'list_tasks', args: {} }] },
    );
    const streamed = h.chat(user, { message: 'list' }, { accept: 'text/event-stream' });
    await until('the model was called', () => model.calls() === 1);
    proxy.cut();
    model.open();
    const res = await streamed;
    fake.setScript(defaultReply);
    expect(res.text).toContain('"errorText":"The database is unavailable; try again shortly"');
    expect(res.text).not.toMatch(/"errorText":"database unavailable"/);
    proxy.heal();
    await until('no conversation is leased', async () => (await leasesHeld()) === 0);
    await databaseBack();
  });
});

describe('defect 4: SIGTERM drains', () => {
  it('stops taking turns on every connection, lets the running turn finish and be stored, then closes', async () => {
    const config = testConfig({
      DATABASE_URL: directUrl,
      DB_DRIVER: 'pg',
      PORT: '0',
      OPENAI_BASE_URL: fake.baseURL,
      OPENAI_API_KEY: 'k',
      CHAT_MODEL: 'fake',
      MODEL_MAX_RETRIES: '0',
      RATE_LIMIT_TURNS_PER_MINUTE: '0',
    });
    const server = await startServer(
      config,
      createLogger('debug', (line) => transcript.logs.push(line)),
    );
    const { port } = new URL(server.url);
    const model = gate(() => ({ toolCalls: [{ name: 'add_task', args: { title: 'finish me' } }] }));
    // A kept-alive connection: its first request runs a turn across the start of the drain, and
    // the client sends its next request on the same connection as soon as the answer is in.
    const socket = net.connect({ host: '127.0.0.1', port: Number(port) });
    let received = '';
    let closed = false;
    socket.on('data', (b) => {
      received += b.toString();
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => {});
    const request = (message: string) => {
      const body = JSON.stringify({ message, messageId: `drain-${message}` });
      return `POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nX-User-Id: drainer\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    socket.write(request('first'));
    await until('the first turn reached the model', () => model.calls() === 1);

    const closing = server.close(20_000);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(503);
    const refused = await fetch(`${server.url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': 'drainer' },
      body: JSON.stringify({ message: 'too late' }),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.headers.get('connection')).toBe('close');
    expect((await refused.json()).error.code).toBe('draining');

    fake.setScript((req) => (req.messages.at(-1)?.role === 'tool' ? { text: 'Finished.' } : { text: 'no' }));
    model.open();
    await until('the first answer arrived', () => /Finished\./.test(received));
    if (!closed) socket.write(request('second'));
    await closing;
    await until('the connection is closed', () => closed);
    fake.setScript(defaultReply);
    const statuses = [...received.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => Number(m[1]));
    expect(statuses[0]).toBe(200);
    // The second request on the same connection was not served a turn.
    expect(statuses.slice(1).every((s) => s === 503)).toBe(true);
    const turns = await sql<{ message_id: string; status: string }>(
      `select message_id, status from turns where user_id = 'drainer' order by message_id`,
    );
    expect(turns).toEqual([{ message_id: 'drain-first', status: 'done' }]);
  });
});

describe('defect 4: a turn still running at the end of the grace period', () => {
  it('is stopped and ended as a failed turn: its lease released, its change recorded, then the server closes', async () => {
    const config = testConfig({
      DATABASE_URL: directUrl,
      DB_DRIVER: 'pg',
      PORT: '0',
      OPENAI_BASE_URL: fake.baseURL,
      OPENAI_API_KEY: 'k',
      CHAT_MODEL: 'fake',
      MODEL_MAX_RETRIES: '0',
      RATE_LIMIT_TURNS_PER_MINUTE: '0',
      TURN_LEASE_MS: '600000',
    });
    const server = await startServer(
      config,
      createLogger('debug', (line) => transcript.logs.push(line)),
    );
    // The model adds a task, then never answers again.
    let adds = 0;
    fake.setScript(async (req) => {
      if (req.messages.at(-1)?.role !== 'tool') {
        adds++;
        return { toolCalls: [{ name: 'add_task', args: { title: 'half done' } }] };
      }
      return { hang: true };
    });
    const running = fetch(`${server.url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': 'cut-off' },
      body: JSON.stringify({ message: 'add half done', messageId: 'cut-off-1' }),
    });
    await until(
      'the task was added',
      async () => adds === 1 && (await sql(`select 1 from tasks where user_id = 'cut-off'`)).length === 1,
    );
    await server.close(2000);
    const res = await running;
    fake.setScript(defaultReply);
    expect(res.status).toBe(503);
    expect((await res.json()).error.code).toBe('draining');
    expect(await leasesHeld()).toBe(0);
    const turns = await sql(`select status from turns where user_id = 'cut-off'`);
    expect(turns).toEqual([{ status: 'failed' }]);
    // Sent again (to another instance: here, the test's app), the change is not made twice.
    fake.reply({ toolCalls: [{ name: 'add_task', args: { title: 'half done' } }] }, { text: 'Added.' });
    const again = await say('cut-off', { message: 'add half done', messageId: 'cut-off-1' });
    expect(again.toolCalls.map((c: any) => c.result.title)).toEqual(['half done', 'half done']);
    expect((await sql(`select title from tasks where user_id = 'cut-off'`)).length).toBe(1);
  });
});

describe('after every fault of this file', () => {
  it('the invariants hold in SQL and nothing the app said leaks internals', async () => {
    const violations = await checkInvariants(directUrl, answered);
    expect(violations).toEqual([]);
    const stored = await sql<{ text: string }>(
      `select content::text as text from messages union all select coalesce(answer::text, '') from turns`,
    );
    expect(findLeaks([...transcript.responses, ...transcript.logs, ...stored.map((r) => r.text)])).toEqual(
      [],
    );
  });
});
