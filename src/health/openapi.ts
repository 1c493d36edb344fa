/**
 * @module health/openapi
 * How the probes (./routes.ts) describe themselves in the OpenAPI document, kept beside them so
 * routes.ts carries one `describeRoute(...)` per route and nothing else.
 */
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import { jsonResponse, PUBLIC } from '../http/openapi.ts';

const tags = ['Operations'];

const probeSchema = z.object({
  status: z.string(),
  reason: z.enum(['draining', 'db_unavailable']).optional(),
});

const healthSchema = z
  .object({
    status: z.enum(['ok', 'degraded', 'unavailable']),
    db: z.enum(['ok', 'unavailable']),
    dbLatencyMs: z.number().optional().meta({ description: 'How long the database took to answer a ping.' }),
    breaker: z.enum(['closed', 'open', 'half-open']),
    draining: z.boolean(),
    pool: z.object({ total: z.number(), idle: z.number(), waiting: z.number() }).optional(),
    model: z
      .literal('offline')
      .optional()
      .meta({ description: 'Present when chat is answered by the offline command reader, not an AI model.' }),
    worker: z.enum(['running', 'stopped']).optional().meta({
      description:
        'Present when this process runs the background worker (`WORKER=true`): reminders and webhook deliveries.',
    }),
  })
  .meta({ id: 'Health' });

export const livezDocs = describeRoute({
  tags,
  summary: 'Liveness: the process serves',
  description: 'Never touches the database: an outage must not make an orchestrator restart every instance.',
  security: PUBLIC,
  responses: { ...jsonResponse(200, 'Serving', probeSchema) },
});

export const readyzDocs = describeRoute({
  tags,
  summary: 'Readiness: send traffic here',
  security: PUBLIC,
  responses: {
    ...jsonResponse(200, 'The database answers and the server is not draining', probeSchema),
    ...jsonResponse(503, 'Draining, or the database does not answer; `Retry-After` is set', probeSchema),
  },
});

export const healthDocs = describeRoute({
  tags,
  summary: 'Health with figures',
  description:
    '`degraded` when the database answers slower than `HEALTH_DEGRADED_MS` or the breaker is not closed.',
  security: PUBLIC,
  responses: {
    ...jsonResponse(200, 'The database answers', healthSchema),
    ...jsonResponse(
      503,
      'The database does not answer, or the server is draining; `Retry-After` is set',
      healthSchema,
    ),
  },
});
