import {
  InboundFileRef,
  InboundSink,
  MessengerAdapter,
  MessengerError,
  MessengerFile,
  OutboundMessage,
  RateLimits,
  ReachabilityResult,
  SendResult,
} from './adapter';
import { TelegramClientError, TelegramUserClient, TgMessage, TgReadOutbox, TgUser } from './telegram-user-client';

/** Telegram errors after which a retry cannot help (the message goes to `failed`). */
const PERMANENT = new Set([
  'PEER_ID_INVALID',
  'USER_IS_BLOCKED',
  'YOU_BLOCKED_USER',
  'INPUT_USER_DEACTIVATED',
  'USER_DEACTIVATED',
  'USER_PRIVACY_RESTRICTED',
  'PRIVACY_PREMIUM_REQUIRED',
  'MESSAGE_EMPTY',
  'MESSAGE_TOO_LONG',
  'MEDIA_CAPTION_TOO_LONG',
  'AUTH_KEY_UNREGISTERED',
  'SESSION_REVOKED',
  'USER_DEACTIVATED_BAN',
  'PEER_FLOOD',
]);

export interface TelegramUserAdapterOptions {
  /** Our account id across adapters: `telegram-user:<account id>`. */
  accountId: string;
  /** The employee (extension) who owns this Telegram account: what he sends from his phone is his reply. */
  employee: string;
  client: TelegramUserClient;
  /** Which private chats become chats (MessengerAdapter.intake): every one (default) or only known customers'. */
  intake?: 'all' | 'known';
  /** The account's own Telegram user id (messages to Saved Messages are not chats). */
  selfId?: string;
  limits?: Partial<RateLimits>;
  /** Errors the adapter cannot hand to anyone (a failed sink call): logged by the owner. */
  onError?: (e: unknown) => void;
  /** What the adapter needs from storage (the account's row, the stored messages); see TelegramUserStore. */
  store?: TelegramUserStore;
  /** The stored cursor (`telegram_accounts.last_message_id`): null for an account that never had one. */
  cursor?: number | null;
  /** A failed save is retried: the first wait, doubling up to `maxMs`, `attempts` in all (then the next catch-up retries it). */
  retry?: { firstMs?: number; maxMs?: number; attempts?: number };
}

/** Storage as the adapter needs it (telegram-accounts.ts implements it on the database). */
export interface TelegramUserStore {
  /** Keeps the cursor: every private-chat message with an id up to it was stored. Only ever moves forward. */
  saveCursor(id: number): Promise<void>;
  /** The peers of stored messages by their ids (Telegram names only the ids of deleted messages). */
  peersOf(externalIds: string[]): Promise<Array<{ externalId: string; peerId: string }>>;
  /** Our stored outgoing messages to a peer not yet `read`, with ids up to `maxId`. */
  unreadOutgoing(peerId: string, maxId: number): Promise<string[]>;
}

/**
 * An employee's own Telegram account as a messenger adapter (C9): it can tell whether a phone is on
 * Telegram (contacts.resolvePhone, else contacts.importContacts and the imported contact removed again),
 * write first to a phone, send text and files, and deliver both what customers write and what the employee
 * types on his own phone (outgoing updates, `direction: 'employee'`) to the engine, which applies the
 * ownership rules. MTProto itself stays behind TelegramUserClient.
 */
export class TelegramUserAdapter implements MessengerAdapter {
  readonly kind = 'telegram_user';
  readonly accountId: string;
  /**
   * User accounts have no published limits; Telegram answers bursts with FLOOD_WAIT and, for first
   * messages to strangers, PEER_FLOOD (spam limits). Conservative: 1 message per second, 1 per peer per second.
   */
  readonly limits: RateLimits;
  readonly employee: string;
  /** A personal account: its chats are the employee's from the start (MessengerAdapter.owner). */
  readonly owner: string;
  readonly intake: 'all' | 'known';
  private sink: InboundSink | null = null;
  /** Ids of messages this adapter sent: their outgoing updates are not the employee's phone. */
  private readonly sentIds = new Set<number>();
  private readonly client: TelegramUserClient;
  private readonly selfId?: string;
  private readonly onError: (e: unknown) => void;
  private readonly store?: TelegramUserStore;
  private readonly retry: { firstMs: number; maxMs: number; attempts: number };
  private handlerAttached = false;
  /** Sends in flight: an outgoing update may arrive before the send's own answer names its id. */
  private sending = 0;
  private waiters: Array<() => void> = [];
  /**
   * The catch-up cursor: every message with an id up to it was stored (or needed no storing). Message ids
   * are one increasing sequence per user account, so it is the lowest id not yet stored, minus one.
   */
  private cursor: number | null;
  private highest = 0;
  /** Messages received but not stored yet (in flight, waiting for a retry, or given up until the next catch-up). */
  private readonly unsettled = new Set<number>();
  private readonly active = new Set<number>();
  /** Recent messages' peers, for deletions and read receipts before the store is asked. */
  private readonly recent = new Map<number, { peerId: string; outgoing: boolean }>();
  private catching: Promise<void> | null = null;
  private catchUpWanted = false;
  private cursorWrite: Promise<void> = Promise.resolve();
  private savedCursor: number | null;

  constructor(opts: TelegramUserAdapterOptions) {
    this.accountId = opts.accountId;
    this.employee = opts.employee;
    this.owner = opts.employee;
    this.intake = opts.intake ?? 'all';
    this.client = opts.client;
    this.selfId = opts.selfId;
    this.limits = { perSecond: 1, perPeerIntervalMs: 1000, ...opts.limits };
    this.onError = opts.onError ?? (() => undefined);
    this.store = opts.store;
    this.cursor = opts.cursor ?? null;
    this.savedCursor = this.cursor;
    this.retry = { firstMs: 1000, maxMs: 60_000, attempts: 10, ...opts.retry };
  }

  async start(sink: InboundSink): Promise<void> {
    this.sink = sink;
    if (!this.handlerAttached) {
      this.handlerAttached = true;
      this.client.onNewMessage((m) => void this.receive(m));
      this.client.onEdit((m) => void this.edited(m));
      this.client.onDelete((ids) => void this.deleted(ids));
      this.client.onReadOutbox((r) => void this.readOutbox(r));
      this.client.onReconnect(() => void this.catchUp().catch((e) => this.onError(e)));
    }
    if (this.catchUpWanted) void this.catchUp().catch((e) => this.onError(e));
  }

  async stop(): Promise<void> {
    this.sink = null;
  }

  /**
   * Fetches what came while we were not listening (the server down, the connection lost) through the client
   * and feeds it through the same inbound path: the engine deduplicates by message id, so an overlap with
   * live updates is harmless. A fresh account (no cursor yet) only sets its cursor to the newest id.
   * Concurrent calls share one run; called before the engine started the adapter, it runs on `start`.
   */
  catchUp(): Promise<void> {
    if (!this.sink) {
      this.catchUpWanted = true;
      return Promise.resolve();
    }
    this.catchUpWanted = false;
    if (!this.catching) {
      this.catching = this.runCatchUp().finally(() => {
        this.catching = null;
      });
    }
    return this.catching;
  }

  private async runCatchUp(): Promise<void> {
    const after = this.cursor;
    const r = await this.client.messagesSince(after);
    if (after === null) {
      this.highest = Math.max(this.highest, r.lastId);
      this.advance();
      return;
    }
    await Promise.all(r.messages.filter((m) => m.id > after && !this.active.has(m.id)).map((m) => this.receive(m)));
    for (const read of r.reads) await this.readOutbox(read);
  }

  /** The cursor after a message settled: below the lowest unsettled id, else the highest settled. */
  private advance(): void {
    let next = this.highest;
    for (const id of this.unsettled) next = Math.min(next, id - 1);
    if (this.cursor !== null && next <= this.cursor) return;
    if (this.cursor === null && next < 0) return;
    this.cursor = next;
    if (!this.store || !this.sink) return;
    const store = this.store;
    this.cursorWrite = this.cursorWrite.then(async () => {
      const c = this.cursor!;
      if (this.savedCursor !== null && c <= this.savedCursor) return;
      await store.saveCursor(c).then(() => {
        this.savedCursor = c;
      }, (e) => this.onError(e)); // the next message saves it again; a lower stored cursor only means overlap
    });
  }

  /** A message from the update loop or a catch-up: stored through the sink, a failure retried with a growing wait. */
  private async receive(m: TgMessage): Promise<void> {
    if (this.active.has(m.id)) return;
    this.remember(m);
    this.unsettled.add(m.id);
    this.active.add(m.id);
    try {
      const stored = await this.withRetry(() => this.deliver(m));
      if (stored) {
        this.unsettled.delete(m.id);
        this.highest = Math.max(this.highest, m.id);
        this.advance();
      }
    } finally {
      this.active.delete(m.id);
    }
  }

  /**
   * Runs `fn` until it succeeds: waits `firstMs`, doubling up to `maxMs`, `attempts` tries in all. false when
   * it gave up or the adapter stopped (the message stays below the cursor: the next catch-up brings it again).
   */
  private async withRetry(fn: () => Promise<boolean>): Promise<boolean> {
    let wait = this.retry.firstMs;
    for (let attempt = 1; ; attempt++) {
      if (!this.sink) return false;
      try {
        return await fn();
      } catch (e) {
        this.onError(e);
        if (attempt >= this.retry.attempts) return false;
      }
      await new Promise((r) => setTimeout(r, wait).unref());
      wait = Math.min(wait * 2, this.retry.maxMs);
    }
  }

  private remember(m: TgMessage): void {
    this.recent.set(m.id, { peerId: m.peerId, outgoing: m.outgoing });
    if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value as number);
  }

  /** What a message from the update loop becomes for the engine: true once stored (or needing no storing). */
  private async deliver(m: TgMessage): Promise<boolean> {
    if (this.selfId && m.peerId === this.selfId) return true; // Saved Messages: not a chat with a customer
    // Decided once the sends in flight know their ids.
    while (m.outgoing && this.sending > 0) await new Promise<void>((r) => this.waiters.push(r));
    if (m.outgoing && this.sentIds.has(m.id)) return true; // our own send, echoed
    const sink = this.sink;
    if (!sink) return false;
    const files: InboundFileRef[] | undefined = m.file
      ? [{ ref: m.file.ref, fileName: m.file.fileName, mimeType: m.file.mimeType, size: m.file.size }]
      : undefined;
    await sink({
      kind: 'message',
      accountId: this.accountId,
      peer: {
        peerId: m.peerId,
        userId: m.peerId,
        phone: m.peer?.phone,
        displayName: displayName(m.peer),
        username: m.peer?.username,
      },
      externalId: String(m.id),
      at: new Date(m.date * 1000),
      text: m.text || undefined,
      files,
      direction: m.outgoing ? 'employee' : 'customer',
      ...(m.outgoing ? { employee: this.employee } : {}),
    });
    return true;
  }

  /** An edit (the customer's, or the employee's on his phone): the stored message's text changes. */
  private async edited(m: TgMessage): Promise<void> {
    if (this.selfId && m.peerId === this.selfId) return;
    this.remember(m);
    await this.withRetry(async () => {
      const sink = this.sink;
      if (!sink) return false;
      await sink({ kind: 'edit', accountId: this.accountId, peerId: m.peerId, externalId: String(m.id), text: m.text, at: new Date(m.date * 1000) });
      return true;
    });
  }

  /** Deleted messages: Telegram names ids only; their chats come from what we remember or stored. */
  private async deleted(ids: number[]): Promise<void> {
    const at = new Date();
    await this.withRetry(async () => {
      const sink = this.sink;
      if (!sink) return false;
      const peers = new Map<string, string>();
      const unknown: string[] = [];
      for (const id of ids) {
        const r = this.recent.get(id);
        if (r) peers.set(String(id), r.peerId);
        else unknown.push(String(id));
      }
      if (unknown.length && this.store) for (const p of await this.store.peersOf(unknown)) peers.set(p.externalId, p.peerId);
      for (const [externalId, peerId] of peers) await sink({ kind: 'delete', accountId: this.accountId, peerId, externalId, at });
      return true;
    });
  }

  /** The peer read our messages up to `maxId`: each stored outgoing message up to it becomes `read`. */
  private async readOutbox(r: TgReadOutbox): Promise<void> {
    const at = new Date();
    await this.withRetry(async () => {
      const sink = this.sink;
      if (!sink) return false;
      const ids = new Set<string>();
      if (this.store) for (const id of await this.store.unreadOutgoing(r.peerId, r.maxId)) ids.add(id);
      else for (const [id, m] of this.recent) if (m.outgoing && m.peerId === r.peerId && id <= r.maxId) ids.add(String(id));
      for (const externalId of ids) await sink({ kind: 'delivery', accountId: this.accountId, peerId: r.peerId, externalId, state: 'read', at });
      return true;
    });
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    if (message.accountId !== this.accountId) throw new MessengerError(`message for ${message.accountId} sent through ${this.accountId}`, false);
    let peerId = message.peerId;
    if (peerId.startsWith('+')) {
      // A first message by phone whose peer was not resolved yet.
      const r = await this.checkPhone(peerId);
      if (r.reachable !== 'yes' || !r.peerId) throw new MessengerError(`${peerId} is not registered in Telegram`, false);
      peerId = r.peerId;
    }
    this.sending++;
    try {
      const sent = message.file
        ? await this.client.sendFile(peerId, { ...message.file, caption: message.text })
        : await this.client.sendMessage(peerId, message.text ?? '');
      this.sentIds.add(sent.id);
      this.recent.set(sent.id, { peerId, outgoing: true });
      if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value as number);
      if (this.sentIds.size > 10_000) this.sentIds.delete(this.sentIds.values().next().value as number);
      return { externalId: String(sent.id) };
    } catch (e) {
      throw toMessengerError(e);
    } finally {
      this.sending--;
      if (this.sending === 0 && this.waiters.length) {
        const waiters = this.waiters;
        this.waiters = [];
        for (const w of waiters) w();
      }
    }
  }

  async download(file: InboundFileRef): Promise<MessengerFile> {
    try {
      const bytes = await this.client.downloadFile(file.ref);
      return { bytes, fileName: file.fileName ?? 'file', mimeType: file.mimeType ?? 'application/octet-stream' };
    } catch (e) {
      throw toMessengerError(e);
    }
  }

  /**
   * `yes` with the peer's user id, or `no`. contacts.resolvePhone first (it finds contacts and users whose
   * privacy allows it, and adds nothing); otherwise contacts.importContacts, then the imported contact is
   * deleted again so the employee's address book stays his own.
   */
  async checkPhone(phone: string): Promise<ReachabilityResult> {
    try {
      const found = await this.client.resolvePhone(phone);
      if (found) return { reachable: 'yes', peerId: found.id, canWriteFirst: true };
      const imported = await this.client.importContact(phone);
      if (!imported) return { reachable: 'no', reason: 'Номер не зарегистрирован в Telegram', canWriteFirst: false };
      // Not found by resolvePhone, so not one of his contacts before: the import is undone.
      await this.client.deleteContacts([imported.id]).catch((e) => this.onError(e));
      return { reachable: 'yes', peerId: imported.id, canWriteFirst: true };
    } catch (e) {
      const err = toMessengerError(e);
      if (err.retryable) throw err;
      return { reachable: 'unknown', reason: err.message, canWriteFirst: false };
    }
  }
}

function displayName(u: TgUser | undefined): string | undefined {
  if (!u) return undefined;
  const n = [u.firstName, u.lastName].filter(Boolean).join(' ').trim();
  return n || u.username || undefined;
}

export function toMessengerError(e: unknown): MessengerError {
  if (e instanceof MessengerError) return e;
  if (e instanceof TelegramClientError) {
    if (e.code === 'FLOOD_WAIT' || e.code === 'SLOWMODE_WAIT') return new MessengerError(`Telegram asks to wait ${e.seconds ?? 1} s (${e.code})`, true, (e.seconds ?? 1) * 1000);
    if (PERMANENT.has(e.code)) return new MessengerError(`Telegram refused: ${e.code}`, false);
    return new MessengerError(`Telegram: ${e.message}`, true);
  }
  return new MessengerError((e as Error)?.message ?? String(e), true);
}
