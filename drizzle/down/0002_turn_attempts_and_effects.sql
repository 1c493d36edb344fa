-- Undoes 0002_turn_attempts_and_effects: drops the record of the task changes chat turns made and
-- the attempt ids of turns and leases. Turns running during the rollback lose their attempt check
-- (their endings then apply by turn id alone, as before); recorded effects are forgotten, so a
-- re-run of a failed turn after the rollback may repeat a change it made.
DROP TABLE "turn_effects";
--> statement-breakpoint
ALTER TABLE "turns" DROP COLUMN "attempt_id";
--> statement-breakpoint
ALTER TABLE "conversations" DROP COLUMN "lease_attempt_id";
