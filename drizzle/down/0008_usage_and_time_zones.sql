-- Undoes 0008_usage_and_time_zones: drops the usage records, the daily counters and the users'
-- settings. Lost: every turn's recorded token usage, today's budget counters and the time zones
-- users chose (they fall back to the request's, the token's or DEFAULT_TIMEZONE).
DROP INDEX "turn_usage_user_day_idx";
--> statement-breakpoint
DROP TABLE "user_settings";
--> statement-breakpoint
DROP TABLE "usage_daily";
--> statement-breakpoint
DROP TABLE "turn_usage";
