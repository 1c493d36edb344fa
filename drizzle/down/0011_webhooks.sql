-- Undoes 0011_webhooks: drops the webhooks, their delivery log and the triggers that fed it. Lost:
-- every webhook (URL, events, secret) and every delivery record; queued webhook_delivery jobs stay
-- in graphile-worker's queue and end without sending when they run (their delivery is gone).
DROP TRIGGER webhook_reminder_delivered ON reminder_deliveries;--> statement-breakpoint
DROP FUNCTION webhook_reminder_delivered();--> statement-breakpoint
DROP TRIGGER webhook_task_changed ON task_changes;--> statement-breakpoint
DROP FUNCTION webhook_task_changed();--> statement-breakpoint
DROP FUNCTION webhook_fan_out(text, text, json);--> statement-breakpoint
DROP FUNCTION webhook_change_json(task_changes);--> statement-breakpoint
DROP FUNCTION webhook_iso(timestamptz);--> statement-breakpoint
DROP TABLE "webhook_deliveries";--> statement-breakpoint
DROP TABLE "webhooks";
