import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  InboundFileRef, InboundSink, MessengerAdapter, MessengerError, MessengerFile, OutboundCheck, OutboundMessage, OutboundRefusal,
  RateLimits, ReachabilityResult, SendResult, UploadedFile,
} from './adapter';
import { sameSecret } from './secret';
import { countParams, WhatsappTemplate, WhatsappTemplateMapping, WhatsappTemplates } from './whatsapp-templates';

export interface WhatsappCloudAccount {
  id: string;
  kind: 'cloud';
  /** The business phone number's id in Graph (messages and media go to /{phoneNumberId}/…). */
  phoneNumberId: string;
  /** The WhatsApp Business Account id (its template catalogue: /{wabaId}/message_templates). */
  wabaId: string;
  /** A system user's access token with whatsapp_business_messaging (and _management for templates). */
  accessToken: string;
  /** The Meta app's secret: every webhook POST is signed with it (X-Hub-Signature-256). */
  appSecret: string;
  /** The verify token typed into the app's webhook settings (GET hub.verify_token). */
  verifyToken: string;
}

export interface WhatsappCloudOptions {
  /** Graph's root, default https://graph.facebook.com (tests: a local fake). */
  graphRoot?: string;
  /** Graph API version, default v21.0. */
  version?: string;
  limits?: RateLimits;
  /** Clock (tests of the 24-hour window). */
  now?: () => number;
}

/** The customer service window: free-form messages only within 24 hours after the customer's last message. */
export const SERVICE_WINDOW_MS = 24 * 3600_000;

/** Cloud API throughput is 80 messages/s per number by default; one message per 6 s to one user is Meta's pair rate guidance, we allow 1/s. */
export const WHATSAPP_CLOUD_LIMITS: RateLimits = { perSecond: 80, perPeerIntervalMs: 1000 };

/** Whether a chat may get free-form messages now, and until when (null: the customer has not written). */
export interface ServiceWindow {
  open: boolean;
  closesAt: string | null;
}

/** The window after the customer's last message at `lastInboundAt`, as of `now`. */
export function serviceWindow(lastInboundAt: Date | null, now: number): ServiceWindow {
  if (!lastInboundAt) return { open: false, closesAt: null };
  const closes = lastInboundAt.getTime() + SERVICE_WINDOW_MS;
  return { open: now < closes, closesAt: new Date(closes).toISOString() };
}

/** Whether a mapped WhatsApp template has a DOCUMENT header (a file can travel in it). */
export function hasDocumentHeader(m: WhatsappTemplateMapping): boolean {
  return (m.header ?? '').toUpperCase() === 'DOCUMENT';
}

export const CLOUD_CANNOT_CHECK =
  'The WhatsApp Cloud API has no check whether a number is on WhatsApp: the first message (an approved template) is sent, and if the number cannot get it, it comes back as a failed delivery with the reason';

/**
 * Ids this adapter sent in the last minute. A status can arrive before the outbox has stored the id that
 * `send` returned (Meta is quick); such a status is pushed once more a moment later (harmless: delivery
 * states only move forward).
 */
export class RecentSends {
  private readonly ids = new Map<string, number>();
  add(id: string): void {
    const now = Date.now();
    this.ids.set(id, now);
    if (this.ids.size > 10_000) for (const [k, t] of this.ids) if (now - t > 60_000 || this.ids.size > 10_000) this.ids.delete(k);
  }
  /** Whether `id` was sent less than a minute ago. */
  has(id: string): boolean {
    const t = this.ids.get(id);
    return t !== undefined && Date.now() - t < 60_000;
  }
}

/** Pushes a delivery event, and once more after `againMs` when it is about a message this adapter sent within the last minute. */
export async function pushDelivery(sink: () => InboundSink | null, recent: RecentSends, e: Parameters<InboundSink>[0] & { kind: 'delivery' }, againMs = 1500): Promise<void> {
  const s = sink();
  if (!s) return;
  await s(e);
  // Decided later: the status may have come while `send` was still waiting for the answer with its id.
  setTimeout(() => {
    const later = sink();
    if (later && recent.has(e.externalId)) later(e).catch(() => undefined);
  }, againMs).unref();
}

/** Graph error codes worth a retry (rate limits, temporary errors). */
const RETRYABLE = new Set([1, 2, 4, 17, 80007, 130429, 131000, 131016, 131056, 133004]);

interface GraphError {
  error?: { message?: string; code?: number; error_subcode?: number; error_data?: { details?: string } };
}

/**
 * WhatsApp Business Cloud API (Graph): text, approved templates (mapped from ours), images and documents
 * (uploaded to /{phone-number-id}/media, then sent by id), inbound media downloaded by id (the URL, then a
 * bearer GET), delivery and read statuses, webhook verification and signatures. The 24-hour customer
 * service window is enforced before queueing (checkOutbound → 422 template_required).
 */
export class WhatsappCloudAdapter implements MessengerAdapter {
  readonly kind = 'whatsapp';
  readonly accountId: string;
  readonly limits: RateLimits;
  private sink: InboundSink | null = null;
  private readonly base: string;
  private readonly now: () => number;
  readonly stats = { webhooks: 0, rejected: 0 };
  private readonly recent = new RecentSends();
  /** Resolves once the template catalogue sync on start has been tried. */
  ready: Promise<void> = Promise.resolve();

  constructor(
    readonly account: WhatsappCloudAccount,
    readonly templates: WhatsappTemplates,
    opts: WhatsappCloudOptions = {},
  ) {
    this.accountId = account.id;
    this.limits = opts.limits ?? WHATSAPP_CLOUD_LIMITS;
    this.base = `${(opts.graphRoot ?? 'https://graph.facebook.com').replace(/\/$/, '')}/${opts.version ?? 'v21.0'}`;
    this.now = opts.now ?? Date.now;
  }

  async start(sink: InboundSink): Promise<void> {
    this.sink = sink;
    // Graph may be unreachable: the server starts anyway; the catalogue can be synced later on demand.
    this.ready = this.syncTemplates().then(() => undefined, () => undefined);
  }

  async stop(): Promise<void> {
    this.sink = null;
    await Promise.race([this.ready, new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  // ---- webhook --------------------------------------------------------------------------------------

  /** GET verification: the challenge when mode and verify token match, else null (403). */
  verify(mode: unknown, token: unknown, challenge: unknown): string | null {
    if (mode !== 'subscribe' || typeof token !== 'string' || typeof challenge !== 'string') return null;
    return sameSecret(token, this.account.verifyToken) ? challenge : null;
  }

  /** Whether a POST's X-Hub-Signature-256 is HMAC-SHA256(app secret, raw body), in constant time. */
  checkSignature(raw: Buffer, header: string | undefined): boolean {
    if (typeof header !== 'string' || !/^sha256=[0-9a-fA-F]{64}$/.test(header)) return false;
    const want = createHmac('sha256', this.account.appSecret).update(raw).digest();
    return timingSafeEqual(want, Buffer.from(header.slice(7), 'hex'));
  }

  /** One verified webhook body: messages and statuses for our phone number; resolves once stored. */
  async handleWebhook(body: unknown): Promise<void> {
    if (!this.sink) throw new Error(`whatsapp account ${this.accountId} is not started`);
    this.stats.webhooks++;
    const b = body as { object?: string; entry?: Array<{ changes?: Array<{ field?: string; value?: CloudValue }> }> };
    for (const entry of b.entry ?? []) {
      for (const change of entry.changes ?? []) {
        const v = change.value;
        if (change.field !== 'messages' || !v) continue;
        if (v.metadata?.phone_number_id && v.metadata.phone_number_id !== this.account.phoneNumberId) continue;
        const names = new Map((v.contacts ?? []).map((c) => [c.wa_id, c.profile?.name]));
        for (const m of v.messages ?? []) await this.onMessage(m, names.get(m.from));
        for (const s of v.statuses ?? []) await this.onStatus(s);
      }
    }
  }

  private async onMessage(m: CloudMessage, name: string | undefined): Promise<void> {
    const files: InboundFileRef[] = [];
    let text: string | undefined;
    switch (m.type) {
      case 'text': text = m.text?.body; break;
      case 'image': case 'document': case 'audio': case 'video': case 'sticker': {
        const media = m[m.type]!;
        text = media.caption;
        const ext = (media.mime_type ?? '').split('/')[1]?.split(';')[0] ?? 'bin';
        files.push({ ref: media.id, fileName: media.filename ?? `${m.type}_${m.id.slice(-8)}.${ext}`, mimeType: media.mime_type });
        break;
      }
      case 'button': text = m.button?.text; break;
      case 'interactive': text = m.interactive?.button_reply?.title ?? m.interactive?.list_reply?.title; break;
      case 'location': text = `📍 ${m.location?.latitude}, ${m.location?.longitude}${m.location?.name ? ` ${m.location.name}` : ''}`; break;
      case 'contacts': text = `📇 ${(m.contacts ?? []).map((c) => c.name?.formatted_name).filter(Boolean).join(', ')}`; break;
      default: text = `(${m.type ?? 'unknown'} message: not supported)`;
    }
    await this.sink!({
      kind: 'message',
      accountId: this.accountId,
      peer: { peerId: m.from, userId: m.from, phone: `+${m.from}`, displayName: name },
      externalId: m.id,
      at: m.timestamp ? new Date(Number(m.timestamp) * 1000) : undefined,
      text,
      files,
    });
  }

  private async onStatus(s: CloudStatus): Promise<void> {
    if (s.status !== 'delivered' && s.status !== 'read' && s.status !== 'failed') return;
    const err = s.errors?.[0];
    const reason = s.status === 'failed'
      ? [err?.code ? `WhatsApp ${err.code}` : 'WhatsApp', err?.title, err?.error_data?.details ?? err?.message].filter(Boolean).join(': ')
      : undefined;
    await pushDelivery(() => this.sink, this.recent, {
      kind: 'delivery', accountId: this.accountId, peerId: s.recipient_id, externalId: s.id, state: s.status, reason,
      at: s.timestamp ? new Date(Number(s.timestamp) * 1000) : undefined,
    });
  }

  // ---- rules ----------------------------------------------------------------------------------------

  /** The customer service window of a chat whose customer last wrote at `lastInboundAt` (null: never). */
  serviceWindow(lastInboundAt: Date | null): ServiceWindow {
    return serviceWindow(lastInboundAt, this.now());
  }

  /**
   * The 24-hour window: free text and files only within it; templates (mapped for this account) always. A
   * file with a template outside the window needs a template with a DOCUMENT header (the file goes in it):
   * Meta refuses a separate free-form document there (131047), so the customer would get the text alone.
   */
  async checkOutbound(c: OutboundCheck): Promise<OutboundRefusal | null> {
    const open = this.serviceWindow(c.lastInboundAt).open;
    if (c.template) {
      const map = await this.templates.mapping(c.template, this.accountId);
      if (!map) {
        return {
          code: 'template_not_mapped',
          message: `template ${c.template} has no WhatsApp form for account ${this.accountId}: map it to an approved WhatsApp template (PUT /chat-templates/${c.template}/whatsapp/${this.accountId})`,
          field: 'template',
        };
      }
      if (c.hasFile && !open && !hasDocumentHeader(map)) {
        return {
          code: 'template_without_document_header',
          message: `a file outside the 24-hour window goes only in a template's DOCUMENT header: WhatsApp template ${map.waName} (${map.language}) mapped from ${c.template} has ${map.header ? `a ${map.header} header` : 'no header'}; map ${c.template} to an approved template with a DOCUMENT header (and sync the catalogue), or send the file after the customer writes`,
          field: 'file',
        };
      }
      return null;
    }
    if (open) return null;
    return {
      code: 'template_required',
      message: c.lastInboundAt
        ? `template needed: the customer last wrote at ${c.lastInboundAt.toISOString()}, more than 24 hours ago; WhatsApp accepts only an approved template outside the customer service window`
        : 'template needed: the customer has not written in this chat yet; WhatsApp accepts only an approved template as the first message',
      field: 'template',
    };
  }

  async checkPhone(phone: string): Promise<ReachabilityResult> {
    return { reachable: 'unknown', peerId: phone.replace(/[^0-9]/g, ''), canWriteFirst: true, reason: CLOUD_CANNOT_CHECK };
  }

  // ---- Graph ----------------------------------------------------------------------------------------

  private async graph<T>(path: string, init: RequestInit = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(path.startsWith('http') ? path : `${this.base}${path}`, {
        ...init,
        headers: { Authorization: `Bearer ${this.account.accessToken}`, ...(init.body && typeof init.body === 'string' ? { 'Content-Type': 'application/json' } : {}), ...init.headers },
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new MessengerError(`WhatsApp Graph unreachable: ${(e as Error).message}`, true);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = {};
    }
    if (res.ok) return body as T;
    const err = (body as GraphError).error;
    const detail = [err?.message, err?.error_data?.details].filter(Boolean).join(': ') || `HTTP ${res.status}`;
    const msg = `WhatsApp${err?.code ? ` ${err.code}` : ''}: ${detail}`;
    const retryAfter = Number(res.headers.get('retry-after'));
    if (res.status === 429 || res.status >= 500 || (err?.code !== undefined && RETRYABLE.has(err.code))) {
      throw new MessengerError(msg, true, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
    }
    throw new MessengerError(msg, false);
  }

  async upload(file: MessengerFile): Promise<UploadedFile> {
    const form = new FormData();
    form.set('messaging_product', 'whatsapp');
    form.set('type', file.mimeType);
    form.set('file', new Blob([file.bytes], { type: file.mimeType }), file.fileName);
    const r = await this.graph<{ id: string }>(`/${this.account.phoneNumberId}/media`, { method: 'POST', body: form });
    return { ref: r.id, fileName: file.fileName, mimeType: file.mimeType };
  }

  /**
   * One Graph message per call, so a retry never repeats a part and the stored id is the message's own. A
   * template with a file: in the template's DOCUMENT header when it has one (allowed outside the window);
   * otherwise (checkOutbound let it through only inside the window) the file with the rendered text as caption.
   */
  async send(m: OutboundMessage): Promise<SendResult> {
    const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to: m.peerId };
    let payload: Record<string, unknown>;
    const withFile = !!(m.file || m.uploaded);
    const map = m.template ? await this.templates.mapping(m.template.name, this.accountId) : null;
    if (m.template && !map) throw new MessengerError(`template ${m.template.name} has no WhatsApp form for account ${this.accountId}`, false);
    if (m.template && map && (!withFile || hasDocumentHeader(map))) {
      const components: Array<Record<string, unknown>> = [];
      if (withFile) {
        const up = m.uploaded ?? (await this.upload(m.file!));
        components.push({ type: 'header', parameters: [{ type: 'document', document: { id: up.ref, filename: up.fileName } }] });
      }
      const parameters = map.params.map((p) => ({ type: 'text', text: m.template!.vars[p] ?? '' }));
      if (parameters.length) components.push({ type: 'body', parameters });
      payload = { ...base, type: 'template', template: { name: map.waName, language: { code: map.language }, components } };
    } else if (withFile) {
      const up = m.uploaded ?? (await this.upload(m.file!));
      const image = (up.mimeType === 'image/jpeg' || up.mimeType === 'image/png') && (!m.file || m.file.bytes.length <= 5 * 1024 * 1024);
      payload = image
        ? { ...base, type: 'image', image: { id: up.ref, ...(m.text ? { caption: m.text } : {}) } }
        : { ...base, type: 'document', document: { id: up.ref, filename: up.fileName, ...(m.text ? { caption: m.text } : {}) } };
    } else {
      payload = { ...base, type: 'text', text: { body: m.text ?? '', preview_url: false } };
    }
    return this.sendOne(payload);
  }

  private async sendOne(payload: Record<string, unknown>): Promise<SendResult> {
    const r = await this.graph<{ messages?: Array<{ id: string }> }>(`/${this.account.phoneNumberId}/messages`, { method: 'POST', body: JSON.stringify(payload) });
    const id = r.messages?.[0]?.id;
    if (!id) throw new MessengerError('WhatsApp answered without a message id', true);
    this.recent.add(id);
    return { externalId: id };
  }

  /** A media id → its URL (valid ~5 minutes) → the bytes, both with the bearer token. */
  async download(f: InboundFileRef): Promise<MessengerFile> {
    const meta = await this.graph<{ url?: string; mime_type?: string }>(`/${encodeURIComponent(f.ref)}`);
    if (!meta.url) throw new MessengerError(`WhatsApp media ${f.ref} has no URL`, true);
    let res: Response;
    try {
      res = await fetch(meta.url, { headers: { Authorization: `Bearer ${this.account.accessToken}` }, signal: AbortSignal.timeout(60_000) });
    } catch (e) {
      throw new MessengerError(`WhatsApp media download failed: ${(e as Error).message}`, true);
    }
    if (!res.ok) throw new MessengerError(`WhatsApp media download answered ${res.status}`, true);
    return { bytes: Buffer.from(await res.arrayBuffer()), fileName: f.fileName ?? 'file', mimeType: meta.mime_type ?? f.mimeType ?? 'application/octet-stream' };
  }

  /** GET /{waba-id}/message_templates (all pages) → the account's catalogue. */
  async syncTemplates(): Promise<WhatsappTemplate[]> {
    const out: WhatsappTemplate[] = [];
    let next: string | undefined = `/${this.account.wabaId}/message_templates?limit=100&fields=name,language,status,category,components`;
    for (let page = 0; next && page < 100; page++) {
      const r: { data?: Array<{ name: string; language: string; status: string; category?: string; components?: Array<{ type: string; text?: string; format?: string }> }>; paging?: { next?: string } } =
        await this.graph(next);
      for (const t of r.data ?? []) {
        const body = t.components?.find((c) => c.type.toUpperCase() === 'BODY')?.text ?? null;
        const head = t.components?.find((c) => c.type.toUpperCase() === 'HEADER');
        // Meta writes the header's format; a header without one is a text header.
        const header = head ? (head.format ?? 'TEXT').toUpperCase() : null;
        out.push({ name: t.name, language: t.language, status: t.status, category: t.category ?? null, body, params: countParams(body), header });
      }
      next = r.paging?.next;
    }
    await this.templates.replaceCatalogue(this.accountId, out);
    return out;
  }
}

interface CloudMedia { id: string; mime_type?: string; caption?: string; filename?: string; sha256?: string }
interface CloudMessage {
  from: string;
  id: string;
  timestamp?: string;
  type?: string;
  text?: { body: string };
  image?: CloudMedia; document?: CloudMedia; audio?: CloudMedia; video?: CloudMedia; sticker?: CloudMedia;
  button?: { text?: string };
  interactive?: { button_reply?: { title?: string }; list_reply?: { title?: string } };
  location?: { latitude?: number; longitude?: number; name?: string };
  contacts?: Array<{ name?: { formatted_name?: string } }>;
}
interface CloudStatus {
  id: string;
  status: string;
  timestamp?: string;
  recipient_id: string;
  errors?: Array<{ code?: number; title?: string; message?: string; error_data?: { details?: string } }>;
}
interface CloudValue {
  metadata?: { phone_number_id?: string };
  contacts?: Array<{ wa_id: string; profile?: { name?: string } }>;
  messages?: CloudMessage[];
  statuses?: CloudStatus[];
}

export { sameSecret };
