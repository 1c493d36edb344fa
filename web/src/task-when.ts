/**
 * When a task is due, how it repeats and when it reminds, in words for a row or a tool card: the
 * repeat rule (an RRULE) in English through the rrule library's `toText` (the library the server
 * reads rules with), the reminder in the reader's own zone and locale.
 */
import { RRule } from 'rrule';

/** "every week on Monday"; the rule itself when the library cannot read it. */
export function repeatLabel(rule: string): string {
  try {
    return RRule.fromString(rule).toText();
  } catch {
    return rule;
  }
}

/** "due 2026-12-07 09:30" */
export function dueLabel(dueDate: string, dueTime: string | null | undefined): string {
  return dueTime ? `due ${dueDate} ${dueTime}` : `due ${dueDate}`;
}

/** "reminder Dec 7, 9:15 AM" in the reader's zone; the instant as given when unreadable. */
export function reminderLabel(instant: string): string {
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return `reminder ${instant}`;
  const words = date.toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
  });
  return `reminder ${words}`;
}
