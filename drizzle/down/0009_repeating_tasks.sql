-- Undoes 0009_repeating_tasks: drops due times, repeats and reminders. Lost: every task's due time,
-- repeat rule and reminder (the tasks keep their current due date and stay open).
DROP FUNCTION task_next_occurrence(text, date);--> statement-breakpoint
ALTER TABLE "tasks" DROP CONSTRAINT "tasks_repeat_check";--> statement-breakpoint
ALTER TABLE "tasks" DROP CONSTRAINT "tasks_due_time_check";--> statement-breakpoint
ALTER TABLE "tasks" DROP COLUMN "reminder";--> statement-breakpoint
ALTER TABLE "tasks" DROP COLUMN "repeat";--> statement-breakpoint
ALTER TABLE "tasks" DROP COLUMN "due_time";
