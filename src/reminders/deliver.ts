/**
 * @module reminders/deliver
 * The `reminder` job: at a task's reminder instant, a runner (jobs/runner.ts) delivers it. The job
 * was queued by the trigger on `tasks` (migration 0010) with the task and the instant it was set
 * for; by now the task may be gone, done, or moved to another instant (whose own job is queued), so
 * one statement checks that the task still exists, is open and still has that instant, and only
 * then records the delivery (`reminder_deliveries`, the task as the API shows it) and tells every
 * instance (`pg_notify('taskchat_events', {type: 'reminder', userId, deliveryId})`, which feeds
 * `GET /events`; webhooks are fed by a trigger on the table).
 *
 * Exactly once: a job runs on one runner at a time (graphile-worker locks it), and a job run again
 * (its runner died before marking it done, or a copy of it) meets the unique (user, task, instant)
 * and inserts nothing, so it notifies nothing either.
 */
import type { JobHelpers } from 'graphile-worker';

export const REMINDER_JOB = 'reminder';

/** Past this, a reminder is delivered `late` (contract: within 5 s while a worker runs). */
export const LATE_AFTER_SECONDS = 5;

export type ReminderPayload = { userId: string; taskId: number; at: string };

const DELIVER = `
  with due as (
    select t.user_id, t.id, t.reminder, (to_jsonb(t) - 'user_id') as image
    from tasks t
    where t.user_id = $1 and t.id = $2::int and not t.completed and t.reminder = $3::timestamptz
  ), delivered as (
    insert into reminder_deliveries (id, user_id, task_id, remind_at, late, task)
    select gen_random_uuid()::text, due.user_id, due.id, due.reminder,
           now() - due.reminder > make_interval(secs => ${LATE_AFTER_SECONDS}), task_api_json(due.image)
    from due
    on conflict do nothing
    returning id, user_id
  )
  select id, pg_notify('taskchat_events',
           json_build_object('type', 'reminder', 'userId', user_id, 'deliveryId', id)::text) as notified
  from delivered`;

export async function deliverReminder(payload: unknown, helpers: JobHelpers): Promise<void> {
  const { userId, taskId, at } = payload as ReminderPayload;
  if (typeof userId !== 'string' || typeof taskId !== 'number' || typeof at !== 'string') {
    // Not one of ours (queued by hand?): nothing to deliver, and nothing a retry would change.
    helpers.logger.warn('reminder job without userId, taskId and at: skipped');
    return;
  }
  await helpers.query(DELIVER, [userId, taskId, at]);
}
