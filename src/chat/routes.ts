/**
 * @module chat/routes
 * POST /chat and the conversation routes: validation and the shape of each answer. The turn
 * itself lives in ./turn/; the conversation reads in ./store/conversations.ts, their views in
 * ./messages/.
 *
 * POST /chat takes the contract body (`message`) or the AI SDK UI body (`messages`, what
 * `DefaultChatTransport` sends): the UI body is always answered with the UI message stream, and
 * only its newest message is read. Its chat `id` is either one of the user's conversation ids
 * (what `GET /conversations` lists: the page resumes a conversation with it) or any id the client
 * made up, which names a conversation for this user (see ./store/ids.ts).
 *
 * A decision on pending approvals is a send too: the contract body with `approvals` instead of
 * `message`, or the UI body whose newest message is the assistant message that asked, with its
 * tool parts in state `approval-responded` (what `addToolApprovalResponse` and
 * `sendAutomaticallyWhen` send). Only the decisions are read from it, never the calls.
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { AppEnv } from '../http/env.ts';
import { notFound } from '../http/errors.ts';
import { strictBody, validate } from '../http/validation.ts';
import { requestZone } from '../time/zone.ts';
import { toTranscript } from './messages/transcript.ts';
import { conversationUIMessages } from './messages/ui-messages.ts';
import {
  chatDocs,
  conversationMessagesDocs,
  deleteConversationDocs,
  getConversationDocs,
  listConversationsDocs,
  resumeStreamDocs,
  stopTurnDocs,
} from './openapi.ts';
import type { Conversations } from './store/conversations.ts';
import type { LiveAnswers } from './stream/resume.ts';
import { type ApprovalDecision, decisionMessageId } from './turn/approvals.ts';
import type { ChatTurns, TurnStart } from './turn/turn.ts';

export type ChatRouteDeps = {
  config: Config;
  turns: ChatTurns;
  conversations: Conversations;
  live: LiveAnswers;
};

const IdParam = z.object({ id: z.guid('must be a UUID') });

const CHAT_ID_RULE = /^[\x21-\x7e]{1,128}$/;
const chatId = (name: string) =>
  z
    .string(`${name} must be a string`)
    .regex(CHAT_ID_RULE, `${name} must be 1-128 printable ASCII characters`);
const ChatIdParam = z.object({ id: chatId('id') });

const messageId = (name: string) =>
  z
    .string(`${name} must be a string`)
    .regex(/^[\x21-\x7e]{1,200}$/, `${name} must be 1-200 printable ASCII characters`);

export function chatRoutes({ config, turns, conversations, live }: ChatRouteDeps): Hono<AppEnv> {
  const { maxMessageChars } = config.chat;
  const ContractBody = strictBody({
    message: z
      .string('message must be a string')
      .trim()
      .min(1, 'message must not be empty')
      .max(maxMessageChars, `message is longer than ${maxMessageChars} characters`),
    conversationId: z.guid('must be a UUID').optional(),
    messageId: messageId('messageId').optional(),
  }).transform((body) => ({ kind: 'contract' as const, ...body }));

  const Decision = z.object({
    id: z.string('approvals[].id must be a string').min(1).max(200),
    approved: z.boolean('approvals[].approved must be true or false'),
    reason: z.string('approvals[].reason must be a string').max(1000).optional(),
  });
  const ContractDecisionBody = z
    .object({
      conversationId: z.guid('must be a UUID'),
      approvals: z
        .array(Decision, 'approvals must be an array')
        .min(1, 'approvals must not be empty')
        .max(50),
    })
    .strict()
    .transform((body) => ({
      kind: 'contract-decision' as const,
      chatId: undefined,
      decisions: body.approvals,
      ...body,
    }));

  // The newest UI message of a decision: the assistant message that asked, its decided tool parts.
  const UiDecisionMessage = z.object({
    role: z.literal('assistant'),
    parts: z.array(z.unknown(), 'parts must be an array').transform((parts, ctx) => {
      const decisions = decisionsOfParts(parts);
      if (decisions.length === 0) {
        ctx.addIssue({
          code: 'custom',
          message:
            'the newest message must be a user message, or an assistant message with a tool part in state approval-responded',
        });
        return z.NEVER;
      }
      return decisions;
    }),
  });

  // The newest UI message: a user message whose text parts are the message.
  const UiUserMessage = z.object({
    role: z.literal('user', 'the newest message must be a user message'),
    id: messageId('id'),
    parts: z
      .array(z.unknown(), 'parts must be an array')
      .transform(textOfParts)
      .pipe(
        z
          .string()
          .trim()
          .min(1, 'the message has no text')
          .max(maxMessageChars, `the message is longer than ${maxMessageChars} characters`),
      ),
  });
  const UiBody = z
    .object({
      id: chatId('id'),
      messages: z.array(z.unknown(), 'messages must be an array').min(1, 'messages must not be empty'),
      trigger: z
        .enum(
          ['submit-message', 'regenerate-message'],
          'trigger must be "submit-message" or "regenerate-message"',
        )
        .optional(),
    })
    .transform((body, ctx) => {
      const index = body.messages.length - 1;
      const last = body.messages[index] as { role?: unknown } | null;
      if (typeof last === 'object' && last?.role === 'assistant') {
        const decided = UiDecisionMessage.safeParse(last);
        if (!decided.success) {
          for (const issue of decided.error.issues)
            ctx.addIssue({
              code: 'custom',
              message: issue.message,
              path: ['messages', index, ...issue.path],
            });
          return z.NEVER;
        }
        return {
          kind: 'ui-decision' as const,
          chatId: body.id,
          conversationId: undefined,
          decisions: decided.data.parts,
        };
      }
      const newest = UiUserMessage.safeParse(body.messages[index]);
      if (!newest.success) {
        for (const issue of newest.error.issues)
          ctx.addIssue({ code: 'custom', message: issue.message, path: ['messages', index, ...issue.path] });
        return z.NEVER;
      }
      return {
        kind: 'ui' as const,
        chatId: body.id,
        messageId: newest.data.id,
        text: newest.data.parts,
        regenerate: body.trigger === 'regenerate-message',
      };
    });
  // Which body it is decides which rules apply, so that an error names a field of that body.
  const ChatRequest = z.unknown().transform((body, ctx) => {
    const isUiBody = typeof body === 'object' && body !== null && 'messages' in body;
    const isDecision = typeof body === 'object' && body !== null && 'approvals' in body;
    const parsed = isUiBody
      ? UiBody.safeParse(body)
      : isDecision
        ? ContractDecisionBody.safeParse(body)
        : ContractBody.safeParse(body);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      return z.NEVER;
    }
    return parsed.data;
  });

  const app = new Hono<AppEnv>();

  app.post(
    '/chat',
    validate('json', ChatRequest),
    chatDocs(ContractBody, ContractDecisionBody),
    async (c) => {
      const body = c.req.valid('json');
      const userId = c.get('userId');
      const log = c.get('log');
      const zone = requestZone(c, config.defaultTimezone);
      if (body.kind === 'ui-decision' || body.kind === 'contract-decision') {
        const start: TurnStart = {
          kind: 'decisions',
          messageId: decisionMessageId(body.decisions),
          decisions: body.decisions,
        };
        if (body.kind === 'ui-decision')
          return turns.answerStream({ userId, target: { chatId: body.chatId }, start, zone, log });
        const request = { userId, target: { conversationId: body.conversationId }, start, zone, log };
        if ((c.req.header('accept') ?? '').includes('text/event-stream')) return turns.answerStream(request);
        return c.json(await turns.answerJson(request));
      }
      if (body.kind === 'ui') {
        return turns.answerStream({
          userId,
          target: { chatId: body.chatId },
          start: {
            kind: body.regenerate ? 'regenerate' : 'message',
            messageId: body.messageId,
            text: body.text,
          },
          zone,
          log,
        });
      }
      const request = {
        userId,
        target: { conversationId: body.conversationId },
        start: { kind: 'message', messageId: body.messageId ?? randomUUID(), text: body.message } as const,
        zone,
        log,
      };
      if ((c.req.header('accept') ?? '').includes('text/event-stream')) return turns.answerStream(request);
      return c.json(await turns.answerJson(request));
    },
  );

  // What `useChat({ resume: true })` asks on mount: the running turn's stream, from any instance.
  app.get('/chat/:id/stream', resumeStreamDocs, validate('param', ChatIdParam), async (c) => {
    const stream = await live.resume(c.get('userId'), c.req.valid('param').id, c.get('log'));
    return stream ?? c.body(null, 204);
  });

  app.post('/chat/:id/stop', stopTurnDocs, validate('param', ChatIdParam), async (c) =>
    (await live.stop(c.get('userId'), c.req.valid('param').id)) ? c.body(null, 202) : c.body(null, 204),
  );

  app.get('/conversations', listConversationsDocs, async (c) =>
    c.json({ conversations: await conversations.list(c.get('userId')) }),
  );

  app.get('/conversations/:id', getConversationDocs, validate('param', IdParam), async (c) => {
    const conversation = await conversations.get(c.get('userId'), c.req.valid('param').id);
    if (!conversation) throw notFound('Conversation');
    return c.json({
      id: conversation.id,
      title: conversation.title,
      messages: toTranscript(conversation.messages),
    });
  });

  // The conversation as AI SDK UI messages, for `useChat({ id, messages })`. The id may also be a
  // client's own chat id, as POST /chat accepts it.
  app.get(
    '/conversations/:id/messages',
    conversationMessagesDocs,
    validate('param', ChatIdParam),
    async (c) => {
      const conversation = await conversations.getChat(c.get('userId'), c.req.valid('param').id);
      if (!conversation) throw notFound('Conversation');
      return c.json({
        messages: conversationUIMessages(
          conversation.id,
          conversation.messages,
          conversation.expiredApprovals,
        ),
      });
    },
  );

  app.delete('/conversations/:id', deleteConversationDocs, validate('param', IdParam), async (c) => {
    if (!(await conversations.remove(c.get('userId'), c.req.valid('param').id)))
      throw notFound('Conversation');
    return c.body(null, 204);
  });

  return app;
}

/**
 * The decisions in a UI message's tool parts: those in state `approval-responded`, each
 * `approval: {id, approved, reason?}` as `addToolApprovalResponse` set it.
 */
function decisionsOfParts(parts: unknown[]): ApprovalDecision[] {
  const decisions: ApprovalDecision[] = [];
  for (const part of parts) {
    const p = part as { type?: unknown; state?: unknown; approval?: Record<string, unknown> } | null;
    if (typeof p?.type !== 'string' || !p.type.startsWith('tool-') || p.state !== 'approval-responded')
      continue;
    const { id, approved, reason } = p.approval ?? {};
    if (typeof id !== 'string' || !id || id.length > 200 || typeof approved !== 'boolean') continue;
    decisions.push({
      id,
      approved,
      ...(typeof reason === 'string' && reason ? { reason: reason.slice(0, 1000) } : {}),
    });
  }
  return decisions;
}

/** The text parts of a UI message, as one message. */
function textOfParts(parts: unknown[]): string {
  return parts
    .filter((p): p is { type: 'text'; text: string } => {
      const part = p as { type?: unknown; text?: unknown } | null;
      return part?.type === 'text' && typeof part.text === 'string';
    })
    .map((p) => p.text)
    .join('\n');
}
