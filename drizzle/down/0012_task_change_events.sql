-- Undoes 0012_task_change_events: changes no longer announce themselves on `taskchat_events`, so
-- open event streams see no task events until migrated up again. Lost: nothing (no data).
DROP TRIGGER "task_changes_notify" ON "task_changes";--> statement-breakpoint
DROP FUNCTION "taskchat_notify_task_change"();
