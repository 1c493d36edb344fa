CREATE TABLE "reminder_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"task_id" integer NOT NULL,
	"remind_at" timestamp with time zone NOT NULL,
	"delivered_at" timestamp with time zone DEFAULT now() NOT NULL,
	"late" boolean NOT NULL,
	"task" jsonb NOT NULL,
	CONSTRAINT "reminder_deliveries_user_task_instant_key" UNIQUE("user_id","task_id","remind_at")
);
--> statement-breakpoint
-- A task as the API shows it (camelCase, instants in UTC with milliseconds and `Z`, as
-- tasks/recorded.ts's taskFromJson writes them), from the image the change log keeps of a task
-- (`to_jsonb(task) - 'user_id'`, tasks/recorded.ts's taskImage). For the SQL that hands a Task to
-- someone without the app in between: a delivered reminder, a webhook's body.
CREATE FUNCTION task_api_json(image jsonb) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  select case when image is null then null else jsonb_build_object(
    'id', image -> 'id',
    'title', image -> 'title',
    'description', image -> 'description',
    'completed', image -> 'completed',
    'priority', image -> 'priority',
    'dueDate', image -> 'due_date',
    'dueTime', image -> 'due_time',
    'repeat', image -> 'repeat',
    'reminder', to_jsonb(to_char((image ->> 'reminder')::timestamptz at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
    'createdAt', to_jsonb(to_char((image ->> 'created_at')::timestamptz at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
    'updatedAt', to_jsonb(to_char((image ->> 'updated_at')::timestamptz at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
  ) end
$$;
--> statement-breakpoint
-- A task's reminder is a graphile-worker job (src/jobs/engine.ts) keyed by the task, queued, moved
-- or cancelled here, in the statement that changes the task, whichever source makes the change
-- (chat, MCP, REST, undo, a repeat's completion): an open task with a reminder has exactly one job,
-- due at its reminder ('replace' moves it); a task completed, deleted or without a reminder has
-- none. The job (reminders/deliver.ts) checks again at its time that the task still wants it.
CREATE FUNCTION tasks_reminder_job() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF tg_op <> 'DELETE' AND new.reminder IS NOT NULL AND NOT new.completed THEN
    PERFORM graphile_worker.add_job(
      'reminder',
      json_build_object('userId', new.user_id, 'taskId', new.id, 'at', new.reminder),
      run_at := new.reminder,
      job_key := 'reminder:' || new.id || ':' || new.user_id,
      job_key_mode := 'replace');
  ELSE
    PERFORM graphile_worker.remove_job('reminder:' || old.id || ':' || old.user_id);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- The WHEN clauses keep the trigger away from every write that leaves reminders as they were.
CREATE TRIGGER tasks_reminder_insert AFTER INSERT ON tasks FOR EACH ROW
  WHEN (new.reminder IS NOT NULL AND NOT new.completed)
  EXECUTE FUNCTION tasks_reminder_job();
--> statement-breakpoint
CREATE TRIGGER tasks_reminder_update AFTER UPDATE OF reminder, completed ON tasks FOR EACH ROW
  WHEN ((old.reminder IS DISTINCT FROM new.reminder OR old.completed IS DISTINCT FROM new.completed)
        AND (old.reminder IS NOT NULL OR new.reminder IS NOT NULL))
  EXECUTE FUNCTION tasks_reminder_job();
--> statement-breakpoint
CREATE TRIGGER tasks_reminder_delete AFTER DELETE ON tasks FOR EACH ROW
  WHEN (old.reminder IS NOT NULL AND NOT old.completed)
  EXECUTE FUNCTION tasks_reminder_job();
--> statement-breakpoint
-- Reminders set before this migration and still ahead get their jobs now (the IF keeps a database
-- without graphile-worker's schema, and with no such task, from needing it).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM tasks WHERE reminder > now() AND NOT completed) THEN
    PERFORM graphile_worker.add_job(
      'reminder',
      json_build_object('userId', user_id, 'taskId', id, 'at', reminder),
      run_at := reminder,
      job_key := 'reminder:' || id || ':' || user_id,
      job_key_mode := 'replace')
    FROM tasks WHERE reminder > now() AND NOT completed;
  END IF;
END
$$;
