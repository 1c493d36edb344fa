/**
 * Example commands for the offline command reader, built from today's date so none is ever in the
 * past: the empty page, the banner and the composer's placeholder show what it really reads.
 */

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** Commands the offline reader understands, as of `today` (the browser's local date). */
export function offlineExamples(today: Date = new Date()): string[] {
  // The first of next month: a date that is always ahead, named the way people write it.
  const firstOfNextMonth = MONTHS[(today.getMonth() + 1) % 12];
  return [
    'add buy milk tomorrow',
    `add pay rent on ${firstOfNextMonth} 1, high priority`,
    'what is due this week?',
    'help',
  ];
}
