/**
 * @module chat/messages/ui-messages
 * A conversation's stored messages as AI SDK UI messages (`GET /conversations/:id/messages`, for
 * `useChat({ id, messages })`): each turn one user message and at most one assistant message,
 * whose parts are the answer's parts as the stream made them (../stream/parts.ts) and whose id is
 * the one the stream's start part announced. A decision turn's rows (its approval responses and
 * answer) join the answer that asked, as its stream continued that message.
 */
import { type AnswerPart, answerParts, type ChatUIMessage } from '../stream/parts.ts';
import { textOf, type ViewRow, wasStopped } from './stored.ts';

/**
 * A conversation's stored messages (oldest first) as UI messages: each user message (its id the
 * client's messageId), then its turn's answer as one assistant message (its id the first stored
 * row's, which is the id the stream announced), replaced answers left out. An answer stored after
 * later turns (a regenerate from a stale client) still follows its own user message.
 */
export function conversationUIMessages(
  conversationId: string,
  rows: ViewRow[],
  expiredApprovals: readonly string[] = [],
): ChatUIMessage[] {
  type Turn = { user?: ViewRow; answer: ViewRow[] };
  const turns: Turn[] = [];
  const byTurnId = new Map<string, Turn>();
  for (const row of rows) {
    if (row.role === 'user') {
      const turn: Turn = { user: row, answer: [] };
      turns.push(turn);
      if (row.turnId) byTurnId.set(row.turnId, turn);
      continue;
    }
    if (row.replaced) continue;
    let turn = (row.turnId && byTurnId.get(row.turnId)) || turns.at(-1);
    if (!turn) {
      // The oldest rows of a long conversation can start inside an answer whose question is cut off.
      turn = { answer: [] };
      turns.push(turn);
    }
    turn.answer.push(row);
  }
  const out: ChatUIMessage[] = [];
  const newestUser = turns.findLastIndex((t) => t.user);
  turns.forEach(({ user, answer }, index) => {
    if (user) {
      out.push({
        id: user.messageId ?? user.id,
        role: 'user',
        parts: [{ type: 'text', text: textOf(user.content, '\n') }],
        metadata: { conversationId, createdAt: user.createdAt },
      });
    }
    const first = answer[0];
    if (!first) return;
    const parts = answerParts(answer.map((r) => r.content));
    out.push({
      id: first.id,
      role: 'assistant',
      parts: parts.map((part) =>
        index < newestUser ? closed(part, 'superseded') : closed(part, 'expired', expiredApprovals),
      ) as ChatUIMessage['parts'],
      metadata: {
        conversationId,
        createdAt: first.createdAt,
        // As the stream's finish part said when its person stopped it.
        ...(answer.some((row) => wasStopped(row.content)) ? { stopped: true } : {}),
      },
    });
  });
  return out;
}

/**
 * A call that can no longer be decided shows as denied, so a reloaded page offers no buttons whose
 * click could only answer 409: one still waiting when the user sent a new message (that message
 * denied it: the contract's "superseded"), or one whose approval expired (`only`: those ids).
 */
function closed(part: AnswerPart, reason: 'superseded' | 'expired', only?: readonly string[]): AnswerPart {
  if (part.type === 'text' || part.state !== 'approval-requested') return part;
  const id = part.approval?.id ?? '';
  if (only && !only.includes(id)) return part;
  return { ...part, state: 'output-denied', approval: { id, approved: false, reason } };
}
