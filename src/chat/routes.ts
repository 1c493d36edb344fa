/**
 * @module chat/routes
 * POST /chat and the conversation routes: validation and the shape of each answer. The turn
 * itself lives in ./turn.ts; the conversation reads in ./conversations.ts.
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { AppEnv } from '../http/env.ts';
import { notFound } from '../http/errors.ts';
import { validate } from '../http/validation.ts';
import { type Conversations, toTranscript } from './conversations.ts';
import { chatDocs, deleteConversationDocs, getConversationDocs, listConversationsDocs } from './openapi.ts';
import type { ChatTurns } from './turn.ts';

export type ChatRouteDeps = { config: Config; turns: ChatTurns; conversations: Conversations };

const IdParam = z.object({ id: z.guid('must be a UUID') });

export function chatRoutes({ config, turns, conversations }: ChatRouteDeps): Hono<AppEnv> {
  const { maxMessageChars } = config.chat;
  const ChatBody = z.object({
    message: z
      .string('message must be a string')
      .trim()
      .min(1, 'message must not be empty')
      .max(maxMessageChars, `message is longer than ${maxMessageChars} characters`),
    conversationId: z.guid('must be a UUID').optional(),
    messageId: z
      .string('messageId must be a string')
      .regex(/^[\x21-\x7e]{1,200}$/, 'messageId must be 1-200 printable ASCII characters')
      .optional(),
  });

  const app = new Hono<AppEnv>();

  app.post('/chat', validate('json', ChatBody), chatDocs(ChatBody), async (c) => {
    const body = c.req.valid('json');
    const request = {
      userId: c.get('userId'),
      conversationId: body.conversationId,
      messageId: body.messageId ?? randomUUID(),
      text: body.message,
      log: c.get('log'),
    };
    if ((c.req.header('accept') ?? '').includes('text/event-stream')) return turns.answerStream(request);
    return c.json(await turns.answerJson(request));
  });

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

  app.delete('/conversations/:id', deleteConversationDocs, validate('param', IdParam), async (c) => {
    if (!(await conversations.remove(c.get('userId'), c.req.valid('param').id)))
      throw notFound('Conversation');
    return c.body(null, 204);
  });

  return app;
}
