/**
 * @module chat/store/ids
 * Conversation ids derived from what a client sends, not drawn at random: a first send's id from
 * (user, messageId), a client's own chat id's from (user, chat id). Derived ids need no lookup
 * table, make a retried first send collide with itself instead of starting a second conversation,
 * and keep two users' identical ids apart.
 */
import { hash } from 'node:crypto';

/**
 * The id of the conversation a first send creates, derived from who sent it and its messageId:
 * two copies of one first send (a client retrying while the first is still in flight) then
 * collide on the primary key instead of starting two conversations and running the model twice.
 */
export function conversationIdFor(userId: string, messageId: string): string {
  return uuidFromHash(`${userId}\u0000${messageId}`);
}

/**
 * The conversation a client's own chat id names for this user (the AI SDK UI body's `id`, made by
 * `useChat`): derived, so every later send with that id reaches the same conversation with no
 * lookup table, and two users' identical ids never meet. Its own namespace, so a chat id never
 * lands in the conversation a first send of the same text as a messageId created.
 */
export function chatConversationIdFor(userId: string, chatId: string): string {
  return uuidFromHash(`chat\u0000${userId}\u0000${chatId}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The conversations a UI chat id can name for this user: `given`, the id itself when it is a
 * conversation id (a UUID, as `GET /conversations` lists them), and `named`, the one derived from
 * it. The given one wins when it is the user's.
 */
export function chatTargets(userId: string, chatId: string): { given: string | null; named: string } {
  return { given: UUID.test(chatId) ? chatId : null, named: chatConversationIdFor(userId, chatId) };
}

function uuidFromHash(key: string): string {
  const hex = hash('sha256', key, 'hex');
  // Laid out as an RFC 9562 version 8 (custom) UUID.
  const variant = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
