-- Undoes 0006_change_log: drops the change log and the change numbers. Lost: every recorded change
-- (what was changed, by which source, and whether it was undone), so nothing made before the
-- rollback can be undone after migrating up again.
DROP INDEX "task_changes_user_task_idx";--> statement-breakpoint
ALTER TABLE "tasks" DROP COLUMN "last_change_id";--> statement-breakpoint
ALTER TABLE "task_counters" DROP COLUMN "last_change_id";--> statement-breakpoint
DROP TABLE "task_changes";
