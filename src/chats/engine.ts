import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Db, SqlValue, Tx } from '../db/database';
import { EventLog, EventType } from '../events/event-log';
import { Employees } from '../employees/employees';
import { Directory } from '../directory/directory';
import { chatAudience, employeeMaySeeChat } from '../auth/scope';
import { InboundEvent, MessengerAdapter, MessengerError, ReachabilityResult } from '../messengers/adapter';
import { ChatFiles, safeFileName } from './files';
import { Placeholder, renderTemplate, placeholdersOf } from './templates';
import { Outbox, OutboxOptions } from './outbox';

export type ChatStatus = 'queue' | 'in_work' | 'closed';
export type DeliveryState = 'received' | 'queued' | 'sent' | 'delivered' | 'read' | 'failed' | 'note';

/** A chat rule refused the request: the route maps `status` to the HTTP answer. */
export class ChatError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 422,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The employee a request acts as, and whether they hold the supervisor right. */
export interface Actor {
  employee: string;
  supervisor: boolean;
}

/** Who looks: an employee (rules apply) or everyone (admin, integration, a supervisor token without an employee). */
export type Viewer = Actor | { all: true; employee?: string };

export interface ChatContext {
  order?: string;
  partner?: string;
  invoice?: string;
}

export interface ChatView {
  id: string;
  messenger: string;
  accountId: string;
  peerId: string;
  peerName: string | null;
  peerUsername: string | null;
  phone: string | null;
  customerId: string | null;
  contactId: string | null;
  status: ChatStatus;
  responsible: string | null;
  observers: string[];
  reference: string | null;
  createdAt: string;
  updatedAt: string;
  lastMessageAt: string;
  closedAt: string | null;
  /** Messages from the customer after the viewer's last read (0 for a viewer without an employee). */
  unread: number;
}

export interface MessageView {
  id: number;
  chatId: string;
  direction: 'in' | 'out' | 'note';
  author: string | null;
  text: string | null;
  externalId: string | null;
  state: DeliveryState;
  failure: string | null;
  attempts: number;
  context: ChatContext | null;
  file: { id: string; name: string; mime: string; size: number } | null;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
}

export interface ChatRules {
  /** A closed chat the customer writes in again: back to the queue, or in work with the same owner. */
  reopen: 'queue' | 'owner';
  /**
   * The customer writes while the responsible is offline: keep it with them (reported in the event as
   * `ownerAway`), or return it to the queue (reported as a chat.assigned with `reason`). A responsible
   * who no longer exists always returns it to the queue.
   */
  ownerAway: 'keep' | 'queue';
}

export interface ChatEngineOptions {
  rules?: Partial<ChatRules>;
  /** Whether an employee is online (presence); absent: always online. */
  isOnline?: (extension: string) => boolean;
  outbox?: OutboxOptions;
}

interface ChatRow {
  id: string;
  messenger: string;
  account_id: string;
  peer_id: string;
  peer_name: string | null;
  peer_username: string | null;
  phone: string | null;
  customer_id: string | null;
  contact_id: string | null;
  status: string;
  responsible: string | null;
  reference: string | null;
  created_at: number | string | bigint;
  updated_at: number | string | bigint;
  last_message_at: number | string | bigint;
  closed_at: number | string | bigint | null;
}

export interface MessageRow {
  id: number | string | bigint;
  chat_id: string;
  account_id: string;
  peer_id: string;
  direction: string;
  author: string | null;
  text: string | null;
  external_id: string | null;
  state: string;
  failure: string | null;
  attempts: number | string | bigint;
  next_attempt_at: number | string | bigint | null;
  context: string | null;
  file_hash: string | null;
  file_name: string | null;
  file_mime: string | null;
  file_size: number | string | bigint | null;
  created_at: number | string | bigint;
  edited_at: number | string | bigint | null;
  deleted_at: number | string | bigint | null;
  template?: string | null;
}

/** How far an outbound message got: a delivery update never moves it back. */
const DELIVERY_RANK: Record<string, number> = { queued: 0, sent: 1, failed: 2, delivered: 3, read: 4 };
const DUPLICATE = new Error('duplicate inbound message');
const iso = (v: number | string | bigint | null) => (v === null ? null : new Date(Number(v)).toISOString());
const ACTIVE = `('queue','in_work')`;

export interface SendInput {
  text?: string;
  template?: string;
  vars?: Partial<Record<Placeholder, string>>;
  file?: { id: string; name?: string };
  context?: ChatContext;
  /** An internal note: employees see it, the customer does not (mentions work in it too). */
  internal?: boolean;
}

export interface StartInput extends SendInput {
  accountId: string;
  phone: string;
  customerId?: string;
  contactId?: string;
}

/**
 * The chat engine: chats, their rules, messages in and out. Messenger-independent: adapters deliver
 * inbound events through `sink` and send through the outbox. Every rule lives here once; the API and
 * every adapter go through it.
 */
export class ChatEngine extends EventEmitter {
  readonly adapters = new Map<string, MessengerAdapter>();
  readonly rules: ChatRules;
  readonly outbox: Outbox;
  readonly stats = { inbound: 0, duplicates: 0 };
  private readonly isOnline: (extension: string) => boolean;

  constructor(
    readonly db: Db,
    readonly events: EventLog,
    readonly employees: Employees,
    readonly directory: Directory,
    readonly files: ChatFiles,
    opts: ChatEngineOptions = {},
  ) {
    super();
    this.rules = { reopen: 'queue', ownerAway: 'keep', ...opts.rules };
    this.isOnline = opts.isOnline ?? (() => true);
    this.outbox = new Outbox(db, this, opts.outbox);
  }

  addAdapter(a: MessengerAdapter): void {
    if (this.adapters.has(a.accountId)) throw new Error(`messenger account ${a.accountId} is configured twice`);
    this.adapters.set(a.accountId, a);
  }

  /** The adapter registry (AdapterRegistry): accounts connected at run time (an employee's Telegram). */
  async add(a: MessengerAdapter): Promise<void> {
    const old = this.adapters.get(a.accountId);
    if (old && old !== a) await old.stop().catch(() => undefined);
    this.adapters.set(a.accountId, a);
    if (this.started) await a.start(this.sink);
    this.outbox.wake();
  }

  async remove(accountId: string): Promise<void> {
    const a = this.adapters.get(accountId);
    this.adapters.delete(accountId);
    await a?.stop().catch(() => undefined);
  }

  private started = false;

  /** The sink adapters push into; resolves once stored (or recognised as a duplicate). */
  readonly sink = (e: InboundEvent): Promise<void> => this.inbound(e);

  async start(): Promise<void> {
    this.started = true;
    for (const a of this.adapters.values()) await a.start(this.sink);
    this.employees.on('changed', this.onEmployeesChanged);
    await this.reassignOrphans();
    this.outbox.start();
  }

  private readonly onEmployeesChanged = () => {
    this.reassignOrphans().catch((e) => this.emit('error', e));
  };

  /**
   * Chats whose responsible no longer exists (deleted in 1C) go back to the queue, reported as
   * chat.assigned with reason owner_left: never a chat silently stuck with nobody.
   */
  async reassignOrphans(): Promise<number> {
    if (this.employees.count() === 0) return 0;
    const rows = await this.db.query<{ id: string; responsible: string }>(`SELECT id, responsible FROM chats WHERE status = 'in_work' AND responsible IS NOT NULL`);
    let n = 0;
    for (const r of rows) {
      if (this.employees.get(r.responsible)) continue;
      const changed = await this.db.exec(`UPDATE chats SET status = 'queue', responsible = NULL, updated_at = ? WHERE id = ? AND responsible = ?`, [Date.now(), r.id, r.responsible]);
      if (!changed) continue;
      n++;
      const chat = (await this.row(r.id))!;
      await this.publish('chat.assigned', `chat.owner_left:${r.id}:${r.responsible}`, chat, { reason: 'owner_left', responsible: null, previous: r.responsible });
    }
    return n;
  }

  async stop(): Promise<void> {
    this.started = false;
    this.employees.off('changed', this.onEmployeesChanged);
    await this.outbox.stop();
    for (const a of this.adapters.values()) await a.stop().catch(() => undefined);
  }

  // ---- rights ---------------------------------------------------------------------------------------

  actor(extension: string, supervisorRole = false): Actor {
    if (!this.employees.get(extension)) throw new ChatError(400, 'invalid_employee', `no employee with extension ${extension}`, 'employee');
    return { employee: extension, supervisor: supervisorRole || this.employees.isSupervisor(extension) };
  }

  private maySee(v: Viewer, chat: ChatView): boolean {
    if ('all' in v) return true;
    return employeeMaySeeChat(v.employee, v.supervisor, chat);
  }

  private audience(chat: { status: string; responsible: string | null; observers: string[] }): string[] {
    return chatAudience(chat, this.employees.list().map((e) => e.extension), this.employees.supervisors());
  }

  // ---- reading --------------------------------------------------------------------------------------

  private async observersOf(ids: string[], tx?: Tx): Promise<Map<string, string[]>> {
    const m = new Map<string, string[]>();
    if (!ids.length) return m;
    const rows = await this.db.query<{ chat_id: string; employee: string }>(
      `SELECT chat_id, employee FROM chat_observers WHERE chat_id IN (${ids.map(() => '?').join(',')}) ORDER BY added_at, employee`, ids, tx);
    for (const r of rows) m.set(r.chat_id, [...(m.get(r.chat_id) ?? []), r.employee]);
    return m;
  }

  private async unreadOf(ids: string[], employee: string | undefined): Promise<Map<string, number>> {
    const m = new Map<string, number>();
    if (!ids.length || !employee) return m;
    const rows = await this.db.query<{ chat_id: string; n: number | string | bigint }>(
      `SELECT m.chat_id, COUNT(*) AS n FROM chat_messages m
         LEFT JOIN chat_reads r ON r.chat_id = m.chat_id AND r.employee = ?
        WHERE m.chat_id IN (${ids.map(() => '?').join(',')}) AND m.direction = 'in' AND m.id > COALESCE(r.last_read, 0)
        GROUP BY m.chat_id`, [employee, ...ids]);
    for (const r of rows) m.set(r.chat_id, Number(r.n));
    return m;
  }

  private async views(rows: ChatRow[], employee?: string, tx?: Tx): Promise<ChatView[]> {
    const ids = rows.map((r) => r.id);
    const obs = await this.observersOf(ids, tx);
    const unread = tx ? new Map<string, number>() : await this.unreadOf(ids, employee);
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
    }));
  }

  private async row(id: string, tx?: Tx): Promise<ChatView | null> {
    const rows = await this.db.query<ChatRow>('SELECT * FROM chats WHERE id = ?', [id], tx);
    return rows.length ? (await this.views(rows, undefined, tx))[0] : null;
  }

  /** A chat the viewer may see: 404 when there is none, 403 when the rule says no. */
  async get(id: string, v: Viewer): Promise<ChatView> {
    const rows = await this.db.query<ChatRow>('SELECT * FROM chats WHERE id = ?', [id]);
    if (!rows.length) throw new ChatError(404, 'not_found', `no chat ${id}`);
    const [chat] = await this.views(rows, v.employee);
    if (!this.maySee(v, chat)) throw new ChatError(403, 'forbidden', 'this chat is in work with another employee: only its responsible, observers and supervisors see it');
    return chat;
  }

  async list(v: Viewer, f: {
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
  }): Promise<{ items: ChatView[]; total: number }> {
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
        .map((v) => `%${v.replace(/[%_\\]/g, (m) => `\\${m}`)}%`);
      const one = `(COALESCE(c.peer_name,'') LIKE ? ESCAPE '\\' OR COALESCE(c.phone,'') LIKE ? ESCAPE '\\' OR COALESCE(c.peer_username,'') LIKE ? ESCAPE '\\'
        OR EXISTS (SELECT 1 FROM chat_messages mq WHERE mq.chat_id = c.id AND mq.text LIKE ? ESCAPE '\\'))`;
      where.push(`(${variants.map(() => one).join(' OR ')})`);
      for (const v of variants) params.push(v, v, v, v);
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = Number((await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM chats c ${w}`, params))[0].n);
    const rows = await this.db.query<ChatRow>(`SELECT c.* FROM chats c ${w} ORDER BY c.last_message_at DESC, c.id LIMIT ? OFFSET ?`,
      [...params, f.limit ?? 50, f.offset ?? 0]);
    return { items: await this.views(rows, me), total };
  }

  /** My chats, Observed, Queue: how many and how many unread messages in each. */
  async counts(a: Actor): Promise<Record<'my' | 'observed' | 'queue', { chats: number; unread: number }>> {
    const out = {} as Record<'my' | 'observed' | 'queue', { chats: number; unread: number }>;
    for (const view of ['my', 'observed', 'queue'] as const) {
      const { items, total } = await this.list(a, { view, limit: 1000 });
      out[view] = { chats: total, unread: items.reduce((s, c) => s + c.unread, 0) };
    }
    return out;
  }

  /** A customer's active dialogs (queue and in work), for 1C's customer card. */
  async activeOfCustomer(customerId: string, v: Viewer): Promise<ChatView[]> {
    return (await this.list(v, { customerId, status: ['queue', 'in_work'], limit: 100 })).items;
  }

  async messages(chatId: string, v: Viewer, opts: { after?: number; limit?: number } = {}): Promise<MessageView[]> {
    await this.get(chatId, v);
    const rows = await this.db.query<MessageRow>('SELECT * FROM chat_messages WHERE chat_id = ? AND id > ? ORDER BY id LIMIT ?',
      [chatId, opts.after ?? 0, opts.limit ?? 100]);
    return rows.map(messageView);
  }

  async message(chatId: string, id: number, v: Viewer): Promise<MessageView> {
    await this.get(chatId, v);
    const rows = await this.db.query<MessageRow>('SELECT * FROM chat_messages WHERE chat_id = ? AND id = ?', [chatId, id]);
    if (!rows.length) throw new ChatError(404, 'not_found', `no message ${id} in chat ${chatId}`);
    return messageView(rows[0]);
  }

  async markRead(chatId: string, a: Actor): Promise<void> {
    await this.get(chatId, a);
    const last = await this.db.query<{ id: number | null }>(`SELECT MAX(id) AS id FROM chat_messages WHERE chat_id = ?`, [chatId]);
    const n = Number(last[0]?.id ?? 0);
    await this.db.exec(`INSERT INTO chat_reads (chat_id, employee, last_read) VALUES (?, ?, ?)
      ON CONFLICT (chat_id, employee) DO UPDATE SET last_read = excluded.last_read`, [chatId, a.employee, n]);
  }

  // ---- events ---------------------------------------------------------------------------------------

  private async publish(type: EventType, key: string, chat: ChatView, data: Record<string, unknown> = {}): Promise<void> {
    await this.events.append([{ key, type, employees: this.audience(chat), data: { chat: publicChat(chat), ...data } }]);
  }

  // ---- inbound --------------------------------------------------------------------------------------

  private async inbound(e: InboundEvent): Promise<void> {
    const adapter = this.adapters.get(e.accountId);
    if (!adapter) throw new Error(`inbound event for unknown account ${e.accountId}`);
    if (e.kind === 'message') return this.inboundMessage(adapter, e);
    const peerId = e.peerId;
    const dir = e.kind === 'delivery' ? 'out' : 'in';
    const rows = await this.db.query<MessageRow>('SELECT * FROM chat_messages WHERE account_id = ? AND peer_id = ? AND direction = ? AND external_id = ?',
      [e.accountId, peerId, dir, e.externalId]);
    if (!rows.length) return;
    const m = rows[0];
    const at = (e.at ?? new Date()).getTime();
    if (e.kind === 'edit') {
      await this.db.exec('UPDATE chat_messages SET text = ?, edited_at = ? WHERE id = ?', [e.text, at, Number(m.id)]);
    } else if (e.kind === 'delete') {
      await this.db.exec('UPDATE chat_messages SET deleted_at = ? WHERE id = ?', [at, Number(m.id)]);
    } else {
      // Delivery states only move forward (sent → failed / delivered → read): statuses arriving out of
      // order (WhatsApp posts them separately) or twice change nothing.
      if ((DELIVERY_RANK[e.state] ?? 0) <= (DELIVERY_RANK[m.state] ?? 0)) return;
      await this.db.exec('UPDATE chat_messages SET state = ?, failure = ? WHERE id = ?', [e.state, e.reason ?? null, Number(m.id)]);
    }
    const chat = (await this.row(m.chat_id))!;
    const msg = messageView((await this.db.query<MessageRow>('SELECT * FROM chat_messages WHERE id = ?', [Number(m.id)]))[0]);
    if (e.kind === 'delivery') await this.publish('chat.delivery', `chat.delivery:${msg.id}:${e.state}`, chat, { message: msg });
    else await this.publish('chat.message_updated', `chat.${e.kind}:${msg.id}:${at}`, chat, { change: e.kind, message: msg });
  }

  /** One inbound message at a time per peer (Telegram posts up to 40 webhooks at once): no twin chats. */
  private readonly peerLocks = new Map<string, Promise<void>>();

  private inboundMessage(adapter: MessengerAdapter, e: Extract<InboundEvent, { kind: 'message' }>): Promise<void> {
    const key = `${e.accountId}\u0000${e.peer.peerId}`;
    const prev = this.peerLocks.get(key) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.inboundMessageLocked(adapter, e));
    const tail = run.catch(() => undefined);
    this.peerLocks.set(key, tail);
    void tail.then(() => {
      if (this.peerLocks.get(key) === tail) this.peerLocks.delete(key);
    });
    return run;
  }

  private async inboundMessageLocked(adapter: MessengerAdapter, e: Extract<InboundEvent, { kind: 'message' }>): Promise<void> {
    const peerId = e.peer.peerId;
    const dup = await this.db.query<{ id: number }>(`SELECT id FROM chat_messages WHERE account_id = ? AND peer_id = ? AND direction IN ('in','out') AND external_id = ?`,
      [e.accountId, peerId, e.externalId]);
    if (dup.length) {
      this.stats.duplicates++;
      return;
    }
    // Files first (outside the transaction): a download failure leaves nothing stored, so a retry of the
    // webhook stores the message whole.
    const files: Array<{ id: string; name: string; mime: string; size: number }> = [];
    for (const ref of e.files ?? []) {
      const f = await adapter.download(ref);
      const stored = await this.files.put(f.bytes, f.fileName).catch(async () => this.files.put(Buffer.from(`(refused file ${f.fileName})`), 'refused.txt'));
      files.push({ id: stored.id, name: safeFileName(f.fileName, stored.mime), mime: stored.mime, size: stored.size });
    }
    const ident = e.peer.phone ? await this.directory.identify(e.peer.phone).catch(() => null) : null;
    const at = (e.at ?? new Date()).getTime();
    const now = Date.now();
    const fromEmployee = e.direction === 'employee' && e.employee && this.employees.get(e.employee) ? e.employee : null;
    const out: Array<[EventType, string, Record<string, unknown>]> = [];
    const result = await this.db.transaction(async (tx): Promise<{ chatId: string; ids: number[] } | null> => {
      let rows = await this.db.query<ChatRow>(`SELECT * FROM chats WHERE account_id = ? AND peer_id = ? ORDER BY (CASE WHEN status = 'closed' THEN 1 ELSE 0 END), last_message_at DESC LIMIT 1`,
        [e.accountId, peerId], tx);
      let chatId: string;
      if (!rows.length) {
        chatId = randomUUID();
        await this.db.exec(`INSERT INTO chats (id, messenger, account_id, peer_id, peer_name, peer_username, phone, customer_id, contact_id, status, responsible, reference, created_at, updated_at, last_message_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queue', NULL, ?, ?, ?, ?)`,
        [chatId, adapter.kind, e.accountId, peerId, e.peer.displayName ?? null, e.peer.username ?? null, e.peer.phone ?? null,
          ident?.customer?.id ?? null, ident?.contact?.id ?? null, e.reference ?? null, now, now, at], tx);
        out.push(['chat.created', `chat.created:${chatId}`, {}]);
      } else {
        const c = rows[0];
        chatId = c.id;
        await this.db.exec(`UPDATE chats SET peer_name = COALESCE(?, peer_name), peer_username = COALESCE(?, peer_username), phone = COALESCE(phone, ?),
            customer_id = COALESCE(customer_id, ?), contact_id = COALESCE(contact_id, ?), reference = COALESCE(?, reference), updated_at = ?, last_message_at = ? WHERE id = ?`,
        [e.peer.displayName ?? null, e.peer.username ?? null, e.peer.phone ?? null, ident?.customer?.id ?? null, ident?.contact?.id ?? null, e.reference ?? null, now, Math.max(at, Number(c.last_message_at)), chatId], tx);
        if (!fromEmployee) {
          if (c.status === 'closed') {
            const owner = c.responsible && this.employees.get(c.responsible) ? c.responsible : null;
            const toOwner = this.rules.reopen === 'owner' && owner;
            await this.db.exec(`UPDATE chats SET status = ?, responsible = ?, closed_at = NULL WHERE id = ?`, [toOwner ? 'in_work' : 'queue', toOwner ? owner : null, chatId], tx);
            out.push(['chat.assigned', `chat.reopened:${chatId}:${e.externalId}`, { reason: 'reopened', responsible: toOwner ? owner : null, previous: c.responsible }]);
          } else if (c.status === 'in_work' && c.responsible) {
            const gone = !this.employees.get(c.responsible);
            const away = !gone && !this.isOnline(c.responsible);
            if (gone || (away && this.rules.ownerAway === 'queue')) {
              await this.db.exec(`UPDATE chats SET status = 'queue', responsible = NULL WHERE id = ?`, [chatId], tx);
              if (!gone) await this.addObserverRow(tx, chatId, c.responsible, null);
              out.push(['chat.assigned', `chat.owner_away:${chatId}:${e.externalId}`, { reason: gone ? 'owner_left' : 'owner_offline', responsible: null, previous: c.responsible }]);
            } else if (away) {
              out.push(['chat.message', '', { ownerAway: true }]);
            }
          }
        }
      }
      const ins = await this.db.query<{ id: number }>(`INSERT INTO chat_messages (chat_id, account_id, peer_id, direction, author, text, external_id, state, created_at, file_hash, file_name, file_mime, file_size, context)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, peer_id, direction, external_id) DO NOTHING RETURNING id`,
      [chatId, e.accountId, peerId, fromEmployee ? 'out' : 'in', fromEmployee, e.text ?? null, e.externalId, fromEmployee ? 'sent' : 'received', at,
        files[0]?.id ?? null, files[0]?.name ?? null, files[0]?.mime ?? null, files[0]?.size ?? null, e.reference ? JSON.stringify({ reference: e.reference }) : null], tx);
      // A twin stored meanwhile (another process): undo this transaction's chat changes too.
      if (!ins.length) throw DUPLICATE;
      const ids = [Number(ins[0].id)];
      for (let i = 1; i < files.length; i++) {
        const more = await this.db.query<{ id: number }>(`INSERT INTO chat_messages (chat_id, account_id, peer_id, direction, author, external_id, state, created_at, file_hash, file_name, file_mime, file_size)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [chatId, e.accountId, peerId, fromEmployee ? 'out' : 'in', fromEmployee, `${e.externalId}#${i}`, fromEmployee ? 'sent' : 'received', at, files[i].id, files[i].name, files[i].mime, files[i].size], tx);
        ids.push(Number(more[0].id));
      }
      return { chatId, ids };
    }).catch((err) => {
      if (err === DUPLICATE) return null;
      throw err;
    });
    if (!result) {
      this.stats.duplicates++;
      return;
    }
    this.stats.inbound++;
    if (fromEmployee) {
      // Written from the employee's own app: the same rules as a reply through the API.
      await this.claimOnReply(result.chatId, this.actor(fromEmployee), e.text ?? '');
    }
    let chat = (await this.row(result.chatId))!;
    let ownerAway = false;
    for (const [type, key, data] of out) {
      if (type === 'chat.message') ownerAway = true;
      else await this.publish(type, key, chat, data);
    }
    chat = (await this.row(result.chatId))!;
    const msgs = await this.db.query<MessageRow>(`SELECT * FROM chat_messages WHERE id IN (${result.ids.map(() => '?').join(',')}) ORDER BY id`, result.ids);
    for (const m of msgs) await this.publish('chat.message', `chat.message:${m.id}`, chat, { message: messageView(m), ...(ownerAway ? { ownerAway: true } : {}) });
  }

  // ---- writing --------------------------------------------------------------------------------------

  private async addObserverRow(tx: Tx, chatId: string, employee: string, by: string | null): Promise<boolean> {
    const n = await this.db.exec(`INSERT INTO chat_observers (chat_id, employee, added_by, added_at) VALUES (?, ?, ?, ?) ON CONFLICT (chat_id, employee) DO NOTHING`,
      [chatId, employee, by, Date.now()], tx);
    return n > 0;
  }

  /** Whether the actor may write in the chat now (the queue: anyone; then responsible, observers, supervisors). */
  private mayWrite(a: Actor, chat: ChatView): boolean {
    return employeeMaySeeChat(a.employee, a.supervisor, chat);
  }

  /** Employees @mentioned in a text: by login or by extension. */
  mentions(text: string): string[] {
    const out = new Set<string>();
    for (const m of text.matchAll(/(?:^|[^\p{L}\p{N}_.@-])@([\p{L}\p{N}_.-]{2,64})/gu)) {
      const name = m[1].replace(/[.]+$/, '').toLowerCase();
      const e = this.employees.get(name) ?? this.employees.byLogin(name);
      if (e) out.add(e.extension);
    }
    return [...out];
  }

  /** First reply takes the chat: status in_work, responsible = the author; mentions add observers. */
  private async claimOnReply(chatId: string, a: Actor, text: string): Promise<void> {
    if (!(await this.tryClaim(chatId, a))) {
      await this.db.exec(`UPDATE chats SET status = 'in_work', closed_at = NULL, updated_at = ? WHERE id = ? AND status = 'closed'`, [Date.now(), chatId]);
    }
    for (const m of this.mentions(text)) await this.addObserver(chatId, a, m, true);
  }

  /** Takes a chat nobody owns (atomically: of two first replies, one wins); publishes chat.assigned. */
  private async tryClaim(chatId: string, a: Actor): Promise<boolean> {
    const changed = await this.db.exec(`UPDATE chats SET status = 'in_work', responsible = ?, closed_at = NULL, updated_at = ? WHERE id = ? AND (status = 'queue' OR responsible IS NULL)`,
      [a.employee, Date.now(), chatId]);
    if (!changed) return false;
    await this.db.exec(`DELETE FROM chat_observers WHERE chat_id = ? AND employee = ?`, [chatId, a.employee]);
    const chat = (await this.row(chatId))!;
    // Told to whoever saw it in the queue a moment ago too, so their queue drops it at once.
    const queueAudience = this.audience({ status: 'queue', responsible: null, observers: chat.observers });
    const employees = [...new Set([...this.audience(chat), ...queueAudience])].sort();
    await this.events.append([{
      key: `chat.assigned:${chatId}:${a.employee}:${Date.now()}`,
      type: 'chat.assigned',
      employees,
      data: { chat: publicChat(chat), reason: 'first_reply', responsible: a.employee, previous: null },
    }]);
    return true;
  }

  /** The text to send and, from a template, the values its placeholders got (adapters with their own templates use them). */
  private async render(chat: ChatView, a: Actor, input: SendInput): Promise<{ text: string | undefined; vars?: Record<string, string> }> {
    if (!input.template) return { text: input.text };
    const rows = await this.db.query<{ text: string }>('SELECT text FROM chat_templates WHERE name = ?', [input.template]);
    if (!rows.length) throw new ChatError(400, 'invalid_template', `no template ${input.template}`, 'template');
    const customer = chat.customerId ? await this.directory.getCustomer(chat.customerId).catch(() => null) : null;
    const contact = customer && chat.contactId ? customer.contacts?.find((c: { id: string }) => c.id === chat.contactId) : undefined;
    const vars: Partial<Record<Placeholder, string>> = {
      customerName: customer?.name,
      contactName: (contact as { name?: string } | undefined)?.name,
      orderNumber: input.context?.order,
      invoiceNumber: input.context?.invoice,
      employeeName: this.employees.nameOf(a.employee),
      date: new Date().toLocaleDateString('ru-RU'),
      ...input.vars,
    };
    try {
      const text = renderTemplate(rows[0].text, vars);
      const used: Record<string, string> = {};
      for (const p of placeholdersOf(rows[0].text)) used[p] = vars[p]!;
      return { text, vars: used };
    } catch (e) {
      const err = e as { message: string; field?: string };
      throw new ChatError(400, 'invalid_template', err.message, err.field);
    }
  }

  /** An employee writes in a chat: the rules, then the message goes to the outbox (or stays a note). */
  async send(chatId: string, a: Actor, input: SendInput): Promise<MessageView> {
    const chat = await this.get(chatId, a).catch((e) => {
      if (e instanceof ChatError && e.status === 403) throw new ChatError(403, 'forbidden', 'only the responsible, observers and supervisors write in a chat in work');
      throw e;
    });
    if (!this.mayWrite(a, chat)) throw new ChatError(403, 'forbidden', 'only the responsible, observers and supervisors write in a chat in work');
    const rendered = await this.render(chat, a, input);
    const text = rendered.text;
    if (!text && !input.file) throw new ChatError(400, 'invalid_body', 'a message needs text, template or file', 'text');
    const adapter = this.adapters.get(chat.accountId);
    if (input.internal !== true && adapter?.checkOutbound) {
      // A messenger's own rule (WhatsApp's 24-hour window): refused here, plainly, never failed later.
      const last = await this.db.query<{ at: number | string | bigint | null }>(`SELECT MAX(created_at) AS at FROM chat_messages WHERE chat_id = ? AND direction = 'in'`, [chatId]);
      const lastAt = last[0]?.at === null || last[0]?.at === undefined ? null : new Date(Number(last[0].at));
      const refusal = await adapter.checkOutbound({ peerId: chat.peerId, template: input.template, hasText: !!input.text, hasFile: !!input.file, lastInboundAt: lastAt });
      if (refusal) throw new ChatError(422, refusal.code, refusal.message, refusal.field);
    }
    let file: { id: string; name: string; mime: string; size: number } | null = null;
    if (input.file) {
      if (!this.files.has(input.file.id)) throw new ChatError(400, 'invalid_file', `no uploaded file ${input.file.id}: upload it with POST /chat-files first`, 'file.id');
      const bytes = await this.files.read(input.file.id);
      const stored = await this.files.put(bytes, input.file.name);
      file = { id: stored.id, name: safeFileName(input.file.name, stored.mime), mime: stored.mime, size: stored.size };
    }
    const internal = input.internal === true;
    if (!internal && !chat.responsible && !(await this.tryClaim(chatId, a))) {
      // Someone else's first reply won the race: the rule applies to the chat as it is now.
      const nowChat = (await this.row(chatId))!;
      if (!this.mayWrite(a, nowChat)) throw new ChatError(403, 'forbidden', `${nowChat.responsible} answered first: only the responsible, observers and supervisors write in a chat in work`);
    }
    const now = Date.now();
    const ins = await this.db.query<{ id: number }>(`INSERT INTO chat_messages (chat_id, account_id, peer_id, direction, author, text, state, attempts, next_attempt_at, context, file_hash, file_name, file_mime, file_size, created_at, template)
      VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    [chatId, chat.accountId, chat.peerId, internal ? 'note' : 'out', a.employee, text ?? null, internal ? 'note' : 'queued', internal ? null : now,
      input.context && Object.keys(input.context).length ? JSON.stringify(input.context) : null, file?.id ?? null, file?.name ?? null, file?.mime ?? null, file?.size ?? null, now,
      input.template && !internal ? JSON.stringify({ name: input.template, vars: rendered.vars ?? {} }) : null]);
    const id = Number(ins[0].id);
    await this.db.exec('UPDATE chats SET last_message_at = ?, updated_at = ? WHERE id = ?', [now, now, chatId]);
    if (!internal) await this.claimOnReply(chatId, a, text ?? '');
    else for (const m of this.mentions(text ?? '')) await this.addObserver(chatId, a, m, true);
    // The author has read the chat up to his own message.
    await this.db.exec(`INSERT INTO chat_reads (chat_id, employee, last_read) VALUES (?, ?, ?)
      ON CONFLICT (chat_id, employee) DO UPDATE SET last_read = excluded.last_read`, [chatId, a.employee, id]);
    const msg = messageView((await this.db.query<MessageRow>('SELECT * FROM chat_messages WHERE id = ?', [id]))[0]);
    await this.publish('chat.message', `chat.message:${id}`, (await this.row(chatId))!, { message: msg });
    if (!internal) this.outbox.wake();
    return msg;
  }

  /** Adds an observer: the responsible or a supervisor (or anyone who may write, by an @mention). */
  async addObserver(chatId: string, a: Actor, employee: string, byMention = false): Promise<ChatView> {
    const chat = await this.get(chatId, a);
    if (!this.employees.get(employee)) throw new ChatError(400, 'invalid_employee', `no employee with extension ${employee}`, 'observer');
    if (!byMention && !(a.supervisor || chat.responsible === a.employee)) {
      throw new ChatError(403, 'forbidden', 'observers are added by the responsible or a supervisor (or by @mentioning them)');
    }
    if (employee === chat.responsible) return chat;
    const added = await this.db.transaction((tx) => this.addObserverRow(tx, chatId, employee, a.employee));
    const after = (await this.row(chatId))!;
    if (added) await this.publish('chat.observer_added', `chat.observer_added:${chatId}:${employee}:${Date.now()}`, after, { observer: employee, by: a.employee, mention: byMention });
    return after;
  }

  /** Hands the chat over: the new responsible gets full rights; the previous one stays only as an observer if chosen. */
  async handover(chatId: string, a: Actor, to: string, keepAsObserver: boolean): Promise<ChatView> {
    const chat = await this.get(chatId, a);
    if (!a.supervisor && chat.responsible !== a.employee) throw new ChatError(403, 'forbidden', 'only the responsible or a supervisor hands a chat over');
    if (!this.employees.get(to)) throw new ChatError(400, 'invalid_employee', `no employee with extension ${to}`, 'to');
    const previous = chat.responsible;
    await this.db.transaction(async (tx) => {
      await this.db.exec(`UPDATE chats SET responsible = ?, status = 'in_work', closed_at = NULL, updated_at = ? WHERE id = ?`, [to, Date.now(), chatId], tx);
      await this.db.exec('DELETE FROM chat_observers WHERE chat_id = ? AND employee = ?', [chatId, to], tx);
      if (previous && previous !== to) {
        if (keepAsObserver) await this.addObserverRow(tx, chatId, previous, a.employee);
        else await this.db.exec('DELETE FROM chat_observers WHERE chat_id = ? AND employee = ?', [chatId, previous], tx);
      }
    });
    const after = (await this.row(chatId))!;
    // The previous owner hears about it even when they lose access.
    const audience = [...new Set([...this.audience(after), ...(previous ? [previous] : [])])].sort();
    await this.events.append([{ key: `chat.handed_over:${chatId}:${to}:${Date.now()}`, type: 'chat.handed_over', employees: audience,
      data: { chat: publicChat(after), from: previous, to, by: a.employee, previousKeepsAccess: keepAsObserver } }]);
    return after;
  }

  async close(chatId: string, a: Actor): Promise<ChatView> {
    const chat = await this.get(chatId, a);
    if (!a.supervisor && chat.responsible !== a.employee) throw new ChatError(403, 'forbidden', 'only the responsible or a supervisor closes a chat');
    if (chat.status === 'closed') return chat;
    await this.db.exec(`UPDATE chats SET status = 'closed', closed_at = ?, updated_at = ? WHERE id = ?`, [Date.now(), Date.now(), chatId]);
    const after = (await this.row(chatId))!;
    await this.publish('chat.closed', `chat.closed:${chatId}:${after.closedAt}`, after, { by: a.employee });
    return after;
  }

  /** Binds the chat's peer to a customer (and contact) from the directory, like an unknown caller. */
  async bind(chatId: string, a: Actor, customerId: string, contactId?: string): Promise<ChatView> {
    await this.get(chatId, a);
    const c = await this.directory.getCustomer(customerId);
    if (!c) throw new ChatError(400, 'invalid_customer', `no customer ${customerId}`, 'customerId');
    if (contactId && !c.contacts?.some((x: { id: string }) => x.id === contactId)) throw new ChatError(400, 'invalid_contact', `customer ${customerId} has no contact ${contactId}`, 'contactId');
    await this.db.exec('UPDATE chats SET customer_id = ?, contact_id = ?, updated_at = ? WHERE id = ?', [customerId, contactId ?? null, Date.now(), chatId]);
    return (await this.row(chatId))!;
  }

  /**
   * Whether a phone can be written to on each account, without writing (the panel's "start a chat" shows the
   * answers side by side before anyone sends): `yes` / `no` / `unknown` from the adapter (a gateway's number
   * check, a Telegram user account's contact resolve; a bot or WhatsApp Cloud cannot check: `unknown`), whether
   * the account can write first, and whether an active chat with that phone already exists there.
   */
  async reachability(phone: string, accountIds?: string[]): Promise<Array<{
    accountId: string; kind: string; reachable: 'yes' | 'no' | 'unknown'; canWriteFirst: boolean; reason: string | null; activeChatId: string | null;
  }>> {
    const ids = accountIds?.length ? accountIds : [...this.adapters.keys()];
    const out = [];
    for (const id of ids) {
      const adapter = this.adapters.get(id);
      if (!adapter) throw new ChatError(400, 'invalid_account', `no messenger account ${id}`, 'accountId');
      const active = await this.db.query<{ id: string }>(`SELECT id FROM chats WHERE account_id = ? AND phone = ? AND status IN ${ACTIVE} LIMIT 1`, [id, phone]);
      const r: ReachabilityResult = await adapter.checkPhone(phone)
        .catch((e) => ({ reachable: 'unknown' as const, reason: `the check failed: ${(e as Error).message}`, canWriteFirst: false }));
      out.push({
        accountId: id,
        kind: adapter.kind,
        reachable: r.reachable,
        canWriteFirst: r.reachable !== 'no' && r.canWriteFirst !== false && (r.peerId !== undefined || active.length > 0),
        reason: r.reason ?? null,
        activeChatId: active[0]?.id ?? null,
      });
    }
    return out;
  }

  /**
   * Starts (or continues) a chat with a phone: the adapter's reachability first. `no` is a 422
   * (not_registered); an adapter that cannot write first (a bot) answers 422 (cannot_write_first) unless
   * there is already a chat with that phone on that account, which is continued.
   */
  async startByPhone(a: Actor, input: StartInput): Promise<{ chat: ChatView; message: MessageView | null; continued: boolean; reachability: ReachabilityResult }> {
    const adapter = this.adapters.get(input.accountId);
    if (!adapter) throw new ChatError(400, 'invalid_account', `no messenger account ${input.accountId}`, 'accountId');
    const existing = await this.db.query<ChatRow>(`SELECT * FROM chats WHERE account_id = ? AND phone = ? ORDER BY (CASE WHEN status IN ${ACTIVE} THEN 0 ELSE 1 END), last_message_at DESC LIMIT 1`,
      [input.accountId, input.phone]);
    let reach: ReachabilityResult;
    if (existing.length) {
      reach = { reachable: 'yes', peerId: existing[0].peer_id, canWriteFirst: true };
    } else {
      reach = await adapter.checkPhone(input.phone).catch((e) => ({ reachable: 'unknown' as const, reason: `the check failed: ${(e as Error).message}`, canWriteFirst: false }));
      if (reach.reachable === 'no') throw new ChatError(422, 'not_registered', reach.reason ?? `${input.phone} is not registered in ${adapter.kind}`, 'phone');
      if (!reach.peerId || reach.canWriteFirst === false) {
        throw new ChatError(422, 'cannot_write_first', reach.reason ?? `${adapter.kind} account ${adapter.accountId} cannot write first to ${input.phone}`, 'phone');
      }
    }
    let chatId: string;
    let continued = false;
    const active = existing.find((c) => c.status === 'queue' || c.status === 'in_work');
    const peer = reach.peerId!;
    const open = active ?? (await this.db.query<ChatRow>(`SELECT * FROM chats WHERE account_id = ? AND peer_id = ? AND status IN ${ACTIVE} LIMIT 1`, [input.accountId, peer]))[0];
    if (!open && adapter.checkOutbound && input.internal !== true && (input.text || input.template || input.file)) {
      // A new chat whose first message the messenger would refuse (WhatsApp: a template is needed): no chat is made.
      const refusal = await adapter.checkOutbound({ peerId: peer, template: input.template, hasText: !!input.text, hasFile: !!input.file, lastInboundAt: null });
      if (refusal) throw new ChatError(422, refusal.code, refusal.message, refusal.field);
    }
    if (open) {
      chatId = open.id;
      continued = true;
      const view = (await this.row(chatId))!;
      if (!this.mayWrite(a, view)) throw new ChatError(403, 'forbidden', `an active chat with ${input.phone} is in work with ${view.responsible}: only they, observers and supervisors write in it`);
    } else {
      const ident = input.customerId ? null : await this.directory.identify(input.phone).catch(() => null);
      chatId = randomUUID();
      const now = Date.now();
      await this.db.exec(`INSERT INTO chats (id, messenger, account_id, peer_id, phone, customer_id, contact_id, status, responsible, reference, created_at, updated_at, last_message_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, 'in_work', ?, ?, ?, ?, ?)`,
      [chatId, adapter.kind, input.accountId, peer, input.phone, input.customerId ?? ident?.customer?.id ?? null, input.contactId ?? ident?.contact?.id ?? null,
        a.employee, input.context?.order ?? input.context?.partner ?? null, now, now, now]);
      const chat = (await this.row(chatId))!;
      await this.publish('chat.created', `chat.created:${chatId}`, chat, { by: a.employee });
      await this.publish('chat.assigned', `chat.assigned:${chatId}:${a.employee}:start`, chat, { reason: 'started', responsible: a.employee, previous: null });
    }
    const message = input.text || input.template || input.file ? await this.send(chatId, a, input) : null;
    return { chat: (await this.get(chatId, a)), message, continued, reachability: reach };
  }

  // ---- templates ------------------------------------------------------------------------------------

  async templates(): Promise<Array<{ name: string; text: string; placeholders: string[]; updatedAt: string }>> {
    const rows = await this.db.query<{ name: string; text: string; updated_at: number }>('SELECT * FROM chat_templates ORDER BY name');
    return rows.map((r) => ({ name: r.name, text: r.text, placeholders: placeholdersOf(r.text), updatedAt: iso(r.updated_at)! }));
  }

  async putTemplate(name: string, text: string): Promise<{ created: boolean; template: { name: string; text: string; placeholders: string[]; updatedAt: string } }> {
    let placeholders: string[];
    try {
      placeholders = placeholdersOf(text);
    } catch (e) {
      throw new ChatError(400, 'invalid_template', (e as Error).message, 'text');
    }
    const now = Date.now();
    const before = await this.db.query('SELECT 1 FROM chat_templates WHERE name = ?', [name]);
    await this.db.exec(`INSERT INTO chat_templates (name, text, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`, [name, text, now]);
    return { created: !before.length, template: { name, text, placeholders, updatedAt: iso(now)! } };
  }

  async deleteTemplate(name: string): Promise<boolean> {
    return (await this.db.exec('DELETE FROM chat_templates WHERE name = ?', [name])) > 0;
  }

  /** Called by the outbox after a send attempt ended (sent or failed). */
  async delivered(messageId: number): Promise<void> {
    const rows = await this.db.query<MessageRow>('SELECT * FROM chat_messages WHERE id = ?', [messageId]);
    if (!rows.length) return;
    const m = messageView(rows[0]);
    const chat = (await this.row(m.chatId))!;
    await this.publish('chat.delivery', `chat.delivery:${m.id}:${m.state}`, chat, { message: m });
    this.emit('delivery', m);
  }
}

export function messageView(r: MessageRow): MessageView {
  return {
    id: Number(r.id),
    chatId: r.chat_id,
    direction: r.direction as MessageView['direction'],
    author: r.author,
    text: r.deleted_at !== null ? null : r.text,
    externalId: r.external_id,
    state: r.state as DeliveryState,
    failure: r.failure,
    attempts: Number(r.attempts),
    context: r.context ? (JSON.parse(r.context) as ChatContext) : null,
    file: r.file_hash ? { id: r.file_hash, name: r.file_name ?? 'file', mime: r.file_mime ?? 'application/octet-stream', size: Number(r.file_size ?? 0) } : null,
    createdAt: iso(r.created_at)!,
    editedAt: iso(r.edited_at),
    deletedAt: iso(r.deleted_at),
  };
}

/** The chat as events carry it (no per-viewer unread count). */
function publicChat(c: ChatView): Omit<ChatView, 'unread'> {
  const { unread: _u, ...rest } = c;
  return rest;
}

export { MessengerError };
