-- Undoes 0001_rate_limits: puts back the index it dropped (the same definition as in 0000_init) and
-- drops the rate_limits table. Only the counts of turns started in the last minute are lost.
CREATE INDEX "turns_user_recent_idx" ON "turns" USING btree ("user_id","created_at" DESC NULLS LAST);
--> statement-breakpoint
DROP TABLE "rate_limits";
