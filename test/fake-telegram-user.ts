import { randomBytes } from 'node:crypto';
import { TelegramClientError, TelegramUserClient, TelegramUserClientOptions, TgMessage, TgUser } from '../src/messengers/telegram-user-client';

interface FakeUser {
  id: string;
  phone: string;
  firstName: string;
  username?: string;
  /** The login code Telegram "sends". */
  code: string;
  /** Two-step verification password, if on. */
  password?: string;
  /** Whether contacts.resolvePhone finds this user for strangers (privacy setting). */
  resolvable: boolean;
}

/**
 * A stand-in for Telegram at our client boundary (no fake MTProto server exists): users with login codes
 * and 2FA passwords, authorisations as session strings, contacts, sent messages, and a way to push
 * updates (what a customer writes, what the employee types on his phone).
 */
export class FakeTelegram {
  readonly users: FakeUser[] = [];
  /** session string → user id, for live authorisations. */
  readonly authorized = new Map<string, string>();
  readonly loggedOut: string[] = [];
  /** owner user id → contact user ids. */
  readonly contacts = new Map<string, Set<string>>();
  readonly imports: Array<{ owner: string; phone: string }> = [];
  readonly deletions: Array<{ owner: string; ids: string[] }> = [];
  readonly sent: Array<{ from: string; to: string; id: number; text?: string; file?: { fileName: string; mimeType: string; bytes: Buffer; caption?: string } }> = [];
  readonly clients: FakeUserClient[] = [];
  /** Every options object the factory was called with (sessions as the server handed them over). */
  readonly created: TelegramUserClientOptions[] = [];
  /** When set, every send answers FLOOD_WAIT with these seconds (Telegram's flood control). */
  floodWaitSeconds = 0;
  private nextId = 1000;
  private msgId = 1;

  addUser(u: Omit<FakeUser, 'id' | 'resolvable'> & { resolvable?: boolean }): FakeUser {
    const user = { id: String(this.nextId++ * 7919), resolvable: true, ...u };
    this.users.push(user);
    return user;
  }

  byPhone(phone: string): FakeUser | undefined {
    return this.users.find((u) => u.phone === phone);
  }

  readonly factory = (opts: TelegramUserClientOptions): TelegramUserClient => {
    this.created.push(opts);
    const c = new FakeUserClient(this, opts.session);
    this.clients.push(c);
    return c;
  };

  newMessageId(): number {
    return this.msgId++;
  }

  /** The connected client of a user (the latest). */
  clientOf(userId: string): FakeUserClient | undefined {
    return [...this.clients].reverse().find((c) => c.connected && this.authorized.get(c.session) === userId);
  }

  /** A customer writes to our employee's account. */
  customerWrites(from: FakeUser, to: FakeUser, text: string): number {
    const id = this.newMessageId();
    this.clientOf(to.id)!.emit({ id, peerId: from.id, outgoing: false, text, date: Math.floor(Date.now() / 1000), peer: toTg(from) });
    return id;
  }

  /** The employee types in his phone's Telegram app: an outgoing update on our session. */
  employeeTypesOnPhone(owner: FakeUser, to: FakeUser, text: string): number {
    const id = this.newMessageId();
    this.clientOf(owner.id)!.emit({ id, peerId: to.id, outgoing: true, text, date: Math.floor(Date.now() / 1000), peer: toTg(to) });
    return id;
  }
}

function toTg(u: FakeUser, contact = false): TgUser {
  return { id: u.id, phone: u.phone, firstName: u.firstName, username: u.username, contact };
}

export class FakeUserClient implements TelegramUserClient {
  connected = false;
  private handlers: Array<(m: TgMessage) => void> = [];
  private pendingUser: FakeUser | undefined;

  constructor(
    private readonly tg: FakeTelegram,
    public session: string,
  ) {}

  private me(): string {
    const id = this.tg.authorized.get(this.session);
    if (!id) throw new TelegramClientError('AUTH_KEY_UNREGISTERED');
    return id;
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    this.connected = false;
  }

  async sendCode(phone: string): Promise<{ phoneCodeHash: string; viaApp: boolean }> {
    if (!/^\+[0-9]{8,15}$/.test(phone)) throw new TelegramClientError('PHONE_NUMBER_INVALID');
    return { phoneCodeHash: `hash-${phone}`, viaApp: true };
  }

  async signIn(phone: string, code: string, hash: string): Promise<{ passwordNeeded: false; user: TgUser } | { passwordNeeded: true; hint?: string }> {
    const u = this.tg.byPhone(phone);
    if (hash !== `hash-${phone}`) throw new TelegramClientError('PHONE_CODE_EXPIRED');
    if (!u) throw new TelegramClientError('PHONE_NUMBER_UNOCCUPIED');
    if (code !== u.code) throw new TelegramClientError('PHONE_CODE_INVALID');
    if (u.password) {
      this.pendingUser = u;
      return { passwordNeeded: true, hint: 'кот' };
    }
    return { passwordNeeded: false, user: this.authorize(u) };
  }

  async checkPassword(password: string): Promise<TgUser> {
    const u = this.pendingUser;
    if (!u) throw new TelegramClientError('AUTH_RESTART');
    if (password !== u.password) throw new TelegramClientError('PASSWORD_HASH_INVALID');
    return this.authorize(u);
  }

  private authorize(u: FakeUser): TgUser {
    this.session = `FAKE-SESSION-${randomBytes(24).toString('hex')}`;
    this.tg.authorized.set(this.session, u.id);
    return toTg(u);
  }

  async getMe(): Promise<TgUser> {
    return toTg(this.tg.users.find((u) => u.id === this.me())!);
  }

  async resolvePhone(phone: string): Promise<TgUser | null> {
    const me = this.me();
    const u = this.tg.byPhone(phone);
    const isContact = !!u && !!this.tg.contacts.get(me)?.has(u.id);
    return u && (u.resolvable || isContact) ? toTg(u, isContact) : null;
  }

  async importContact(phone: string): Promise<TgUser | null> {
    const me = this.me();
    this.tg.imports.push({ owner: me, phone });
    const u = this.tg.byPhone(phone);
    if (!u) return null;
    if (!this.tg.contacts.has(me)) this.tg.contacts.set(me, new Set());
    this.tg.contacts.get(me)!.add(u.id);
    return toTg(u, true);
  }

  async deleteContacts(userIds: string[]): Promise<void> {
    const me = this.me();
    this.tg.deletions.push({ owner: me, ids: userIds });
    for (const id of userIds) this.tg.contacts.get(me)?.delete(id);
  }

  async sendMessage(userId: string, text: string): Promise<{ id: number }> {
    const me = this.me();
    if (!this.tg.users.some((u) => u.id === userId)) throw new TelegramClientError('PEER_ID_INVALID');
    if (this.tg.floodWaitSeconds) throw new TelegramClientError('FLOOD_WAIT', `A wait of ${this.tg.floodWaitSeconds} seconds is required`, this.tg.floodWaitSeconds);
    const id = this.tg.newMessageId();
    this.tg.sent.push({ from: me, to: userId, id, text });
    // Telegram echoes nothing for our own sends in practice; the fake does, to prove the adapter ignores it.
    this.emit({ id, peerId: userId, outgoing: true, text, date: Math.floor(Date.now() / 1000) });
    return { id };
  }

  async sendFile(userId: string, file: { bytes: Buffer; fileName: string; mimeType: string; caption?: string }): Promise<{ id: number }> {
    const me = this.me();
    const id = this.tg.newMessageId();
    this.tg.sent.push({ from: me, to: userId, id, file });
    return { id };
  }

  async downloadFile(ref: string): Promise<Buffer> {
    return Buffer.from(`file ${ref}`);
  }

  onNewMessage(handler: (m: TgMessage) => void): void {
    this.handlers.push(handler);
  }

  emit(m: TgMessage): void {
    for (const h of this.handlers) h(m);
  }

  getSessionString(): string {
    return this.session;
  }

  async logOut(): Promise<void> {
    this.tg.loggedOut.push(this.session);
    this.tg.authorized.delete(this.session);
    this.connected = false;
  }
}
