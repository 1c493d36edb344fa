// The offline reader's pure parts, without a model or tools: what one message reads as
// (readMessage), and the date, time and repetition phrases it takes out of titles. Today is Monday
// 2026-11-23 unless a case says otherwise. Whole conversations are in offline.test.ts.
import { describe, expect, it } from 'vitest';
import { offlineExamples } from '../../web/src/offline-examples.ts';
import { OFFLINE_HELP } from './offline.ts';
import { addMinutes, findReminderLead, findRepeat, findTime, localInstant } from './offline-dates.ts';
import { readMessage } from './offline-reader.ts';

const TODAY = '2026-11-23';

describe('what it says it reads, it reads', () => {
  // The help's example commands (the lines naming a task, dates and priorities hold fragments).
  const helpExamples = OFFLINE_HELP.split('\n')
    .filter((line) => /^(?:Add|Repeat and remind|Look|Finish|Change|Delete):/.test(line))
    .flatMap((line) => [...line.matchAll(/"([^"]+)"/g)].map((m) => m[1] as string));

  it('has examples in the help', () => {
    expect(helpExamples.length).toBeGreaterThan(20);
  });

  it.each(helpExamples)('help: %s', (example) => {
    expect(readMessage(example, TODAY).kind).not.toBe('miss');
  });

  // The chat page shows these on the empty page, built from the browser's date.
  it.each(offlineExamples(new Date(2026, 11, 31)))('page: %s', (example) => {
    expect(readMessage(example, TODAY).kind).not.toBe('miss');
  });
});

describe('several tasks in one sentence', () => {
  it.each([
    [
      'I need to pay rent on the 1st, call the dentist, and buy a birthday gift for Sam by Friday',
      ['pay rent', 'call the dentist', 'buy a birthday gift for Sam'],
    ],
    ['add walk the dog; feed the cat', ['walk the dog', 'feed the cat']],
    ['add buy milk tomorrow and call mom', ['buy milk', 'call mom']],
    ['remind me to pay rent next monday, high priority', ['pay rent']],
    ['add buy bread and butter', ['buy bread and butter']],
    ['add buy eggs, milk and bread', ['buy eggs, milk and bread']],
    ['add call Bob, the plumber', ['call Bob, the plumber']],
    ['add email Sarah, with the invoice', ['email Sarah, with the invoice']],
    ['add pick up the kids at 3pm and buy milk', ['pick up the kids', 'buy milk']],
    // A repetition's days are not tasks of their own.
    ['remind me every monday and thursday at 7pm to go running', ['go running']],
  ])('%s', (message, titles) => {
    const intent = readMessage(message, TODAY);
    expect(intent.kind).toBe('add');
    if (intent.kind === 'add') expect(intent.tasks.map((t) => t.title)).toEqual(titles);
  });
});

describe('what it cannot read, it says, with suggestions it can read', () => {
  it.each([
    ['add every monday', ['add buy milk tomorrow', 'list', 'help']],
    ['every monday, tuesday and friday', ['add every monday, tuesday and friday', 'find tuesday', 'help']],
    ['remind me at 5pm', ['remind me at 5pm to call mom', 'help']],
    ['oh and also call mom tomorrow', ['add call mom tomorrow', 'find tomorrow', 'help']],
    ['adx buy milk', ['add buy milk', 'help']],
  ])('%s', (message, suggestions) => {
    expect(readMessage(message, TODAY)).toEqual({ kind: 'miss', suggestions });
  });
});

describe('typos of command words', () => {
  it.each([
    ['ad buy milk', 'add'],
    ['lsit', 'list'],
    ['delte 3', 'delete'],
    ['serach milk', 'list'],
    ['pendign', 'list'],
  ])('%s reads as a command', (message, kind) => {
    expect(readMessage(message, TODAY).kind).toBe(kind);
  });

  // Real words a letter or two from a command are not commands: nothing is changed or removed.
  it.each([
    'dad birthday card',
    'one more thing',
    'lost keys',
    'remote control batteries',
    'finnish homework',
  ])('%s is not a command', (message) => {
    expect(readMessage(message, TODAY).kind).toBe('miss');
  });
});

describe('what was finished', () => {
  it.each([
    ['what did I finish today?', { from: TODAY, to: TODAY, words: 'today' }],
    ['what did I do this week?', { from: TODAY, to: TODAY, words: 'this week' }],
    ['what have I completed yesterday', { from: '2026-11-22', to: '2026-11-22', words: 'yesterday' }],
  ])('%s', (message, finished) => {
    expect(readMessage(message, TODAY)).toEqual({ kind: 'list', status: 'completed', finished });
  });

  it('counts this week from its Monday', () => {
    expect(readMessage('what did I finish this week?', '2026-11-26')).toMatchObject({
      finished: { from: '2026-11-23', to: '2026-11-26' },
    });
  });

  it('still reads "what is due today?" as due dates', () => {
    expect(readMessage('what is due today?', TODAY)).toMatchObject({
      status: 'pending',
      due: { date: TODAY },
    });
  });
});

describe('repetitions', () => {
  it.each([
    ['every day', 'FREQ=DAILY', TODAY],
    ['daily', 'FREQ=DAILY', TODAY],
    ['every weekday', 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR', TODAY],
    ['every monday', 'FREQ=WEEKLY;BYDAY=MO', TODAY],
    ['every friday and monday', 'FREQ=WEEKLY;BYDAY=MO,FR', TODAY],
    ['on tuesdays', 'FREQ=WEEKLY;BYDAY=TU', '2026-11-24'],
    ['every 2 weeks', 'FREQ=WEEKLY;INTERVAL=2', TODAY],
    ['every other week', 'FREQ=WEEKLY;INTERVAL=2', TODAY],
    ['fortnightly', 'FREQ=WEEKLY;INTERVAL=2', TODAY],
    ['every month on the 1st', 'FREQ=MONTHLY;BYMONTHDAY=1', '2026-12-01'],
    ['on the 15th of every month', 'FREQ=MONTHLY;BYMONTHDAY=15', '2026-12-15'],
    ['monthly on the 23rd', 'FREQ=MONTHLY;BYMONTHDAY=23', TODAY],
    ['every 3 months', 'FREQ=MONTHLY;INTERVAL=3', TODAY],
    ['every year', 'FREQ=YEARLY', TODAY],
  ])('%s', (phrase, rule, first) => {
    expect(findRepeat(`water the plants ${phrase}`, TODAY)).toMatchObject({ rule, first, words: phrase });
  });

  it('starts a day of the month in the next month long enough for it', () => {
    expect(findRepeat('every month on the 31st', TODAY)?.first).toBe('2026-12-31');
    expect(findRepeat('every month on the 30th', '2027-01-31')?.first).toBe('2027-03-30');
  });

  it.each(['on monday', 'every', 'each one of them'])('%s is not a repetition', (text) => {
    expect(findRepeat(text, TODAY)).toBeUndefined();
  });
});

describe('times of day', () => {
  it.each([
    ['at 5pm', '17:00'],
    ['at 5:30 pm', '17:30'],
    ['at 12am', '00:00'],
    ['at 12pm', '12:00'],
    ['at 17:45', '17:45'],
    ['at noon', '12:00'],
    ['at 9', '09:00'],
    ['9am', '09:00'],
  ])('%s', (phrase, time) => {
    expect(findTime(`call mom ${phrase}`)?.time).toBe(time);
  });

  it.each(['buy 5 apples', 'read chapter 12', 'at 5 days', 'call at 13pm'])('%s has no time', (text) => {
    expect(findTime(text)).toBeUndefined();
  });
});

describe('reminder instants', () => {
  it.each([
    ['UTC', '2026-11-23', '2026-11-23T17:00:00+00:00'],
    ['Europe/Paris', '2026-11-23', '2026-11-23T17:00:00+01:00'],
    ['Europe/Paris', '2026-07-01', '2026-07-01T17:00:00+02:00'],
    ['America/New_York', '2026-11-23', '2026-11-23T17:00:00-05:00'],
    ['Asia/Kolkata', '2026-11-23', '2026-11-23T17:00:00+05:30'],
  ])('5pm in %s on %s', (zone, date, instant) => {
    expect(localInstant(date, '17:00', zone)).toBe(instant);
  });
});

describe('reminders asked for', () => {
  const added = (message: string) => {
    const intent = readMessage(message, TODAY);
    expect(intent.kind, message).toBe('add');
    return intent.kind === 'add' ? intent.tasks : [];
  };

  it.each([
    // A repetition with a reminder: at the model's time of day on each occurrence (Monday is today).
    [
      'remind me every monday to water the plants',
      { title: 'water the plants', due_date: TODAY, repeat: { rule: 'FREQ=WEEKLY;BYDAY=MO' }, remind: true },
    ],
    [
      'remind me tomorrow at 5pm to call mom',
      { title: 'call mom', due_date: '2026-11-24', time: '17:00', remind: true },
    ],
    [
      'remind me tomorrow at 5pm to call mom 30 minutes before',
      {
        title: 'call mom',
        due_date: '2026-11-24',
        time: '17:00',
        remind: true,
        remindBefore: { minutes: 30 },
      },
    ],
    [
      'remind me an hour before to call mom tomorrow at 5pm',
      {
        title: 'call mom',
        due_date: '2026-11-24',
        time: '17:00',
        remind: true,
        remindBefore: { minutes: 60 },
      },
    ],
    [
      'add dentist friday at 3pm, remind me 30 minutes before',
      {
        title: 'dentist',
        due_date: '2026-11-27',
        time: '15:00',
        remind: true,
        remindBefore: { minutes: 30 },
      },
    ],
    [
      'add dentist appointment friday at 3pm and remind me half an hour before',
      {
        title: 'dentist appointment',
        due_date: '2026-11-27',
        time: '15:00',
        remind: true,
        remindBefore: { minutes: 30 },
      },
    ],
    [
      'add pay rent on the 1st, remind me 1 day before',
      { title: 'pay rent', due_date: '2026-12-01', remind: true, remindBefore: { minutes: 1440 } },
    ],
  ])('%s', (message, task) => {
    expect(added(message)).toMatchObject([task]);
  });

  it('adds a task with no day or time to remind at, without a reminder', () => {
    expect(added('remind me to buy milk')).toEqual([{ title: 'buy milk' }]);
  });

  it('keeps "before" words in a title when no reminder is asked for', () => {
    expect(added('add call mom 30 minutes before dinner')).toEqual([
      { title: 'call mom 30 minutes before dinner' },
    ]);
  });

  it.each([
    ['30 minutes before', 30],
    ['5 mins before', 5],
    ['an hour ahead', 60],
    ['2 hours early', 120],
    ['half an hour before', 30],
    ['one day in advance', 1440],
    ['a week before', 10080],
  ])('%s is %i minutes', (phrase, minutes) => {
    expect(findReminderLead(`call mom, ${phrase}`)?.minutes).toBe(minutes);
  });

  it('counts back across midnight', () => {
    expect(addMinutes('2026-12-01', '00:15', -30)).toEqual({ date: '2026-11-30', time: '23:45' });
    expect(addMinutes('2026-12-01', '09:00', -1440)).toEqual({ date: '2026-11-30', time: '09:00' });
  });
});
