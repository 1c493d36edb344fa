-- Undoes 0010_reminders: reminders are no longer scheduled or delivered. Lost: the record of
-- delivered reminders, and the jobs of reminders still ahead (the tasks keep their `reminder`;
-- migrating again schedules those still ahead). graphile-worker's own schema stays: it is
-- installed by the migration step itself (src/jobs/engine.ts), not by this migration.
DO $$
BEGIN
  IF to_regclass('graphile_worker.jobs') IS NOT NULL THEN
    PERFORM graphile_worker.remove_job(key) FROM graphile_worker.jobs
    WHERE task_identifier = 'reminder' AND key IS NOT NULL;
  END IF;
END
$$;
--> statement-breakpoint
DROP TRIGGER tasks_reminder_delete ON tasks;--> statement-breakpoint
DROP TRIGGER tasks_reminder_update ON tasks;--> statement-breakpoint
DROP TRIGGER tasks_reminder_insert ON tasks;--> statement-breakpoint
DROP FUNCTION tasks_reminder_job();--> statement-breakpoint
DROP FUNCTION task_api_json(jsonb);--> statement-breakpoint
DROP TABLE "reminder_deliveries";
