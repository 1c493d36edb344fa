/**
 * @module model/offline-dates
 * The date phrases the offline command reader understands ("tomorrow", "friday", "next monday",
 * "in 3 days", "on December 5", "5 dec", "2026-12-05"), times of day ("at 5pm"), repetitions
 * ("every monday", "every month on the 1st", as RRULEs) and how early a reminder is wanted ("30
 * minutes before"), resolved against the server's today (which
 * the reader takes from the system prompt), never against its own clock: the same conversation
 * reads the same wherever and whenever it is replayed.
 *
 * Conventions, chosen once and kept: a weekday name alone ("friday", "on friday", "this friday")
 * is the next such day after today, 1 to 7 days ahead; "next friday" is the Friday of next week
 * (weeks start on Monday); "next week" is next week's Monday. A month and day without a year is
 * the next time that day comes, today included. Calendar validity ("february 30") is left to the
 * tools, the one place that decides what a valid due date is.
 *
 * Why not chrono-node: measured on the 28 date phrasings of the tests (2.10.3, Monday 2026-11-23,
 * forwardDate), it read 24: it missed "pay rent on the 1st", took "on monday" said on a Monday as
 * today, and found dates inside titles ("prepare for tomorrow's meeting", "put on sun cream"). The
 * reader also needs to know which phrases could be ordinary title words (`weak`), which chrono
 * does not say.
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

// ---------------------------------------------------------------------------------------------
// Times of day ("at 5pm", "at 17:30", "at noon") and repetitions ("every monday", "every month on
// the 1st"), for the add_task arguments `due_time` and `repeat`.

export type TimeMatch = { time: string; start: number; end: number };

const TIME_PATTERN = new RegExp(
  [
    String.raw`(?<=^|[\s,(])(?:(?:at|@|by|around) )?`,
    `(?:(?<noon>noon|midday)|(?<midnight>midnight)`,
    String.raw`|(?<h12>\d{1,2})(?::(?<m12>\d{2}))? ?(?<ampm>am|pm|a\.m\.|p\.m\.)`,
    String.raw`|(?<h24>[01]?\d|2[0-3]):(?<m24>[0-5]\d)`,
    // "at 5" alone is a time only with "at": "buy 5 apples" is not.
    String.raw`|(?<=(?:at|@) )(?<hAt>\d{1,2})(?! ?(?:days?|weeks?|months?|apples|st|nd|rd|th)\b))`,
    String.raw`(?=$|[\s,.;:!?)])`,
  ].join(''),
  'gi',
);

/** The first time-of-day phrase in `text`, as HH:MM. */
export function findTime(text: string): TimeMatch | undefined {
  for (const match of text.matchAll(TIME_PATTERN)) {
    const g = match.groups ?? {};
    let hour: number;
    let minute = 0;
    if (g.noon) hour = 12;
    else if (g.midnight) hour = 0;
    else if (g.h12) {
      hour = Number(g.h12);
      minute = Number(g.m12 ?? 0);
      if (hour < 1 || hour > 12 || minute > 59) continue;
      const pm = /^p/i.test(g.ampm ?? '');
      hour = (hour % 12) + (pm ? 12 : 0);
    } else if (g.h24) {
      hour = Number(g.h24);
      minute = Number(g.m24);
    } else {
      hour = Number(g.hAt);
      if (hour > 23) continue;
    }
    const time = `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
    return { time, start: match.index, end: match.index + match[0].length };
  }
  return undefined;
}

/** A repetition: the RRULE (RFC 5545, without the "RRULE:" prefix) and its first date. */
export type RepeatMatch = { rule: string; first: string; words: string; start: number; end: number };

const RRULE_DAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];
const DAY_NAME = `(?:${FULL_WEEKDAY}|${SHORT_WEEKDAY})`;
const DAY_LIST = `${DAY_NAME}s?(?:(?:,| and|, and|,and) ${DAY_NAME}s?)*`;
const REPEAT_PATTERN = new RegExp(
  String.raw`(?<=^|[\s,(])(?:` +
    [
      `(?:every|each) (?<everyDays>${DAY_LIST})(?: of the week)?`,
      `on (?<onDays>${DAY_LIST.replaceAll('s?', 's')})`,
      `(?:every|each) (?<weekday>weekday|working day|work day|business day)s?|on weekdays|weekdays`,
      String.raw`(?:every|each) (?:(?<n>${COUNT}) |(?<other>other|second) )?(?<unit>day|week|month|year)s?(?: on the (?<monthDay1>\d{1,2})(?:st|nd|rd|th)?)?`,
      `(?<daily>daily|nightly)`,
      `(?<weekly>weekly)`,
      `(?<biweekly>biweekly|fortnightly|every fortnight)`,
      String.raw`(?<monthly>monthly)(?: on the (?<monthDay2>\d{1,2})(?:st|nd|rd|th)?)?`,
      `(?<yearly>yearly|annually|every year)`,
      String.raw`on the (?<monthDay3>\d{1,2})(?:st|nd|rd|th)? (?:of )?(?:every|each) month`,
    ].join('|') +
    String.raw`)(?=$|[\s,.;:!?)])`,
  'gi',
);

/** The first repetition phrase in `text`, with the first occurrence from `today` (included). */
export function findRepeat(text: string, today: string): RepeatMatch | undefined {
  for (const match of text.matchAll(REPEAT_PATTERN)) {
    const g = match.groups ?? {};
    const span = { start: match.index, end: match.index + match[0].length, words: match[0] };
    const days = g.everyDays ?? g.onDays;
    if (days) {
      const numbers = [...days.toLowerCase().matchAll(new RegExp(DAY_NAME, 'g'))]
        .map((m) => WEEKDAYS[m[0]])
        .filter((d): d is number => d !== undefined);
      const unique = [...new Set(numbers)].sort((a, b) => ((a + 6) % 7) - ((b + 6) % 7));
      if (unique.length === 0) continue;
      const rule = `FREQ=WEEKLY;BYDAY=${unique.map((d) => RRULE_DAYS[d]).join(',')}`;
      return { rule, first: nextWeekday(today, unique), ...span };
    }
    if (g.weekday || /weekdays$/i.test(match[0])) {
      return {
        rule: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR',
        first: nextWeekday(today, [1, 2, 3, 4, 5]),
        ...span,
      };
    }
    const monthDay = g.monthDay1 ?? g.monthDay2 ?? g.monthDay3;
    if (monthDay) {
      const day = Number(monthDay);
      if (day < 1 || day > 31) continue;
      const interval = g.n ? (NUMBERS[g.n.toLowerCase()] ?? Number(g.n)) : 1;
      if (g.unit && g.unit.toLowerCase() !== 'month') continue;
      const rule = `FREQ=MONTHLY${interval > 1 ? `;INTERVAL=${interval}` : ''};BYMONTHDAY=${day}`;
      return { rule, first: nextMonthDayOf(today, day), ...span };
    }
    if (g.daily) return { rule: 'FREQ=DAILY', first: today, ...span };
    if (g.weekly) return { rule: 'FREQ=WEEKLY', first: today, ...span };
    if (g.biweekly) return { rule: 'FREQ=WEEKLY;INTERVAL=2', first: today, ...span };
    if (g.monthly) return { rule: 'FREQ=MONTHLY', first: today, ...span };
    if (g.yearly) return { rule: 'FREQ=YEARLY', first: today, ...span };
    if (g.unit) {
      const interval = g.other ? 2 : g.n ? (NUMBERS[g.n.toLowerCase()] ?? Number(g.n)) : 1;
      if (!(interval >= 1)) continue;
      const freq = { day: 'DAILY', week: 'WEEKLY', month: 'MONTHLY', year: 'YEARLY' }[
        g.unit.toLowerCase() as 'day' | 'week' | 'month' | 'year'
      ];
      return { rule: `FREQ=${freq}${interval > 1 ? `;INTERVAL=${interval}` : ''}`, first: today, ...span };
    }
  }
  return undefined;
}

/** The first of `days` (0 = Sunday) from today on, today included. */
function nextWeekday(today: string, days: number[]): string {
  for (let ahead = 0; ahead < 7; ahead++) {
    const date = addDays(today, ahead);
    if (days.includes(weekday(date))) return date;
  }
  return today;
}

/** The next `day` of a month from today on, today included, skipping months too short for it. */
function nextMonthDayOf(today: string, day: number): string {
  const [y, m, d] = parts(today);
  for (let k = d <= day ? 0 : 1; k < 24; k++) {
    const year = y + Math.floor((m - 1 + k) / 12);
    const month = ((m - 1 + k) % 12) + 1;
    if (day <= new Date(Date.UTC(year, month, 0)).getUTCDate()) return isoDate(year, month, day);
  }
  return today;
}

/** How long before a task's time its reminder is asked for ("30 minutes before"). */
export type ReminderLead = { minutes: number; words: string; start: number; end: number };

const LEAD_UNITS: Record<string, number> = { minute: 1, min: 1, hour: 60, hr: 60, day: 1440, week: 10080 };
const LEAD_PATTERN = new RegExp(
  String.raw`(?<=^|[\s,;(])(?:(?<half>half an hour)|(?<n>${COUNT}) (?<unit>minute|min|hour|hr|day|week)s?) (?:before|ahead|in advance|early)(?=$|[\s,.;:!?)])`,
  'i',
);

/** The first "30 minutes before" ("an hour ahead", "1 day before", "half an hour before") in `text`. */
export function findReminderLead(text: string): ReminderLead | undefined {
  const match = LEAD_PATTERN.exec(text);
  if (!match) return undefined;
  const g = match.groups ?? {};
  const count = g.n ? (NUMBERS[g.n.toLowerCase()] ?? Number(g.n)) : 1;
  const minutes = g.half ? 30 : count * (LEAD_UNITS[(g.unit ?? '').toLowerCase()] ?? 0);
  if (!(minutes > 0)) return undefined;
  return { minutes, words: match[0], start: match.index, end: match.index + match[0].length };
}

/** The wall-clock date and time `minutes` after `date` `time` (negative: before), calendar only. */
export function addMinutes(date: string, time: string, minutes: number): { date: string; time: string } {
  const [y, m, d] = parts(date);
  const [hh, mm] = time.split(':').map(Number);
  const wall = new Date(Date.UTC(y, m - 1, d, hh ?? 0, (mm ?? 0) + minutes));
  return { date: wall.toISOString().slice(0, 10), time: wall.toISOString().slice(11, 16) };
}

/**
 * `date` at `time` (HH:MM) in the IANA `zone`, as an ISO 8601 instant with that zone's offset
 * then, e.g. "2026-11-23T17:00:00+01:00": what the `reminder` argument takes.
 */
export function localInstant(date: string, time: string, zone: string): string {
  const [y, m, d] = parts(date);
  const [hh, mm] = time.split(':').map(Number);
  const wall = Date.UTC(y, m - 1, d, hh ?? 0, mm ?? 0);
  // The zone's offset at that wall time (taken twice, so a change of offset between is seen).
  let offset = zoneOffsetMinutes(zone, wall);
  offset = zoneOffsetMinutes(zone, wall - offset * 60_000);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date}T${time}:00${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function zoneOffsetMinutes(zone: string, instant: number): number {
  const fields: Record<string, number> = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    })
      .formatToParts(new Date(instant))
      .map((p) => [p.type, Number(p.value)]),
  );
  const field = (name: string) => fields[name] ?? 0;
  const asUtc = Date.UTC(field('year'), field('month') - 1, field('day'), field('hour'), field('minute'));
  return Math.round((asUtc - Math.floor(instant / 60_000) * 60_000) / 60_000);
}
