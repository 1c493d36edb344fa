-- Undoes 0000_init: drops every table it created. Their indexes, constraints and the tasks identity
-- sequence go with them. All conversations, messages, turns and tasks are lost.
DROP TABLE "turns";
--> statement-breakpoint
DROP TABLE "messages";
--> statement-breakpoint
DROP TABLE "tasks";
--> statement-breakpoint
DROP TABLE "conversations";
