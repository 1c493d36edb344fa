CREATE TABLE "turn_effects" (
	"turn_id" uuid NOT NULL,
	"call_key" text NOT NULL,
	"occurrence" integer NOT NULL,
	"tool" text NOT NULL,
	"args" jsonb NOT NULL,
	"task" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "turn_effects_turn_id_call_key_occurrence_pk" PRIMARY KEY("turn_id","call_key","occurrence")
);
--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "lease_attempt_id" uuid;--> statement-breakpoint
ALTER TABLE "turns" ADD COLUMN "attempt_id" uuid;--> statement-breakpoint
ALTER TABLE "turn_effects" ADD CONSTRAINT "turn_effects_turn_id_turns_id_fk" FOREIGN KEY ("turn_id") REFERENCES "public"."turns"("id") ON DELETE cascade ON UPDATE no action;