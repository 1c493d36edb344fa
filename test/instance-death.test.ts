// An instance that dies mid-turn (issue 26): two real `npm start` processes on one Postgres
// database. One is killed with SIGKILL while its turn is running (an OOM kill, a lost node): the
// other takes the conversation over within seconds instead of after the turn's 90 s lease, and a
// resend of the killed turn runs it once more without repeating its task change. A healthy
// instance's slow turn is never taken from it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerDatabase } from './support/db.ts';
import { type FakeOpenAI, type FakeRequest, lastUserText, startFakeOpenAI } from './support/fake-openai.ts';
import { type Child, startMain } from './support/process.ts';
import { sleep } from './support/sleep.ts';

const USER = { 'content-type': 'application/json', 'x-user-id': 'dies' };

describe.skipIf(!process.env.TEST_DATABASE_URL)('an instance killed during a turn', () => {
  let database: { url: string; drop(): Promise<void> };
  let fake: FakeOpenAI;
  const children: Child[] = [];
  // The turn under test adds its task, then its next model call never answers: it is certainly
  // running, with a task change made, when its process is killed.
  const gate: { release?: () => void } = {};
  let hung = 0;

  beforeAll(async () => {
    database = await createServerDatabase();
    fake = await startFakeOpenAI(async (req: FakeRequest) => {
      const text = lastUserText(req);
      const afterTool = req.messages.at(-1)?.role === 'tool';
      if (text.startsWith('add ')) {
        if (!afterTool) return { toolCalls: [{ name: 'add_task', args: { title: text.slice(4) } }] };
        if (text === 'add water the plants' && hung++ === 0) return { hang: true };
        if (text === 'add slow but alive') await new Promise<void>((resolve) => (gate.release = resolve));
        return { text: `Added ${text.slice(4)}.` };
      }
      return { text: 'OK.' };
    });
  });
  afterAll(async () => {
    for (const child of children) child.proc.kill('SIGKILL');
    await Promise.all(children.map((child) => child.exited));
    await fake?.close();
    await database?.drop();
  });

  async function instance(): Promise<string> {
    const child = startMain({
      DATABASE_URL: database.url,
      OPENAI_BASE_URL: fake.baseURL,
      OPENAI_API_KEY: 'k',
      CHAT_MODEL: 'fake',
      MODEL_MAX_RETRIES: '0',
      RATE_LIMIT_TURNS_PER_MINUTE: '0',
    });
    children.push(child);
    return child.listening;
  }
  const send = (url: string, body: Record<string, unknown>) =>
    fetch(`${url}/chat`, { method: 'POST', headers: USER, body: JSON.stringify(body) });

  it('frees its conversation on another instance within 15 s; a resend runs the turn once', async () => {
    const [a, b] = await Promise.all([instance(), instance()]);
    const first = await (await send(a, { message: 'hello', messageId: 'm-hello' })).json();
    const { conversationId } = first;

    const running = send(a, { conversationId, message: 'add water the plants', messageId: 'm-water' });
    running.catch(() => {});
    while (hung === 0) await sleep(20);
    const killed = children[0] as Child;
    killed.proc.kill('SIGKILL');
    await killed.exited;
    const killedAt = Date.now();

    // While the lease is still held: an honest 409 that says when to come back.
    const busy = await send(b, { conversationId, message: 'list my tasks', messageId: 'm-list' });
    expect(busy.status).toBe(409);
    expect(Number(busy.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(busy.headers.get('retry-after'))).toBeLessThanOrEqual(11);
    expect((await busy.json()).error).toMatchObject({
      code: 'conversation_busy',
      message: expect.stringMatching(/still being written; try again in \d+ s/),
    });

    let answered: Response;
    for (;;) {
      answered = await send(b, { conversationId, message: 'list my tasks', messageId: 'm-list' });
      if (answered.status !== 409) break;
      await sleep(250);
    }
    expect(answered.status).toBe(200);
    // Taken over once the dead process missed its renewals, long before the 90 s lease ran out.
    expect(Date.now() - killedAt).toBeLessThan(15_000);

    // The killed turn, sent again: it runs to its end, and its task is not added twice.
    const resent = await send(b, { conversationId, message: 'add water the plants', messageId: 'm-water' });
    expect(resent.status).toBe(200);
    expect((await resent.json()).reply).toBe('Added water the plants.');
    const tasks = await (await fetch(`${b}/tasks`, { headers: USER })).json();
    expect(tasks.tasks.map((t: { title: string }) => t.title)).toEqual(['water the plants']);
  }, 120_000);

  it("never takes a living instance's lease, however long its turn runs", async () => {
    const [a, b] = await Promise.all([instance(), instance()]);
    const first = await (await send(a, { message: 'hello', messageId: 'alive-hello' })).json();
    const { conversationId } = first;
    const slow = send(a, { conversationId, message: 'add slow but alive', messageId: 'alive-slow' });
    while (!gate.release) await sleep(20);

    // Past the bound after which a silent process counts as dead: the living one kept renewing.
    const until = Date.now() + 13_000;
    while (Date.now() < until) {
      const other = await send(b, { conversationId, message: 'anything?', messageId: `alive-${Date.now()}` });
      expect(other.status).toBe(409);
      expect(other.headers.get('retry-after')).toBe('2');
      await sleep(1000);
    }
    gate.release();
    const done = await slow;
    expect(done.status).toBe(200);
    expect((await done.json()).reply).toBe('Added slow but alive.');
  }, 120_000);
});
