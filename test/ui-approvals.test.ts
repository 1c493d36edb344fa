// Approvals through the AI SDK's own chat client, as `useChat` runs them: `AbstractChat` with an
// unmodified `DefaultChatTransport` over HTTP, `addToolApprovalResponse` and `sendAutomaticallyWhen:
// lastAssistantMessageIsCompleteWithApprovalResponses`. The decision's answer continues the
// message that asked, and the conversation reads back as the client holds it.
import { DefaultChatTransport, lastAssistantMessageIsCompleteWithApprovalResponses } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ChatHarness, type Listener, listen, startChatApp } from './support/app.ts';
import { approvalScript } from './support/approvals.ts';
import { testDrivers } from './support/db.ts';
import { type Message, NodeChat } from './support/node-chat.ts';

describe.each(testDrivers)('approvals with the AI SDK chat client on %s', (driver) => {
  let h: ChatHarness;
  let listener: Listener;
  let base: string;

  beforeAll(async () => {
    h = await startChatApp(driver, { env: { APPROVAL_POLICY: 'destructive' } });
    listener = await listen(h.app.fetch);
    base = listener.url;
  });
  afterAll(async () => {
    await listener?.close();
    await h?.close();
  });
  beforeEach(() => h.fake.setScript(approvalScript));

  const chatFor = (user: string, id?: string, messages?: Message[]) =>
    new NodeChat({
      id,
      messages,
      transport: new DefaultChatTransport({ api: `${base}/chat`, headers: { 'x-user-id': user } }),
      sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
    });

  async function addTask(user: string, title: string): Promise<number> {
    const res = await h.app.request('/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': user },
      body: JSON.stringify({ title }),
    });
    return ((await res.json()) as { id: number }).id;
  }
  const toolPart = (chat: NodeChat) =>
    chat.messages.at(-1)?.parts.find((p) => p.type === 'tool-delete_task') as any;
  async function stored(user: string, id: string): Promise<Message[]> {
    const res = await h.get(user, `/conversations/${encodeURIComponent(id)}/messages`);
    return ((await res.json()) as { messages: Message[] }).messages;
  }
  const shape = (messages: Message[]) => messages.map(({ id, role, parts }) => ({ id, role, parts }));

  /** Asks to delete a new task; the answer waits with the tool part in state approval-requested. */
  async function ask(user: string, chat: NodeChat) {
    const taskId = await addTask(user, 'old report');
    await chat.sendMessage({ text: `delete ${taskId}` });
    expect(chat.status).toBe('ready');
    const part = toolPart(chat);
    expect(part).toMatchObject({ state: 'approval-requested', input: { task_id: taskId } });
    return { taskId, approvalId: part.approval.id as string, asking: chat.messages.at(-1) as Message };
  }
  /** Decides, and waits until the automatic send has brought the answer. */
  async function decide(chat: NodeChat, id: string, approved: boolean, reason?: string) {
    await chat.addToolApprovalResponse({ id, approved, reason });
    await vi.waitFor(() => {
      expect(chat.status).toBe('ready');
      expect(toolPart(chat).state).toMatch(/^output-/);
    });
  }

  it('approving runs the stored call and continues the same assistant message', async () => {
    const user = 'ui-approve';
    const chat = chatFor(user, 'approve-chat');
    const { approvalId, asking } = await ask(user, chat);
    await decide(chat, approvalId, true);

    expect(chat.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    const answer = chat.messages.at(-1) as Message;
    expect(answer.id).toBe(asking.id);
    expect(toolPart(chat)).toMatchObject({
      state: 'output-available',
      approval: { id: approvalId, approved: true },
      output: expect.objectContaining({ deleted: true }),
    });
    expect(answer.parts.at(-1)).toMatchObject({ type: 'text', text: expect.stringContaining('Tool said') });
    expect(await h.tasks(user)).toEqual([]);
    expect(shape(await stored(user, 'approve-chat'))).toEqual(shape(chat.messages));
  });

  it('denying changes nothing and the model is told', async () => {
    const user = 'ui-deny';
    const chat = chatFor(user, 'deny-chat');
    const { taskId, approvalId } = await ask(user, chat);
    await decide(chat, approvalId, false, 'not now');

    expect(toolPart(chat)).toMatchObject({
      state: 'output-denied',
      approval: { id: approvalId, approved: false },
    });
    expect(chat.messages.at(-1)?.parts.at(-1)).toMatchObject({ text: expect.stringContaining('not now') });
    expect((await h.tasks(user)).map((t) => t.id)).toEqual([taskId]);
    const readBack = await stored(user, 'deny-chat');
    expect(readBack.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(readBack[1]?.parts[0]).toMatchObject({ state: 'output-denied', approval: { reason: 'not now' } });
  });

  it('a pending approval survives a reload: a client opened from GET /conversations/:id/messages decides it', async () => {
    const user = 'ui-reload';
    const first = chatFor(user, 'reload-chat');
    const { approvalId } = await ask(user, first);

    const messages = await stored(user, 'reload-chat');
    const reopened = chatFor(user, 'reload-chat', messages);
    expect(toolPart(reopened)).toMatchObject({ state: 'approval-requested', approval: { id: approvalId } });
    await decide(reopened, approvalId, true);
    expect(toolPart(reopened).state).toBe('output-available');
    expect(await h.tasks(user)).toEqual([]);
  });
});
