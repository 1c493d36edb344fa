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
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { AppEnv } from '../http/env.ts';
import { notFound } from '../http/errors.ts';
import { validate } from '../http/validation.ts';
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
import type { ChatTurns } from './turn/turn.ts';

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
  const ContractBody = z
    .object({
      message: z
        .string('message must be a string')
        .trim()
        .min(1, 'message must not be empty')
        .max(maxMessageChars, `message is longer than ${maxMessageChars} characters`),
      conversationId: z.guid('must be a UUID').optional(),
      messageId: messageId('messageId').optional(),
    })
    .transform((body) => ({ kind: 'contract' as const, ...body }));

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
    const parsed = isUiBody ? UiBody.safeParse(body) : ContractBody.safeParse(body);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      return z.NEVER;
    }
    return parsed.data;
  });

  const app = new Hono<AppEnv>();

  app.post('/chat', validate('json', ChatRequest), chatDocs(ContractBody), async (c) => {
    const body = c.req.valid('json');
    const userId = c.get('userId');
    const log = c.get('log');
    if (body.kind === 'ui') {
      return turns.answerStream({
        userId,
        target: { chatId: body.chatId },
        start: {
          kind: body.regenerate ? 'regenerate' : 'message',
          messageId: body.messageId,
          text: body.text,
        },
        log,
      });
    }
    const request = {
      userId,
      target: { conversationId: body.conversationId },
      start: { kind: 'message', messageId: body.messageId ?? randomUUID(), text: body.message } as const,
      log,
    };
    if ((c.req.header('accept') ?? '').includes('text/event-stream')) return turns.answerStream(request);
    return c.json(await turns.answerJson(request));
  });

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
      return c.json({ messages: conversationUIMessages(conversation.id, conversation.messages) });
    },
  );

  app.delete('/conversations/:id', deleteConversationDocs, validate('param', IdParam), async (c) => {
    if (!(await conversations.remove(c.get('userId'), c.req.valid('param').id)))
      throw notFound('Conversation');
    return c.body(null, 204);
  });

  return app;
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
