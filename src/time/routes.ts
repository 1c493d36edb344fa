/**
 * @module time/routes
 * `GET /me` and `PATCH /me`: who the caller is and the time zone their "today" is in. The zone a
 * user chooses is stored in `user_settings` and wins over the token's and the default, but not over
 * a request's own `X-Timezone` (./zone.ts says the order). Each route is one statement.
 */
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import { type Database, queryRows } from '../db/client.ts';
import type { AppEnv } from '../http/env.ts';
import { errorResponses, jsonResponse } from '../http/openapi.ts';
import { validate } from '../http/validation.ts';
import { userZoneCte } from './statements.ts';
import { canonicalZone, type RequestZone, requestZone } from './zone.ts';

const Me = z
  .object({
    userId: z.string(),
    timezone: z.string().meta({ description: 'The IANA time zone this request’s “today” is in.' }),
  })
  .meta({ id: 'Me' });

const PatchMe = z.strictObject(
  {
    timezone: z
      .string('timezone must be a string')
      .transform((name, ctx) => {
        const zone = canonicalZone(name.trim());
        if (zone) return zone;
        ctx.addIssue({
          code: 'custom',
          message: 'timezone must be an IANA time zone name, e.g. Europe/Paris',
        });
        return z.NEVER;
      })
      .meta({ description: 'An IANA time zone name, e.g. `Europe/Paris`.' }),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? 'the only field is timezone' : 'the body must be a JSON object',
  },
);

const tags = ['Me'];

export function meRoutes(database: Database, defaultTimezone: string, now: () => Date): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  /** The effective zone of this request, after storing `chosen` when given: one statement. */
  async function effectiveZone(userId: string, zone: RequestZone, chosen?: string): Promise<string> {
    const cte = userZoneCte({
      userId,
      requestedZone: zone.requested,
      fallbackZone: zone.fallback,
      clock: now().toISOString(),
    });
    // The stored zone changes in the same statement: the CTE's snapshot does not see it yet.
    const statement =
      chosen === undefined
        ? sql`with ${cte} select name from zone`
        : sql`with saved as (
                insert into user_settings (user_id, timezone) values (${userId}, ${chosen})
                on conflict (user_id) do update set timezone = excluded.timezone, updated_at = now()
                returning 1
              ), ${cte}
              select coalesce(${zone.requested}::text, ${chosen}::text) as name from saved`;
    const [row] = await database.run((db) => queryRows<{ name: string }>(db, statement));
    return row?.name ?? zone.requested ?? zone.fallback;
  }

  app.get(
    '/me',
    describeRoute({
      tags,
      summary: 'Who I am',
      description:
        'The user id and the time zone of this request: `X-Timezone`, else the zone set with `PATCH /me`, else the token’s `zoneinfo` claim, else `DEFAULT_TIMEZONE`.',
      responses: { ...jsonResponse(200, 'The caller', Me), ...errorResponses(400, 401, 503) },
    }),
    async (c) => {
      const userId = c.get('userId');
      const timezone = await effectiveZone(userId, requestZone(c, defaultTimezone));
      return c.json({ userId, timezone });
    },
  );

  app.patch(
    '/me',
    describeRoute({
      tags,
      summary: 'Set my time zone',
      description:
        'Stores the user’s time zone: their “today”, due dates and daily budget follow it (unless a request sends `X-Timezone`).',
      responses: { ...jsonResponse(200, 'The caller', Me), ...errorResponses(400, 401, 503) },
    }),
    validate('json', PatchMe),
    async (c) => {
      const userId = c.get('userId');
      const { timezone: chosen } = c.req.valid('json');
      const timezone = await effectiveZone(userId, requestZone(c, defaultTimezone), chosen);
      return c.json({ userId, timezone });
    },
  );

  return app;
}
