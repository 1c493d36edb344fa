-- Live events (GET /events): every row of the change log announces itself on the channel
-- `taskchat_events`, from the transaction that wrote it, so an event exists exactly when its change
-- committed (Postgres delivers a NOTIFY at commit and drops it on rollback), whatever made the
-- change (chat, MCP, REST, an undo, a worker). Each instance LISTENs once (src/db/notifications.ts)
-- and reads the changes themselves from task_changes; the payload only says whose and which.
-- Custom SQL (drizzle-kit generate --custom): drizzle's schema has no triggers.
CREATE FUNCTION "taskchat_notify_task_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('taskchat_events',
    json_build_object('type', 'task', 'userId', NEW.user_id, 'changeId', NEW.id)::text);
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "task_changes_notify" AFTER INSERT ON "task_changes"
  FOR EACH ROW EXECUTE FUNCTION "taskchat_notify_task_change"();
