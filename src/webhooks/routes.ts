/**
 * @module webhooks/routes
 * `POST /webhooks`, `GET /webhooks`, `DELETE /webhooks/:id` and the delivery log
 * `GET /webhooks/:id/deliveries`, scoped to the authenticated user (another user's webhook answers
 * 404 like a missing one). A URL is refused with `400 invalid_request` and a sentence saying why
 * when the SSRF guard (./target.ts) refuses it, after resolving its host. The secret is in the
 * answer to `POST` only: it signs the deliveries, and a list that showed it would hand it to anyone
 * who can read the list (a token with `tasks:read` alone).
 */
import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import { WEBHOOK_EVENTS } from '../db/schema.ts';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/errors.ts';
import { errorResponses, jsonResponse, noContentResponse } from '../http/openapi.ts';
import { strictBody, validate } from '../http/validation.ts';
import { newWebhookSecret } from './signature.ts';
import type { WebhookStore } from './store.ts';
import { checkTarget, type Resolve, TargetRefused, type TargetRules } from './target.ts';

/** Enough for any real endpoint; a longer "URL" is a mistake or an attack. */
export const URL_MAX_CHARS = 2048;
/** Each of a user's webhooks is one more POST per event: a bound keeps one user's fan-out modest. */
export const MAX_WEBHOOKS_PER_USER = 20;
const DEFAULT_LOG_LIMIT = 50;
const MAX_LOG_LIMIT = 100;

const eventsDescription =
  '`reminder`: each reminder of the user’s tasks, at its time. `task`: each change of a task, from any source.';

const Webhook = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENTS)).meta({ description: eventsDescription }),
    createdAt: z.string(),
  })
  .meta({ id: 'Webhook' });
const NewWebhook = Webhook.extend({
  secret: z.string().meta({
    description: 'Signs every delivery (`Taskchat-Signature`); shown in this answer only, so keep it now.',
  }),
}).meta({ id: 'NewWebhook' });
const WebhookList = z.object({ webhooks: z.array(Webhook) }).meta({ id: 'WebhookList' });
const Delivery = z
  .object({
    id: z.string().meta({ description: 'The delivery id in the body sent, the same on every retry.' }),
    type: z.enum(WEBHOOK_EVENTS),
    createdAt: z.string(),
    attempts: z.int(),
    lastAttemptAt: z.string().nullable(),
    lastStatus: z
      .int()
      .nullable()
      .meta({ description: 'The HTTP status of the last answer; null without one.' }),
    lastError: z
      .string()
      .nullable()
      .meta({ description: 'Why the last attempt failed, e.g. “timed out after 10 s”, “answered 500”.' }),
    deliveredAt: z.string().nullable(),
    failedAt: z
      .string()
      .nullable()
      .meta({ description: 'Set when retrying stopped: no 2xx within 24 hours.' }),
    status: z.enum(['pending', 'delivered', 'failed']),
  })
  .meta({ id: 'WebhookDelivery' });
const DeliveryLog = z.object({ deliveries: z.array(Delivery) }).meta({ id: 'WebhookDeliveryLog' });

const URL_MESSAGE = `url must be an http(s) URL of at most ${URL_MAX_CHARS} characters`;
const EVENTS_MESSAGE = `events must be a list of ${WEBHOOK_EVENTS.join(' and/or ')}`;
const CreateBody = strictBody({
  url: z
    .string({ error: URL_MESSAGE })
    .trim()
    .min(1, { error: URL_MESSAGE })
    .max(URL_MAX_CHARS, { error: URL_MESSAGE })
    .meta({ description: 'Where to POST: https in production, and a public address.' }),
  events: z
    .array(z.enum(WEBHOOK_EVENTS, { error: EVENTS_MESSAGE }), { error: EVENTS_MESSAGE })
    .min(1, { error: 'events must name at least one event' })
    .transform((events) => [...new Set(events)])
    .optional()
    .meta({ description: `${eventsDescription} Default: \`["reminder"]\`.` }),
});

const IdParam = z.object({
  id: z.guid('id must be a webhook id (a UUID GET /webhooks shows)'),
});

const LIMIT_MESSAGE = `limit must be a whole number from 1 to ${MAX_LOG_LIMIT}`;
const LogQuery = z.object({
  limit: z
    .preprocess(
      (value) => (value === undefined ? value : Number(value)),
      z
        .int({ error: LIMIT_MESSAGE })
        .min(1, { error: LIMIT_MESSAGE })
        .max(MAX_LOG_LIMIT, { error: LIMIT_MESSAGE }),
    )
    .default(DEFAULT_LOG_LIMIT),
});

const tags = ['Webhooks'];

export function webhookRoutes(
  store: WebhookStore,
  rules: TargetRules,
  options: { resolve?: Resolve } = {},
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post(
    '/webhooks',
    describeRoute({
      tags,
      summary: 'Create a webhook',
      description:
        'Events are POSTed to `url` as JSON `{"id", "type", "createdAt", "data"}`, signed with the secret in `Taskchat-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`; anything but a 2xx within 10 s is retried with exponential backoff for 24 hours, with the same id. A URL whose host is or resolves to a loopback, private or link-local address is refused (unless `WEBHOOK_ALLOW_PRIVATE=true`), so is http in production.',
      responses: {
        ...jsonResponse(201, 'The webhook, with its secret (shown this once)', NewWebhook),
        ...errorResponses(400, 401, 503),
      },
    }),
    validate('json', CreateBody),
    async (c) => {
      const body = c.req.valid('json');
      try {
        await checkTarget(body.url, rules, options.resolve);
      } catch (error) {
        if (error instanceof TargetRefused) throw new ApiError('invalid_request', `url: ${error.message}`);
        throw error;
      }
      const userId = c.get('userId');
      const secret = newWebhookSecret();
      const webhook = await store.create(
        userId,
        body.url,
        body.events ?? ['reminder'],
        secret,
        MAX_WEBHOOKS_PER_USER,
      );
      if (!webhook) {
        throw new ApiError(
          'invalid_request',
          `a user may have at most ${MAX_WEBHOOKS_PER_USER} webhooks; delete one first`,
        );
      }
      return c.json({ ...webhook, secret }, 201);
    },
  );

  app.get(
    '/webhooks',
    describeRoute({
      tags,
      summary: 'List webhooks',
      description: 'The user’s webhooks, newest first, without their secrets.',
      responses: { ...jsonResponse(200, 'The webhooks', WebhookList), ...errorResponses(401, 503) },
    }),
    async (c) => c.json({ webhooks: await store.list(c.get('userId')) }),
  );

  app.delete(
    '/webhooks/:id',
    describeRoute({
      tags,
      summary: 'Delete a webhook',
      description: 'Nothing more is sent to it, retries included; its delivery log goes with it.',
      responses: { ...noContentResponse('Deleted'), ...errorResponses(400, 401, 404, 503) },
    }),
    validate('param', IdParam),
    async (c) => {
      if (!(await store.remove(c.get('userId'), c.req.valid('param').id))) throw webhookNotFound();
      return c.body(null, 204);
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    describeRoute({
      tags,
      summary: 'A webhook’s delivery log',
      description:
        'Its deliveries, newest first: attempts, the last answer’s status, why the last attempt failed, when it was delivered or given up. What receivers answer is never stored.',
      responses: {
        ...jsonResponse(200, 'The deliveries', DeliveryLog),
        ...errorResponses(400, 401, 404, 503),
      },
    }),
    validate('param', IdParam),
    validate('query', LogQuery),
    async (c) => {
      const deliveries = await store.deliveries(
        c.get('userId'),
        c.req.valid('param').id,
        c.req.valid('query').limit,
      );
      if (!deliveries) throw webhookNotFound();
      return c.json({ deliveries });
    },
  );

  return app;
}

const webhookNotFound = () => new ApiError('not_found', 'Webhook not found');
