/**
 * @module time/statements
 * The user's zone as a CTE for the statements that already run (BEGIN TURN, the usage and
 * settings reads): the stored zone is read where it is needed, never in a round trip of its own.
 * `zone` has one row: the effective zone's `name` (./zone.ts says the order), the user's local
 * date at `clock` (`today`), and the instant of their next midnight (`midnight`).
 */
import { type SQL, sql } from 'drizzle-orm';

/** Values or a prepared statement's placeholders for them. */
export type ZoneParams = { userId: unknown; requestedZone: unknown; fallbackZone: unknown; clock: unknown };

export function userZoneCte({ userId, requestedZone, fallbackZone, clock }: ZoneParams): SQL {
  return sql`zone as (
        select z.name,
               (${clock}::timestamptz at time zone z.name)::date as today,
               (date_trunc('day', ${clock}::timestamptz at time zone z.name) + interval '1 day') at time zone z.name
                 as midnight
        from (select coalesce(${requestedZone}::text,
                              (select s.timezone from user_settings s where s.user_id = ${userId}),
                              ${fallbackZone}::text) as name) z
      )`;
}
