/**
 * @module chat/openapi
 * How the chat and conversation routes (./routes.ts) describe themselves in the OpenAPI document:
 * their answers' shapes and the AI SDK UI body, kept here so that routes.ts carries one
 * `describeRoute(...)` per route and nothing else. The request schemas a route validates are
 * recorded by its validator; these are what the route answers.
 */
import { describeRoute, resolver } from 'hono-openapi';
import { z } from 'zod';
import { errorResponses, jsonResponse, noContentResponse } from '../http/openapi.ts';

const tags = ['Chat'];

const toolCallSchema = z.object({
  name: z.string(),
  args: z.record(z.string(), z.unknown()),
  result: z.unknown().meta({ description: 'What the tool returned: a Task, a page, or `{"error"}`.' }),
});

const chatAnswerSchema = z
  .object({
    conversationId: z.string(),
    messageId: z.string(),
    reply: z.string(),
    toolCalls: z.array(toolCallSchema).meta({ description: 'In the order they ran.' }),
    pendingApprovals: z
      .array(z.object({ id: z.string(), toolName: z.string(), args: z.record(z.string(), z.unknown()) }))
      .optional()
      .meta({
        description: 'Tool calls waiting for the user’s decision (APPROVAL_POLICY); absent when none.',
      }),
  })
  .meta({ id: 'ChatAnswer' });

/**
 * The body `DefaultChatTransport` (behind the AI SDK's `useChat`) sends. Documentation of the
 * contract's second body; the route's validator covers it once POST /chat accepts it.
 */
export const uiChatBodySchema = z
  .looseObject({
    id: z
      .string()
      .regex(/^[\x21-\x7e]{1,128}$/)
      .meta({ description: 'Names the conversation for this user: continued if it exists, else started.' }),
    messages: z
      .array(
        z.looseObject({
          id: z.string(),
          role: z.enum(['system', 'user', 'assistant']),
          parts: z.array(z.looseObject({ type: z.string() })),
        }),
      )
      .meta({ description: 'Only the newest, a user message, is read; its `id` is the idempotency key.' }),
    trigger: z.enum(['submit-message', 'regenerate-message']).optional(),
    messageId: z.string().optional(),
  })
  .meta({ id: 'UIChatBody' });

const uiStream = {
  'text/event-stream': {
    schema: {
      type: 'string' as const,
      description:
        'AI SDK UI message stream (server-sent events ending with `data: [DONE]`), readable by `useChat` / `readUIMessageStream`.',
    },
  },
};

/** POST /chat. `contractBody` is the schema the route validates its JSON body with. */
export const chatDocs = (contractBody: z.ZodType, decisionBody: z.ZodType) =>
  describeRoute({
    tags,
    summary: 'One chat turn',
    description: [
      'Takes either of two bodies. The contract body `{message, conversationId?, messageId?}` is answered',
      'with JSON, or with the UI message stream when `Accept: text/event-stream`. The AI SDK UI body',
      '(`DefaultChatTransport`) is always answered with the stream.',
      '',
      '`messageId` is the client’s idempotency key, unique per user: a repeat returns the stored answer',
      'and runs nothing again (`409 conversation_busy` while the first send still runs). A client that',
      'disconnects does not stop the turn: it finishes and is stored.',
      '',
      'A tool call that needs approval (`APPROVAL_POLICY`) ends the turn waiting (`pendingApprovals`). The',
      'decision is the next send: `{conversationId, approvals: [{id, approved, reason?}]}`, or the UI body',
      'whose newest message is the assistant message with `approval-responded` tool parts. Unknown,',
      'expired or decided approvals: `409 approval_not_pending`; another user’s: 404.',
    ].join('\n'),
    // Listed after the route's validator, so this (both bodies) is what the document shows.
    requestBody: {
      required: true,
      content: {
        'application/json': { schema: resolver(z.union([contractBody, decisionBody, uiChatBodySchema])) },
      },
    },
    responses: {
      200: {
        description:
          'The answer: JSON, or the UI message stream (with `X-Conversation-Id` / `X-Message-Id` headers and the ids in the start part’s metadata).',
        headers: {
          'X-Conversation-Id': { schema: { type: 'string' } },
          'X-Message-Id': { schema: { type: 'string' } },
        },
        content: { 'application/json': { schema: resolver(chatAnswerSchema) }, ...uiStream },
      },
      ...errorResponses(400, 401, 404, 409, 413, 429, 502, 503, 504),
    },
  });

const conversationTags = ['Conversations'];

const summarySchema = z.object({
  id: z.string(),
  title: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const transcriptSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    messages: z.array(
      z.object({
        id: z.string(),
        role: z.enum(['user', 'assistant']),
        content: z.string(),
        toolCalls: z
          .array(toolCallSchema)
          .optional()
          .meta({ description: 'The tools this answer called, each with its result.' }),
        createdAt: z.string(),
      }),
    ),
  })
  .meta({ id: 'Conversation' });

export const listConversationsDocs = describeRoute({
  tags: conversationTags,
  summary: 'List conversations',
  description: 'Newest first.',
  responses: {
    ...jsonResponse(200, 'The user’s conversations', z.object({ conversations: z.array(summarySchema) })),
    ...errorResponses(401, 503),
  },
});

export const getConversationDocs = describeRoute({
  tags: conversationTags,
  summary: 'Read a conversation',
  description: 'Messages oldest first; tool results are folded into the assistant message that called them.',
  responses: {
    ...jsonResponse(200, 'The conversation', transcriptSchema),
    ...errorResponses(400, 401, 404, 503),
  },
});

export const deleteConversationDocs = describeRoute({
  tags: conversationTags,
  summary: 'Delete a conversation',
  responses: { ...noContentResponse('Deleted'), ...errorResponses(400, 401, 404, 503) },
});

const uiMessageSchema = z
  .looseObject({
    id: z.string().meta({ description: 'The id the stream announced for this message.' }),
    role: z.enum(['user', 'assistant']),
    parts: z.array(z.looseObject({ type: z.string() })).meta({
      description: 'Text parts and `tool-<name>` parts in state `output-available` or `output-error`.',
    }),
    metadata: z.object({ conversationId: z.string(), createdAt: z.string() }),
  })
  .meta({ id: 'UIMessage' });

export const conversationMessagesDocs = describeRoute({
  tags: conversationTags,
  summary: 'A conversation as AI SDK UI messages',
  description:
    'Oldest first, replaced answers left out, ids equal to those the stream announced: ready for `useChat({ id, messages })`. The id may also be a client’s own chat id, as POST /chat accepts it.',
  responses: {
    ...jsonResponse(200, 'The UI messages', z.object({ messages: z.array(uiMessageSchema) })),
    ...errorResponses(400, 401, 404, 503),
  },
});

export const resumeStreamDocs = describeRoute({
  tags,
  summary: 'Resume the running answer',
  description:
    'What `useChat({ resume: true })` asks on mount. While a turn of the chat (`:id` as in the UI body) is running, its UI message stream from its first part, then live to its `finish`, from whichever instance runs it; 204 when no turn is running.',
  responses: {
    200: { description: "The running turn's UI message stream", content: uiStream },
    ...noContentResponse('No turn is running'),
    ...errorResponses(400, 401, 503),
  },
});

export const stopTurnDocs = describeRoute({
  tags,
  summary: 'Stop the running answer',
  description:
    'Stops the running turn of the chat (`:id` as in the UI body) from any instance. The stopped turn stores the text produced so far as its answer (message metadata `stopped: true`) and every task change that already ran.',
  responses: {
    202: { description: 'The running turn is being stopped' },
    ...noContentResponse('No turn is running'),
    ...errorResponses(400, 401, 503),
  },
});
