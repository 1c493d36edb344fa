/**
 * Reminders as they fall due (`event: reminder` of GET /events): a notice in the page, and the
 * browser's own notification when the person allowed it. Permission is asked only when they click
 * "Notify me" (browsers ignore, or hold against the site, a prompt that comes on load).
 */
import { useState } from 'react';
import type { Reminder } from './live-events.ts';

export type ShownReminder = Reminder & { key: number };

/** Shows the browser's notification for a reminder, when the person allowed it. */
export function notifyBrowser(reminder: Reminder): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  try {
    new Notification(`Reminder: ${reminder.task.title}`, {
      body: reminder.late ? 'This reminder was due earlier.' : (reminder.task.description ?? ''),
      tag: `taskchat-reminder-${reminder.task.id}`,
    });
  } catch {
    // Some browsers only notify from a service worker; the notice in the page is still there.
  }
}

export function ReminderNotices({
  reminders,
  onDismiss,
}: {
  reminders: ShownReminder[];
  onDismiss(key: number): void;
}) {
  const [permission, setPermission] = useState(() =>
    typeof Notification === 'undefined' ? 'unsupported' : Notification.permission,
  );
  const ask = async () => setPermission(await Notification.requestPermission());
  return (
    <div className="reminders">
      {reminders.map((r) => (
        <div key={r.key} className="reminder-notice" role="status">
          <span>
            Reminder: <strong>{r.task.title}</strong>
            {r.late ? <span className="muted"> (was due earlier)</span> : null}
          </span>
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => onDismiss(r.key)}>
            ×
          </button>
        </div>
      ))}
      {permission === 'default' ? (
        <button type="button" className="link-button small" onClick={() => void ask()}>
          Notify me of reminders
        </button>
      ) : null}
    </div>
  );
}
