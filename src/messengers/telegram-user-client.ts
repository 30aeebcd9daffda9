/**
 * The boundary between our Telegram user-account adapter and MTProto. Everything protocol-specific (auth
 * keys, access hashes, TL objects, the update loop) sits behind `TelegramUserClient`; the adapter and the
 * account service speak only these plain types. The real implementation is on teleproto (the maintained
 * continuation of GramJS, src/messengers/telegram-user-mtproto.ts); tests use a fake of this interface,
 * because no fake MTProto server exists (docs/decisions.md).
 */

/** A Telegram user as we need it. */
export interface TgUser {
  /** Telegram's user id, as a decimal string. */
  id: string;
  /** E.164 with `+` when Telegram shows it to us. */
  phone?: string;
  firstName?: string;
  lastName?: string;
  username?: string;
  /** Whether the user is in the account's contact list. */
  contact?: boolean;
}

/** A file attached to a message (inbound). */
export interface TgFileRef {
  /** Opaque handle for `downloadFile` (for MTProto: `<peer user id>:<message id>`). */
  ref: string;
  fileName?: string;
  mimeType?: string;
  size?: number;
}

/** A message in a private chat, as the update loop sees it. */
export interface TgMessage {
  /** The message id (unique within the account for private chats). */
  id: number;
  /** The other side of the private chat (the customer): its user id. */
  peerId: string;
  /** true: our account sent it (e.g. from the employee's phone); false: the peer sent it to us. */
  outgoing: boolean;
  text: string;
  /** Unix seconds. */
  date: number;
  file?: TgFileRef;
  /** The peer as far as the update carried it. */
  peer?: TgUser;
}

/** The peer read our outgoing messages up to `maxId` (updateReadHistoryOutbox, or a dialog's read_outbox_max_id). */
export interface TgReadOutbox {
  peerId: string;
  maxId: number;
}

/** What `messagesSince` found: messages after the cursor, oldest first, and how far each peer has read ours. */
export interface TgCatchUp {
  /** Private-chat messages (both directions) with ids above the cursor, ascending by id. */
  messages: TgMessage[];
  /** Read receipts as the dialogs state them now (what was read while we were away). */
  reads: TgReadOutbox[];
  /** The newest message id the account has seen in private chats (0 when it has none): the cursor to start from. */
  lastId: number;
}

/**
 * An MTProto failure, with Telegram's error name (`PHONE_CODE_INVALID`, `SESSION_PASSWORD_NEEDED`,
 * `FLOOD_WAIT`, `PASSWORD_HASH_INVALID`, `AUTH_KEY_UNREGISTERED` …) and, for flood waits, the seconds to wait.
 */
export class TelegramClientError extends Error {
  constructor(
    readonly code: string,
    message?: string,
    readonly seconds?: number,
  ) {
    super(message ?? code);
    this.name = 'TelegramClientError';
  }
}

export interface TelegramUserClient {
  /** Opens the connection (with the session it was created with, if any). */
  connect(): Promise<void>;
  /** Closes the connection, keeping the authorisation (a restart reconnects from the session string). */
  disconnect(): Promise<void>;
  /** Login step 1: Telegram sends a code to the account's apps (or SMS). */
  sendCode(phone: string): Promise<{ phoneCodeHash: string; viaApp: boolean }>;
  /**
   * Login step 2. `{ passwordNeeded: true }` when the account has two-step verification on; throws
   * TelegramClientError `PHONE_CODE_INVALID` / `PHONE_CODE_EXPIRED` for a bad code.
   */
  signIn(phone: string, code: string, phoneCodeHash: string): Promise<{ passwordNeeded: false; user: TgUser } | { passwordNeeded: true; hint?: string }>;
  /** Login step 3 (two-step verification): throws `PASSWORD_HASH_INVALID` for a wrong password. */
  checkPassword(password: string): Promise<TgUser>;
  /** The signed-in user; throws `AUTH_KEY_UNREGISTERED` when the session was ended elsewhere. */
  getMe(): Promise<TgUser>;
  /** contacts.resolvePhone: the user with this phone when their privacy lets us see it, else null. */
  resolvePhone(phone: string): Promise<TgUser | null>;
  /** contacts.importContacts with one phone: the user when the number is on Telegram, else null. */
  importContact(phone: string): Promise<TgUser | null>;
  /** contacts.deleteContacts: removes what `importContact` added. */
  deleteContacts(userIds: string[]): Promise<void>;
  /** Sends text to a user we know (resolved or seen); returns the new message's id. */
  sendMessage(userId: string, text: string): Promise<{ id: number }>;
  /** Sends a file (photo for images, document otherwise) with an optional caption. */
  sendFile(userId: string, file: { bytes: Buffer; fileName: string; mimeType: string; caption?: string }): Promise<{ id: number }>;
  /** The bytes of an inbound file by its ref. */
  downloadFile(ref: string): Promise<Buffer>;
  /** Every new message in private chats, incoming and outgoing (what the owner types on his phone). */
  onNewMessage(handler: (m: TgMessage) => void): void;
  /** An edited message in a private chat (updateEditMessage): the message as it is now, `date` the edit's time. */
  onEdit(handler: (m: TgMessage) => void): void;
  /**
   * Deleted messages (updateDeleteMessages). Telegram names only the ids, not the chat: in private chats
   * message ids are unique within the account, so the caller finds the chat from what it stored.
   */
  onDelete(handler: (ids: number[]) => void): void;
  /** The peer read our messages up to an id (updateReadHistoryOutbox). */
  onReadOutbox(handler: (r: TgReadOutbox) => void): void;
  /** The connection came back after it was lost (updates in between may be missing): time to catch up. */
  onReconnect(handler: () => void): void;
  /**
   * Catch-up after downtime: the private-chat messages with an id above `afterId` (message ids are one
   * sequence per user account) and each dialog's read receipt. `afterId` null: nothing is fetched, only
   * `lastId` (where a newly connected account starts).
   */
  messagesSince(afterId: number | null): Promise<TgCatchUp>;
  /** The session as a string (an authorisation key: a secret, store it encrypted, never log it). */
  getSessionString(): string;
  /** Ends the authorisation on Telegram's side (the session string stops working). */
  logOut(): Promise<void>;
}

export interface TelegramUserClientOptions {
  apiId: number;
  apiHash: string;
  /** A stored session string, or '' for a new login. */
  session: string;
}

export type TelegramUserClientFactory = (opts: TelegramUserClientOptions) => TelegramUserClient;
