/**
 * @module jobs/tasks
 * The one list of the job kinds a runner can run, by the name a trigger or statement queues them
 * under (`graphile_worker.add_job('<name>', ...)`). Each feature keeps its handler in its own room;
 * a job queued under a name missing here fails and is retried, so every runner must have them all.
 */
import type { TaskList } from 'graphile-worker';
import type { Config } from '../config.ts';
import { deliverReminder, REMINDER_JOB } from '../reminders/deliver.ts';
import { WEBHOOK_DELIVERY_TASK, webhookDeliveryTask } from '../webhooks/deliver.ts';

/** `config`: what the jobs need of the settings (where webhooks may point). */
export function createTaskList(config: Pick<Config, 'webhooks'>): TaskList {
  return {
    [REMINDER_JOB]: deliverReminder,
    [WEBHOOK_DELIVERY_TASK]: webhookDeliveryTask({ rules: config.webhooks }),
  };
}
