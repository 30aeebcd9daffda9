import bigInt from 'big-integer';
import { Api, TelegramClient, utils } from 'teleproto';
import { StringSession } from 'teleproto/sessions';
import { NewMessage, NewMessageEvent, Raw } from 'teleproto/events';
import { EditedMessage, EditedMessageEvent } from 'teleproto/events/EditedMessage';
import { DeletedMessage, DeletedMessageEvent } from 'teleproto/events/DeletedMessage';
import { UpdateConnectionState } from 'teleproto/network';
import { computeCheck } from 'teleproto/Password';
import { CustomFile } from 'teleproto/client/uploads';
import { LogLevel } from 'teleproto/extensions/Logger';
import { FloodWaitError, RPCError } from 'teleproto/errors';
import { TelegramClientError, TelegramUserClient, TelegramUserClientOptions, TgCatchUp, TgMessage, TgReadOutbox, TgUser } from './telegram-user-client';

/**
 * The real TelegramUserClient: MTProto through teleproto (GramJS's maintained continuation). Not covered
 * by the test suite (no fake MTProto server exists); everything it does is a thin translation of the
 * boundary's calls into the TL requests named in their comments, with RPC errors turned into
 * TelegramClientError by their Telegram names.
 */
export class MtprotoUserClient implements TelegramUserClient {
  private readonly client: TelegramClient;
  private readonly session: StringSession;
  private triedDialogs = false;

  constructor(private readonly opts: TelegramUserClientOptions) {
    this.session = new StringSession(opts.session);
    this.client = new TelegramClient(this.session, opts.apiId, opts.apiHash, { connectionRetries: 5, autoReconnect: true });
    // teleproto's own logger writes to stdout; keep only its errors (it never prints the session).
    this.client.setLogLevel(LogLevel.ERROR);
  }

  connect(): Promise<void> {
    return wrap(async () => {
      await this.client.connect();
    });
  }

  disconnect(): Promise<void> {
    return wrap(async () => {
      await this.client.disconnect();
      await this.client.destroy();
    });
  }

  sendCode(phone: string): Promise<{ phoneCodeHash: string; viaApp: boolean }> {
    return wrap(async () => {
      const r = await this.client.sendCode({ apiId: this.opts.apiId, apiHash: this.opts.apiHash }, phone);
      return { phoneCodeHash: r.phoneCodeHash, viaApp: r.isCodeViaApp };
    });
  }

  async signIn(phone: string, code: string, phoneCodeHash: string): Promise<{ passwordNeeded: false; user: TgUser } | { passwordNeeded: true; hint?: string }> {
    try {
      // auth.signIn
      const r = await this.client.invoke(new Api.auth.SignIn({ phoneNumber: phone, phoneCodeHash, phoneCode: code }));
      if (r instanceof Api.auth.AuthorizationSignUpRequired) {
        throw new TelegramClientError('PHONE_NUMBER_UNOCCUPIED', 'this phone number has no Telegram account');
      }
      return { passwordNeeded: false, user: toUser(r.user) };
    } catch (e) {
      const err = toError(e);
      if (err.code === 'SESSION_PASSWORD_NEEDED') {
        const pwd = await wrap(() => this.client.invoke(new Api.account.GetPassword()));
        return { passwordNeeded: true, hint: pwd.hint };
      }
      throw err;
    }
  }

  checkPassword(password: string): Promise<TgUser> {
    return wrap(async () => {
      // account.getPassword → SRP check → auth.checkPassword
      const pwd = await this.client.invoke(new Api.account.GetPassword());
      const r = await this.client.invoke(new Api.auth.CheckPassword({ password: await computeCheck(pwd, password) }));
      if (r instanceof Api.auth.AuthorizationSignUpRequired) throw new TelegramClientError('PHONE_NUMBER_UNOCCUPIED');
      return toUser(r.user);
    });
  }

  getMe(): Promise<TgUser> {
    return wrap(async () => toUser(await this.client.getMe()));
  }

  async resolvePhone(phone: string): Promise<TgUser | null> {
    try {
      // contacts.resolvePhone
      const r = await this.client.invoke(new Api.contacts.ResolvePhone({ phone: phone.replace(/^\+/, '') }));
      const u = r.users.find((x) => x instanceof Api.User);
      return u ? toUser(u) : null;
    } catch (e) {
      const err = toError(e);
      if (err.code === 'PHONE_NOT_OCCUPIED' || err.code === 'PHONE_NUMBER_INVALID') return null;
      throw err;
    }
  }

  importContact(phone: string): Promise<TgUser | null> {
    return wrap(async () => {
      // contacts.importContacts with one contact; the user comes back when the number is on Telegram
      const r = await this.client.invoke(
        new Api.contacts.ImportContacts({
          contacts: [new Api.InputPhoneContact({ clientId: bigInt(Date.now()), phone: phone.replace(/^\+/, ''), firstName: phone, lastName: '' })],
        }),
      );
      const imported = r.imported[0];
      if (!imported) return null;
      const u = r.users.find((x) => x instanceof Api.User && x.id.toString() === imported.userId.toString());
      return u ? toUser(u) : null;
    });
  }

  deleteContacts(userIds: string[]): Promise<void> {
    return wrap(async () => {
      const ids = await Promise.all(userIds.map(async (id) => utils.getInputUser(await this.client.getInputEntity(bigInt(id)))));
      // contacts.deleteContacts
      await this.client.invoke(new Api.contacts.DeleteContacts({ id: ids }));
    });
  }

  sendMessage(userId: string, text: string): Promise<{ id: number }> {
    return wrap(async () => {
      const m = await this.client.sendMessage(await this.entity(userId), { message: text });
      return { id: m.id };
    });
  }

  sendFile(userId: string, file: { bytes: Buffer; fileName: string; mimeType: string; caption?: string }): Promise<{ id: number }> {
    return wrap(async () => {
      const photo = /^image\/(jpeg|png|webp)$/.test(file.mimeType);
      const m = await this.client.sendFile(await this.entity(userId), {
        file: new CustomFile(file.fileName, file.bytes.length, '', file.bytes),
        caption: file.caption,
        forceDocument: !photo,
      });
      return { id: m.id };
    });
  }

  downloadFile(ref: string): Promise<Buffer> {
    return wrap(async () => {
      const [peer, id] = ref.split(':');
      const [m] = await this.client.getMessages(await this.entity(peer), { ids: Number(id) });
      if (!m?.media) throw new TelegramClientError('MEDIA_EMPTY', 'the message has no file (deleted?)');
      const out = await this.client.downloadMedia(m, {});
      if (!Buffer.isBuffer(out)) throw new TelegramClientError('MEDIA_EMPTY', 'the file could not be downloaded');
      return out;
    });
  }

  onNewMessage(handler: (m: TgMessage) => void): void {
    this.client.addEventHandler(async (ev: NewMessageEvent) => {
      const m = await this.fromEvent(ev);
      if (m) handler(m);
    }, new NewMessage({}));
  }

  onEdit(handler: (m: TgMessage) => void): void {
    // updateEditMessage (private chats and basic groups; channels' edits are filtered out as not private)
    this.client.addEventHandler(async (ev: EditedMessageEvent) => {
      const m = await this.fromEvent(ev);
      if (m) handler({ ...m, date: ev.message.editDate ?? m.date });
    }, new EditedMessage({}));
  }

  onDelete(handler: (ids: number[]) => void): void {
    // updateDeleteMessages names ids only (private chats, basic groups); a channel's deletion carries its peer.
    this.client.addEventHandler((ev: DeletedMessageEvent) => {
      if (!ev.peer && ev.deletedIds.length) handler(ev.deletedIds);
    }, new DeletedMessage({}));
  }

  onReadOutbox(handler: (r: TgReadOutbox) => void): void {
    this.client.addEventHandler((u: Api.TypeUpdate) => {
      if (u instanceof Api.UpdateReadHistoryOutbox && u.peer instanceof Api.PeerUser) handler({ peerId: u.peer.userId.toString(), maxId: u.maxId });
    }, new Raw({ types: [Api.UpdateReadHistoryOutbox] }));
  }

  onReconnect(handler: () => void): void {
    // teleproto reports its connection state as UpdateConnectionState (and `connected` again after each
    // ping): only a return after `disconnected` / `broken` is a reconnect.
    let last = UpdateConnectionState.connected;
    this.client.addEventHandler((u: unknown) => {
      if (!(u instanceof UpdateConnectionState)) return;
      if (u.state === UpdateConnectionState.connected && last !== UpdateConnectionState.connected) handler();
      last = u.state;
    }, new Raw({ types: [UpdateConnectionState] }));
  }

  /**
   * teleproto's catchUp() is a stub (no updates.getDifference), so: messages.getDialogs (the 200 most recent,
   * which also fills the entity cache), and for each private dialog whose top message is above the cursor,
   * messages.getHistory from the cursor up (oldest first, at most 1000 per dialog).
   */
  messagesSince(afterId: number | null): Promise<TgCatchUp> {
    return wrap(async () => {
      const dialogs = await this.client.getDialogs({ limit: 200 });
      let lastId = 0;
      const messages: TgMessage[] = [];
      const reads: TgReadOutbox[] = [];
      for (const d of dialogs) {
        if (!d.message) continue;
        lastId = Math.max(lastId, d.message.id);
        if (!d.isUser || !(d.entity instanceof Api.User)) continue;
        const peerId = d.entity.id.toString();
        reads.push({ peerId, maxId: d.dialog.readOutboxMaxId });
        if (afterId === null || d.message.id <= afterId) continue;
        const peer = toUser(d.entity);
        const history = await this.client.getMessages(d.entity, { minId: afterId, reverse: true, limit: 1000 });
        for (const m of history) if (m instanceof Api.Message && m.id > afterId) messages.push(toTg(m, peerId, peer));
      }
      messages.sort((a, b) => a.id - b.id);
      return { messages, reads: afterId === null ? [] : reads, lastId };
    });
  }

  /** A private chat's message from an update, with its peer as far as we can name it. */
  private async fromEvent(ev: NewMessageEvent): Promise<TgMessage | undefined> {
    const m = ev.message;
    if (!ev.isPrivate || !(m.peerId instanceof Api.PeerUser)) return undefined;
    const peerId = m.peerId.userId.toString();
    let peer: TgUser | undefined;
    try {
      const e = m.out ? await this.client.getEntity(m.peerId) : await m.getSender();
      if (e instanceof Api.User) peer = toUser(e);
    } catch {
      // the peer stays unnamed
    }
    return toTg(m, peerId, peer);
  }

  getSessionString(): string {
    return this.session.save();
  }

  logOut(): Promise<void> {
    return wrap(async () => {
      await this.client.invoke(new Api.auth.LogOut());
      await this.client.disconnect().catch(() => undefined);
      await this.client.destroy().catch(() => undefined);
    });
  }

  /** An input entity for a user id: the session cache knows users we resolved or that wrote to us; after a restart the dialogs fill it. */
  private async entity(userId: string): Promise<Api.TypeInputPeer> {
    try {
      return await this.client.getInputEntity(bigInt(userId));
    } catch (e) {
      if (this.triedDialogs) throw e;
      this.triedDialogs = true;
      await this.client.getDialogs({ limit: 500 });
      return this.client.getInputEntity(bigInt(userId));
    }
  }
}

function toUser(u: Api.TypeUser): TgUser {
  if (!(u instanceof Api.User)) return { id: u.id.toString() };
  return {
    id: u.id.toString(),
    phone: u.phone ? `+${u.phone}` : undefined,
    firstName: u.firstName ?? undefined,
    lastName: u.lastName ?? undefined,
    username: u.username ?? undefined,
    contact: !!u.contact,
  };
}

function toTg(m: Api.Message, peerId: string, peer?: TgUser): TgMessage {
  return {
    id: m.id,
    peerId,
    outgoing: !!m.out,
    text: m.message ?? '',
    date: m.date,
    file: m.media && !(m.media instanceof Api.MessageMediaEmpty) ? { ref: `${peerId}:${m.id}`, ...fileInfo(m) } : undefined,
    peer,
  };
}

function fileInfo(m: Api.Message): { fileName?: string; mimeType?: string; size?: number } {
  if (m.media instanceof Api.MessageMediaPhoto) return { fileName: `photo-${m.id}.jpg`, mimeType: 'image/jpeg' };
  if (m.media instanceof Api.MessageMediaDocument && m.media.document instanceof Api.Document) {
    const d = m.media.document;
    const name = d.attributes.find((a): a is Api.DocumentAttributeFilename => a instanceof Api.DocumentAttributeFilename);
    return { fileName: name?.fileName, mimeType: d.mimeType, size: Number(d.size.toString()) };
  }
  return {};
}

function toError(e: unknown): TelegramClientError {
  if (e instanceof TelegramClientError) return e;
  if (e instanceof FloodWaitError) return new TelegramClientError('FLOOD_WAIT', `flood wait ${e.seconds} s`, e.seconds);
  if (e instanceof RPCError) return new TelegramClientError(e.errorMessage, e.errorMessage);
  return new TelegramClientError('NETWORK', (e as Error)?.message ?? String(e));
}

async function wrap<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toError(e);
  }
}

export function mtprotoClientFactory(opts: TelegramUserClientOptions): TelegramUserClient {
  return new MtprotoUserClient(opts);
}
