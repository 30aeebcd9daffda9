import {
  InboundFileRef, InboundSink, MessengerAdapter, MessengerError, MessengerFile, OutboundMessage, RateLimits, ReachabilityResult, SendResult,
} from './adapter';
import { pushDelivery, RecentSends, sameSecret } from './whatsapp-cloud';
import { countParams, WhatsappTemplates } from './whatsapp-templates';

export interface WhatsappGatewayAccount {
  id: string;
  kind: 'gateway';
  /** The gateway's API root, e.g. https://api.green-api.com (or the host of an instance: https://7103.api.green-api.com). */
  apiUrl: string;
  idInstance: string;
  apiTokenInstance: string;
  /** What the gateway sends in `Authorization: Bearer …` on its webhook (green-api: webhookUrlToken). */
  webhookToken: string;
  /** Texts installers keep for this number (a linked device has no approved templates): the catalogue shown for mapping. */
  templates?: Array<{ name: string; language: string; body: string }>;
}

/** A linked device is an ordinary phone: stay well below what gets a number banned. */
export const WHATSAPP_GATEWAY_LIMITS: RateLimits = { perSecond: 5, perPeerIntervalMs: 1000 };

/**
 * A linked-device WhatsApp gateway with a green-api-shaped REST API: `checkWhatsapp` gives a yes/no
 * before the first message, `sendMessage` / `sendFileByUpload` send, its webhook (authenticated with the
 * token we configure) brings messages, files (by download URL) and statuses. No 24-hour window: a linked
 * device writes like a phone does.
 */
export class WhatsappGatewayAdapter implements MessengerAdapter {
  readonly kind = 'whatsapp';
  readonly accountId: string;
  readonly limits: RateLimits;
  private sink: InboundSink | null = null;
  private readonly root: string;
  private readonly recent = new RecentSends();

  constructor(
    readonly account: WhatsappGatewayAccount,
    readonly templates: WhatsappTemplates,
    opts: { limits?: RateLimits } = {},
  ) {
    this.accountId = account.id;
    this.limits = opts.limits ?? WHATSAPP_GATEWAY_LIMITS;
    this.root = account.apiUrl.replace(/\/$/, '');
  }

  async start(sink: InboundSink): Promise<void> {
    this.sink = sink;
    await this.syncTemplates();
  }

  async stop(): Promise<void> {
    this.sink = null;
  }

  /** The configured texts become this account's catalogue (all "APPROVED": nobody approves them). */
  async syncTemplates() {
    const items = (this.account.templates ?? []).map((t) => ({ name: t.name, language: t.language, status: 'APPROVED', category: null, body: t.body, params: countParams(t.body) }));
    await this.templates.replaceCatalogue(this.accountId, items);
    return items;
  }

  /** The webhook's `Authorization: Bearer <webhookToken>`, in constant time. */
  checkAuth(header: string | undefined): boolean {
    if (typeof header !== 'string') return false;
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    return !!m && sameSecret(m[1], this.account.webhookToken);
  }

  private url(method: string): string {
    return `${this.root}/waInstance${encodeURIComponent(this.account.idInstance)}/${method}/${encodeURIComponent(this.account.apiTokenInstance)}`;
  }

  private async call<T>(method: string, body: string | FormData, json = true): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.url(method), { method: 'POST', body, headers: json ? { 'Content-Type': 'application/json' } : {}, signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      throw new MessengerError(`WhatsApp gateway unreachable: ${(e as Error).message}`, true);
    }
    const text = await res.text();
    if (res.ok) {
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new MessengerError(`WhatsApp gateway ${method}: not JSON`, true);
      }
    }
    const retryAfter = Number(res.headers.get('retry-after'));
    const msg = `WhatsApp gateway ${method} answered ${res.status}: ${text.slice(0, 300)}`;
    if (res.status === 429 || res.status >= 500) throw new MessengerError(msg, true, retryAfter > 0 ? retryAfter * 1000 : undefined);
    throw new MessengerError(msg, false);
  }

  async checkPhone(phone: string): Promise<ReachabilityResult> {
    const digits = phone.replace(/[^0-9]/g, '');
    const r = await this.call<{ existsWhatsapp?: boolean }>('checkWhatsapp', JSON.stringify({ phoneNumber: Number(digits) }));
    if (r.existsWhatsapp === true) return { reachable: 'yes', peerId: `${digits}@c.us`, canWriteFirst: true };
    if (r.existsWhatsapp === false) return { reachable: 'no', reason: `${phone} is not registered in WhatsApp` };
    return { reachable: 'unknown', canWriteFirst: false, reason: 'the WhatsApp gateway did not say whether the number is on WhatsApp' };
  }

  /**
   * The text a message goes out with: from one of our templates mapped for this account, the gateway's own
   * configured text (its catalogue) with {{1}}, {{2}} … filled from the mapped placeholders; otherwise (no
   * mapping, or the text no longer configured) our rendered text.
   */
  async textOf(m: OutboundMessage): Promise<string | undefined> {
    if (!m.template) return m.text;
    const map = await this.templates.mapping(m.template.name, this.accountId);
    if (!map) return m.text;
    const own = (await this.templates.catalogue(this.accountId)).find((t) => t.name === map.waName && t.language === map.language);
    if (!own?.body) return m.text;
    return fillParams(own.body, map.params.map((p) => m.template!.vars[p] ?? ''));
  }

  async send(m: OutboundMessage): Promise<SendResult> {
    const text = await this.textOf(m);
    if (!m.file) {
      const r = await this.call<{ idMessage?: string }>('sendMessage', JSON.stringify({ chatId: m.peerId, message: text ?? '' }));
      if (!r.idMessage) throw new MessengerError('the WhatsApp gateway answered without idMessage', true);
      this.recent.add(r.idMessage);
      return { externalId: r.idMessage };
    }
    const form = new FormData();
    form.set('chatId', m.peerId);
    form.set('fileName', m.file.fileName);
    if (text) form.set('caption', text);
    form.set('file', new Blob([m.file.bytes], { type: m.file.mimeType }), m.file.fileName);
    const r = await this.call<{ idMessage?: string }>('sendFileByUpload', form, false);
    if (!r.idMessage) throw new MessengerError('the WhatsApp gateway answered without idMessage', true);
    this.recent.add(r.idMessage);
    return { externalId: r.idMessage };
  }

  async download(f: InboundFileRef): Promise<MessengerFile> {
    let res: Response;
    try {
      res = await fetch(f.ref, { signal: AbortSignal.timeout(60_000) });
    } catch (e) {
      throw new MessengerError(`WhatsApp gateway file download failed: ${(e as Error).message}`, true);
    }
    if (!res.ok) throw new MessengerError(`WhatsApp gateway file download answered ${res.status}`, true);
    return { bytes: Buffer.from(await res.arrayBuffer()), fileName: f.fileName ?? 'file', mimeType: f.mimeType ?? 'application/octet-stream' };
  }

  /** One authenticated webhook notification; resolves once stored. Groups and unknown kinds are skipped. */
  async handleWebhook(body: unknown): Promise<void> {
    if (!this.sink) throw new Error(`whatsapp account ${this.accountId} is not started`);
    const b = body as GatewayHook;
    if (b.instanceData?.idInstance !== undefined && String(b.instanceData.idInstance) !== String(this.account.idInstance)) return;
    if (b.typeWebhook === 'incomingMessageReceived' && b.senderData && b.idMessage) {
      const chatId = b.senderData.chatId;
      if (!chatId.endsWith('@c.us')) return;
      const d = b.messageData ?? {};
      let text: string | undefined;
      const files: InboundFileRef[] = [];
      if (d.typeMessage === 'textMessage') text = d.textMessageData?.textMessage;
      else if (d.typeMessage === 'extendedTextMessage') text = d.extendedTextMessageData?.text;
      else if (d.fileMessageData?.downloadUrl) {
        text = d.fileMessageData.caption || undefined;
        files.push({ ref: d.fileMessageData.downloadUrl, fileName: d.fileMessageData.fileName, mimeType: d.fileMessageData.mimeType });
      } else text = `(${d.typeMessage ?? 'unknown'} message: not supported)`;
      const digits = chatId.replace(/@.*$/, '');
      await this.sink({
        kind: 'message', accountId: this.accountId,
        peer: { peerId: chatId, userId: b.senderData.sender ?? chatId, phone: /^[0-9]{6,15}$/.test(digits) ? `+${digits}` : undefined, displayName: b.senderData.senderContactName || b.senderData.senderName || undefined },
        externalId: b.idMessage, at: b.timestamp ? new Date(b.timestamp * 1000) : undefined, text, files,
      });
    } else if (b.typeWebhook === 'outgoingMessageStatus' && b.chatId && b.idMessage) {
      const s = b.status;
      const state = s === 'delivered' ? 'delivered' : s === 'read' ? 'read' : s === 'failed' || s === 'noAccount' || s === 'notInGroup' ? 'failed' : null;
      if (!state) return;
      await pushDelivery(() => this.sink, this.recent, {
        kind: 'delivery', accountId: this.accountId, peerId: b.chatId, externalId: b.idMessage, state,
        reason: state === 'failed' ? (s === 'noAccount' ? 'the number is not on WhatsApp' : b.description ?? 'the gateway could not deliver it') : undefined,
        at: b.timestamp ? new Date(b.timestamp * 1000) : undefined,
      });
    }
  }
}

interface GatewayHook {
  typeWebhook?: string;
  instanceData?: { idInstance?: number | string };
  timestamp?: number;
  idMessage?: string;
  chatId?: string;
  status?: string;
  description?: string;
  senderData?: { chatId: string; sender?: string; senderName?: string; senderContactName?: string };
  messageData?: {
    typeMessage?: string;
    textMessageData?: { textMessage?: string };
    extendedTextMessageData?: { text?: string };
    fileMessageData?: { downloadUrl?: string; caption?: string; fileName?: string; mimeType?: string };
  };
}

/** A template text with its parameters filled: {{1}} is values[0] …; named ones ({{name}}) in order of first appearance. */
export function fillParams(body: string, values: string[]): string {
  const named: string[] = [];
  return body.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (all, name: string) => {
    if (/^\d+$/.test(name)) return values[Number(name) - 1] ?? all;
    if (!named.includes(name)) named.push(name);
    return values[named.indexOf(name)] ?? all;
  });
}
