/**
 * @module model/offline-dates
 * The date phrases the offline command reader understands ("tomorrow", "friday", "next monday",
 * "in 3 days", "on December 5", "5 dec", "2026-12-05"), resolved against the server's today (which
 * the reader takes from the system prompt), never against its own clock: the same conversation
 * reads the same wherever and whenever it is replayed.
 *
 * Conventions, chosen once and kept: a weekday name alone ("friday", "on friday", "this friday")
 * is the next such day after today, 1 to 7 days ahead; "next friday" is the Friday of next week
 * (weeks start on Monday); "next week" is next week's Monday. A month and day without a year is
 * the next time that day comes, today included. Calendar validity ("february 30") is left to the
 * tools, the one place that decides what a valid due date is.
 */

export type DateMatch = {
  /** YYYY-MM-DD (possibly not a real calendar date: the tool says so). */
  date: string;
  /** Character range of the whole phrase, its preposition ("on", "by", "due"...) included. */
  start: number;
  end: number;
  /** True when a preposition came with it ("on friday", "due tomorrow"). */
  introduced: boolean;
  /** Only "friday", "may 5"-like phrases can be ordinary words of a title, so they are "weak". */
  weak: boolean;
  /** How the phrase reads in a reply header, e.g. "tomorrow" or "on friday". */
  words: string;
};

export type DateRange = { from: string; to: string; words: string };

const WEEKDAYS: Record<string, number> = {
  sunday: 0,
  monday: 1,
  mon: 1,
  tuesday: 2,
  tue: 2,
  tues: 2,
  wednesday: 3,
  wed: 3,
  weds: 3,
  thursday: 4,
  thu: 4,
  thur: 4,
  thurs: 4,
  friday: 5,
  fri: 5,
  saturday: 6,
};

const MONTHS: Record<string, number> = {
  january: 1,
  jan: 1,
  february: 2,
  feb: 2,
  march: 3,
  mar: 3,
  april: 4,
  apr: 4,
  may: 5,
  june: 6,
  jun: 6,
  july: 7,
  jul: 7,
  august: 8,
  aug: 8,
  september: 9,
  sept: 9,
  sep: 9,
  october: 10,
  oct: 10,
  november: 11,
  nov: 11,
  december: 12,
  dec: 12,
};

const NUMBERS: Record<string, number> = {
  a: 1,
  an: 1,
  one: 1,
  two: 2,
  'a couple of': 2,
  'couple of': 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
};

// Longest names first, so "thursday" is not read as "thu" followed by "rsday".
const byLength = (names: string[]) => [...names].sort((a, b) => b.length - a.length).join('|');
// "sat" and "sun" are left out on purpose: "put on sun cream" is not a due date.
const FULL_WEEKDAY = 'monday|tuesday|wednesday|thursday|friday|saturday|sunday';
const SHORT_WEEKDAY = 'mon|tues|tue|weds|wed|thurs|thur|thu|fri';
const FULL_NAMES = Object.fromEntries(FULL_WEEKDAY.split('|').map((d) => [d, true]));
const MONTH = byLength(Object.keys(MONTHS));
const COUNT = String.raw`\d{1,3}|${byLength(Object.keys(NUMBERS))}`;
const PREPOSITION = `(?:due(?: on| by| for)?|by|on|for|before|until|till|starting)`;

const PHRASE = [
  String.raw`(?<iso>\d{4}-\d{2}-\d{2})`,
  `(?<dayAfter>(?:the )?day after (?:tomorrow|tmrw))`,
  `(?<tomorrow>tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow)(?: (?:morning|afternoon|evening|night))?`,
  `(?<today>today|tonight|this (?:morning|afternoon|evening))`,
  `(?:in|within) (?<inCount>${COUNT}) (?<inUnit>days?|weeks?|months?)`,
  `(?<fromCount>${COUNT}) (?<fromUnit>days?|weeks?|months?) from (?:now|today)`,
  `(?<nextWeek>next week)`,
  `(?<weekend>(?:this |the |over the )?weekend)`,
  `(?<endOfMonth>(?:the )?end of (?:the |this )?month)`,
  `(?:(?<rel>next|this coming|this|coming) )?(?<weekday>${FULL_WEEKDAY}|${SHORT_WEEKDAY})`,
  String.raw`(?<month1>${MONTH})\.? (?<day1>\d{1,2})(?:st|nd|rd|th)?(?:,? (?<year1>\d{4}))?`,
  String.raw`(?:the )?(?<day2>\d{1,2})(?:st|nd|rd|th)? (?:of )?(?<month2>${MONTH})\.?(?:,? (?<year2>\d{4}))?`,
  String.raw`(?:the )?(?<dayOfMonth>\d{1,2})(?:st|nd|rd|th)(?: of (?:the|this) month)?`,
].join('|');

// A phrase starts at a word boundary and ends before a space or punctuation, but not before an
// apostrophe: "tomorrow's meeting" is a title, not a due date.
const DATE_PATTERN = new RegExp(
  String.raw`(?<=^|[\s,(])(?:(?<prep>${PREPOSITION}) )?(?:${PHRASE})(?=$|[\s,.;:!?)])`,
  'gi',
);

/** Every date phrase in `text`, left to right. */
export function findDates(text: string, today: string): DateMatch[] {
  const found: DateMatch[] = [];
  for (const match of text.matchAll(DATE_PATTERN)) {
    const groups = match.groups ?? {};
    // A bare abbreviation ("fri") is too easily a word of a title: it counts only with "this",
    // "next" or a preposition.
    const abbreviated = groups.weekday !== undefined && !(groups.weekday.toLowerCase() in FULL_NAMES);
    if (abbreviated && !groups.rel && !groups.prep) continue;
    // "the 5th" alone is too easily part of a title ("buy 5th birthday card"): only "on the 5th".
    if (groups.dayOfMonth && !groups.prep) continue;
    const resolved = resolve(groups, today);
    if (!resolved) continue;
    const start = match.index;
    found.push({
      ...resolved,
      start,
      end: start + match[0].length,
      introduced: match.groups?.prep !== undefined,
    });
  }
  return found;
}

function resolve(
  g: Record<string, string | undefined>,
  today: string,
): Omit<DateMatch, 'start' | 'end' | 'introduced'> | undefined {
  const lower = (s: string | undefined) => (s ?? '').toLowerCase();
  if (g.iso) return { date: g.iso, weak: false, words: `on ${g.iso}` };
  if (g.dayAfter) return { date: addDays(today, 2), weak: false, words: 'the day after tomorrow' };
  if (g.tomorrow) return { date: addDays(today, 1), weak: false, words: 'tomorrow' };
  if (g.today) return { date: today, weak: false, words: 'today' };
  const count = g.inCount ?? g.fromCount;
  const unit = g.inUnit ?? g.fromUnit;
  if (count && unit) {
    const n = NUMBERS[lower(count)] ?? Number(count);
    const u = lower(unit);
    const date = u.startsWith('month')
      ? addMonths(today, n)
      : addDays(today, u.startsWith('week') ? 7 * n : n);
    return { date, weak: false, words: `in ${n} ${u.replace(/s$/, '')}${n === 1 ? '' : 's'}` };
  }
  if (g.nextWeek) return { date: addDays(startOfWeek(today), 7), weak: false, words: 'next week' };
  if (g.weekend) {
    // The coming Saturday; on a Sunday, the weekend is today.
    const w = weekday(today);
    return { date: addDays(today, w === 0 ? 0 : 6 - w), weak: false, words: 'this weekend' };
  }
  if (g.dayOfMonth) {
    const day = Number(g.dayOfMonth);
    if (day < 1 || day > 31) return undefined;
    const [y, m, d] = parts(today);
    const date = day >= d ? isoDate(y, m, day) : m === 12 ? isoDate(y + 1, 1, day) : isoDate(y, m + 1, day);
    return { date, weak: true, words: `on ${date}` };
  }
  if (g.endOfMonth) return { date: endOfMonth(today), weak: false, words: 'at the end of the month' };
  if (g.weekday) {
    const name = lower(g.weekday);
    const day = WEEKDAYS[name];
    if (day === undefined) return undefined;
    const rel = lower(g.rel);
    const found = FULL_WEEKDAY.split('|').find((d) => WEEKDAYS[d] === day) ?? name;
    const full = `${found.charAt(0).toUpperCase()}${found.slice(1)}`;
    if (rel === 'next') {
      // Next week's Monday plus the weekday's offset within a Monday-first week.
      return {
        date: addDays(startOfWeek(today), 7 + ((day + 6) % 7)),
        weak: false,
        words: `next ${full}`,
      };
    }
    const ahead = (day - weekday(today) + 7) % 7 || 7;
    return { date: addDays(today, ahead), weak: !rel, words: `on ${full}` };
  }
  const month = MONTHS[lower(g.month1 ?? g.month2)];
  const dayText = g.day1 ?? g.day2;
  if (month && dayText) {
    const day = Number(dayText);
    if (day < 1 || day > 31) return undefined;
    const year = g.year1 ?? g.year2;
    const date = year ? isoDate(Number(year), month, day) : nextMonthDay(today, month, day);
    return { date, weak: !year, words: `on ${date}` };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Arithmetic on YYYY-MM-DD strings in UTC, so no time zone can shift a day.

function parts(iso: string): [number, number, number] {
  const [y, m, d] = iso.split('-').map(Number);
  return [y ?? 1970, m ?? 1, d ?? 1];
}

function isoDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function fromDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function addDays(iso: string, days: number): string {
  const [y, m, d] = parts(iso);
  return fromDate(new Date(Date.UTC(y, m - 1, d + days)));
}

function addMonths(iso: string, months: number): string {
  const [y, m, d] = parts(iso);
  const last = new Date(Date.UTC(y, m - 1 + months + 1, 0)).getUTCDate();
  return fromDate(new Date(Date.UTC(y, m - 1 + months, Math.min(d, last))));
}

function endOfMonth(iso: string): string {
  const [y, m] = parts(iso);
  return fromDate(new Date(Date.UTC(y, m, 0)));
}

/** 0 = Sunday ... 6 = Saturday. */
export function weekday(iso: string): number {
  const [y, m, d] = parts(iso);
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

/** The Monday of the week holding `iso`. */
export function startOfWeek(iso: string): string {
  return addDays(iso, -((weekday(iso) + 6) % 7));
}

function nextMonthDay(today: string, month: number, day: number): string {
  const [y] = parts(today);
  const thisYear = isoDate(y, month, day);
  return thisYear >= today ? thisYear : isoDate(y + 1, month, day);
}

/** "this week" and "next week" as Monday-to-Sunday ranges, for questions like "what's due this week". */
export function weekRange(today: string, which: 'this' | 'next'): DateRange {
  const monday = addDays(startOfWeek(today), which === 'next' ? 7 : 0);
  return { from: monday, to: addDays(monday, 6), words: `${which} week` };
}

const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export function weekdayName(iso: string): string {
  return WEEKDAY_NAMES[weekday(iso)] ?? '';
}
