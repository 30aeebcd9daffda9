import { randomBytes } from 'node:crypto';
import { TelegramClientError, TelegramUserClient, TelegramUserClientOptions, TgCatchUp, TgMessage, TgReadOutbox, TgUser } from '../src/messengers/telegram-user-client';

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
  /** Each account's private-chat history as Telegram keeps it (what a catch-up finds): user id → messages. */
  readonly history = new Map<string, TgMessage[]>();
  /** Read receipts: account user id → peer id → the highest of the account's messages the peer read. */
  readonly readUpTo = new Map<string, Map<string, number>>();
  /** Every `messagesSince` asked: the account and the cursor it gave. */
  readonly catchUps: Array<{ user: string; afterId: number | null }> = [];
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

  /** Keeps a message in the account's history (Telegram's side: it is there whether we listen or not). */
  record(owner: string, m: TgMessage): void {
    if (!this.history.has(owner)) this.history.set(owner, []);
    this.history.get(owner)!.push({ ...m });
  }

  /**
   * A customer writes to our employee's account: kept in the history, and an update on the account's
   * connected client, if any (none while the server is down: only a catch-up finds it then).
   */
  customerWrites(from: FakeUser, to: FakeUser, text: string): number {
    const id = this.newMessageId();
    const m: TgMessage = { id, peerId: from.id, outgoing: false, text, date: Math.floor(Date.now() / 1000), peer: toTg(from) };
    this.record(to.id, m);
    this.clientOf(to.id)?.emit(m);
    return id;
  }

  /** The employee types in his phone's Telegram app: an outgoing update on our session. */
  employeeTypesOnPhone(owner: FakeUser, to: FakeUser, text: string): number {
    const id = this.newMessageId();
    const m: TgMessage = { id, peerId: to.id, outgoing: true, text, date: Math.floor(Date.now() / 1000), peer: toTg(to) };
    this.record(owner.id, m);
    this.clientOf(owner.id)?.emit(m);
    return id;
  }

  /** The customer edits a message he wrote to the account. */
  customerEdits(from: FakeUser, to: FakeUser, id: number, text: string): void {
    const m = this.history.get(to.id)?.find((x) => x.id === id && x.peerId === from.id);
    if (!m) throw new Error(`no message ${id}`);
    m.text = text;
    this.clientOf(to.id)?.handlers.edit.forEach((h) => h({ ...m, date: Math.floor(Date.now() / 1000) }));
  }

  /** The customer deletes a message (for both sides): Telegram names only the id. */
  customerDeletes(from: FakeUser, to: FakeUser, id: number): void {
    const h = this.history.get(to.id) ?? [];
    const i = h.findIndex((x) => x.id === id && x.peerId === from.id);
    if (i >= 0) h.splice(i, 1);
    this.clientOf(to.id)?.handlers.delete.forEach((f) => f([id]));
  }

  /** The customer opens the chat: everything the account sent him so far is read. */
  customerReads(reader: FakeUser, owner: FakeUser): number {
    const maxId = Math.max(0, ...(this.history.get(owner.id) ?? []).filter((m) => m.outgoing && m.peerId === reader.id).map((m) => m.id));
    if (!this.readUpTo.has(owner.id)) this.readUpTo.set(owner.id, new Map());
    this.readUpTo.get(owner.id)!.set(reader.id, maxId);
    this.clientOf(owner.id)?.handlers.read.forEach((f) => f({ peerId: reader.id, maxId }));
    return maxId;
  }
}

function toTg(u: FakeUser, contact = false): TgUser {
  return { id: u.id, phone: u.phone, firstName: u.firstName, username: u.username, contact };
}

export class FakeUserClient implements TelegramUserClient {
  connected = false;
  readonly handlers = {
    message: [] as Array<(m: TgMessage) => void>,
    edit: [] as Array<(m: TgMessage) => void>,
    delete: [] as Array<(ids: number[]) => void>,
    read: [] as Array<(r: TgReadOutbox) => void>,
    reconnect: [] as Array<() => void>,
  };
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
    this.tg.record(me, { id, peerId: userId, outgoing: true, text, date: Math.floor(Date.now() / 1000) });
    // Telegram echoes nothing for our own sends in practice; the fake does, to prove the adapter ignores it.
    this.emit({ id, peerId: userId, outgoing: true, text, date: Math.floor(Date.now() / 1000) });
    return { id };
  }

  async sendFile(userId: string, file: { bytes: Buffer; fileName: string; mimeType: string; caption?: string }): Promise<{ id: number }> {
    const me = this.me();
    const id = this.tg.newMessageId();
    this.tg.sent.push({ from: me, to: userId, id, file });
    this.tg.record(me, { id, peerId: userId, outgoing: true, text: file.caption ?? '', date: Math.floor(Date.now() / 1000), file: { ref: `${userId}:${id}`, fileName: file.fileName, mimeType: file.mimeType, size: file.bytes.length } });
    return { id };
  }

  async downloadFile(ref: string): Promise<Buffer> {
    return Buffer.from(`file ${ref}`);
  }

  onNewMessage(handler: (m: TgMessage) => void): void {
    this.handlers.message.push(handler);
  }

  onEdit(handler: (m: TgMessage) => void): void {
    this.handlers.edit.push(handler);
  }

  onDelete(handler: (ids: number[]) => void): void {
    this.handlers.delete.push(handler);
  }

  onReadOutbox(handler: (r: TgReadOutbox) => void): void {
    this.handlers.read.push(handler);
  }

  onReconnect(handler: () => void): void {
    this.handlers.reconnect.push(handler);
  }

  /** The connection drops (updates meanwhile are lost to us) … */
  dropConnection(): void {
    this.connected = false;
  }

  /** … and comes back: the client says so (a catch-up is the caller's business). */
  reconnected(): void {
    this.connected = true;
    for (const h of this.handlers.reconnect) h();
  }

  async messagesSince(afterId: number | null): Promise<TgCatchUp> {
    const me = this.me();
    this.tg.catchUps.push({ user: me, afterId });
    const history = this.tg.history.get(me) ?? [];
    const lastId = Math.max(0, ...history.map((m) => m.id));
    if (afterId === null) return { messages: [], reads: [], lastId };
    const messages = history
      .filter((m) => m.id > afterId)
      .map((m) => ({ ...m, peer: m.peer ?? toTg(this.tg.users.find((u) => u.id === m.peerId)!) }))
      .sort((a, b) => a.id - b.id);
    const reads = [...(this.tg.readUpTo.get(me) ?? new Map<string, number>()).entries()].map(([peerId, maxId]) => ({ peerId, maxId }));
    return { messages, reads, lastId };
  }

  emit(m: TgMessage): void {
    for (const h of this.handlers.message) h(m);
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
