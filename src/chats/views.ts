/**
 * Reading chats: rows to views (observers, unread counts), one chat as a viewer may see it, the list with
 * its views and filters (the scope rule as SQL), the counts, a chat's messages, and reads.
 */
import type { SqlValue, Tx } from '../db/database';
import { likeEscape } from '../db/sql';
import type { ChatEngine } from './engine';
import { MessengerAdapter, MessengerError } from '../messengers/adapter';
import { Actor, ChatError, ChatRow, ChatStatus, ChatView, iso, MessageRow, MessageView, messageView, Viewer } from './types';
import { maySee } from './visibility';

/** The list's filters (`view`: my, observed, the queue or all the viewer may see). */
export interface ChatListFilter {
  view?: 'my' | 'observed' | 'queue' | 'all';
  status?: ChatStatus[];
  messenger?: string;
  accountId?: string;
  employee?: string;
  customerId?: string;
  from?: Date;
  to?: Date;
  q?: string;
  limit?: number;
  offset?: number;
}

async function observersOf(e: ChatEngine, ids: string[], tx?: Tx): Promise<Map<string, string[]>> {
  const m = new Map<string, string[]>();
  if (!ids.length) return m;
  const rows = await e.db.query<{ chat_id: string; employee: string }>(
    `SELECT chat_id, employee FROM chat_observers WHERE chat_id IN (${ids.map(() => '?').join(',')}) ORDER BY added_at, employee`, ids, tx);
  for (const r of rows) m.set(r.chat_id, [...(m.get(r.chat_id) ?? []), r.employee]);
  return m;
}

async function unreadOf(e: ChatEngine, ids: string[], employee: string | undefined): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  if (!ids.length || !employee) return m;
  const rows = await e.db.query<{ chat_id: string; n: number | string | bigint }>(
    `SELECT m.chat_id, COUNT(*) AS n FROM chat_messages m
       LEFT JOIN chat_reads r ON r.chat_id = m.chat_id AND r.employee = ?
      WHERE m.chat_id IN (${ids.map(() => '?').join(',')}) AND m.direction = 'in' AND m.id > COALESCE(r.last_read, 0)
      GROUP BY m.chat_id`, [employee, ...ids]);
  for (const r of rows) m.set(r.chat_id, Number(r.n));
  return m;
}

/** An adapter with a customer service window (WhatsApp Cloud's `serviceWindow`), recognised by that method. */
interface WindowedAdapter {
  serviceWindow(lastInboundAt: Date | null): { open: boolean; closesAt: string | null };
}

function windowed(a: unknown): a is WindowedAdapter {
  return typeof (a as Partial<WindowedAdapter> | undefined)?.serviceWindow === 'function';
}

/** The service window of each chat whose adapter has one, from the customer's last message. */
async function windowsOf(e: ChatEngine, rows: ChatRow[], tx?: Tx): Promise<Map<string, { open: boolean; closesAt: string | null }>> {
  const m = new Map<string, { open: boolean; closesAt: string | null }>();
  const ids = rows.filter((r) => windowed(e.adapters.get(r.account_id))).map((r) => r.id);
  if (!ids.length) return m;
  const last = await e.db.query<{ chat_id: string; at: number | string | bigint | null }>(
    `SELECT chat_id, MAX(created_at) AS at FROM chat_messages WHERE chat_id IN (${ids.map(() => '?').join(',')}) AND direction = 'in' GROUP BY chat_id`, ids, tx);
  const at = new Map(last.map((l) => [l.chat_id, l.at === null ? null : new Date(Number(l.at))]));
  for (const r of rows) {
    const a = e.adapters.get(r.account_id);
    if (ids.includes(r.id) && windowed(a)) m.set(r.id, a.serviceWindow(at.get(r.id) ?? null));
  }
  return m;
}

/** Chat rows as views: observers, the service window, and the unread count for `employee` (none inside a transaction). */
export async function views(e: ChatEngine, rows: ChatRow[], employee?: string, tx?: Tx): Promise<ChatView[]> {
  const ids = rows.map((r) => r.id);
  const obs = await observersOf(e, ids, tx);
  const unread = tx ? new Map<string, number>() : await unreadOf(e, ids, employee);
  const windows = await windowsOf(e, rows, tx);
  return rows.map((r) => ({
    id: r.id,
    messenger: r.messenger,
    accountId: r.account_id,
    peerId: r.peer_id,
    peerName: r.peer_name,
    peerUsername: r.peer_username,
    phone: r.phone,
    customerId: r.customer_id,
    contactId: r.contact_id,
    status: r.status as ChatStatus,
    responsible: r.responsible,
    observers: obs.get(r.id) ?? [],
    reference: r.reference,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    lastMessageAt: iso(r.last_message_at)!,
    closedAt: iso(r.closed_at),
    unread: unread.get(r.id) ?? 0,
    ...(windows.has(r.id) ? { window: windows.get(r.id)! } : {}),
  }));
}

/** One chat by id, no rule applied (null when there is none). */
export async function row(e: ChatEngine, id: string, tx?: Tx): Promise<ChatView | null> {
  const rows = await e.db.query<ChatRow>('SELECT * FROM chats WHERE id = ?', [id], tx);
  return rows.length ? (await views(e, rows, undefined, tx))[0] : null;
}

/** A chat the viewer may see: 404 when there is none, 403 when the rule says no. */
export async function getChat(e: ChatEngine, id: string, v: Viewer): Promise<ChatView> {
  const rows = await e.db.query<ChatRow>('SELECT * FROM chats WHERE id = ?', [id]);
  if (!rows.length) throw new ChatError(404, 'not_found', `no chat ${id}`);
  const [chat] = await views(e, rows, v.employee);
  if (!maySee(v, chat)) throw new ChatError(403, 'forbidden', 'this chat is in work with another employee: only its responsible, observers and supervisors see it');
  return chat;
}

/** The chats the viewer may see, filtered, newest message first. */
export async function listChats(e: ChatEngine, v: Viewer, f: ChatListFilter): Promise<{ items: ChatView[]; total: number }> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const me = v.employee;
  const view = f.view ?? 'all';
  if (view === 'my' || view === 'observed') {
    if (!me) throw new ChatError(400, 'invalid_parameter', `view=${view} needs an employee`, 'employee');
  }
  if (view === 'my') {
    where.push(`c.responsible = ? AND c.status <> 'closed'`);
    params.push(me!);
  } else if (view === 'observed') {
    where.push(`c.status <> 'closed' AND EXISTS (SELECT 1 FROM chat_observers o WHERE o.chat_id = c.id AND o.employee = ?)`);
    params.push(me!);
  } else if (view === 'queue') {
    where.push(`c.status = 'queue'`);
  }
  // The rule (src/auth/scope.ts) as SQL, for an employee without the supervisor right.
  if (!('all' in v) && !v.supervisor) {
    where.push(`(c.status = 'queue' AND c.responsible IS NULL OR c.responsible = ? OR EXISTS (SELECT 1 FROM chat_observers o2 WHERE o2.chat_id = c.id AND o2.employee = ?))`);
    params.push(v.employee, v.employee);
  }
  if (f.status?.length) {
    where.push(`c.status IN (${f.status.map(() => '?').join(',')})`);
    params.push(...f.status);
  }
  if (f.messenger) { where.push('c.messenger = ?'); params.push(f.messenger); }
  if (f.accountId) { where.push('c.account_id = ?'); params.push(f.accountId); }
  if (f.employee) {
    where.push(`(c.responsible = ? OR EXISTS (SELECT 1 FROM chat_observers o3 WHERE o3.chat_id = c.id AND o3.employee = ?))`);
    params.push(f.employee, f.employee);
  }
  if (f.customerId) { where.push('c.customer_id = ?'); params.push(f.customerId); }
  if (f.from) { where.push('c.last_message_at >= ?'); params.push(f.from.getTime()); }
  if (f.to) { where.push('c.created_at < ?'); params.push(f.to.getTime()); }
  if (f.q) {
    // SQLite's LOWER() folds ASCII only: the variants a person types (Схема, схема, СХЕМА) are matched as such.
    const variants = [...new Set([f.q, f.q.toLowerCase(), f.q.toUpperCase(), f.q.charAt(0).toUpperCase() + f.q.slice(1).toLowerCase()])]
      .map((v) => `%${likeEscape(v)}%`);
    const one = `(COALESCE(c.peer_name,'') LIKE ? ESCAPE '\\' OR COALESCE(c.phone,'') LIKE ? ESCAPE '\\' OR COALESCE(c.peer_username,'') LIKE ? ESCAPE '\\'
      OR EXISTS (SELECT 1 FROM chat_messages mq WHERE mq.chat_id = c.id AND mq.text LIKE ? ESCAPE '\\'))`;
    where.push(`(${variants.map(() => one).join(' OR ')})`);
    for (const v of variants) params.push(v, v, v, v);
  }
  const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = Number((await e.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM chats c ${w}`, params))[0].n);
  const rows = await e.db.query<ChatRow>(`SELECT c.* FROM chats c ${w} ORDER BY c.last_message_at DESC, c.id LIMIT ? OFFSET ?`,
    [...params, f.limit ?? 50, f.offset ?? 0]);
  return { items: await views(e, rows, me), total };
}

/** My chats, Observed, Queue: how many and how many unread messages in each. */
export async function countChats(e: ChatEngine, a: Actor): Promise<Record<'my' | 'observed' | 'queue', { chats: number; unread: number }>> {
  const out = {} as Record<'my' | 'observed' | 'queue', { chats: number; unread: number }>;
  for (const view of ['my', 'observed', 'queue'] as const) {
    const { items, total } = await e.list(a, { view, limit: 1000 });
    out[view] = { chats: total, unread: items.reduce((s, c) => s + c.unread, 0) };
  }
  return out;
}

/** A chat's messages after `after` (by id), oldest first. */
export async function messagesOf(e: ChatEngine, chatId: string, v: Viewer, opts: { after?: number; limit?: number }): Promise<MessageView[]> {
  await e.get(chatId, v);
  const rows = await e.db.query<MessageRow>('SELECT * FROM chat_messages WHERE chat_id = ? AND id > ? ORDER BY id LIMIT ?',
    [chatId, opts.after ?? 0, opts.limit ?? 100]);
  return rows.map(messageView);
}

/** One message of a chat the viewer may see (404 when the chat has no such message). */
export async function messageOf(e: ChatEngine, chatId: string, id: number, v: Viewer): Promise<MessageView> {
  await e.get(chatId, v);
  const rows = await e.db.query<MessageRow>('SELECT * FROM chat_messages WHERE chat_id = ? AND id = ?', [chatId, id]);
  if (!rows.length) throw new ChatError(404, 'not_found', `no message ${id} in chat ${chatId}`);
  return messageView(rows[0]);
}

/** The actor has read the chat up to its last message. */
export async function markChatRead(e: ChatEngine, chatId: string, a: Actor): Promise<void> {
  await e.get(chatId, a);
  const last = await e.db.query<{ id: number | null }>(`SELECT MAX(id) AS id FROM chat_messages WHERE chat_id = ?`, [chatId]);
  const n = Number(last[0]?.id ?? 0);
  await e.db.exec(`INSERT INTO chat_reads (chat_id, employee, last_read) VALUES (?, ?, ?)
    ON CONFLICT (chat_id, employee) DO UPDATE SET last_read = excluded.last_read`, [chatId, a.employee, n]);
}

/** When the customer last wrote in a chat (null: never). */
export async function lastInboundAt(e: ChatEngine, chatId: string): Promise<Date | null> {
  const last = await e.db.query<{ at: number | string | bigint | null }>(`SELECT MAX(created_at) AS at FROM chat_messages WHERE chat_id = ? AND direction = 'in'`, [chatId]);
  return last[0]?.at === null || last[0]?.at === undefined ? null : new Date(Number(last[0].at));
}

/**
 * A messenger's rule (checkOutbound: WhatsApp's 24-hour window) asked again when a queued message is about
 * to go: the window may have closed while it waited (retries, a flood wait, an account offline). A refusal
 * throws a permanent MessengerError (`code: message`), so the message fails with the reason instead of
 * reaching the messenger (Meta would refuse it with 131047).
 */
export async function recheckOutbound(e: ChatEngine, adapter: MessengerAdapter, r: Pick<MessageRow, 'chat_id' | 'peer_id' | 'text' | 'file_hash' | 'template'>): Promise<void> {
  if (!adapter.checkOutbound) return;
  const template = r.template ? (JSON.parse(r.template) as { name: string }).name : undefined;
  const refusal = await adapter.checkOutbound({ peerId: r.peer_id, template, hasText: !!r.text, hasFile: !!r.file_hash, lastInboundAt: await lastInboundAt(e, r.chat_id) });
  if (refusal) throw new MessengerError(`${refusal.code}: ${refusal.message}`, false);
}
