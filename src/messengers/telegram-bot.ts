import { Telegraf, Input, TelegramError } from 'telegraf';
import type { Update, Message } from 'telegraf/types';
import {
  InboundFileRef, InboundSink, MessengerAdapter, MessengerError, MessengerFile, OutboundMessage, RateLimits, ReachabilityResult, SendResult,
} from './adapter';
import { sameSecret } from './secret';

export interface TelegramBotAccount {
  /** Our account id (path segment of the webhook). */
  id: string;
  token: string;
  /** The webhook's secret token (X-Telegram-Bot-Api-Secret-Token); required in webhook mode. */
  secret?: string;
  /** webhook (default): Telegram posts updates to us; polling: we ask (getUpdates), for hosts Telegram cannot reach. */
  mode?: 'webhook' | 'polling';
}

export interface TelegramBotOptions {
  /** The Bot API's root (tests and a local Bot API server); default https://api.telegram.org. */
  apiRoot?: string;
  /** Our public base URL: when set, the webhook is registered with Telegram on start (setWebhook). */
  publicUrl?: string;
  limits?: RateLimits;
}

/** Telegram's documented limits for bots: about 30 messages/s overall, 1 message/s in one chat. */
export const TELEGRAM_BOT_LIMITS: RateLimits = { perSecond: 30, perPeerIntervalMs: 1000 };

export const BOT_CANNOT_WRITE_FIRST =
  'A Telegram bot cannot check whether a phone number is on Telegram and cannot write first to a phone: the customer must open the bot first (a t.me link with ?start=…); then the chat is continued by the number they shared';

/** Caption limit of sendPhoto / sendDocument. */
const CAPTION_MAX = 1024;

/**
 * A Telegram bot through telegraf 4.16 (Bot API 7.1): webhook (with the secret token) or long polling,
 * text, photos and documents both ways, `/start <payload>` deep links carrying a 1C reference. What it
 * cannot do (see docs/decisions.md): check a phone, write first, read receipts (bots get none), Telegram
 * Business updates (Bot API 7.2+).
 */
export class TelegramBotAdapter implements MessengerAdapter {
  readonly kind = 'telegram';
  readonly accountId: string;
  readonly limits: RateLimits;
  readonly bot: Telegraf;
  private sink: InboundSink | null = null;
  private polling = false;
  /** The bot's @username once known (getMe): 1C builds t.me/<username>?start=<ref> from it. */
  username: string | null = null;

  constructor(
    readonly account: TelegramBotAccount,
    private readonly opts: TelegramBotOptions = {},
  ) {
    this.accountId = account.id;
    this.limits = opts.limits ?? TELEGRAM_BOT_LIMITS;
    this.bot = new Telegraf(account.token, { telegram: { apiRoot: opts.apiRoot ?? 'https://api.telegram.org', webhookReply: false } });
    this.bot.catch((err) => {
      throw err;
    });
    this.bot.on('message', (ctx) => this.onMessage(ctx.message as Message));
    this.bot.on('edited_message', async (ctx) => {
      const m = ctx.editedMessage as Message & { text?: string; caption?: string };
      await this.push({ kind: 'edit', accountId: this.accountId, peerId: String(m.chat.id), externalId: String(m.message_id), text: m.text ?? m.caption ?? '' });
    });
  }

  get mode(): 'webhook' | 'polling' {
    return this.account.mode ?? 'webhook';
  }

  async start(sink: InboundSink): Promise<void> {
    this.sink = sink;
    // Telegram may be unreachable (or slow to fail behind a firewall): the server starts anyway; the
    // webhook keeps working and getMe is retried by telegraf on the first update.
    this.ready = this.connect().catch(() => undefined);
  }

  /** Resolves once getMe / setWebhook / polling have been tried (tests, diagnostics). */
  ready: Promise<void> = Promise.resolve();

  private async connect(): Promise<void> {
    try {
      const me = await this.bot.telegram.getMe();
      this.username = me.username ?? null;
      this.bot.botInfo = me;
    } catch {
      // retried by telegraf when an update arrives
    }
    if (!this.sink) return;
    if (this.mode === 'polling') {
      this.polling = true;
      void this.bot.launch({ dropPendingUpdates: false }).catch(() => {
        this.polling = false;
      });
    } else if (this.opts.publicUrl) {
      await this.bot.telegram.setWebhook(`${this.opts.publicUrl.replace(/\/$/, '')}/api/v1/messengers/telegram/${encodeURIComponent(this.accountId)}/webhook`, {
        secret_token: this.account.secret,
        allowed_updates: ['message', 'edited_message'],
      }).catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.sink = null;
    // Not for longer than 2 s: a getMe hanging behind a firewall must not hold the shutdown.
    await Promise.race([this.ready, new Promise((r) => setTimeout(r, 2000).unref())]);
    if (this.polling) {
      this.polling = false;
      try {
        this.bot.stop('stop');
      } catch {
        // not running
      }
    }
    this.sink = null;
  }

  /** Whether a webhook request carries our secret (constant time). */
  checkSecret(header: string | undefined): boolean {
    if (!this.account.secret || typeof header !== 'string') return false;
    return sameSecret(header, this.account.secret);
  }

  /** One webhook update: resolves once the engine stored it (so a failure makes Telegram retry). */
  handleUpdate(update: Update): Promise<void> {
    return this.bot.handleUpdate(update);
  }

  private async push(e: Parameters<InboundSink>[0]): Promise<void> {
    if (!this.sink) throw new Error(`telegram bot ${this.accountId} is not started`);
    await this.sink(e);
  }

  private async onMessage(m: Message): Promise<void> {
    const msg = m as Message & {
      text?: string; caption?: string; photo?: Array<{ file_id: string; file_size?: number; width: number }>;
      document?: { file_id: string; file_name?: string; mime_type?: string; file_size?: number };
      contact?: { phone_number: string; user_id?: number };
      from?: { id: number; first_name?: string; last_name?: string; username?: string };
      chat: { id: number; type: string; first_name?: string; last_name?: string; username?: string; title?: string };
    };
    if (msg.chat.type !== 'private') return;
    const files: InboundFileRef[] = [];
    if (msg.photo?.length) {
      const best = msg.photo[msg.photo.length - 1];
      files.push({ ref: best.file_id, fileName: `photo_${msg.message_id}.jpg`, mimeType: 'image/jpeg', size: best.file_size });
    }
    if (msg.document) files.push({ ref: msg.document.file_id, fileName: msg.document.file_name, mimeType: msg.document.mime_type, size: msg.document.file_size });
    let text = msg.text ?? msg.caption;
    let reference: string | undefined;
    const start = text ? /^\/start(?:@\S+)?(?:\s+(\S+))?\s*$/.exec(text) : null;
    if (start) reference = start[1] ? decodeStartPayload(start[1]) : undefined;
    // A contact the customer shared about themself gives us their phone (bots learn it no other way).
    const phone = msg.contact && msg.contact.user_id === msg.from?.id ? normalizePhone(msg.contact.phone_number) : undefined;
    if (!text && msg.contact) text = `📞 ${msg.contact.phone_number}`;
    const name = [msg.chat.first_name, msg.chat.last_name].filter(Boolean).join(' ') || msg.chat.title;
    await this.push({
      kind: 'message',
      accountId: this.accountId,
      peer: { peerId: String(msg.chat.id), userId: msg.from ? String(msg.from.id) : undefined, displayName: name, username: msg.chat.username, phone },
      externalId: String(msg.message_id),
      at: new Date(msg.date * 1000),
      text,
      files,
      reference,
    });
  }

  async send(m: OutboundMessage): Promise<SendResult> {
    const chatId = m.peerId;
    try {
      if (!m.file) {
        const r = await this.bot.telegram.sendMessage(chatId, m.text ?? '');
        return { externalId: String(r.message_id) };
      }
      let caption = m.text;
      if (caption && caption.length > CAPTION_MAX) {
        // Longer than a caption may be: the text goes first as its own message.
        await this.bot.telegram.sendMessage(chatId, caption);
        caption = undefined;
      }
      const input = Input.fromBuffer(m.file.bytes, m.file.fileName);
      const photo = (m.file.mimeType === 'image/jpeg' || m.file.mimeType === 'image/png') && m.file.bytes.length <= 10 * 1024 * 1024;
      const r = photo
        ? await this.bot.telegram.sendPhoto(chatId, input, caption ? { caption } : {})
        : await this.bot.telegram.sendDocument(chatId, input, caption ? { caption } : {});
      return { externalId: String(r.message_id) };
    } catch (e) {
      throw toMessengerError(e);
    }
  }

  async download(f: InboundFileRef): Promise<MessengerFile> {
    try {
      const url = await this.bot.telegram.getFileLink(f.ref);
      const res = await fetch(url);
      if (!res.ok) throw new MessengerError(`file download answered ${res.status}`, true);
      const bytes = Buffer.from(await res.arrayBuffer());
      return { bytes, fileName: f.fileName ?? 'file', mimeType: f.mimeType ?? 'application/octet-stream' };
    } catch (e) {
      throw toMessengerError(e);
    }
  }

  async checkPhone(_phone: string): Promise<ReachabilityResult> {
    return { reachable: 'unknown', canWriteFirst: false, reason: BOT_CANNOT_WRITE_FIRST };
  }
}

/** A /start payload: Telegram allows [A-Za-z0-9_-]{1,64}; 1C may base64url-encode a reference with other characters. */
export function decodeStartPayload(p: string): string {
  if (p.startsWith('b64_')) {
    try {
      return Buffer.from(p.slice(4), 'base64url').toString('utf8');
    } catch {
      return p;
    }
  }
  return p;
}

function normalizePhone(p: string): string {
  const d = p.replace(/[^0-9]/g, '');
  return `+${d}`;
}

function toMessengerError(e: unknown): MessengerError {
  if (e instanceof MessengerError) return e;
  if (e instanceof TelegramError) {
    const code = e.response.error_code;
    const retryAfter = e.response.parameters?.retry_after;
    if (code === 429) return new MessengerError(e.response.description, true, (retryAfter ?? 1) * 1000);
    if (code >= 500) return new MessengerError(e.response.description, true);
    return new MessengerError(`Telegram: ${e.response.description}`, false);
  }
  return new MessengerError((e as Error).message ?? String(e), true);
}
