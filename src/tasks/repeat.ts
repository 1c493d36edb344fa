/**
 * @module tasks/repeat
 * Repeating tasks: the RRULE subset a task's `repeat` holds, read and written here, with the
 * `rrule` library (RFC 5545 rules) for the first occurrence; the page words rules with the same
 * library's `toText` (web/src/task-when.ts).
 *
 * The subset: `FREQ=DAILY|WEEKLY|MONTHLY|YEARLY`, `INTERVAL` (1 to 99), `BYDAY` (MO..SU, no
 * ordinals), `BYMONTHDAY` (1 to 31, or -1 to -31 counted from the month's end), and `COUNT` (1 to
 * 999) or `UNTIL` (a date). YEARLY takes neither BYDAY nor BYMONTHDAY (it repeats the due date's
 * day). A rule is stored in one canonical spelling (`canonicalRepeat`).
 *
 * Completing a repeating task moves it to its next occurrence inside the completing statement
 * (tasks/repository.ts), where the rule and the due date are only known to the database: the SQL
 * function `task_next_occurrence(rule, after)` (migration 0007) computes it there, with the rule
 * anchored at the occurrence being completed (the due date is the rule's DTSTART), so rescheduling
 * a task moves its whole series, like Todoist. A `COUNT` counts the occurrences left, this one
 * included: each completion lowers it in the same statement, and completing the last one completes
 * the task. test/repeat-sql.test.ts holds the SQL function to the `rrule` library for every form.
 */
import { createRequire } from 'node:module';

// rrule's Node entry is a CommonJS bundle whose named exports Node's ESM loader cannot see.
const { RRule } = createRequire(import.meta.url)('rrule') as typeof import('rrule');

export const MAX_INTERVAL = 99;
export const MAX_COUNT = 999;

const FREQS = ['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'] as const;
const DAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;
const PARTS = ['FREQ', 'INTERVAL', 'BYDAY', 'BYMONTHDAY', 'COUNT', 'UNTIL'] as const;

type Part = (typeof PARTS)[number];

/**
 * The rule in its stored spelling, or the reason it is refused (a sentence naming the part).
 * Accepts any letter case and an optional `RRULE:` prefix.
 */
export function canonicalRepeat(text: string): { rule: string } | { error: string } {
  const body = text
    .trim()
    .toUpperCase()
    .replace(/^RRULE:/, '');
  const parts = new Map<Part, string>();
  for (const pair of body.split(';')) {
    const [key, value, extra] = pair.split('=');
    if (!key || value === undefined || extra !== undefined || !value) {
      return { error: `repeat must be an RRULE such as FREQ=WEEKLY;BYDAY=MO ("${pair}" is not NAME=VALUE)` };
    }
    if (!PARTS.includes(key as Part)) {
      return { error: `repeat takes only ${PARTS.join(', ')} (not ${key})` };
    }
    if (parts.has(key as Part)) return { error: `repeat gives ${key} twice` };
    parts.set(key as Part, value);
  }
  const freq = parts.get('FREQ');
  if (!freq || !FREQS.includes(freq as (typeof FREQS)[number])) {
    return { error: `repeat needs FREQ=${FREQS.join('|')}` };
  }
  const out = [`FREQ=${freq}`];
  const interval = parts.get('INTERVAL');
  if (interval !== undefined) {
    if (!isWhole(interval, 1, MAX_INTERVAL))
      return { error: `repeat's INTERVAL must be 1 to ${MAX_INTERVAL}` };
    if (Number(interval) > 1) out.push(`INTERVAL=${Number(interval)}`);
  }
  const byday = parts.get('BYDAY');
  const bymonthday = parts.get('BYMONTHDAY');
  if (freq === 'YEARLY' && (byday || bymonthday)) {
    return { error: "repeat's FREQ=YEARLY repeats the due date's day: leave out BYDAY and BYMONTHDAY" };
  }
  if (byday !== undefined) {
    const days = byday.split(',');
    if (!days.every((day) => DAYS.includes(day as (typeof DAYS)[number]))) {
      return { error: `repeat's BYDAY must list days among ${DAYS.join(',')}` };
    }
    out.push(`BYDAY=${DAYS.filter((day) => days.includes(day)).join(',')}`);
  }
  if (bymonthday !== undefined) {
    const days = bymonthday.split(',');
    const valid = days.every(
      (day) => /^-?\d{1,2}$/.test(day) && Math.abs(Number(day)) >= 1 && Math.abs(Number(day)) <= 31,
    );
    if (!valid)
      return { error: "repeat's BYMONTHDAY must list days 1 to 31 (or -1 to -31 from the month's end)" };
    out.push(`BYMONTHDAY=${[...new Set(days.map(Number))].sort((a, b) => a - b).join(',')}`);
  }
  const count = parts.get('COUNT');
  const until = parts.get('UNTIL');
  if (count !== undefined && until !== undefined) return { error: 'repeat takes COUNT or UNTIL, not both' };
  if (count !== undefined) {
    if (!isWhole(count, 1, MAX_COUNT)) return { error: `repeat's COUNT must be 1 to ${MAX_COUNT}` };
    out.push(`COUNT=${Number(count)}`);
  }
  if (until !== undefined) {
    // A date, or a date-time (its day is taken: tasks repeat by day).
    const match = /^(\d{4})(\d{2})(\d{2})(T\d{6}Z?)?$/.exec(until);
    if (!match || !isRealDate(`${match[1]}-${match[2]}-${match[3]}`)) {
      return { error: "repeat's UNTIL must be a date written YYYYMMDD" };
    }
    out.push(`UNTIL=${match[1]}${match[2]}${match[3]}`);
  }
  return { rule: out.join(';') };
}

/** The first day on or after `from` (YYYY-MM-DD) that a (canonical) rule falls on; null if none. */
export function firstOccurrence(rule: string, from: string): string | null {
  const start = new Date(`${from}T00:00:00Z`);
  const first = new RRule({ ...RRule.parseString(rule), dtstart: start }).after(start, true);
  return first ? first.toISOString().slice(0, 10) : null;
}

/**
 * The occurrence after `after` of a rule anchored at `after` (what completing does, computed in
 * SQL by `task_next_occurrence`); null when the rule has none left. The library's answer, for
 * tests and for callers outside a statement.
 */
export function nextOccurrence(rule: string, after: string): string | null {
  const options = RRule.parseString(rule);
  if (options.count === 1) return null;
  const start = new Date(`${after}T00:00:00Z`);
  const next = new RRule({ ...options, count: null, dtstart: start }).after(start, false);
  if (!next) return null;
  const day = next.toISOString().slice(0, 10);
  return options.until && next > options.until ? null : day;
}

function isWhole(text: string, min: number, max: number): boolean {
  return /^\d{1,4}$/.test(text) && Number(text) >= min && Number(text) <= max;
}

function isRealDate(day: string): boolean {
  const date = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === day;
}
