/**
 * @module events/routes
 * `GET /events`: the user's live events as server-sent events (./hub.ts feeds them). Authenticated
 * like every route (a read: `tasks:read`). A reconnecting client says where it was with the
 * `Last-Event-ID` header (what EventSource sends by itself), or the `lastEventId` query parameter
 * for clients that cannot set headers; both are a change id. The number of open streams is a
 * gauge on /metrics.
 */
import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import type { AppEnv } from '../http/env.ts';
import { errorResponses } from '../http/openapi.ts';
import { validate } from '../http/validation.ts';
import { MAX_TASK_ID } from '../tasks/task.ts';
import type { EventHub } from './hub.ts';

const LAST_ID_MESSAGE = 'Last-Event-ID must be a change id (a whole number from 0)';
const changeId = z
  .string()
  .regex(/^\d{1,10}$/, { error: LAST_ID_MESSAGE })
  .transform(Number)
  .refine((id) => id <= MAX_TASK_ID, { error: LAST_ID_MESSAGE });

const EventsQuery = z.object({
  lastEventId: changeId.optional().meta({
    description: 'The id of the last event received, for clients that cannot set `Last-Event-ID`.',
  }),
});
const EventsHeaders = z.object({
  'last-event-id': changeId.optional().meta({
    description:
      'The id of the last `task` event received (a change id): the changes after it, up to the newest 1,000, come first.',
  }),
});

const DESCRIPTION = [
  'The user’s live events as server-sent events (`text/event-stream`), open until the client leaves',
  'or the server drains (then reconnect, to any instance):',
  '',
  '- `event: task`, `id: <change id>`, `data: Change` (as in `GET /changes`): every change of the',
  '  user’s tasks, from any source (chat, MCP, REST, undo) and any instance, within a second;',
  '- `event: reminder`, `data: {"task": Task, "late": boolean}`: a reminder falling due (no `id:`;',
  '  `late` when it was delivered after its time);',
  '- a comment line (`: keep-alive`) at least every 25 seconds.',
  '',
  'Reconnecting with `Last-Event-ID` (or `?lastEventId=`) sends the changes after that id first (up',
  'to the newest 1,000), then follows live, without gaps or duplicates.',
].join('\n');

export function eventRoutes(hub: EventHub, registry?: Registry): Hono<AppEnv> {
  if (registry) {
    new Gauge({
      name: 'taskchat_event_streams_open',
      help: 'GET /events streams open on this instance',
      registers: [registry],
      collect() {
        this.set(hub.size);
      },
    });
  }
  const app = new Hono<AppEnv>();
  app.get(
    '/events',
    describeRoute({
      tags: ['Events'],
      summary: 'Live events',
      description: DESCRIPTION,
      responses: {
        200: {
          description: 'The event stream',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
        ...errorResponses(400, 401, 503),
      },
    }),
    validate('query', EventsQuery),
    validate('header', EventsHeaders),
    async (c) => {
      const headers = {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        // Proxies that buffer responses (nginx) would hold the events back.
        'X-Accel-Buffering': 'no',
      };
      // Hono answers HEAD with GET's headers and drops the body unread: a stream opened for it
      // would never be cancelled, so none is.
      if (c.req.raw.method === 'HEAD') return new Response(null, { headers });
      const lastEventId = c.req.valid('header')['last-event-id'] ?? c.req.valid('query').lastEventId;
      return new Response(await hub.open(c.get('userId'), lastEventId), { headers });
    },
  );
  return app;
}
