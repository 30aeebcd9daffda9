/**
 * Who owns a chat: first reply takes it (atomically), observers (added or @mentioned), handover, close,
 * binding the peer to a customer, and chats whose responsible is gone going back to the queue.
 */
import type { Tx } from '../db/database';
import { PERSONAL_KINDS } from '../messengers/adapter';
import type { ChatEngine } from './engine';
import { Actor, ChatError, ChatView, publicChat } from './types';
import { publish } from './events';
import { row } from './views';
import { audience } from './visibility';

/** Whether a chat's account is an employee's own (its adapter has an owner, or its kind is always personal). */
export function isPersonal(e: ChatEngine, accountId: string, messenger: string): boolean {
  return !!e.adapters.get(accountId)?.owner || PERSONAL_KINDS.has(messenger);
}

/** Stores an observer row; true when it was new. */
export async function addObserverRow(e: ChatEngine, tx: Tx, chatId: string, employee: string, by: string | null): Promise<boolean> {
  const n = await e.db.exec(`INSERT INTO chat_observers (chat_id, employee, added_by, added_at) VALUES (?, ?, ?, ?) ON CONFLICT (chat_id, employee) DO NOTHING`,
    [chatId, employee, by, Date.now()], tx);
  return n > 0;
}

/** First reply takes the chat: status in_work, responsible = the author; mentions add observers. */
export async function claimOnReply(e: ChatEngine, chatId: string, a: Actor, text: string): Promise<void> {
  if (!(await tryClaim(e, chatId, a))) {
    await e.db.exec(`UPDATE chats SET status = 'in_work', closed_at = NULL, updated_at = ? WHERE id = ? AND status = 'closed'`, [Date.now(), chatId]);
  }
  for (const m of e.mentions(text)) await e.addObserver(chatId, a, m, true);
}

/** Takes a chat nobody owns (atomically: of two first replies, one wins); publishes chat.assigned. */
export async function tryClaim(e: ChatEngine, chatId: string, a: Actor): Promise<boolean> {
  const changed = await e.db.exec(`UPDATE chats SET status = 'in_work', responsible = ?, closed_at = NULL, updated_at = ? WHERE id = ? AND (status = 'queue' OR responsible IS NULL)`,
    [a.employee, Date.now(), chatId]);
  if (!changed) return false;
  await e.db.exec(`DELETE FROM chat_observers WHERE chat_id = ? AND employee = ?`, [chatId, a.employee]);
  const chat = (await row(e, chatId))!;
  // Told to whoever saw it in the queue a moment ago too, so their queue drops it at once.
  const queueAudience = audience(e.employees, { status: 'queue', responsible: null, observers: chat.observers });
  const employees = [...new Set([...audience(e.employees, chat), ...queueAudience])].sort();
  await e.events.append([{
    key: `chat.assigned:${chatId}:${a.employee}:${Date.now()}`,
    type: 'chat.assigned',
    employees,
    data: { chat: publicChat(chat), reason: 'first_reply', responsible: a.employee, previous: null },
  }]);
  return true;
}

/** Adds an observer: the responsible or a supervisor (or anyone who may write, by an @mention). */
export async function addObserver(e: ChatEngine, chatId: string, a: Actor, employee: string, byMention: boolean): Promise<ChatView> {
  const chat = await e.get(chatId, a);
  if (!e.employees.get(employee)) throw new ChatError(400, 'invalid_employee', `no employee with extension ${employee}`, 'observer');
  if (!byMention && !(a.supervisor || chat.responsible === a.employee)) {
    throw new ChatError(403, 'forbidden', 'observers are added by the responsible or a supervisor (or by @mentioning them)');
  }
  if (employee === chat.responsible) return chat;
  const added = await e.db.transaction((tx) => addObserverRow(e, tx, chatId, employee, a.employee));
  const after = (await row(e, chatId))!;
  if (added) await publish(e, 'chat.observer_added', `chat.observer_added:${chatId}:${employee}:${Date.now()}`, after, { observer: employee, by: a.employee, mention: byMention });
  return after;
}

/** Hands the chat over: the new responsible gets full rights; the previous one stays only as an observer if chosen. */
export async function handover(e: ChatEngine, chatId: string, a: Actor, to: string, keepAsObserver: boolean): Promise<ChatView> {
  const chat = await e.get(chatId, a);
  if (!a.supervisor && chat.responsible !== a.employee) throw new ChatError(403, 'forbidden', 'only the responsible or a supervisor hands a chat over');
  if (!e.employees.get(to)) throw new ChatError(400, 'invalid_employee', `no employee with extension ${to}`, 'to');
  const previous = chat.responsible;
  await e.db.transaction(async (tx) => {
    await e.db.exec(`UPDATE chats SET responsible = ?, status = 'in_work', closed_at = NULL, updated_at = ? WHERE id = ?`, [to, Date.now(), chatId], tx);
    await e.db.exec('DELETE FROM chat_observers WHERE chat_id = ? AND employee = ?', [chatId, to], tx);
    if (previous && previous !== to) {
      if (keepAsObserver) await addObserverRow(e, tx, chatId, previous, a.employee);
      else await e.db.exec('DELETE FROM chat_observers WHERE chat_id = ? AND employee = ?', [chatId, previous], tx);
    }
  });
  const after = (await row(e, chatId))!;
  // The previous owner hears about it even when they lose access.
  const employees = [...new Set([...audience(e.employees, after), ...(previous ? [previous] : [])])].sort();
  await e.events.append([{ key: `chat.handed_over:${chatId}:${to}:${Date.now()}`, type: 'chat.handed_over', employees,
    data: { chat: publicChat(after), from: previous, to, by: a.employee, previousKeepsAccess: keepAsObserver } }]);
  return after;
}

/** Closes the chat: the responsible or a supervisor. */
export async function close(e: ChatEngine, chatId: string, a: Actor): Promise<ChatView> {
  const chat = await e.get(chatId, a);
  if (!a.supervisor && chat.responsible !== a.employee) throw new ChatError(403, 'forbidden', 'only the responsible or a supervisor closes a chat');
  if (chat.status === 'closed') return chat;
  await e.db.exec(`UPDATE chats SET status = 'closed', closed_at = ?, updated_at = ? WHERE id = ?`, [Date.now(), Date.now(), chatId]);
  const after = (await row(e, chatId))!;
  await publish(e, 'chat.closed', `chat.closed:${chatId}:${after.closedAt}`, after, { by: a.employee });
  return after;
}

/** Binds the chat's peer to a customer (and contact) from the directory, like an unknown caller. */
export async function bind(e: ChatEngine, chatId: string, a: Actor, customerId: string, contactId?: string): Promise<ChatView> {
  await e.get(chatId, a);
  const c = await e.directory.getCustomer(customerId);
  if (!c) throw new ChatError(400, 'invalid_customer', `no customer ${customerId}`, 'customerId');
  if (contactId && !c.contacts?.some((x: { id: string }) => x.id === contactId)) throw new ChatError(400, 'invalid_contact', `customer ${customerId} has no contact ${contactId}`, 'contactId');
  await e.db.exec('UPDATE chats SET customer_id = ?, contact_id = ?, updated_at = ? WHERE id = ?', [customerId, contactId ?? null, Date.now(), chatId]);
  return (await row(e, chatId))!;
}

/**
 * Chats whose responsible no longer exists (deleted in 1C) go back to the queue, reported as
 * chat.assigned with reason owner_left: never a chat silently stuck with nobody.
 */
export async function reassignOrphans(e: ChatEngine): Promise<number> {
  if (e.employees.count() === 0) return 0;
  const rows = await e.db.query<{ id: string; responsible: string; account_id: string; messenger: string }>(
    `SELECT id, responsible, account_id, messenger FROM chats WHERE status = 'in_work' AND responsible IS NOT NULL`);
  let n = 0;
  for (const r of rows) {
    if (e.employees.get(r.responsible)) continue;
    // A chat on an employee's own account never goes to the queue: handed to a colleague who left, it
    // returns to the account's owner; the owner himself gone, it stays (supervisors still see it).
    if (isPersonal(e, r.account_id, r.messenger)) {
      const owner = e.adapters.get(r.account_id)?.owner;
      if (!owner || !e.employees.get(owner)) continue;
      const moved = await e.db.exec(`UPDATE chats SET responsible = ?, updated_at = ? WHERE id = ? AND responsible = ?`, [owner, Date.now(), r.id, r.responsible]);
      if (!moved) continue;
      n++;
      await e.db.exec('DELETE FROM chat_observers WHERE chat_id = ? AND employee = ?', [r.id, owner]);
      const chat = (await row(e, r.id))!;
      await publish(e, 'chat.assigned', `chat.owner_left:${r.id}:${r.responsible}`, chat, { reason: 'owner_left', responsible: owner, previous: r.responsible });
      continue;
    }
    const changed = await e.db.exec(`UPDATE chats SET status = 'queue', responsible = NULL, updated_at = ? WHERE id = ? AND responsible = ?`, [Date.now(), r.id, r.responsible]);
    if (!changed) continue;
    n++;
    const chat = (await row(e, r.id))!;
    await publish(e, 'chat.assigned', `chat.owner_left:${r.id}:${r.responsible}`, chat, { reason: 'owner_left', responsible: null, previous: r.responsible });
  }
  return n;
}
