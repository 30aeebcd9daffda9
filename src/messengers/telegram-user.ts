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
import { TelegramClientError, TelegramUserClient, TgMessage, TgUser } from './telegram-user-client';

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
  private handlerAttached = false;
  /** Sends in flight: an outgoing update may arrive before the send's own answer names its id. */
  private sending = 0;
  private held: TgMessage[] = [];

  constructor(opts: TelegramUserAdapterOptions) {
    this.accountId = opts.accountId;
    this.employee = opts.employee;
    this.owner = opts.employee;
    this.intake = opts.intake ?? 'all';
    this.client = opts.client;
    this.selfId = opts.selfId;
    this.limits = { perSecond: 1, perPeerIntervalMs: 1000, ...opts.limits };
    this.onError = opts.onError ?? (() => undefined);
  }

  async start(sink: InboundSink): Promise<void> {
    this.sink = sink;
    if (!this.handlerAttached) {
      this.handlerAttached = true;
      this.client.onNewMessage((m) => {
        this.deliver(m).catch((e) => this.onError(e));
      });
    }
  }

  async stop(): Promise<void> {
    this.sink = null;
  }

  /** What a message from the update loop becomes for the engine (also used by tests through the fake client). */
  private async deliver(m: TgMessage): Promise<void> {
    const sink = this.sink;
    if (!sink) return;
    if (this.selfId && m.peerId === this.selfId) return; // Saved Messages: not a chat with a customer
    if (m.outgoing && this.sending > 0) {
      // Decided once the sends in flight know their ids.
      this.held.push(m);
      return;
    }
    if (m.outgoing && this.sentIds.has(m.id)) return; // our own send, echoed
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
      if (this.sentIds.size > 10_000) this.sentIds.delete(this.sentIds.values().next().value as number);
      return { externalId: String(sent.id) };
    } catch (e) {
      throw toMessengerError(e);
    } finally {
      this.sending--;
      if (this.sending === 0 && this.held.length) {
        const held = this.held;
        this.held = [];
        for (const m of held) this.deliver(m).catch((e) => this.onError(e));
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
