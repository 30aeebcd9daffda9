import { createHmac } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** A multipart/form-data body, parsed just enough for the fakes (fields and one file). */
export async function readMultipart(req: IncomingMessage, raw: Buffer): Promise<{ fields: Record<string, string>; file?: { name: string; type: string; bytes: Buffer } }> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(req.headers['content-type'] ?? '');
  const fields: Record<string, string> = {};
  let file: { name: string; type: string; bytes: Buffer } | undefined;
  if (!boundary) return { fields };
  const sep = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  let pos = raw.indexOf(sep);
  while (pos >= 0) {
    const next = raw.indexOf(sep, pos + sep.length);
    if (next < 0) break;
    const part = raw.subarray(pos + sep.length + 2, next - 2);
    const headEnd = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, headEnd).toString('utf8');
    const body = part.subarray(headEnd + 4);
    const name = /name="([^"]*)"/.exec(head)?.[1] ?? '';
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    if (filename !== undefined) file = { name: filename, type: /Content-Type:\s*(\S+)/i.exec(head)?.[1] ?? '', bytes: Buffer.from(body) };
    else fields[name] = body.toString('utf8');
    pos = next;
  }
  return { fields, file };
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

abstract class FakeServer {
  private server: Server | null = null;
  port = 0;
  get root(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  protected abstract handle(req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void>;
  async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      body(req).then((raw) => this.handle(req, raw, res)).catch((e) => {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: String(e) } }));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as AddressInfo).port;
  }
  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections?.();
  }
}

const json = (res: ServerResponse, status: number, b: unknown) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(b));
};

export interface GraphSent {
  to: string;
  type: string;
  text?: string;
  template?: { name: string; language: string; params: string[]; header?: { type: string; document?: { id: string; filename?: string } } };
  media?: { id: string; caption?: string; filename?: string };
  id: string;
}

/**
 * A local fake of the WhatsApp Cloud API (Graph): POST /{phone-id}/messages, POST /{phone-id}/media
 * (multipart), GET /{media-id} → {url}, the URL itself (bearer checked), GET /{waba-id}/message_templates
 * with two pages. Like Meta, it refuses a free-form message (anything but a template) to a customer who has
 * not written within 24 hours (error 131047); it learns when a customer wrote from the webhooks the tests post
 * (`observe`) or `customerWrote`.
 */
export class FakeGraph extends FakeServer {
  readonly sent: GraphSent[] = [];
  readonly media = new Map<string, { bytes: Buffer; type: string; name: string }>();
  readonly unauthorized: string[] = [];
  templates = [
    { name: 'order_ready', language: 'ru', status: 'APPROVED', category: 'UTILITY', components: [{ type: 'HEADER', text: 'Заказ' }, { type: 'BODY', text: 'Здравствуйте, {{1}}! Заказ {{2}} готов.' }] },
    { name: 'hello', language: 'ru', status: 'APPROVED', category: 'MARKETING', components: [{ type: 'BODY', text: 'Здравствуйте! Чем помочь?' }] },
    { name: 'draft_one', language: 'en_US', status: 'PENDING', category: 'UTILITY', components: [{ type: 'BODY', text: 'Hi {{1}}' }] },
    { name: 'invoice_doc', language: 'ru', status: 'APPROVED', category: 'UTILITY', components: [{ type: 'HEADER', format: 'DOCUMENT' }, { type: 'BODY', text: 'Счёт № {{1}} на {{2}}.' }] },
  ];
  /** When each customer (wa_id) last wrote, ms. */
  readonly lastInbound = new Map<string, number>();
  /** The next POST …/messages is answered with this temporary error (then cleared). */
  failNext: { status: number; code: number; retryAfterS?: number } | null = null;
  /** Every POST …/messages, answered or not. */
  posts = 0;
  /** Free-form messages refused because the window was closed. */
  readonly refused: Array<{ to: string; type: string }> = [];
  /** Called before a message is answered (e.g. to post its status first, as Meta sometimes does). */
  onSend: ((s: GraphSent) => Promise<void>) | null = null;
  private n = 1;

  constructor(readonly token: string, readonly phoneNumberId: string, readonly wabaId: string) {
    super();
  }

  customerWrote(waId: string, atMs = Date.now()): void {
    this.lastInbound.set(waId, Math.max(atMs, this.lastInbound.get(waId) ?? 0));
  }

  /** Notes the customers' messages of a webhook body the test is about to post (Meta knows what it delivered). */
  observe(raw: string): void {
    const b = JSON.parse(raw);
    for (const e of b.entry ?? []) for (const c of e.changes ?? []) for (const m of c.value?.messages ?? []) this.customerWrote(m.from, Number(m.timestamp) * 1000);
  }

  addMedia(bytes: Buffer, type: string): string {
    const id = `media-${this.n++}`;
    this.media.set(id, { bytes, type, name: 'in' });
    return id;
  }

  protected async handle(req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.root);
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      this.unauthorized.push(url.pathname);
      return json(res, 401, { error: { message: 'Invalid OAuth access token', code: 190 } });
    }
    const parts = url.pathname.split('/').filter(Boolean); // [version, …]
    if (parts[1] === 'files' && req.method === 'GET') {
      const m = this.media.get(parts[2]);
      if (!m) return json(res, 404, {});
      res.writeHead(200, { 'Content-Type': m.type });
      res.end(m.bytes);
      return;
    }
    if (parts[1] === this.phoneNumberId && parts[2] === 'media' && req.method === 'POST') {
      const mp = await readMultipart(req, raw);
      if (mp.fields.messaging_product !== 'whatsapp' || !mp.file) return json(res, 400, { error: { message: 'bad upload', code: 100 } });
      const id = `media-${this.n++}`;
      this.media.set(id, { bytes: mp.file.bytes, type: mp.fields.type, name: mp.file.name });
      return json(res, 200, { id });
    }
    if (parts[1] === this.phoneNumberId && parts[2] === 'messages' && req.method === 'POST') {
      const b = JSON.parse(raw.toString('utf8'));
      if (b.messaging_product !== 'whatsapp') return json(res, 400, { error: { message: 'messaging_product', code: 100 } });
      this.posts++;
      if (this.failNext) {
        const f = this.failNext;
        this.failNext = null;
        res.writeHead(f.status, { 'Content-Type': 'application/json', ...(f.retryAfterS ? { 'Retry-After': String(f.retryAfterS) } : {}) });
        res.end(JSON.stringify({ error: { message: 'Service temporarily unavailable', code: f.code } }));
        return;
      }
      if (b.type !== 'template' && !(Date.now() - (this.lastInbound.get(b.to) ?? -Infinity) < 24 * 3600_000)) {
        this.refused.push({ to: b.to, type: b.type });
        return json(res, 400, { error: { message: '(#131047) Re-engagement message', type: 'OAuthException', code: 131047,
          error_data: { messaging_product: 'whatsapp', details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' } } });
      }
      const id = `wamid.OUT${this.n++}`;
      const s: GraphSent = { to: b.to, type: b.type, id };
      if (b.type === 'text') s.text = b.text.body;
      if (b.type === 'template') {
        const comps: any[] = b.template.components ?? [];
        const header = comps.find((c) => c.type === 'header')?.parameters?.[0];
        if (header?.type === 'document' && !this.media.has(header.document?.id)) return json(res, 400, { error: { message: 'unknown media', code: 131053 } });
        s.template = { name: b.template.name, language: b.template.language.code, params: (comps.find((c) => c.type === 'body')?.parameters ?? []).map((p: any) => p.text), ...(header ? { header } : {}) };
      }
      if (b.type === 'image' || b.type === 'document') {
        if (!this.media.has(b[b.type].id)) return json(res, 400, { error: { message: 'unknown media', code: 131053 } });
        s.media = b[b.type];
      }
      this.sent.push(s);
      if (this.onSend) await this.onSend(s);
      return json(res, 200, { messaging_product: 'whatsapp', contacts: [{ input: b.to, wa_id: b.to }], messages: [{ id }] });
    }
    if (parts[1] === this.wabaId && parts[2] === 'message_templates' && req.method === 'GET') {
      const after = Number(url.searchParams.get('after') ?? 0);
      const page = this.templates.slice(after, after + 2);
      const next = after + 2 < this.templates.length ? `${this.root}/${parts[0]}/${this.wabaId}/message_templates?limit=2&after=${after + 2}` : undefined;
      return json(res, 200, { data: page, paging: next ? { next } : {} });
    }
    if (parts.length === 2 && req.method === 'GET' && this.media.has(parts[1])) {
      const m = this.media.get(parts[1])!;
      return json(res, 200, { url: `${this.root}/${parts[0]}/files/${parts[1]}`, mime_type: m.type, file_size: m.bytes.length, id: parts[1] });
    }
    json(res, 404, { error: { message: `no ${req.method} ${url.pathname}`, code: 100 } });
  }
}

/** Meta's signature of a webhook body. */
export function sign(secret: string, raw: string): string {
  return `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
}

/** A Cloud API webhook body for one phone number id. */
export function cloudHook(phoneNumberId: string, value: { messages?: unknown[]; statuses?: unknown[]; contacts?: unknown[] }): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: 'WABA', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '74950000000', phone_number_id: phoneNumberId }, ...value } }] }],
  });
}

/**
 * A local fake of a green-api-like gateway: checkWhatsapp (numbers in `registered`), sendMessage,
 * sendFileByUpload (multipart), and downloadable files for inbound messages.
 */
export class FakeGateway extends FakeServer {
  readonly sent: Array<{ method: string; chatId: string; message?: string; caption?: string; file?: { name: string; bytes: Buffer }; idMessage: string }> = [];
  readonly checks: string[] = [];
  readonly registered = new Set<string>();
  readonly files = new Map<string, Buffer>();
  private n = 1;

  constructor(readonly idInstance: string, readonly token: string) {
    super();
  }

  addFile(bytes: Buffer): string {
    const id = `f${this.n++}`;
    this.files.set(id, bytes);
    return `${this.root}/download/${id}`;
  }

  protected async handle(req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.root);
    const dl = /^\/download\/(\w+)$/.exec(url.pathname);
    if (dl && req.method === 'GET') {
      const f = this.files.get(dl[1]);
      if (!f) return json(res, 404, {});
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(f);
      return;
    }
    const m = /^\/waInstance([^/]+)\/(\w+)\/([^/]+)$/.exec(url.pathname);
    if (!m || req.method !== 'POST') return json(res, 404, {});
    if (m[1] !== this.idInstance || decodeURIComponent(m[3]) !== this.token) return json(res, 401, { message: 'unauthorized' });
    if (m[2] === 'checkWhatsapp') {
      const b = JSON.parse(raw.toString('utf8'));
      this.checks.push(String(b.phoneNumber));
      return json(res, 200, { existsWhatsapp: this.registered.has(String(b.phoneNumber)) });
    }
    const idMessage = `GW${this.n++}`;
    if (m[2] === 'sendMessage') {
      const b = JSON.parse(raw.toString('utf8'));
      this.sent.push({ method: 'sendMessage', chatId: b.chatId, message: b.message, idMessage });
      return json(res, 200, { idMessage });
    }
    if (m[2] === 'sendFileByUpload') {
      const mp = await readMultipart(req, raw);
      this.sent.push({ method: 'sendFileByUpload', chatId: mp.fields.chatId, caption: mp.fields.caption, file: mp.file ? { name: mp.fields.fileName ?? mp.file.name, bytes: mp.file.bytes } : undefined, idMessage });
      return json(res, 200, { idMessage, urlFile: `${this.root}/download/x` });
    }
    json(res, 404, {});
  }
}
