/**
 * Publishing chat events to the durable event log: to the chat's audience, the chat as events carry it
 * (no per-viewer unread count) plus the event's own data.
 */
import type { EventType } from '../events/event-log';
import type { ChatEngine } from './engine';
import { ChatView, MessageRow, messageView, publicChat } from './types';
import { row } from './views';
import { audience } from './visibility';

/** Appends one event about the chat, for whoever may see it now. */
export async function publish(e: ChatEngine, type: EventType, key: string, chat: ChatView, data: Record<string, unknown> = {}): Promise<void> {
  await e.events.append([{ key, type, employees: audience(e.employees, chat), data: { chat: publicChat(chat), ...data } }]);
}

/** After a send attempt ended (sent or failed): chat.delivery, and the engine's 'delivery' event. */
export async function publishDelivered(e: ChatEngine, messageId: number): Promise<void> {
  const rows = await e.db.query<MessageRow>('SELECT * FROM chat_messages WHERE id = ?', [messageId]);
  if (!rows.length) return;
  const m = messageView(rows[0]);
  const chat = (await row(e, m.chatId))!;
  await publish(e, 'chat.delivery', `chat.delivery:${m.id}:${m.state}`, chat, { message: m });
  e.emit('delivery', m);
}
