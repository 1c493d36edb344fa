// Approvals through the contract body: a destructive call waits (stored in Postgres, listed in the
// JSON answer and in GET /conversations/:id/messages), the next send decides it, and only the
// decision comes from the client. Concurrency, restarts, expiry, another user's ids and bad
// bodies, through the real app over a real database and the real OpenAI provider.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase } from '../src/db/client.ts';
import { Inflight } from '../src/http/inflight.ts';
import { type ChatHarness, createTestApp, startChatApp } from './support/app.ts';
import { approvalScript } from './support/approvals.ts';
import { testDrivers } from './support/db.ts';

type Answer = {
  conversationId: string;
  messageId: string;
  reply: string;
  toolCalls: { name: string; args: any; result: any }[];
  pendingApprovals?: { id: string; toolName: string; args: any }[];
};

describe.each(testDrivers)('approvals on %s', (driver) => {
  let h: ChatHarness;
  let user = '';
  let n = 0;

  beforeAll(async () => {
    h = await startChatApp(driver, { env: { APPROVAL_POLICY: 'destructive' } });
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => {
    h.fake.setScript(approvalScript);
    user = `approver-${++n}`;
  });

  async function addTask(title: string): Promise<number> {
    const res = await h.app.request('/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': user },
      body: JSON.stringify({ title }),
    });
    return ((await res.json()) as { id: number }).id;
  }
  async function send(body: unknown, who = user): Promise<{ status: number; body: any }> {
    const res = await h.chat(who, body);
    return { status: res.status, body: await res.json() };
  }
  /** Asks to delete a new task: the answer that waits. */
  async function askToDelete(title = 'old report') {
    const id = await addTask(title);
    const asked = await send({ message: `delete ${id}` });
    expect(asked.status).toBe(200);
    return { taskId: id, answer: asked.body as Answer };
  }

  it('a destructive call waits: nothing is deleted, the answer lists it, the history shows it', async () => {
    const { taskId, answer } = await askToDelete();
    expect(answer.toolCalls).toEqual([]);
    expect(answer.pendingApprovals).toEqual([
      { id: expect.any(String), toolName: 'delete_task', args: { task_id: taskId } },
    ]);
    expect((await h.tasks(user)).map((t) => t.id)).toEqual([taskId]);
    const messages = (await (
      await h.get(user, `/conversations/${answer.conversationId}/messages`)
    ).json()) as any;
    const assistant = messages.messages.at(-1);
    expect(assistant.role).toBe('assistant');
    expect(assistant.parts).toEqual([
      expect.objectContaining({
        type: 'tool-delete_task',
        state: 'approval-requested',
        input: { task_id: taskId },
        approval: { id: answer.pendingApprovals?.[0]?.id },
      }),
    ]);
  });

  it('approved: the stored call runs and the model goes on in the same answer', async () => {
    const { taskId, answer } = await askToDelete();
    const id = answer.pendingApprovals?.[0]?.id;
    const decided = await send({
      conversationId: answer.conversationId,
      approvals: [{ id, approved: true }],
    });
    expect(decided.status).toBe(200);
    expect(decided.body.toolCalls).toEqual([
      { name: 'delete_task', args: { task_id: taskId }, result: expect.objectContaining({ deleted: true }) },
    ]);
    expect(decided.body.reply).toContain('Tool said');
    expect(decided.body.pendingApprovals).toBeUndefined();
    expect(await h.tasks(user)).toEqual([]);
    const messages = (await (
      await h.get(user, `/conversations/${answer.conversationId}/messages`)
    ).json()) as any;
    expect(messages.messages.map((m: any) => m.role)).toEqual(['user', 'assistant']);
    expect(messages.messages[1].parts).toEqual([
      expect.objectContaining({
        type: 'tool-delete_task',
        state: 'output-available',
        approval: { id, approved: true },
      }),
      expect.objectContaining({ type: 'text' }),
    ]);
    // Decided: the same decision again replays, another one is refused.
    const again = await send({ conversationId: answer.conversationId, approvals: [{ id, approved: true }] });
    expect(again.body).toEqual(decided.body);
    const other = await send({ conversationId: answer.conversationId, approvals: [{ id, approved: false }] });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('approval_not_pending');
  });

  it('denied: nothing changes and the model is told', async () => {
    const { taskId, answer } = await askToDelete();
    const id = answer.pendingApprovals?.[0]?.id;
    const decided = await send({
      conversationId: answer.conversationId,
      approvals: [{ id, approved: false, reason: 'keep it' }],
    });
    expect(decided.status).toBe(200);
    expect(decided.body.toolCalls).toEqual([]);
    expect(decided.body.reply).toContain('keep it');
    expect((await h.tasks(user)).map((t) => t.id)).toEqual([taskId]);
    const messages = (await (
      await h.get(user, `/conversations/${answer.conversationId}/messages`)
    ).json()) as any;
    expect(messages.messages[1].parts[0]).toMatchObject({
      state: 'output-denied',
      approval: { id, approved: false, reason: 'keep it' },
    });
  });

  it('two decisions at once: exactly one applies', async () => {
    const { answer } = await askToDelete();
    const id = answer.pendingApprovals?.[0]?.id;
    const results = await Promise.all([
      send({ conversationId: answer.conversationId, approvals: [{ id, approved: true }] }),
      send({ conversationId: answer.conversationId, approvals: [{ id, approved: false }] }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const winner = results.find((r) => r.status === 200)?.body as Answer;
    const deleted = winner.toolCalls.length === 1;
    expect((await h.tasks(user)).length).toBe(deleted ? 0 : 1);
  });

  it('a decision survives a restart: another app on the same database decides it', async () => {
    const { answer } = await askToDelete();
    const id = answer.pendingApprovals?.[0]?.id;
    // A new process: its own app, connections and in-flight set; nothing shared but Postgres.
    const database = driver === 'pglite' ? h.db.database : await createDatabase(h.db.config.db);
    const app = createTestApp({ config: h.db.config, database }, { inflight: new Inflight() });
    try {
      const res = await app.request('/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-id': user },
        body: JSON.stringify({ conversationId: answer.conversationId, approvals: [{ id, approved: true }] }),
      });
      expect(res.status).toBe(200);
      expect(await h.tasks(user)).toEqual([]);
    } finally {
      if (database !== h.db.database) await database.close();
    }
  });

  it('a new message supersedes: the approval can no longer be decided and the model is told', async () => {
    const { taskId, answer } = await askToDelete();
    const id = answer.pendingApprovals?.[0]?.id;
    let told = '';
    h.fake.setScript((req) => {
      told = JSON.stringify(req.messages);
      return { text: 'OK.' };
    });
    await send({ conversationId: answer.conversationId, message: 'never mind' });
    expect(told).toContain('did not get');
    const late = await send({ conversationId: answer.conversationId, approvals: [{ id, approved: true }] });
    expect(late.status).toBe(409);
    expect((await h.tasks(user)).map((t) => t.id)).toEqual([taskId]);
    const messages = (await (
      await h.get(user, `/conversations/${answer.conversationId}/messages`)
    ).json()) as any;
    expect(messages.messages[1].parts[0]).toMatchObject({
      state: 'output-denied',
      approval: { reason: 'superseded' },
    });
  });

  it('an expired approval is refused, and a reload no longer offers it', async () => {
    const { answer } = await askToDelete();
    const id = answer.pendingApprovals?.[0]?.id as string;
    const partOf = async () =>
      ((await (await h.get(user, `/conversations/${answer.conversationId}/messages`)).json()) as any)
        .messages[1].parts[0];
    expect(await partOf()).toMatchObject({ state: 'approval-requested', approval: { id } });
    // The clock moved on: a TTL ago is now.
    await h.db.database.run((db) =>
      db.execute(sql`update approvals set expires_at = now() - interval '1 second' where id = ${id}`),
    );
    expect(await partOf()).toMatchObject({ state: 'output-denied', approval: { id, reason: 'expired' } });
    const late = await send({ conversationId: answer.conversationId, approvals: [{ id, approved: true }] });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('approval_not_pending');
    expect(await h.tasks(user)).toHaveLength(1);
  });

  it("another user's approval is not found; an unknown one or nothing pending is 409", async () => {
    const { answer } = await askToDelete();
    const id = answer.pendingApprovals?.[0]?.id;
    // The other user decides in a conversation of their own.
    const mine = await send({ message: 'hello' }, 'intruder');
    const theirs = await send(
      { conversationId: mine.body.conversationId, approvals: [{ id, approved: true }] },
      'intruder',
    );
    expect(theirs.status).toBe(404);
    const unknown = await send({
      conversationId: answer.conversationId,
      approvals: [{ id: 'nope', approved: true }],
    });
    expect(unknown.status).toBe(409);
    const nothing = await send(
      { conversationId: mine.body.conversationId, approvals: [{ id: 'nope', approved: true }] },
      'intruder',
    );
    expect(nothing.status).toBe(409);
    expect(await h.tasks(user)).toHaveLength(1);
  });

  it('decisions with a wrong shape are 400', async () => {
    const { answer } = await askToDelete();
    const id = answer.pendingApprovals?.[0]?.id;
    for (const body of [
      { conversationId: answer.conversationId, approvals: [{ id, approved: 'yes' }] },
      { conversationId: answer.conversationId, approvals: [] },
      { conversationId: answer.conversationId, approvals: [{ approved: true }] },
      { approvals: [{ id, approved: true }] },
      { conversationId: answer.conversationId, message: 'yes', approvals: [{ id, approved: true }] },
    ]) {
      const res = await send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  it.each([
    ['none', [], ['delete_task']],
    ['writes', ['add_task', 'delete_task'], []],
  ] as const)('APPROVAL_POLICY=%s', async (policy, waits, runs) => {
    // Another instance of the app on the same database, configured with this policy.
    const config = { ...h.db.config, chat: { ...h.db.config.chat, approvalPolicy: policy } };
    const app = createTestApp(h.db, { config, inflight: new Inflight() });
    const say = async (message: string) => {
      const res = await app.request('/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-id': user },
        body: JSON.stringify({ message }),
      });
      return (await res.json()) as Answer;
    };
    const taskId = await addTask('pay rent');
    const answers = [await say('add milk'), await say(`delete ${taskId}`)];
    expect(answers.flatMap((a) => a.pendingApprovals ?? []).map((a) => a.toolName)).toEqual(waits);
    expect(answers[1]?.toolCalls.map((c) => c.name)).toEqual(runs);
  });
});

describe('the offline reader and approvals', () => {
  let h: ChatHarness;
  beforeAll(async () => {
    h = await startChatApp('pglite', { env: { CHAT_MODEL: 'offline', APPROVAL_POLICY: 'destructive' } });
  });
  afterAll(() => h?.close());

  async function waitingDelete(user: string) {
    await h.say(user, 'add old report');
    const asked = (await h.say(user, 'delete task 1')) as Answer;
    expect(asked.pendingApprovals?.map((a) => a.toolName)).toEqual(['delete_task']);
    return asked.conversationId;
  }

  it('a typed "yes" instead of Approve asks again, and Approve then deletes', async () => {
    const conversationId = await waitingDelete('offline-yes');
    const again = (await h.say('offline-yes', 'yes', { conversationId })) as Answer;
    expect(again.pendingApprovals).toEqual([
      { id: expect.any(String), toolName: 'delete_task', args: { task_id: 1 } },
    ]);
    const res = await h.chat('offline-yes', {
      conversationId,
      approvals: [{ id: again.pendingApprovals?.[0]?.id, approved: true }],
    });
    expect(((await res.json()) as Answer).reply).toBe('Deleted #1 "old report".');
    expect(await h.tasks('offline-yes')).toEqual([]);
  });

  it('a typed "no" says nothing was done', async () => {
    const conversationId = await waitingDelete('offline-no');
    const answer = (await h.say('offline-no', 'cancel', { conversationId })) as Answer;
    expect(answer.reply).toContain('nothing changed');
    expect(answer.pendingApprovals).toBeUndefined();
    expect(await h.tasks('offline-no')).toHaveLength(1);
  });
});
