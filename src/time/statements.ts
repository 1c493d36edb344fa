/**
 * @module time/statements
 * The user's zone as a CTE for the statements that already run (BEGIN TURN, the usage and
 * settings reads): the stored zone is read where it is needed, never in a round trip of its own.
 * `zone` has one row: the effective zone's `name` (./zone.ts says the order), the user's local
 * date at `clock` (`today`), and the instant of their next midnight (`midnight`). The task
 * statements (tasks/repository.ts) take the zone's name as a scalar (`userZoneName`) where they
 * need it: a list's "today", a repeat's first day, a reminder moved with its task.
 */
import { type SQL, sql } from 'drizzle-orm';

/** Values or a prepared statement's placeholders for them. */
export type ZoneParams = { userId: unknown; requestedZone: unknown; fallbackZone: unknown; clock: unknown };

/**
 * The effective zone's name: the request's, else the stored one (a primary-key read of
 * user_settings, only when the request names none), else the fallback.
 */
export function userZoneName({ userId, requestedZone, fallbackZone }: Omit<ZoneParams, 'clock'>): SQL {
  return sql`coalesce(${requestedZone}::text,
                      (select s.timezone from user_settings s where s.user_id = ${userId}),
                      ${fallbackZone}::text)`;
}

export function userZoneCte({ userId, requestedZone, fallbackZone, clock }: ZoneParams): SQL {
  return sql`zone as (
        select z.name,
               (${clock}::timestamptz at time zone z.name)::date as today,
               (date_trunc('day', ${clock}::timestamptz at time zone z.name) + interval '1 day') at time zone z.name
                 as midnight
        from (select ${userZoneName({ userId, requestedZone, fallbackZone })} as name) z
      )`;
}
