-- Undoes 0005_instances: leases no longer name the process holding them (a killed process's
-- conversations stay locked until their lease expires, as before), and the liveness records go.
ALTER TABLE "conversations" DROP COLUMN "lease_instance_id";--> statement-breakpoint
DROP TABLE "instances";
