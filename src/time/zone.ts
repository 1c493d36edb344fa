/**
 * @module time/zone
 * The user's time zone for a request, and "today" in it: what "today", "overdue" and "this week"
 * and a repeat's first day are reckoned in. Until per-user zones land (the user's setting read in
 * BEGIN TURN, `c.var.timeZone`), a request's zone is its `X-Timezone` header when that names a real
 * IANA zone, else `DEFAULT_TIMEZONE`, else UTC: the one place to switch to the user's setting.
 */

/** Whether `zone` is an IANA zone name both Intl (here) and Postgres (`at time zone`) know. */
export function isTimeZone(zone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The zone a request is reckoned in: `header` (X-Timezone) when valid, else the default. */
export function requestTimeZone(header: string | undefined): string {
  if (header && isTimeZone(header)) return header;
  const fallback = process.env.DEFAULT_TIMEZONE;
  return fallback && isTimeZone(fallback) ? fallback : 'UTC';
}

/** The calendar day (YYYY-MM-DD) `instant` falls on in `zone`. */
export function dayIn(zone: string, instant: Date = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(instant);
}
