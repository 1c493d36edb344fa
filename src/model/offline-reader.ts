/**
 * @module model/offline-reader
 * Reads one chat message into what the offline model should do: the common ways people write
 * the five task actions ("remind me to pay rent next monday, high priority", "mark the milk one
 * done", "move the dentist to Friday", "what's on my list?"), several tasks in one sentence, chat
 * shorthand and typos of its own command words ("pls ad ... tmrw"), and nothing cleverer. It is a
 * command reader, not an AI: ordered patterns over the words, no guessing, the same answer for the
 * same text and today. What it cannot read becomes a miss with a few suggestions built from the
 * words that were typed.
 *
 * Tasks named by words of their title are matched word by word on simple stems ("buying" and
 * "buy", "groceries" and "grocery"), ignoring fillers ("the", "one", "task"); see `stem`.
 */
import {
  addDays,
  type DateRange,
  findDates,
  findReminderLead,
  findRepeat,
  findTime,
  startOfWeek,
  weekRange,
} from './offline-dates.ts';

export type Priority = 'low' | 'medium' | 'high';
export type Status = 'all' | 'pending' | 'completed';

/** Words of a title: every `required` stem must be in the title; `preferred` ones break ties. */
export type TitleRef = { kind: 'title'; text: string; required: string[]; preferred: string[] };
export type Ref =
  | { kind: 'id'; id: number }
  /** A place in the list shown last: 0 = first, -1 = last. */
  | { kind: 'position'; index: number; text: string }
  /** "it", "that one": the task the conversation touched last. */
  | { kind: 'it' }
  | TitleRef;

export type Changes = { title?: string; due_date?: string | null; priority?: Priority };

export type DueFilter =
  | { kind: 'on'; date: string; words: string }
  | ({ kind: 'range' } & DateRange)
  | { kind: 'overdue'; today: string }
  /** Any task with a due date, today or later ("what's coming up"). */
  | { kind: 'upcoming'; today: string };

export type AddArgs = { title: string; due_date?: string; priority?: Priority };
/**
 * A task to add: the add_task arguments every version of the tool takes, and what newer ones take
 * too (a time of day, a repetition, a reminder), for the model to pass when the tool offers them.
 */
export type NewTask = AddArgs & {
  /** HH:MM, from "at 5pm". */
  time?: string;
  /** An RRULE ("FREQ=WEEKLY;BYDAY=MO") and the words it came from; `due_date` is its first day. */
  repeat?: { rule: string; words: string };
  /**
   * "remind me ... at 5pm", "remind me every monday to ...": a reminder is asked for, at `due_date`
   * and `time` (the model picks a time of day when none was said).
   */
  remind?: boolean;
  /** "..., remind me 30 minutes before": how long before that the reminder is wanted. */
  remindBefore?: { minutes: number; words: string };
};

export type Intent =
  | { kind: 'help' }
  | { kind: 'greeting' }
  /** One task, or several from one sentence ("pay rent, call the dentist and buy a gift"). */
  | { kind: 'add'; tasks: NewTask[] }
  /** `finished`: completed tasks last changed in that range ("what did I finish today?"). */
  | { kind: 'list'; status: Status; search?: string; due?: DueFilter; finished?: DateRange }
  | { kind: 'complete'; ref: Ref; completed: boolean }
  | { kind: 'update'; ref: Ref; changes: Changes }
  | { kind: 'delete'; ref: Ref }
  /**
   * "undo", "undo that", "undo the last two": the newest `count` changes this conversation made,
   * walked back one by one. "undo 3" and "undo the milk one" name a task: they reopen it.
   */
  | { kind: 'undo'; count: number }
  /** Only a reference ("the second one", "#4"): the answer to "which one?", else a miss. */
  | { kind: 'bare'; ref: Ref }
  /** Understood, but not something this reader does (e.g. deleting everything). */
  | { kind: 'refuse'; text: string }
  | { kind: 'miss'; suggestions: string[] };

export type ActionIntent = Extract<Intent, { kind: 'complete' | 'update' | 'delete' }>;

type Rule = (text: string, ctx: ReadContext) => Intent | undefined;
type ReadContext = { today: string; question: boolean };

/** Reads `message` as of `today` (YYYY-MM-DD). */
export function readMessage(message: string, today: string): Intent {
  const cleaned = clean(message);
  if (GREETING.test(cleaned)) return { kind: 'greeting' };
  const question = /\?\s*$/.test(cleaned);
  const text = stripPoliteness(cleaned.replace(/[\s.?!…]+$/, ''));
  if (!text) return { kind: 'miss', suggestions: suggest(message) };
  const ctx = { today, question };
  // "ad buy milk", "mrak 2 done": a seen typo of a command word is that command; "serach milk" is
  // "search milk" when the text does not read as it was typed (see TYPOS).
  const fixed = fixCommandWord(text);
  const known = fixed !== undefined && TYPOS[text.split(' ')[0]?.toLowerCase() ?? ''] !== undefined;
  const read = (known && readText(fixed, ctx)) || readText(text, ctx) || (fixed && readText(fixed, ctx));
  return read || { kind: 'miss', suggestions: suggest(message) };
}

function readText(text: string, ctx: ReadContext): Intent | undefined {
  // "did I finish the milk?", "is 3 done?": questions about the list never change it.
  const rules = ctx.question && QUESTION_START.test(text) ? [readHelp, readList] : RULES;
  for (const rule of rules) {
    const intent = rule(text, ctx);
    if (intent && intent.kind !== 'miss') return intent;
    if (intent) return fixCommandWord(text) ? undefined : intent;
  }
  return undefined;
}

function clean(text: string): string {
  const t = text
    .replace(/[’‘`]/g, "'")
    .replace(/[“”«»]/g, '"')
    .replace(/\s+/g, ' ')
    .trim();
  return t.replace(SHORTHAND_PATTERN, (word) => SHORTHAND[word.toLowerCase()] ?? word);
}

// Chat shorthand for words the reader knows; whole words only, so no title word is touched by
// accident ("u" and "r" are left alone: "vitamin u", "plan r").
const SHORTHAND: Record<string, string> = {
  tmrw: 'tomorrow',
  tmrow: 'tomorrow',
  tmw: 'tomorrow',
  '2moro': 'tomorrow',
  '2morrow': 'tomorrow',
  tmrrw: 'tomorrow',
  '2day': 'today',
  wat: 'what',
  wut: 'what',
  whats: "what's",
  wats: "what's",
  pls: 'please',
  plz: 'please',
  plss: 'please',
  thx: 'thanks',
};
const SHORTHAND_PATTERN = new RegExp(
  String.raw`(?<![\p{L}\p{N}'])(?:${Object.keys(SHORTHAND).join('|')})(?![\p{L}\p{N}'])`,
  'giu',
);

const QUESTION_START = /^(?:did|do|does|is|are|was|were|have|has|had|should|shall|am|will|would)\b/i;

const GREETING =
  /^(?:hi|hello|hey|hiya|yo|howdy|good (?:morning|afternoon|evening)|thanks|thank you|thx|ty|cheers|ok|okay|cool|great|nice|perfect)(?: (?:there|again|a lot|so much|taskchat))?[\s!.,:)]*$/i;

const LEADING_POLITENESS = new RegExp(
  [
    String.raw`^(?:please|pls|plz|kindly|hey|hi|hello|ok|okay|so|now|and|also|then|oh|ah|um|uh|hmm|well|alright|right|actually|oops|sorry|wait|btw|by the way|plus|one more thing|taskchat|bot)\b[,!:.]?\s+`,
    String.raw`^(?:can|could|would|will) (?:you|u)(?: please| kindly| just)?\s+`,
    String.raw`^(?:i'd|i would|i'd really) like (?:you )?to\s+`,
    String.raw`^i (?:want|wanna|wish) (?:you )?(?:to )?\s*`,
    String.raw`^(?:let's|lets|let me|go ahead and|just|quickly)\s+`,
  ].join('|'),
  'i',
);
const TRAILING_POLITENESS = /[\s,]+(?:please|pls|plz|thanks|thank you|thx|ty|cheers|for me)$/i;

function stripPoliteness(text: string): string {
  let t = text;
  for (let before = ''; before !== t; ) {
    before = t;
    t = t.replace(LEADING_POLITENESS, '').replace(TRAILING_POLITENESS, '').trim();
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// The rules, in order: the first that reads the message wins. Explicit commands come before
// the looser forms, so "add ..." is never read as anything else, and questions ("... done?")
// never change anything unless phrased as a request.

const RULES: Rule[] = [
  readHelp,
  readExplicitAdd,
  readList,
  readDueRemoval,
  readBulk,
  readUndo,
  readReopen,
  readComplete,
  readDelete,
  readFillerAdd,
  readEdit,
  readStatement,
  readBare,
];

function readHelp(text: string): Intent | undefined {
  const help =
    /^(?:help|h|\?|commands|menu|usage|what can (?:you|i) (?:do|say|ask)|how (?:does this|do i use this|do you) work|what do you understand|what are the commands|help me)$/i;
  return help.test(text) ? { kind: 'help' } : undefined;
}

// --- adding -----------------------------------------------------------------------------------

const ADD_NOUN = `(?:task|todo|to-do|to do|item|reminder|entry|note)`;

function readExplicitAdd(text: string, ctx: ReadContext): Intent | undefined {
  const put = /^put (.+) on (?:my|the) (?:list|to-?do list|todo list|task list|tasks)$/i.exec(text);
  if (put) return readNewTasks(put[1] ?? '', ctx.today) ?? missFor(text);
  const onList =
    /^add (?:to|on|onto) (?:my|the) (?:list|to-?do list|todo list|task list|tasks)\s*[:-]?\s+(.+)$/i.exec(
      text,
    );
  if (onList) return readNewTasks(onList[1] ?? '', ctx.today) ?? missFor(text);
  const verb =
    /^(?:add|new|note(?: down)?|jot(?: down)?|write down)(?:\b|(?=[:-]))\s*(.*)$/i.exec(text) ??
    new RegExp(
      String.raw`^(?:create|make|set up|schedule|log|record)\s+((?:(?:a|an|another|the|my) )?(?:new )?(?:(?:high|low|urgent|important)(?:[- ]priority)? )?${ADD_NOUN}s?\b.*)$`,
      'i',
    ).exec(text) ??
    new RegExp(String.raw`^((?:new )?${ADD_NOUN}\s*[:\-].*)$`, 'i').exec(text);
  if (!verb) return undefined;
  let rest = verb[1] ?? '';
  // "add a task to ...", "new high priority todo: ...": the noun phrase is not part of the title.
  // Without an article, a colon or a level, only the unmistakable nouns count ("add task buy
  // milk"), so "add notes for the meeting" keeps its title.
  const lead = new RegExp(
    String.raw`^(?:(?<article>a|an|another|the|my) )?(?:new )?(?:(?<level>high|low|urgent|important)(?:[- ]priority)? )?(?<noun>${ADD_NOUN})s?\b(?<connector> ?(?:to|for|called|named|titled|saying|that says|about|[:\-]))?\s*`,
    'i',
  ).exec(rest);
  const g = lead?.groups ?? {};
  let preset: Priority | undefined;
  if (
    lead &&
    (g.article ||
      g.level ||
      /^(?:task|todo|to-do|reminder)$/i.test(g.noun ?? '') ||
      /[:-]|called|named|titled/i.test(g.connector ?? ''))
  ) {
    rest = rest.slice(lead[0].length);
    if (g.level) preset = /^low$/i.test(g.level) ? 'low' : 'high';
  }
  return readNewTasks(rest, ctx.today, { preset }) ?? missFor(text);
}

function readFillerAdd(text: string, ctx: ReadContext): Intent | undefined {
  const remind =
    /^(?:remind me|reminder)(?: (?:to|about|of|that i (?:need|have|must|should) to|that))? (.+)$/i.exec(text);
  if (remind) return readNewTasks(remind[1] ?? '', ctx.today, { remind: true }) ?? missFor(text);
  const patterns = [
    /^(?:don't|do not|dont) (?:let me )?forget (?:to |about )?(.+)$/i,
    /^(?:remember to|remember|note that i (?:need|have) to|make sure to|make sure i) (.+)$/i,
    /^(?:i|we) (?:really |also |still )?(?:need to|needs to|have to|has to|have got to|'ve got to|got to|gotta|must|should|ought to|'ll need to|will need to|'ll have to|will have to|must remember to|need to remember to|am supposed to|'m supposed to|plan to|'m going to|am going to|gonna) (.+)$/i,
    /^(?:i've got to|i've to|i must|i should) (.+)$/i,
    /^(?:need to|have to|got to|gotta|must|should|remember to|don't forget to) (.+)$/i,
  ];
  for (const pattern of patterns) {
    const match = pattern.exec(text);
    if (match) return readNewTasks(match[1] ?? '', ctx.today) ?? missFor(text);
  }
  return undefined;
}

type AddOptions = { preset?: Priority; remind?: boolean; remindBefore?: NewTask['remindBefore'] };

/**
 * The tasks in `raw`: one, or several when it is a list ("pay rent on the 1st, call the dentist,
 * and buy a gift by Friday"), each with its own date and priority. Undefined when no title is left.
 * "30 minutes before" asks every task of the sentence for a reminder that early: after "remind me"
 * anywhere ("add dentist friday at 3pm, remind me 30 minutes before"), or anywhere in a sentence
 * that began with "remind me".
 */
export function readNewTasks(raw: string, today: string, options: AddOptions = {}): Intent | undefined {
  const lead = takeReminderLead(raw, options.remind === true);
  if (lead) {
    raw = lead.rest;
    options = { ...options, remind: true, remindBefore: { minutes: lead.minutes, words: lead.words } };
  }
  const pieces = splitList(raw, today);
  const tasks = pieces.map((piece) => readNewTask(piece, today, options));
  if (pieces.length > 1 && tasks.every((task) => task !== undefined)) return { kind: 'add', tasks };
  // A piece with no title of its own ("every monday, ..."): the sentence is one task.
  const one = pieces.length > 1 ? readNewTask(raw, today, options) : tasks[0];
  return one ? { kind: 'add', tasks: [one] } : undefined;
}

/** "30 minutes before" taken out of `raw` (with its "and remind me"), when it asks for a reminder. */
function takeReminderLead(
  raw: string,
  remindAsked: boolean,
): { minutes: number; words: string; rest: string } | undefined {
  const lead = findReminderLead(raw);
  if (!lead) return undefined;
  const said = /(?:^|[\s,;]+)(?:and )?(?:remind me|with a reminder|reminder)\s*$/i.exec(
    raw.slice(0, lead.start),
  );
  if (!said && !remindAsked) return undefined;
  const start = said ? said.index : lead.start;
  const before = raw.slice(0, start).trim();
  const after = raw.slice(lead.end).trim();
  // "remind me 30 minutes before to call mom": the action's "to" came after the phrase.
  const rest = before ? `${before} ${after}` : after.replace(/^(?:to|that i (?:need|have) to)\s+/i, '');
  return { minutes: lead.minutes, words: lead.words, rest: rest.trim() };
}

// Words that cannot start a task of their own: after a comma they continue the title before
// ("call Bob, the plumber"; "buy bread, with seeds").
const NOT_A_TASK_START =
  /^(?:the|a|an|my|his|her|their|our|your|its|this|that|these|those|with|without|for|to|of|in|on|at|from|by|who|which|where|when|but|or|nor|so|then|as|if|than|not|no|please|too|etc|and)$/i;

/**
 * A sentence split into tasks at its commas (and a last "and"), only when every piece looks like a
 * task of its own: two words or more, not starting with an article or preposition. A piece that is
 * only a date or a priority ("..., high priority") belongs to the piece before. Without commas, an
 * "and" splits only after a date ("buy milk tomorrow and call mom on friday"); "buy bread and
 * butter" stays one task.
 */
function splitList(raw: string, today: string): string[] {
  const byComma = raw.split(/\s*[,;]\s*/).filter(Boolean);
  const pieces: string[] = [];
  for (const piece of byComma) {
    const previous = pieces.at(-1);
    const value = readValue(piece.replace(/^and\s+/i, ''), today);
    if (previous !== undefined && (value || findRepeat(piece, today)?.words === piece)) {
      pieces[pieces.length - 1] = `${previous}, ${piece}`;
    } else pieces.push(piece.replace(/^and\s+/i, ''));
  }
  const listed = pieces.length > 1;
  const split = pieces.flatMap((piece, i) => {
    const and = / and /i.exec(piece);
    if (!and) return [piece];
    // "every monday and thursday" is one repetition.
    const repeat = findRepeat(piece, today);
    if (repeat && repeat.start < and.index && repeat.end > and.index) return [piece];
    const left = piece.slice(0, and.index);
    const right = piece.slice(and.index + 5);
    // "... tomorrow and ...", "... at 3pm and ...": a date or a time closes the task before.
    const time = findTime(left);
    const afterWhen = takeDate(left, today, 'end') !== undefined || time?.end === left.length;
    return (listed && i === pieces.length - 1) || afterWhen ? [left, right] : [piece];
  });
  const ok = split.every(
    (piece) => words(piece).length >= 2 && !NOT_A_TASK_START.test(words(piece)[0] ?? ''),
  );
  return split.length > 1 && ok ? split : [raw];
}

/** A new task's title with its date, time, repetition and priority taken out. */
function readNewTask(
  raw: string,
  today: string,
  { preset, remind, remindBefore }: AddOptions,
): NewTask | undefined {
  let title = raw.replace(
    /\s+(?:to|on|onto|in) (?:my|the) (?:list|to-?do list|todo list|task list|tasks|todos|to-?dos)$/i,
    '',
  );
  title = title.replace(/\s+as a (?:task|todo|to-do|reminder)$/i, '');
  const task: Omit<NewTask, 'title'> = preset ? { priority: preset } : {};
  // "remind me every monday to water the plants": the phrase came first, then the "to" of the action.
  const take = (start: number, end: number) => {
    const atStart = /^[\s,(]*$/.test(title.slice(0, start));
    const rest = `${title.slice(0, start)} ${title.slice(end)}`.trim();
    title = atStart ? rest.replace(/^(?:to|that i (?:need|have) to)\s+/i, '') : rest;
  };
  let dated = false;
  const repeat = findRepeat(title, today);
  if (repeat) {
    task.repeat = { rule: repeat.rule, words: repeat.words };
    task.due_date = repeat.first;
    take(repeat.start, repeat.end);
  }
  for (let changed = true; changed; ) {
    changed = false;
    if (task.priority === undefined) {
      const taken = takePriority(title, 'title');
      if (taken) {
        task.priority = taken.priority;
        title = taken.rest;
        changed = true;
      }
    }
    if (task.time === undefined) {
      const time = findTime(title);
      if (time) {
        task.time = time.time;
        take(time.start, time.end);
        changed = true;
      }
    }
    const date = takeDate(title, today, 'title');
    if (date && !dated) {
      // "every monday starting next week": the date is the first occurrence.
      task.due_date = date.date;
      dated = true;
      take(date.start, date.end);
      changed = true;
    }
  }
  title = unquote(tidy(title));
  if (!title) return undefined;
  // A reminder needs a when: a time, a day or a repetition ("remind me to buy milk" only adds it).
  if (remind && (task.time || task.due_date)) {
    task.remind = true;
    if (remindBefore) task.remindBefore = remindBefore;
  }
  return { title, ...task };
}

// --- lists and questions ----------------------------------------------------------------------

const LIST_VERB = `(?:list|ls|show me|show|display|view|see|give me|get|read|print|pull up)`;
const LIST_NOUN = `(?:tasks?|todos?|to-?dos?|items?|list|things|stuff|ones)`;
const PENDING_WORDS = `(?:pending|open|incomplete|unfinished|outstanding|remaining|active|current|undone|not done|not finished|not completed|left)`;
const DONE_WORDS = `(?:completed|complete|done|finished|closed|checked off|ticked off|crossed off)`;

function readList(text: string, ctx: ReadContext): Intent | undefined {
  const t = text.toLowerCase();
  const list = (status: Status, extra: Omit<Extract<Intent, { kind: 'list' }>, 'kind' | 'status'> = {}) =>
    ({ kind: 'list', status, ...extra }) as Intent;

  const bareStatus = (words: string) =>
    new RegExp(
      `^(?:(?:${LIST_VERB}) )?(?:(?:my|the|all|all my|all the|only|just) )?${words}(?: (?:${LIST_NOUN}))?$`,
    );
  if (bareStatus(PENDING_WORDS).test(t)) return list('pending');
  if (bareStatus(DONE_WORDS).test(t)) return list('completed');
  if (
    new RegExp(
      `^(?:(?:${LIST_VERB}) ?)?(?:(?:all|everything|all of|my|the|all my|all the|everything on|whole) ?)*(?:${LIST_NOUN})?$`,
    ).test(t) &&
    t !== ''
  ) {
    return list('all');
  }

  const find =
    /^(?:find|search|search for|look for|look up|lookup|grep|filter|filter by)(?: (?:my )?(?:tasks?|todos?|list) (?:for|with|about|containing|matching))? (.+)$/i.exec(
      text,
    );
  if (find) return list('all', { search: unquote(find[1] ?? '') });
  if (/^overdue(?: tasks)?$|^(?:late|past due)(?: tasks)?$/.test(t)) return readQuestion(text, ctx.today);
  const asks =
    /^(?:what|what's|whats|what're|which|how many|how much|do i have|have i|is there|are there|is anything|are any|any|anything|got any|tell me|remind me what|where|when)\b/.test(
      t,
    ) || new RegExp(String.raw`^${LIST_VERB}\b`).test(t);
  if (!asks) return undefined;
  return readQuestion(text, ctx.today);
}

function readQuestion(text: string, today: string): Intent | undefined {
  const t = text.toLowerCase();
  const finished = readFinished(t, today);
  if (finished) return finished;
  const mentionsList =
    /\b(?:list|tasks?|todos?|to-?dos?|to do|items?|plate|agenda|pending|open|completed|done|finished|left|due|overdue|late|remaining|outstanding|everything|anything|something|nothing|stuff|things?|need to do|have to do|got to do|planned|schedule|up|coming up|upcoming|incomplete|unfinished)\b/.test(
      t,
    );
  if (!mentionsList) return undefined;
  const about =
    /\b(?:about|mentioning|containing|matching|related to|regarding|called|named|with the words?|that says?)\s+(.+)$/i.exec(
      text,
    );
  let due: DueFilter | undefined;
  if (/\bthis week\b/.test(t)) due = { kind: 'range', ...weekRange(today, 'this') };
  else if (/\bnext week\b/.test(t)) due = { kind: 'range', ...weekRange(today, 'next') };
  else if (/\b(?:overdue|late|past due|missed)\b/.test(t)) due = { kind: 'overdue', today };
  else {
    const date = findDates(text, today)[0];
    if (date) due = { kind: 'on', date: date.date, words: date.words };
    else if (/\b(?:due|coming up|upcoming|deadlines?)\b/.test(t)) due = { kind: 'upcoming', today };
  }
  if (due) return { kind: 'list', status: 'pending', due };
  if (about) return { kind: 'list', status: 'all', search: unquote(stripFillers(about[1] ?? '')) };
  const completed =
    new RegExp(String.raw`\b${DONE_WORDS}\b`).test(t) &&
    !/\b(?:not|n't) (?:yet )?(?:done|finished|completed)\b/.test(t) &&
    !/\bto (?:be )?(?:done|finished)\b/.test(t);
  if (completed || /\b(?:did i|have i)\b/.test(t)) return { kind: 'list', status: 'completed' };
  const pending =
    new RegExp(String.raw`\b${PENDING_WORDS}\b`).test(t) ||
    /\b(?:to do|todo|to-do|need to|have to|got to|should i|still|do next|work on)\b/.test(
      t.replace(/\b(?:to-?do|todo) list\b/, 'list'),
    );
  return { kind: 'list', status: pending ? 'pending' : 'all' };
}

const DID = `(?:did (?:i|we)|have (?:i|we)|(?:i|we)(?:'ve| have)?)(?: (?:already|actually|get|got))?`;
const FINISH_VERB = `(?:finish|finished|complete|completed|do|done|tick off|ticked off|check off|checked off|cross off|crossed off|accomplish|accomplished|achieve|achieved)`;

/** "what did I finish today?", "what have I done this week": completed tasks of a period. */
function readFinished(t: string, today: string): Intent | undefined {
  const asked =
    new RegExp(String.raw`\b${DID} ${FINISH_VERB}\b`).test(t) ||
    /\b(?:finished|completed|done) (?:today|yesterday|this week|last week)\b/.test(t);
  if (!asked) return undefined;
  const monday = startOfWeek(today);
  let finished: DateRange | undefined;
  if (/\btoday\b/.test(t)) finished = { from: today, to: today, words: 'today' };
  else if (/\byesterday\b/.test(t)) {
    const day = addDays(today, -1);
    finished = { from: day, to: day, words: 'yesterday' };
  } else if (/\bthis week\b/.test(t)) finished = { from: monday, to: today, words: 'this week' };
  else if (/\blast week\b/.test(t)) {
    finished = { from: addDays(monday, -7), to: addDays(monday, -1), words: 'last week' };
  }
  return { kind: 'list', status: 'completed', ...(finished ? { finished } : {}) };
}

// --- completing and reopening -----------------------------------------------------------------

const DONE = `(?:done|complete|completed|finished|sorted|sorted out|taken care of|dealt with|checked off|ticked off|crossed off|handled|over)`;
const COMPLETE_VERB = `(?:done|complete|finish|finished|completed|close|resolve|tick off|tick|check off|cross off|knock out|knock off|wrap up)`;
const SUBJECT = `(?:(?:i|we|i've|we've|i have|we have) )?`;
const ADVERBS = `(?:(?:just|already|finally|now|actually|also) )*`;

function readComplete(text: string, ctx: ReadContext): Intent | undefined {
  const complete = (raw: string | undefined, preferred: string[] = []) => {
    const ref = readRef(raw ?? '', preferred);
    return ref ? ({ kind: 'complete', ref, completed: true } as Intent) : undefined;
  };
  const forms: RegExp[] = [
    new RegExp(
      `^(?:mark|set|flag|tick|check|cross)(?: off)? (.+?) (?:as |to )?(?:${DONE}|off|ticked|checked)$`,
      'i',
    ),
    /^(?:mark|tick|check|cross) off (.+)$/i,
    new RegExp(`^${COMPLETE_VERB}(?: with)? (.+?)(?: off)?$`, 'i'),
    new RegExp(`^(?:i'm|i am|im|we're|we are) ${ADVERBS}(?:done|finished|through) with (.+)$`, 'i'),
    new RegExp(
      `^(?:i|we|i've|we've|i have|we have) ${ADVERBS}(?:finished|completed|done|did|ticked off|checked off|crossed off|got done)(?: with)? (.+)$`,
      'i',
    ),
    new RegExp(`^${ADVERBS}(?:finished|completed|ticked off|checked off|crossed off)(?: with)? (.+)$`, 'i'),
  ];
  for (const form of forms) {
    const match = form.exec(text);
    if (match) return complete(match[1]);
  }
  // "I bought the milk", "called the dentist": the verb breaks ties between matching titles.
  const past = new RegExp(`^${SUBJECT}${ADVERBS}([a-z]+)(?: (.+))?$`, 'i').exec(text);
  const verb = past?.[1]?.toLowerCase();
  if (past && verb && isPastTense(verb)) {
    const object = past[2] ?? '';
    const ref = readRef(object, [stem(verb)]);
    if (ref) return { kind: 'complete', ref, completed: true };
    if (!object) return complete(verb);
  }
  if (!ctx.question) {
    const statement = new RegExp(
      `^(.+?) (?:is |are |was |has been |have been |got |is now |is all |are all |now )?${DONE}(?: now)?$`,
      'i',
    ).exec(text);
    if (statement && !/^(?:i|we|i'm|im|we're|it's all|all)$/i.test(statement[1] ?? '')) {
      return complete(statement[1]);
    }
  }
  return undefined;
}

const IRREGULAR_PAST: Record<string, string> = {
  bought: 'buy',
  paid: 'pay',
  made: 'make',
  went: 'go',
  got: 'get',
  took: 'take',
  wrote: 'write',
  sent: 'send',
  met: 'meet',
  ate: 'eat',
  ran: 'run',
  found: 'find',
  gave: 'give',
  told: 'tell',
  sold: 'sell',
  brought: 'bring',
  spoke: 'speak',
  kept: 'keep',
  fed: 'feed',
  drove: 'drive',
  rang: 'ring',
  swept: 'sweep',
  taught: 'teach',
  caught: 'catch',
  built: 'build',
  did: 'do',
  read: 'read',
  cut: 'cut',
  put: 'put',
  set: 'set',
  hung: 'hang',
  threw: 'throw',
  wore: 'wear',
  won: 'win',
  sang: 'sing',
  spent: 'spend',
  lent: 'lend',
  left: 'leave',
};

// Past tenses that say something about the user or the list, not that a task got done.
const NOT_DONE_VERBS = new Set([
  'wanted',
  'needed',
  'tried',
  'added',
  'used',
  'asked',
  'decided',
  'started',
  'planned',
  'hoped',
  'liked',
  'loved',
  'hated',
  'wished',
  'noticed',
  'realized',
  'realised',
  'changed',
  'moved',
  'renamed',
  'updated',
  'deleted',
  'removed',
  'created',
  'marked',
  'scheduled',
  'rescheduled',
  'postponed',
  'missed',
  'failed',
  'skipped',
  'cancelled',
  'finished',
  'completed',
  'canceled',
  'called off',
  'forgot',
  'forgotten',
  'meant',
  'thought',
  'said',
  'heard',
  'saw',
  'was',
  'were',
  'had',
  'left',
  'set',
  'put',
  'read',
]);

function isPastTense(verb: string): boolean {
  if (NOT_DONE_VERBS.has(verb)) return false;
  if (verb in IRREGULAR_PAST) return true;
  return /^[a-z]{2,}ed$/.test(verb) && !/eed$/.test(verb);
}

// --- undoing changes ----------------------------------------------------------------------------

const UNDO_VERB = `(?:undo|revert|roll back|take back)`;
const CHANGE_NOUN = `(?:change|action|edit|thing)`;
const COUNT_WORDS: Record<string, number> = { two: 2, three: 3, four: 4, five: 5 };
/** More than this in one message is more than a person keeps track of; "list" first. */
export const MAX_UNDO = 5;

/**
 * "undo", "undo that", "take that back", "undo the last change", "undo the last two (changes)".
 * "it", "that", "this" mean the last change here, not a task: after a delete, reopening "it" would
 * fail, while undoing the change brings it back. A task named ("undo 3", "undo the milk one") is
 * left to readReopen, which is what "undo" with a task always meant.
 */
function readUndo(text: string): Intent | undefined {
  const one = new RegExp(
    `^(?:${UNDO_VERB}(?: (?:it|that|this|(?:that|this) ${CHANGE_NOUN}|what you (?:just )?did|(?:the|my|your) (?:last|latest) ${CHANGE_NOUN}|(?:last|latest) ${CHANGE_NOUN}))?|take (?:it|that) back)$`,
    'i',
  );
  if (one.test(text)) return { kind: 'undo', count: 1 };
  const several = new RegExp(
    `^${UNDO_VERB}(?: (?:the|my|your))? (?:last|latest) (\\d+|${Object.keys(COUNT_WORDS).join('|')})(?: ${CHANGE_NOUN}s| ones)?$`,
    'i',
  ).exec(text);
  if (!several) return undefined;
  const word = (several[1] ?? '').toLowerCase();
  const count = COUNT_WORDS[word] ?? Number(word);
  if (count < 1) return undefined;
  if (count > MAX_UNDO) {
    return {
      kind: 'refuse',
      text: `I undo at most ${MAX_UNDO} changes at a time, so nothing was undone; say "undo the last ${MAX_UNDO}", then again.`,
    };
  }
  return { kind: 'undo', count };
}

function readReopen(text: string, ctx: ReadContext): Intent | undefined {
  const reopen = (raw: string | undefined) => {
    const ref = readRef(raw ?? '');
    return ref ? ({ kind: 'complete', ref, completed: false } as Intent) : undefined;
  };
  const NOT_DONE = `(?:not done|undone|not complete|not completed|incomplete|not finished|unfinished|open|pending|todo|to do|to-do|active|uncompleted|unchecked|not yet done|not done yet)`;
  const forms: RegExp[] = [
    /^(?:undo|reopen|re-open|uncheck|unmark|untick|uncomplete|un-complete|unfinish|restore|revive|unarchive|unclose|reactivate)(?: the)? (.+)$/i,
    new RegExp(`^(?:mark|set|flag|move|put)(?: back)? (.+?) (?:as |to |back to |back as )?${NOT_DONE}$`, 'i'),
    /^(?:i|we)? ?(?:didn't|did not|didnt|haven't|have not|havent|never) (?:actually |really |yet )?(?:finish|finished|do|done|complete|completed)(?: with)? (.+?)(?: yet| after all)?$/i,
  ];
  for (const form of forms) {
    const match = form.exec(text);
    if (match) return reopen(match[1]);
  }
  if (!ctx.question) {
    const statement =
      /^(.+?) (?:isn't|is not|isnt|wasn't|was not|wasnt|is still not|'s not|are not|aren't) (?:actually |really |yet )?(?:done|finished|complete|completed)(?: yet| after all| actually)?$/i.exec(
        text,
      ) ??
      /^(.+?) (?:is still|still|is|should be|is actually) (?:open|pending|not done|unfinished|incomplete|to do)$/i.exec(
        text,
      ) ??
      /^(.+?) (?:not done|undone|not finished)(?: yet)?$/i.exec(text);
    if (statement) return reopen(statement[1]);
  }
  return undefined;
}

// --- deleting ---------------------------------------------------------------------------------

const DELETE_VERB = `(?:delete|del|remove|rm|drop|erase|trash|bin|scrap|cancel|discard|forget about|forget|get rid of|ditch|nuke|kill|cross out|strike out|throw away|throw out|clear|axe)`;
const FROM_LIST = `(?: (?:from|off|of) (?:my |the )?(?:list|tasks|to-?do list|todo list|task list|to-?dos))`;

function readDelete(text: string, ctx: ReadContext): Intent | undefined {
  const del = (raw: string | undefined) => {
    const ref = readRef(raw ?? '');
    return ref ? ({ kind: 'delete', ref } as Intent) : undefined;
  };
  const forms: RegExp[] = [
    new RegExp(`^${DELETE_VERB}(?: the| my)? (.+?)${FROM_LIST}?$`, 'i'),
    /^(?:i |we )?(?:don't|do not|dont|no longer|won't|will not) (?:need|have|want|got) to (.+?)(?: any ?more| after all)?$/i,
    /^(?:i |we )?no longer (?:need|have|want) to (.+)$/i,
    /^(?:never ?mind|nevermind|forget it,?|no need to) (?:about )?(.+?)(?: any ?more)?$/i,
  ];
  for (const form of forms) {
    const match = form.exec(text);
    if (match) return del(match[1]);
  }
  if (!ctx.question) {
    const statement =
      /^(.+?) (?:can|should|could|must) (?:be|go) (?:deleted|removed|dropped|cancelled|canceled|scrapped|binned)?$/i.exec(
        text,
      );
    if (statement) return del(statement[1]);
  }
  return undefined;
}

function readBulk(text: string): Intent | undefined {
  const verbs = `(?:delete|remove|clear|erase|drop|trash|complete|finish|done|mark|check off|tick off|reopen|undo|wipe|empty)`;
  const bulk =
    new RegExp(String.raw`^${verbs}(?: out| off)? (?:all|everything|every|each|both|them all)\b`, 'i').test(
      text,
    ) ||
    new RegExp(String.raw`^${verbs}(?: tasks?)? #?\d+(?:\s*(?:,|and|&|\+)\s*#?\d+)+`, 'i').test(text) ||
    /^(?:clear|empty|wipe|reset|purge)(?: out)?(?: (?:my|the|all))?(?: (?:completed|done|finished|old))?(?: (?:list|tasks|to-?dos|to-?do list|items))?$/i.test(
      text,
    );
  if (!bulk) return undefined;
  return {
    kind: 'refuse',
    text: 'I change one task at a time, so nothing was changed; name each task, e.g. "delete 3" (a real model, with OPENAI_API_KEY set, can do several at once).',
  };
}

// --- editing: rename, reschedule, re-prioritise -----------------------------------------------

function readDueRemoval(text: string): Intent | undefined {
  const forms = [
    /^(?:remove|clear|delete|drop|unset|erase|take off|reset|cancel)(?: the)? (?:due date|due|deadline|date)(?: (?:from|of|for|on))? (.+)$/i,
    /^(.+?) (?:has|needs|should have|gets) no (?:due date|deadline|date)$/i,
    /^no (?:due date|deadline) (?:for|on) (.+)$/i,
    /^(?:make|set) (.+?) (?:not due|undated)$/i,
  ];
  for (const form of forms) {
    const match = form.exec(text);
    const ref = match ? readRef(match[1] ?? '') : undefined;
    if (ref) return { kind: 'update', ref, changes: { due_date: null } };
  }
  return undefined;
}

const EDIT_VERB = `(?:change|update|edit|modify|set|make|mark|flag|move|push back|push out|push|postpone|reschedule|re-schedule|delay|shift|defer|put off|bump|switch|turn|give|put|priority|prio|due)`;
const RENAMING_VERBS = /^(?:change|update|edit|modify)$/i;

function readEdit(text: string, ctx: ReadContext): Intent | undefined {
  const rename =
    /^(?:rename|retitle|re-title|re-name)(?: the)? (.+?)(?: to| as| into| ->| =>|:) (.+)$/i.exec(text) ??
    /^(?:change|update|edit|set)(?: the)? (?:title|name|text|wording|description) (?:of|for|on) (.+?) (?:to|as|into|:) (.+)$/i.exec(
      text,
    ) ??
    /^(?:change|update|edit|set) (.+?)'s? (?:title|name|text|wording) (?:to|as|into|:) (.+)$/i.exec(text) ??
    /^(?:change|update|edit) (.+?) to say (.+)$/i.exec(text);
  if (rename) {
    const ref = readRef(rename[1] ?? '');
    const title = unquote(tidy(rename[2] ?? ''));
    return ref && title ? { kind: 'update', ref, changes: { title } } : undefined;
  }
  if (/^(?:rename|retitle)\b/i.test(text)) return missFor(text);

  const high =
    /^(?:prioriti[sz]e|escalate|star|flag|bump up|raise|upgrade)(?: the priority of)? (.+?)(?: up)?$/i.exec(
      text,
    );
  if (high) return prioritise(high[1], 'high');
  const bumpUp = /^bump (.+?) up$/i.exec(text);
  if (bumpUp) return prioritise(bumpUp[1], 'high');
  const low =
    /^(?:deprioriti[sz]e|de-prioriti[sz]e|unstar|unflag|downgrade|lower)(?: the priority of)? (.+?)(?: down)?$/i.exec(
      text,
    );
  if (low) return prioritise(low[1], 'low');

  const verbMatch = new RegExp(`^(${EDIT_VERB})(?: back| out)? (.+)$`, 'i').exec(text);
  if (!verbMatch) return undefined;
  const verb = verbMatch[1] ?? '';
  const rest = (verbMatch[2] ?? '').replace(
    /^(?:the )?(?:due date|deadline|date|priority|prio|due)(?: of| for| on)? /i,
    '',
  );
  // "move go to gym to friday": try each connector, left to right, until the right side is
  // nothing but a date and/or a priority.
  const connector = / (?:to|for|until|till|on|as|at|by|due(?: on| by| for)?|:|->|=>) ?/gi;
  for (const split of rest.matchAll(connector)) {
    const left = rest.slice(0, split.index);
    const value = readValue(rest.slice(split.index + split[0].length), ctx.today);
    const ref = value && readRef(left);
    if (value && ref) return { kind: 'update', ref, changes: value };
  }
  const atEnd = takeValueAtEnd(rest, ctx.today, true);
  if (atEnd) {
    const ref = readRef(atEnd.rest);
    if (ref) return { kind: 'update', ref, changes: atEnd.changes };
  }
  const to = / to /i.exec(rest);
  if (RENAMING_VERBS.test(verb) && to) {
    const ref = readRef(rest.slice(0, to.index));
    const title = unquote(tidy(rest.slice(to.index + 4)));
    if (ref && title) return { kind: 'update', ref, changes: { title } };
  }
  return undefined;
}

function prioritise(raw: string | undefined, priority: Priority): Intent | undefined {
  const ref = readRef(raw ?? '');
  return ref ? { kind: 'update', ref, changes: { priority } } : undefined;
}

/** "the dentist is due friday", "2 is urgent", "3 !high": statements about one task. */
function readStatement(text: string, ctx: ReadContext): Intent | undefined {
  if (ctx.question) return undefined;
  const pronoun = /^(?:this|that|it)(?: is|'s)(?: now)? (.+)$/i.exec(text);
  const value = pronoun && readValue(pronoun[1] ?? '', ctx.today);
  if (value) return { kind: 'update', ref: { kind: 'it' }, changes: value };
  const atEnd = takeValueAtEnd(text, ctx.today, false);
  if (!atEnd) return undefined;
  const left = atEnd.rest;
  const linked =
    /\s(?:is|are|'s|is now|should be|will be|needs to be done|has to be done|must be done|now)$/i;
  if (!atEnd.firm && !linked.test(` ${left}`)) return undefined;
  const ref = readRef(
    left.replace(
      /(?:^|\s)(?:is|are|'s|is now|should be|will be|needs to be done|has to be done|must be done|now)$/i,
      '',
    ),
  );
  return ref ? { kind: 'update', ref, changes: atEnd.changes } : undefined;
}

/** A value that is only a date and/or a priority ("friday", "high priority, tomorrow"). */
function readValue(raw: string, today: string): Changes | undefined {
  let text = raw;
  const changes: Changes = {};
  for (let changed = true; changed; ) {
    changed = false;
    const priority = changes.priority === undefined ? takePriority(text, 'value') : undefined;
    if (priority) {
      changes.priority = priority.priority;
      text = priority.rest;
      changed = true;
    }
    const date = changes.due_date === undefined ? takeDate(text, today, 'value') : undefined;
    if (date) {
      changes.due_date = date.date;
      text = date.rest;
      changed = true;
    }
  }
  const leftover = tidy(text)
    .replace(/\b(?:priority|prio|due|the|and|be|is|now|it|date)\b/gi, '')
    .trim();
  if (leftover || (changes.due_date === undefined && changes.priority === undefined)) return undefined;
  return changes;
}

/**
 * A date and/or priority at the very end of `text`, with what stands before it. `firm` says the
 * value was unmistakable ("due friday", "high priority", "!high") rather than a bare word that
 * only a verb or "is" makes a value ("urgent", "friday").
 */
function takeValueAtEnd(
  text: string,
  today: string,
  afterVerb: boolean,
): { rest: string; changes: Changes; firm: boolean } | undefined {
  let rest = text;
  const changes: Changes = {};
  let firm = false;
  for (let changed = true; changed; ) {
    changed = false;
    if (changes.priority === undefined) {
      const p = takePriority(rest, afterVerb ? 'value' : 'end');
      if (p?.atEnd) {
        changes.priority = p.priority;
        firm ||= p.explicit;
        rest = p.rest;
        changed = true;
      }
    }
    if (changes.due_date === undefined) {
      const d = takeDate(rest, today, 'end');
      if (d) {
        changes.due_date = d.date;
        firm ||= /^due/i.test(d.prep ?? '');
        rest = d.rest;
        changed = true;
      }
    }
  }
  if (changes.priority === undefined && changes.due_date === undefined) return undefined;
  rest = rest.replace(/(?:\s|^)(?:to|for|until|till|on|as|at|by|and|with|,)$/i, '').trim();
  return rest ? { rest: tidy(rest), changes, firm } : undefined;
}

// --- bare references (answers to "which one?") ------------------------------------------------

function readBare(text: string): Intent | undefined {
  const ref = readRef(text);
  return ref && ref.kind !== 'title' ? { kind: 'bare', ref } : undefined;
}

/**
 * The whole message as words of a title, for a short answer to "which one?" ("the oat one").
 * A question or a sentence is not such an answer.
 */
export function titleRefOf(message: string): TitleRef | undefined {
  const text = clean(message);
  if (/\?$/.test(text) || words(text).length > 5) return undefined;
  const ref = readRef(stripPoliteness(text.replace(/[\s.!…]+$/, '')));
  return ref?.kind === 'title' ? ref : undefined;
}

// ---------------------------------------------------------------------------------------------
// References: "#2", "task 2", "the second one", "it", or words of a title.

const ORDINALS: Record<string, number> = {
  first: 0,
  '1st': 0,
  top: 0,
  second: 1,
  '2nd': 1,
  third: 2,
  '3rd': 2,
  fourth: 3,
  '4th': 3,
  fifth: 4,
  '5th': 4,
  sixth: 5,
  '6th': 5,
  seventh: 6,
  '7th': 6,
  eighth: 7,
  '8th': 7,
  ninth: 8,
  '9th': 8,
  tenth: 9,
  '10th': 9,
  last: -1,
  bottom: -1,
  'second to last': -2,
  'second last': -2,
  'next to last': -2,
  penultimate: -2,
};
const ORDINAL = Object.keys(ORDINALS)
  .sort((a, b) => b.length - a.length)
  .join('|');
const REF_NOUN = `(?:one|task|item|todo|to-do|thing|entry|line)`;

export function readRef(raw: string, preferred: string[] = []): Ref | undefined {
  const text = unquote(
    tidy(raw)
      .replace(new RegExp(`${FROM_LIST}$`, 'i'), '')
      .replace(/\s+(?:please|too|as well|now|again|then)$/i, ''),
  );
  if (!text) return undefined;
  const id =
    /^(?:the )?(?:(?:task|item|todo|to-do)\s*)?(?:(?:number|no\.?|num|id)\s*)?#?\s*(\d{1,10})(?:\s+(?:task|item|one))?$/i.exec(
      text,
    );
  if (id) return { kind: 'id', id: Number(id[1]) };
  const position = new RegExp(
    `^(?:the )?(${ORDINAL})(?: ${REF_NOUN})?(?: (?:on|in|of|from) (?:the|my|that|this) list)?$`,
    'i',
  ).exec(text);
  const index = position ? ORDINALS[(position[1] ?? '').toLowerCase()] : undefined;
  if (index !== undefined) return { kind: 'position', index, text: text.replace(/^the /i, '') };
  if (
    /^(?:it|that|this|it's|that's|it is|that is|this is|that one|this one|the same one|same one|the one i just added|the new one)$/i.test(
      text,
    )
  ) {
    return { kind: 'it' };
  }
  if (/^(?:all|everything|every|each|both)\b/i.test(text)) return undefined;
  const shown = text
    .replace(/^(?:the|my|that|this|a|an)\s+/i, '')
    .replace(new RegExp(String.raw`\s+${REF_NOUN}s?$`, 'i'), '')
    .trim();
  const required = [...new Set(contentWords(shown).map(stem))];
  if (required.length === 0) return undefined;
  return { kind: 'title', text: shown, required, preferred: preferred.filter((p) => !required.includes(p)) };
}

// ---------------------------------------------------------------------------------------------
// Title words: lower case, fillers out, simple stems. Every stem is a prefix of its word, so
// searching the database for a stem finds every title whose word has that stem.

const FILLERS = new Set(
  (
    'a an the my our your his her their this that these those it its one ones task tasks item items todo todos ' +
    'to-do to-dos thing things entry line about regarding re to for of on in at with and or from is are was be ' +
    'me i we you please just also list some any as'
  ).split(' '),
);

export function words(text: string): string[] {
  return (
    text
      .toLowerCase()
      .replace(/[’‘]/g, "'")
      .match(/[\p{L}\p{N}]+(?:['-][\p{L}\p{N}]+)*/gu) ?? []
  );
}

function contentWords(text: string): string[] {
  return words(text).filter((w) => !FILLERS.has(w));
}

function stripFillers(text: string): string {
  return text
    .replace(/^(?:(?:the|my|a|an|any|some)\s+)+/i, '')
    .replace(new RegExp(String.raw`\s+${REF_NOUN}s?$`, 'i'), '');
}

export function stem(word: string): string {
  let w = word.toLowerCase().replace(/'s$|'$/, '');
  const base = IRREGULAR_PAST[w];
  if (base) w = base;
  const undouble = (s: string) => (/([^aeiouylsz])\1$/.test(s) ? s.slice(0, -1) : s);
  if (w.length > 4 && /ies$|ied$/.test(w)) w = w.slice(0, -3);
  else if (w.length > 5 && w.endsWith('ing')) w = undouble(w.slice(0, -3));
  else if (w.length > 4 && w.endsWith('ed') && !w.endsWith('eed')) w = undouble(w.slice(0, -2));
  else if (w.length > 3 && /(?:s|x|z|ch|sh)es$/.test(w)) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('s') && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  if (w.length > 3 && /[ey]$/.test(w)) w = w.slice(0, -1);
  return w;
}

/** The stems of a task title, to compare with a reference's `required` stems. */
export function titleStems(title: string): Set<string> {
  return new Set(words(title).map(stem));
}

/** The one word to search the database with: the longest required stem (first on a tie). */
export function searchWord(ref: TitleRef): string {
  return ref.required.reduce((best, w) => (w.length > best.length ? w : best), '');
}

/** The tasks whose titles hold every required stem; the preferred stems narrow a tie. */
export function matchTitle<T extends { title: string }>(ref: TitleRef, tasks: T[]): T[] {
  const matching = tasks.filter((task) => {
    const stems = titleStems(task.title);
    return ref.required.every((w) => stems.has(w));
  });
  if (matching.length < 2 || ref.preferred.length === 0) return matching;
  const preferred = matching.filter((task) => {
    const stems = titleStems(task.title);
    return ref.preferred.every((w) => stems.has(w));
  });
  return preferred.length > 0 ? preferred : matching;
}

// ---------------------------------------------------------------------------------------------
// Dates and priorities inside text.

type Where = 'title' | 'value' | 'end';

/**
 * Takes one date phrase out of `text`. In a title, a phrase that could be an ordinary word
 * ("friday", "may 5") counts only with a preposition ("on friday") or at either end; in a value
 * it may stand anywhere; at 'end' it must close the text.
 */
function takeDate(
  text: string,
  today: string,
  where: Where,
): { date: string; rest: string; prep?: string; atStart: boolean; start: number; end: number } | undefined {
  for (const found of findDates(text, today)) {
    const before = text.slice(0, found.start).trim();
    const after = text.slice(found.end).replace(/^[\s,.;:!)]+/, '');
    const atEnd = after === '';
    const atStart = before === '' || /^[\s,(]*$/.test(before);
    if (where === 'end' && !atEnd) continue;
    if (where === 'title' && found.weak && !found.introduced && !atEnd && !atStart) continue;
    const phrase = text.slice(found.start, found.end);
    const prep = /^(due(?: on| by| for)?|by|on|for|before|until|till|starting) /i.exec(phrase)?.[1];
    const rest = `${text.slice(0, found.start)} ${text.slice(found.end)}`.trim();
    return { date: found.date, rest, prep, atStart, start: found.start, end: found.end };
  }
  return undefined;
}

const LEVELS: Record<string, Priority> = {
  high: 'high',
  hi: 'high',
  higher: 'high',
  highest: 'high',
  top: 'high',
  max: 'high',
  urgent: 'high',
  urgently: 'high',
  important: 'high',
  asap: 'high',
  critical: 'high',
  low: 'low',
  lo: 'low',
  lower: 'low',
  lowest: 'low',
  'not urgent': 'low',
  'not important': 'low',
  'no rush': 'low',
  whenever: 'low',
  medium: 'medium',
  med: 'medium',
  mid: 'medium',
  normal: 'medium',
};

const B = String.raw`(?<=^|[\s,(])`;
const E = String.raw`(?=$|[\s,.;:!?)])`;
const EXPLICIT_PRIORITY = [
  `${B}!+(?<a>high|hi|urgent|important|top|asap|critical|low|lo|medium|med|normal)${E}`,
  `${B}(?:(?:with|at|as|in|and) )?(?:(?:a|the) )?(?<b>high|higher|highest|top|max|low|lower|lowest|medium|normal|mid|med)[- ](?:priority|prio|pri)${E}`,
  `${B}(?:(?:with|at|as|and) )?(?:the )?(?:priority|prio)(?: is| of| to| =|:| as| at)? (?<c>high|low|medium|normal|urgent|top)${E}`,
];
const SOFT_PRIORITY = `${B}(?:(?:it's|it is|this is|that's|very|super|really|quite|kinda) )*(?<d>urgent|urgently|important|asap|critical|not urgent|not important|no rush|whenever)${E}`;
const BARE_LEVEL = `${B}(?:(?:to|as|at) )?(?<e>high|low|medium|normal)${E}`;

/**
 * Takes one priority phrase out of `text`. Explicit ones ("high priority", "!low") may stand
 * anywhere; "urgent" and "important" only at either end, since "back up important files" is a
 * title; a bare "high" or "low" only closes an edit ("set 3 to high").
 */
function takePriority(
  text: string,
  where: Where,
): { priority: Priority; rest: string; explicit: boolean; atEnd: boolean } | undefined {
  const candidates: Array<{ pattern: string; explicit: boolean; edgeOnly: boolean; endOnly: boolean }> = [
    ...EXPLICIT_PRIORITY.map((pattern) => ({ pattern, explicit: true, edgeOnly: false, endOnly: false })),
    { pattern: SOFT_PRIORITY, explicit: false, edgeOnly: true, endOnly: false },
  ];
  if (where === 'value')
    candidates.push({ pattern: BARE_LEVEL, explicit: false, edgeOnly: true, endOnly: true });
  for (const { pattern, explicit, edgeOnly, endOnly } of candidates) {
    for (const match of text.matchAll(new RegExp(pattern, 'gi'))) {
      const g = match.groups ?? {};
      const word = (g.a ?? g.b ?? g.c ?? g.d ?? g.e ?? '').toLowerCase();
      const priority = LEVELS[word];
      if (!priority) continue;
      const start = match.index;
      const end = start + match[0].length;
      const atEnd = /^[\s,.;:!)]*$/.test(text.slice(end));
      const atStart = /^[\s,(]*$/.test(text.slice(0, start));
      if (endOnly && !atEnd) continue;
      if (edgeOnly && !atEnd && !atStart) continue;
      if (where === 'end' && !atEnd) continue;
      return { priority, rest: `${text.slice(0, start)} ${text.slice(end)}`.trim(), explicit, atEnd };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Small text helpers.

/** Spaces collapsed; stray punctuation and dangling connectors ("and", "by") off both ends. */
function tidy(text: string): string {
  let t = text
    .replace(/\s+/g, ' ')
    .replace(/\s+([,;:.])/g, '$1')
    .trim();
  for (let before = ''; before !== t; ) {
    before = t;
    t = t
      .replace(/^[\s,;:.\-–—]+|[\s,;:\-–—]+$/g, '')
      .replace(/(?:^|\s)and$/i, '')
      .replace(/^and\s/i, '')
      .trim();
  }
  return t;
}

function unquote(text: string): string {
  const t = text.trim();
  const quoted = /^(["'])(.+)\1$/.exec(t);
  return quoted ? (quoted[2] ?? '').trim() : t;
}

// ---------------------------------------------------------------------------------------------
// Typos of the reader's own command words. Words that change or remove a task, and short words,
// only from a list of seen typos: a real word is often a letter or two from a command ("dad",
// "one", "lost", "remote"), and "remote control batteries" must never delete a task. The words
// that only look, add or schedule may be one or two letters off. A fixed text is read only when
// the text as typed did not read, except for a listed typo, which always means its command.

const SEEN_TYPOS: Record<string, string[]> = {
  add: ['ad', 'addd', 'adn', 'dd'],
  list: ['lsit', 'lst', 'lis', 'lits'],
  show: ['shw', 'shwo'],
  done: ['dne', 'doen', 'odne'],
  mark: ['mrak', 'amrk'],
  make: ['mkae', 'amke'],
  move: ['mvoe', 'moev'],
  find: ['fnd', 'fidn'],
  undo: ['udno'],
  delete: ['delte', 'delet', 'dlete', 'deleet', 'deelte', 'detele', 'delette', 'dleete'],
  remove: ['remvoe', 'rmeove', 'reomve', 'remov', 'remoev'],
  complete: ['compelte', 'complet', 'comlete', 'complte', 'cmplete', 'compleet'],
  finish: ['finsh', 'fnish', 'finsih', 'finihs'],
  rename: ['renmae', 'reanme', 'renam', 'rnemae'],
  reopen: ['reopne', 'roepen', 'reopn'],
  update: ['updte', 'udpate', 'upadte', 'updaet'],
  change: ['chnage', 'cahnge', 'chagne'],
};
const TYPOS: Record<string, string> = Object.fromEntries(
  Object.entries(SEEN_TYPOS).flatMap(([command, typos]) => typos.map((typo) => [typo, command])),
);
const NEAR_COMMANDS = ['search', 'pending', 'completed', 'remind', 'priority', 'postpone', 'reschedule'];

function fixCommandWord(text: string): string | undefined {
  const first = /^\S+/.exec(text)?.[0] ?? '';
  const word = first.toLowerCase();
  let fixed = TYPOS[word];
  if (!fixed && word.length >= 5 && !NEAR_COMMANDS.includes(word)) {
    const allowed = word.length >= 7 ? 2 : 1;
    fixed = NEAR_COMMANDS.find((command) => editDistance(word, command) <= allowed);
  }
  return fixed ? `${fixed}${text.slice(first.length)}` : undefined;
}

// ---------------------------------------------------------------------------------------------
// Misses: two or three suggestions close to what was typed.

const COMMAND_WORDS = [
  'add',
  'list',
  'done',
  'complete',
  'finish',
  'delete',
  'remove',
  'rename',
  'move',
  'undo',
  'reopen',
  'find',
  'search',
  'show',
  'pending',
  'completed',
  'priority',
  'remind',
  'help',
  'mark',
];

// Words of conversation rather than of a task: no point suggesting "add yes".
const CHAT_WORDS = new Set('yes no yeah yep nope sure maybe ok okay why what how hmm huh'.split(' '));

const EXAMPLES: Record<string, string> = {
  add: 'add buy milk tomorrow',
  done: 'done 1',
  complete: 'complete 1',
  finish: 'finish 1',
  delete: 'delete 1',
  remove: 'remove 1',
  rename: 'rename 1 to buy oat milk',
  move: 'move 1 to friday',
  undo: 'undo 1',
  reopen: 'reopen 1',
  find: 'find milk',
  search: 'search milk',
  priority: 'priority 1 high',
  remind: 'remind me to call mom tomorrow',
  mark: 'mark 1 done',
};

function missFor(text: string): Intent {
  return { kind: 'miss', suggestions: suggest(text) };
}

export function suggest(message: string): string[] {
  // Suggestions are built from what is left once the fillers are off ("oh and also ...").
  const text = stripPoliteness(clean(message).replace(/[\s.?!…]+$/, '')) || clean(message);
  const all = text.split(' ').filter(Boolean);
  const first = (all[0] ?? '').toLowerCase();
  // "remind me at 5pm": a reminder of nothing yet.
  if (/^remind me\b/i.test(text)) return [`${short(text)} to call mom`, 'help'];
  const rest = all.slice(1).join(' ');
  const out: string[] = [];
  const fixed = closestCommand(first);
  if (fixed) {
    out.push(
      fixed === 'remind' ? `remind me ${rest.replace(/^me /i, '')}`.trim() : short(`${fixed} ${rest}`.trim()),
    );
    return [...out, 'help'];
  }
  const number = /#?(\d{1,10})\b/.exec(text)?.[1];
  const ordinal = new RegExp(String.raw`\b(${ORDINAL})\b`, 'i').exec(text)?.[1]?.toLowerCase();
  const content = contentWords(text).filter(
    (w) => !/^\d+$/.test(w) && !(w in ORDINALS) && !COMMAND_WORDS.includes(w) && !CHAT_WORDS.has(w),
  );
  const subject = short(all.join(' '));
  const example = EXAMPLES[first];
  // A command word with nothing it could act on ("add every monday"): how that command is written.
  if (example && !number) out.push(example, 'list');
  else if (number) out.push(`done ${number}`, `delete ${number}`, `rename ${number} to ...`);
  else if (ordinal) out.push(`done the ${ordinal} one`, `delete the ${ordinal} one`);
  else if (
    /\?\s*$/.test(message) ||
    /^(?:what|which|how|when|where|who|why|is|are|do|does|did|can|should)\b/i.test(text)
  ) {
    out.push('list', 'show pending tasks', 'anything due tomorrow?');
  } else if (content.length > 0) {
    // The longest word, the last on a tie: in "buy milk" or "call the dentist" the thing is last.
    out.push(
      `add ${subject}`,
      `find ${content.reduce((best, w) => (w.length >= best.length ? w : best), '')}`,
    );
  } else {
    out.push('add buy milk tomorrow', 'list');
  }
  out.push('help');
  return [...new Set(out)].slice(0, 3);
}

function short(text: string): string {
  if (text.length <= 40) return text;
  return `${text.slice(0, 40).replace(/\s+\S*$/, '')}...`;
}

function closestCommand(word: string): string | undefined {
  if (word.length < 2 || COMMAND_WORDS.includes(word)) return undefined;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const command of COMMAND_WORDS) {
    const distance = editDistance(word, command);
    const allowed = command.length <= 4 ? 1 : 2;
    if (distance <= allowed && distance < bestDistance) {
      best = command;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance with adjacent transpositions ("lsit" is one step from "list"). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] ?? 0, ((d[i - 2] as number[])[j - 2] ?? 0) + 1);
      }
    }
  }
  return (d[a.length] as number[])[b.length] ?? 0;
}
