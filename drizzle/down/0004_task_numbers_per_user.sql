-- Undoes 0004_task_numbers_per_user: tasks get ids from one sequence shared by all users again,
-- renumbered in creation order across users (so every task's id changes; ids in stored chat
-- history no longer match), and the per-user counters are dropped. No task is lost.
ALTER TABLE "tasks" DROP CONSTRAINT "tasks_pkey";--> statement-breakpoint
UPDATE "tasks" SET "id" = "numbered"."number"
FROM (
	SELECT "user_id", "id", row_number() OVER (ORDER BY "created_at", "user_id", "id") AS "number"
	FROM "tasks"
) AS "numbered"
WHERE "tasks"."user_id" = "numbered"."user_id" AND "tasks"."id" = "numbered"."id";--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_pkey" PRIMARY KEY("id");--> statement-breakpoint
ALTER TABLE "tasks" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY (sequence name "tasks_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1);--> statement-breakpoint
SELECT setval('"tasks_id_seq"', coalesce(max("id"), 0) + 1, false) FROM "tasks";--> statement-breakpoint
CREATE INDEX "tasks_user_recent_idx" ON "tasks" USING btree ("user_id","id" DESC NULLS LAST);--> statement-breakpoint
DROP TABLE "task_counters";
