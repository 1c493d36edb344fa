/**
 * @module chat/turn/approvals
 * Tool calls that wait for the user's decision, with the AI SDK's own mechanism: the run's
 * `toolApproval` (from APPROVAL_POLICY) makes a call end the turn as a `tool-approval-request`
 * beside its `tool-call`; END TURN stores it as pending (../store/statements.ts). A decision is the
 * next turn's opening message: a `tool` message of `tool-approval-response` parts, which the SDK
 * reads at the start of the run (it runs the approved calls through their tools and gives denied
 * ones an `execution-denied` result) before the model goes on. Only the decision comes from the
 * client; the call is the one stored with the asking turn.
 */
import { createHash } from 'node:crypto';
import type { ModelMessage, ToolApprovalConfiguration, ToolSet } from 'ai';
import type { Config } from '../../config.ts';
import { taskToolNames, taskTools } from '../../tasks/tools.ts';
import { partsOf } from '../messages/stored.ts';

/** A decision on one pending approval, as a client sends it. */
export type ApprovalDecision = { id: string; approved: boolean; reason?: string };

/** A call the turn ended waiting on: the JSON answer's `pendingApprovals` entry, plus its call id. */
export type PendingApproval = { id: string; toolName: string; args: unknown; toolCallId: string };

/** The run's `toolApproval` for a policy: which task tools wait for the user. */
export function toolApprovalFor(
  policy: Config['chat']['approvalPolicy'],
): ToolApprovalConfiguration<ToolSet, unknown> | undefined {
  if (policy === 'none') return undefined;
  const config: Record<string, 'user-approval'> = {};
  for (const name of taskToolNames) {
    const { readOnlyHint, destructiveHint } = taskTools[name].hints;
    // `destructive` is what cannot be taken back: delete_task. undo_change is marked destructive for
    // MCP hosts (undoing an add removes the task), but an undo is itself undoable, and asking
    // before the user's own safety net would stand in its way.
    const destructive = destructiveHint && name !== 'undo_change';
    if (policy === 'writes' ? !readOnlyHint : destructive) config[name] = 'user-approval';
  }
  return config;
}

/** The approval requests among a turn's new messages, each with the call it asks about. */
export function pendingApprovalsOf(messages: ModelMessage[]): PendingApproval[] {
  const calls = new Map<string, { toolName: string; args: unknown }>();
  const pending: PendingApproval[] = [];
  for (const message of messages) {
    if (message.role !== 'assistant') continue;
    for (const part of partsOf(message)) {
      if (part.type === 'tool-call' && part.toolCallId)
        calls.set(part.toolCallId, { toolName: part.toolName ?? '', args: part.input ?? {} });
      const request = part as { type: string; approvalId?: string; toolCallId?: string };
      if (request.type === 'tool-approval-request' && request.approvalId && request.toolCallId) {
        const call = calls.get(request.toolCallId);
        if (call) pending.push({ id: request.approvalId, ...call, toolCallId: request.toolCallId });
      }
    }
  }
  return pending;
}

/** The decision turn's opening message: what the SDK reads to run or deny the waiting calls. */
export function decisionMessage(decisions: ApprovalDecision[]): ModelMessage {
  return {
    role: 'tool',
    content: decisions.map((d) => ({
      type: 'tool-approval-response' as const,
      approvalId: d.id,
      approved: d.approved,
      ...(d.reason ? { reason: d.reason } : {}),
    })),
  };
}

/**
 * The idempotency key of a decision turn. The UI body's newest message is the assistant message
 * that asked (its id is the same for every decision on it), so the key comes from the decisions
 * themselves: the same decision sent again replays its answer, a different one is a new turn
 * (and finds the approval decided).
 */
export function decisionMessageId(decisions: ApprovalDecision[]): string {
  const key = decisions
    .map((d) => `${d.id}:${d.approved ? 1 : 0}`)
    .sort()
    .join(',');
  return `approval:${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}
