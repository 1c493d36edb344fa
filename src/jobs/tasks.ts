/**
 * @module jobs/tasks
 * The one list of the job kinds a runner can run, by the name a trigger or statement queues them
 * under (`graphile_worker.add_job('<name>', ...)`). Each feature keeps its handler in its own room;
 * a job queued under a name missing here fails and is retried, so every runner must have them all.
 */
import type { TaskList } from 'graphile-worker';
import { deliverReminder, REMINDER_JOB } from '../reminders/deliver.ts';

export function createTaskList(): TaskList {
  return {
    [REMINDER_JOB]: deliverReminder,
  };
}
