import { EventEmitter } from 'node:events';
import { Db } from '../db/database';
import { EventLog } from '../events/event-log';
import { Employees } from '../employees/employees';
import { Directory } from '../directory/directory';
import { InboundEvent, MessengerAdapter, MessengerError, ReachabilityResult } from '../messengers/adapter';
import { ChatFiles } from './files';
import { Outbox } from './outbox';
import { Actor, ChatEngineOptions, ChatRules, ChatView, MessageView, SendInput, StartInput, Viewer } from './types';
import { actorOf, mentionsIn } from './visibility';
import { ChatListFilter, countChats, getChat, listChats, markChatRead, messageOf, messagesOf } from './views';
import { publishDelivered } from './events';
import { createInbound } from './inbound';
import * as ownership from './ownership';
import * as sending from './sending';
import * as templateStore from './template-store';

// The engine's parts (src/chats/): types.ts the model and ChatError, visibility.ts who sees and writes,
// views.ts reading, events.ts publishing, inbound.ts messages in, ownership.ts claim / observers /
// handover / close, sending.ts messages out and start by phone, template-store.ts stored templates.
export { ChatError, messageView } from './types';
export type {
  Actor, ChatContext, ChatEngineOptions, ChatRules, ChatStatus, ChatView, DeliveryState, MessageRow, MessageView, SendInput, StartInput, Viewer,
} from './types';
export type { ChatListFilter } from './views';

/**
 * The chat engine: chats, their rules, messages in and out. Messenger-independent: adapters deliver
 * inbound events through `sink` and send through the outbox. Every rule lives here once; the API and
 * every adapter go through it.
 */
export class ChatEngine extends EventEmitter {
  readonly adapters = new Map<string, MessengerAdapter>();
  readonly rules: ChatRules;
  readonly outbox: Outbox;
  /** notTaken: private chats a personal account with intake `known` did not take in. */
  readonly stats = { inbound: 0, duplicates: 0, notTaken: 0 };
  private readonly inbound: (e: InboundEvent) => Promise<void>;

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
    this.inbound = createInbound(this, opts.isOnline ?? (() => true));
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

  /**
   * Takes an account's adapter out. `forever`: the account will not come back under this id (an employee
   * disconnected his Telegram), so its queued messages fail now instead of waiting for it.
   */
  async remove(accountId: string, forever = false): Promise<void> {
    const a = this.adapters.get(accountId);
    this.adapters.delete(accountId);
    await a?.stop().catch(() => undefined);
    if (forever) this.outbox.accountRemoved(accountId);
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
  reassignOrphans(): Promise<number> {
    return ownership.reassignOrphans(this);
  }

  async stop(): Promise<void> {
    this.started = false;
    this.employees.off('changed', this.onEmployeesChanged);
    await this.outbox.stop();
    for (const a of this.adapters.values()) await a.stop().catch(() => undefined);
  }

  // ---- rights ---------------------------------------------------------------------------------------

  actor(extension: string, supervisorRole = false): Actor {
    return actorOf(this.employees, extension, supervisorRole);
  }

  /** Employees @mentioned in a text: by login or by extension. */
  mentions(text: string): string[] {
    return mentionsIn(this.employees, text);
  }

  // ---- reading --------------------------------------------------------------------------------------

  /** A chat the viewer may see: 404 when there is none, 403 when the rule says no. */
  get(id: string, v: Viewer): Promise<ChatView> {
    return getChat(this, id, v);
  }

  list(v: Viewer, f: ChatListFilter): Promise<{ items: ChatView[]; total: number }> {
    return listChats(this, v, f);
  }

  /** My chats, Observed, Queue: how many and how many unread messages in each. */
  counts(a: Actor): Promise<Record<'my' | 'observed' | 'queue', { chats: number; unread: number }>> {
    return countChats(this, a);
  }

  /** A customer's active dialogs (queue and in work), for 1C's customer card. */
  async activeOfCustomer(customerId: string, v: Viewer): Promise<ChatView[]> {
    return (await this.list(v, { customerId, status: ['queue', 'in_work'], limit: 100 })).items;
  }

  messages(chatId: string, v: Viewer, opts: { after?: number; limit?: number } = {}): Promise<MessageView[]> {
    return messagesOf(this, chatId, v, opts);
  }

  message(chatId: string, id: number, v: Viewer): Promise<MessageView> {
    return messageOf(this, chatId, id, v);
  }

  markRead(chatId: string, a: Actor): Promise<void> {
    return markChatRead(this, chatId, a);
  }

  // ---- writing --------------------------------------------------------------------------------------

  /** An employee writes in a chat: the rules, then the message goes to the outbox (or stays a note). */
  send(chatId: string, a: Actor, input: SendInput): Promise<MessageView> {
    return sending.send(this, chatId, a, input);
  }

  /** Adds an observer: the responsible or a supervisor (or anyone who may write, by an @mention). */
  addObserver(chatId: string, a: Actor, employee: string, byMention = false): Promise<ChatView> {
    return ownership.addObserver(this, chatId, a, employee, byMention);
  }

  /** Hands the chat over: the new responsible gets full rights; the previous one stays only as an observer if chosen. */
  handover(chatId: string, a: Actor, to: string, keepAsObserver: boolean): Promise<ChatView> {
    return ownership.handover(this, chatId, a, to, keepAsObserver);
  }

  close(chatId: string, a: Actor): Promise<ChatView> {
    return ownership.close(this, chatId, a);
  }

  /** Binds the chat's peer to a customer (and contact) from the directory, like an unknown caller. */
  bind(chatId: string, a: Actor, customerId: string, contactId?: string): Promise<ChatView> {
    return ownership.bind(this, chatId, a, customerId, contactId);
  }

  /**
   * Whether a phone can be written to on each account, without writing (the panel's "start a chat" shows the
   * answers side by side before anyone sends): `yes` / `no` / `unknown` from the adapter (a gateway's number
   * check, a Telegram user account's contact resolve; a bot or WhatsApp Cloud cannot check: `unknown`), whether
   * the account can write first, and whether an active chat with that phone already exists there. An
   * employee's own account only for him (403 `personal_account`; left out when no account is named).
   */
  reachability(viewer: Viewer, phone: string, accountIds?: string[]): Promise<Array<{
    accountId: string; kind: string; reachable: 'yes' | 'no' | 'unknown'; canWriteFirst: boolean; reason: string | null; activeChatId: string | null;
  }>> {
    return sending.reachability(this, viewer, phone, accountIds);
  }

  /**
   * Starts (or continues) a chat with a phone: the adapter's reachability first. `no` is a 422
   * (not_registered); an adapter that cannot write first (a bot) answers 422 (cannot_write_first) unless
   * there is already a chat with that phone on that account, which is continued.
   */
  startByPhone(a: Actor, input: StartInput): Promise<{ chat: ChatView; message: MessageView | null; continued: boolean; reachability: ReachabilityResult }> {
    return sending.startByPhone(this, a, input);
  }

  // ---- templates ------------------------------------------------------------------------------------

  templates(): Promise<Array<{ name: string; text: string; placeholders: string[]; updatedAt: string }>> {
    return templateStore.listTemplates(this.db);
  }

  putTemplate(name: string, text: string): Promise<{ created: boolean; template: { name: string; text: string; placeholders: string[]; updatedAt: string } }> {
    return templateStore.putTemplate(this.db, name, text);
  }

  deleteTemplate(name: string): Promise<boolean> {
    return templateStore.deleteTemplate(this.db, name);
  }

  /** Called by the outbox after a send attempt ended (sent or failed). */
  delivered(messageId: number): Promise<void> {
    return publishDelivered(this, messageId);
  }
}

export { MessengerError };
