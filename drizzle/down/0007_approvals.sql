-- Undoes 0007_approvals: pending approvals go (tool calls that waited stay in the stored messages,
-- shown to the model as not run).
DROP TABLE "approvals";
