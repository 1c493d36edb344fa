/**
 * @module time/zone
 * Whose "today": a request's time zone and the user's local date and time in it. The contract's
 * order is the `X-Timezone` header (an IANA name; anything else is refused), else the user's
 * stored zone (`PATCH /me`), else the token's `zoneinfo` claim, else `DEFAULT_TIMEZONE`. The stored
 * zone lives in the database and is read inside the statement that needs it (BEGIN TURN, the
 * usage and settings reads), so this module hands the other two ends of the order to SQL:
 * `requested` goes first, `fallback` last, and SQL coalesces the stored one in between.
 * Names are checked with Intl (the ICU zone database) and kept in Intl's canonical spelling.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/errors.ts';

/** The two request-side ends of the zone order; the stored zone goes between them. */
export type RequestZone = { requested: string | null; fallback: string };

/** The canonical IANA name of `name`, or undefined when it names no zone. */
export function canonicalZone(name: string): string | undefined {
  // Offsets like "+02:00" are valid for Intl but are not IANA names.
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(name) || name.length > 64) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** The request's zone candidates: `X-Timezone` (refused unless IANA), then token or default. */
export function requestZone(c: Context<AppEnv>, defaultZone: string): RequestZone {
  const header = c.req.header('x-timezone');
  let requested: string | null = null;
  if (header !== undefined) {
    const zone = canonicalZone(header.trim());
    if (!zone)
      throw new ApiError('invalid_request', 'X-Timezone must be an IANA time zone name, e.g. Europe/Paris');
    requested = zone;
  }
  const claim = c.get('zoneinfo');
  return { requested, fallback: (claim && canonicalZone(claim)) || defaultZone };
}

/** The local date (YYYY-MM-DD) and time (HH:MM) of `at` in `zone`. */
export function localDateTime(at: Date, zone: string): { date: string; time: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

/** The calendar day (YYYY-MM-DD) `instant` falls on in `zone`. */
export function dayIn(zone: string, instant: Date = new Date()): string {
  return localDateTime(instant, zone).date;
}

/** A zone already resolved (BEGIN TURN's): nothing is left for the order to decide. */
export function resolvedZone(name: string): RequestZone {
  return { requested: name, fallback: name };
}
