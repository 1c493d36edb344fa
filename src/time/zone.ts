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

/**
 * Building an `Intl.DateTimeFormat` loads the zone's ICU data and costs more CPU than the rest of a
 * turn's own code together (0.3-0.4 ms of a chat turn under load, where a cached one formats in
 * microseconds), so each zone's formatter is made once per process. Only names Intl accepted are
 * kept; past `MAX_CACHED` names (the IANA database has about 600, but Intl also takes any
 * capitalisation of them) the caches start again, so no sender can make them grow without end.
 */
const MAX_CACHED = 2000;
const canonicalNames = new Map<string, string>();
const formatters = new Map<string, Intl.DateTimeFormat>();

function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(key, value);
  return value;
}

/** The canonical IANA name of `name`, or undefined when it names no zone. */
export function canonicalZone(name: string): string | undefined {
  const known = canonicalNames.get(name);
  if (known !== undefined) return known;
  // Offsets like "+02:00" are valid for Intl but are not IANA names.
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(name) || name.length > 64) return undefined;
  try {
    const zone = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
    return remember(canonicalNames, name, zone);
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
  let format = formatters.get(zone);
  if (!format) {
    format = remember(
      formatters,
      zone,
      new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }),
    );
  }
  const parts = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
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
