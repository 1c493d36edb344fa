CREATE TABLE "webhook_deliveries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"webhook_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"type" text NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_attempt_at" timestamp with time zone,
	"last_status" integer,
	"last_error" text,
	"delivered_at" timestamp with time zone,
	"failed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "webhooks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" text NOT NULL,
	"url" text NOT NULL,
	"events" text[] NOT NULL,
	"secret" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_webhook_id_webhooks_id_fk" FOREIGN KEY ("webhook_id") REFERENCES "public"."webhooks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_webhook_idx" ON "webhook_deliveries" USING btree ("webhook_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "webhooks_user_idx" ON "webhooks" USING btree ("user_id","created_at" DESC NULLS LAST);--> statement-breakpoint
-- An instant as the API writes it (Date#toISOString: UTC, milliseconds, Z).
CREATE FUNCTION webhook_iso(at timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  select to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
--> statement-breakpoint
-- A change log row as the API's Change (GET /changes shows the same); its task images through
-- task_api_json (migration 0010), the Task as the API shows it.
CREATE FUNCTION webhook_change_json(c task_changes) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  select json_build_object(
    'id', c.id,
    'taskId', c.task_id,
    'action', c.action,
    'source', c.source,
    'before', task_api_json(c.before),
    'after', task_api_json(c.after),
    'undoneBy', c.undone_by,
    'createdAt', webhook_iso(c.created_at))
$$;
--> statement-breakpoint
-- Fan-out of one event to the user's webhooks that asked for it: a delivery row per webhook, with
-- its body fixed once (the id in it is the row's, so the same on every retry), and its job queued
-- in the same transaction as the event itself. max_attempts 14: graphile-worker waits
-- exp(least(attempts, 10)) seconds after each failure, so the 13th attempt runs about 21.9 hours
-- after the first and the 14th about 28 hours after it, past the contract's 24 hours: that run
-- finds the day over and records the delivery as failed (webhooks/deliver.ts) without sending.
CREATE FUNCTION webhook_fan_out(event_user text, event_type text, data json) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  delivery uuid;
BEGIN
  FOR delivery IN
    INSERT INTO webhook_deliveries (id, webhook_id, user_id, type, body)
    SELECT d.id, d.webhook_id, event_user, event_type,
           json_build_object('id', d.id, 'type', event_type, 'createdAt', webhook_iso(now()), 'data', data)::text
    FROM (SELECT gen_random_uuid() AS id, w.id AS webhook_id
          FROM webhooks w WHERE w.user_id = event_user AND event_type = ANY (w.events)) d
    RETURNING id
  LOOP
    PERFORM graphile_worker.add_job('webhook_delivery', json_build_object('deliveryId', delivery),
      job_key := delivery::text, max_attempts := 14);
  END LOOP;
END
$$;
--> statement-breakpoint
-- Every change of a task, from any source (chat, MCP, REST, undo, the worker), is a `task` event.
CREATE FUNCTION webhook_task_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM webhook_fan_out(NEW.user_id, 'task', json_build_object(
    'task', task_api_json(coalesce(NEW.after, NEW.before)),
    'change', webhook_change_json(NEW)));
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER webhook_task_changed AFTER INSERT ON task_changes
FOR EACH ROW EXECUTE FUNCTION webhook_task_changed();
--> statement-breakpoint
-- Every delivered reminder (one row per reminder, however often its job ran: reminders/deliver.ts)
-- is a `reminder` event, with the task as it was delivered.
CREATE FUNCTION webhook_reminder_delivered() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM webhook_fan_out(NEW.user_id, 'reminder', json_build_object('task', NEW.task, 'late', NEW.late));
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER webhook_reminder_delivered AFTER INSERT ON reminder_deliveries
FOR EACH ROW EXECUTE FUNCTION webhook_reminder_delivered();
