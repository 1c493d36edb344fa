CREATE TABLE "rate_limits" (
	"user_id" text PRIMARY KEY NOT NULL,
	"recent" timestamp with time zone[] NOT NULL
);
--> statement-breakpoint
DROP INDEX "turns_user_recent_idx";