/**
 * The one interface every messenger adapter implements (Telegram bot, Telegram user account, WhatsApp …).
 *
 * The chat engine (src/chats) knows nothing about a messenger: it calls an adapter to send, upload,
 * download and check reachability, and the adapter pushes what arrives (messages, edits, deletions,
 * delivery states) into the sink the engine gives it in `start`. A new messenger is a new adapter,
 * never a change in the engine.
 *
 * Identifiers:
 *  - `accountId`: our account in this messenger (a bot, an employee's own account), unique across adapters;
 *  - `peerId`: the customer-side chat/user id as the messenger spells it, as a string;
 *  - `externalId` (on a message): the messenger's own message id, unique within (accountId, peerId);
 *    the engine deduplicates inbound messages by it, so adapters may deliver the same message twice.
 */

/** Messenger kinds known to the engine; the string is stored with each chat. */
export type MessengerKind = 'telegram' | 'telegram_user' | 'whatsapp' | (string & {});

/**
 * Messenger kinds whose accounts are always an employee's own: their chats stay personal even while the
 * account's adapter is not registered (revoked, reconnecting), when `owner` cannot be asked.
 */
export const PERSONAL_KINDS: ReadonlySet<string> = new Set(['telegram_user']);

/** Answer of a reachability check by phone: `unknown` when the adapter cannot tell (e.g. a bot). */
export type Reachability = 'yes' | 'no' | 'unknown';

export interface ReachabilityResult {
  reachable: Reachability;
  /** The peer id to write to when `reachable` is `yes` and the adapter resolved one. */
  peerId?: string;
  /** Plain reason shown to a person, e.g. "A Telegram bot cannot check a phone number". */
  reason?: string;
  /** Whether this adapter can send the first message to this phone (a bot cannot). */
  canWriteFirst?: boolean;
}

/** A file as it crosses the adapter boundary. */
export interface MessengerFile {
  bytes: Buffer;
  fileName: string;
  /** The MIME type the engine decided from the content (magic bytes); adapters may pick photo vs document. */
  mimeType: string;
}

/** A file reference inside an inbound message, downloaded later through `download`. */
export interface InboundFileRef {
  /** Adapter-specific handle (Telegram file_id …). */
  ref: string;
  fileName?: string;
  mimeType?: string;
  size?: number;
}

/** The customer-side peer of an inbound message. */
export interface InboundPeer {
  peerId: string;
  /** Messenger user id of the sender (often equal to peerId in private chats). */
  userId?: string;
  phone?: string;
  displayName?: string;
  username?: string;
}

/** What an adapter pushes into the engine. */
export type InboundEvent =
  | {
      kind: 'message';
      accountId: string;
      peer: InboundPeer;
      externalId: string;
      /** When the messenger says it was sent (defaults to now). */
      at?: Date;
      text?: string;
      files?: InboundFileRef[];
      /**
       * `customer` for a message from the peer; `employee` for a message our account sent from elsewhere
       * (e.g. the employee's own phone, synced by a user-account adapter) — then `employee` (the employee's
       * extension, as everywhere in Telefonist) says who; the engine applies the same ownership rules.
       */
      direction?: 'customer' | 'employee';
      employee?: string;
      /** A 1C reference carried in (e.g. a /start deep link payload). */
      reference?: string;
    }
  | { kind: 'edit'; accountId: string; peerId: string; externalId: string; text: string; at?: Date }
  | { kind: 'delete'; accountId: string; peerId: string; externalId: string; at?: Date }
  | {
      kind: 'delivery';
      accountId: string;
      peerId: string;
      /** The id `send` returned. */
      externalId: string;
      state: 'delivered' | 'read' | 'failed';
      reason?: string;
      at?: Date;
    };

/** The engine's side: adapters call it; it resolves once the event is stored (or was a duplicate). */
export interface InboundSink {
  (event: InboundEvent): Promise<void>;
}

/** An outbound message the engine asks an adapter to deliver. */
export interface OutboundMessage {
  accountId: string;
  peerId: string;
  text?: string;
  /** One file per call; the text becomes its caption when both are given. */
  file?: MessengerFile;
  /** A file already uploaded through `upload` (instead of `file`). */
  uploaded?: UploadedFile;
  /**
   * Sent from one of our templates (src/chats/templates.ts): its name and the values its placeholders got.
   * `text` is the rendered text; a messenger with its own approved templates (WhatsApp Cloud) sends its
   * mapped form instead.
   */
  template?: { name: string; vars: Record<string, string> };
}

/** What the engine asks `checkOutbound` before it queues a message (not for internal notes). */
export interface OutboundCheck {
  peerId: string;
  /** Our template's name when the message is sent from one. */
  template?: string;
  hasText: boolean;
  hasFile: boolean;
  /** When the customer last wrote in this chat (null: never). */
  lastInboundAt: Date | null;
}

/** A refusal: the engine answers 422 with this code and message (e.g. `template_required`). */
export interface OutboundRefusal {
  code: string;
  message: string;
  field?: string;
}

/** A handle returned by `upload`, valid for `send` on the same account. */
export interface UploadedFile {
  ref: string;
  fileName: string;
  mimeType: string;
}

export interface SendResult {
  /** The messenger's message id, recorded for dedupe and delivery updates. */
  externalId: string;
}

/**
 * A send failure. `retryable: false` marks a permanent failure (blocked by the user, chat not found) that
 * goes straight to the `failed` state; `retryAfterMs` honours a messenger's flood wait (HTTP 429).
 */
export class MessengerError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'MessengerError';
  }
}

/** Per-account outbound limits the engine's queue honours. */
export interface RateLimits {
  /** Messages per second over the whole account. */
  perSecond: number;
  /** Minimum milliseconds between two messages to the same peer. */
  perPeerIntervalMs: number;
}

export interface MessengerAdapter {
  readonly kind: MessengerKind;
  /** Our account's id (unique across adapters). */
  readonly accountId: string;
  readonly limits: RateLimits;
  /**
   * Set on an employee's own (personal) account, e.g. his Telegram (C9): his extension. Chats on it are his
   * from the start (in work, he is responsible), never in anyone's queue, reopen to him, and do not go to
   * the queue when he is away or leaves. Absent on shared company accounts (bots, company numbers).
   */
  readonly owner?: string;
  /**
   * A personal account's intake: `all` (default) takes in every private chat; `known` only chats already in
   * Telefonist (started from it, or stored before) and peers whose phone the 1C directory knows; the rest
   * (his friends) is not stored at all.
   */
  readonly intake?: 'all' | 'known';
  /** Connect and begin delivering inbound events to `sink` (webhook, polling, MTProto updates…). */
  start(sink: InboundSink): Promise<void>;
  stop(): Promise<void>;
  /** Send text, or a file with an optional caption. Throws MessengerError. */
  send(message: OutboundMessage): Promise<SendResult>;
  /**
   * Upload a file ahead of sending when the messenger has a separate upload step (WhatsApp media, MTProto);
   * adapters that upload within `send` (Telegram bot, multipart) omit it and the engine passes `file`.
   */
  upload?(file: MessengerFile): Promise<UploadedFile>;
  /** Fetch the bytes of a file referenced by an inbound message. */
  download(file: InboundFileRef): Promise<MessengerFile>;
  /** Whether a phone number can be written to in this messenger, before the first message. */
  checkPhone(phone: string): Promise<ReachabilityResult>;
  /**
   * Optional: a messenger rule that refuses a message before it is queued (WhatsApp Cloud's 24-hour
   * customer service window: free text outside it needs a template). null: the message may go.
   */
  checkOutbound?(check: OutboundCheck): Promise<OutboundRefusal | null>;
}
