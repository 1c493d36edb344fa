-- Undoes 0003_ui_messages: drops the columns it added. Lost: which turn stored each message (UI
-- message ids then fall back to row ids), which answers a regenerate replaced (they show again),
-- and each turn's user-message seq (a later regenerate of an older turn replaces nothing).
ALTER TABLE "turns" DROP COLUMN "seq";
--> statement-breakpoint
ALTER TABLE "messages" DROP COLUMN "replaced";
--> statement-breakpoint
ALTER TABLE "messages" DROP COLUMN "turn_id";
