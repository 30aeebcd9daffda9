import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A local fake of the Telegram Bot API, enough for telegraf: getMe, sendMessage, sendPhoto /
 * sendDocument (multipart), getFile and the file download, setWebhook / deleteWebhook. It records what
 * the bot sent; `down` makes every method answer 502 (Telegram's "Bad Gateway"); `delayMs` slows answers.
 */
export interface SentMessage {
  method: string;
  chatId: string;
  text?: string;
  caption?: string;
  file?: { name: string; bytes: Buffer };
  messageId: number;
}

export class FakeBotApi {
  readonly sent: SentMessage[] = [];
  readonly calls: string[] = [];
  readonly files = new Map<string, Buffer>();
  down = false;
  delayMs = 0;
  webhook: { url?: string; secret?: string } = {};
  /** Updates handed out by getUpdates (long polling), per bot token. */
  readonly pending = new Map<string, Array<Record<string, unknown>>>();
  private server: Server | null = null;
  private nextMessageId = 1000;
  private nextFile = 1;
  port = 0;

  constructor(readonly username = 'tf_test_bot') {}

  get apiRoot(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A file Telegram holds (as if a customer sent it); returns its file_id. */
  addFile(bytes: Buffer): string {
    const id = `file-${this.nextFile++}`;
    this.files.set(id, bytes);
    return id;
  }

  async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req).then(
        ({ status, body, raw }) => {
          if (raw) {
            res.writeHead(status, { 'Content-Type': 'application/octet-stream' });
            res.end(raw);
          } else {
            res.writeHead(status, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify(body));
          }
        },
        (e) => {
          res.writeHead(500, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ ok: false, error_code: 500, description: String(e) }));
        },
      );
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body?: unknown; raw?: Buffer }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const buf = Buffer.concat(chunks);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const url = new URL(req.url ?? '/', 'http://x');
    const file = /^\/file\/bot[^/]+\/(.+)$/.exec(url.pathname);
    if (file) {
      const bytes = this.files.get(decodeURIComponent(file[1]).replace(/^docs\//, ''));
      return bytes ? { status: 200, raw: bytes } : { status: 404, body: { ok: false, error_code: 404, description: 'Not Found' } };
    }
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!m) return { status: 404, body: { ok: false, error_code: 404, description: 'Not Found' } };
    const method = m[2];
    this.calls.push(method);
    if (this.down) return { status: 502, body: { ok: false, error_code: 502, description: 'Bad Gateway' } };
    const ct = req.headers['content-type'] ?? '';
    const params: Record<string, unknown> = {};
    let upload: { name: string; bytes: Buffer } | undefined;
    if (ct.startsWith('multipart/form-data')) {
      const form = await new Response(buf, { headers: { 'content-type': ct } }).formData();
      for (const [k, v] of form.entries()) {
        if (typeof v === 'string') params[k] = v;
        else upload = { name: v.name, bytes: Buffer.from(await v.arrayBuffer()) };
      }
    } else if (buf.length) {
      Object.assign(params, JSON.parse(buf.toString('utf8')));
    }
    const ok = (result: unknown) => ({ status: 200, body: { ok: true, result } });
    const chat = (id: unknown) => ({ id: Number(id), type: 'private', first_name: 'Клиент' });
    switch (method) {
      case 'getMe':
        return ok({ id: 424242, is_bot: true, first_name: 'Telefonist', username: this.username, can_join_groups: false, can_read_all_group_messages: false, supports_inline_queries: false });
      case 'setWebhook':
        this.webhook = { url: params.url as string, secret: params.secret_token as string };
        return ok(true);
      case 'deleteWebhook':
        return ok(true);
      case 'getUpdates': {
        const token = m[1];
        const offset = Number(params.offset ?? 0);
        const queue = (this.pending.get(token) ?? []).filter((u) => Number(u.update_id) >= offset);
        this.pending.set(token, queue);
        if (!queue.length) await new Promise((r) => setTimeout(r, 100));
        return ok(queue.slice(0, Number(params.limit ?? 100)));
      }
      case 'sendMessage': {
        if (String(params.chat_id) === '403') return { status: 403, body: { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' } };
        const messageId = this.nextMessageId++;
        this.sent.push({ method, chatId: String(params.chat_id), text: params.text as string, messageId });
        return ok({ message_id: messageId, date: Math.floor(Date.now() / 1000), chat: chat(params.chat_id), text: params.text });
      }
      case 'sendPhoto':
      case 'sendDocument': {
        const messageId = this.nextMessageId++;
        this.sent.push({ method, chatId: String(params.chat_id), caption: params.caption as string | undefined, file: upload, messageId });
        return ok({ message_id: messageId, date: Math.floor(Date.now() / 1000), chat: chat(params.chat_id), caption: params.caption,
          ...(method === 'sendPhoto' ? { photo: [{ file_id: 'x', file_unique_id: 'x', width: 1, height: 1 }] } : { document: { file_id: 'x', file_unique_id: 'x', file_name: upload?.name } }) });
      }
      case 'getFile': {
        const id = String(params.file_id);
        if (!this.files.has(id)) return { status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: invalid file_id' } };
        return ok({ file_id: id, file_unique_id: id, file_size: this.files.get(id)!.length, file_path: `docs/${id}` });
      }
      default:
        return { status: 404, body: { ok: false, error_code: 404, description: `Not Found: method ${method}` } };
    }
  }
}

let updateId = 1;
/** A Telegram Update with a private message from a customer. */
export function customerUpdate(chatId: number, messageId: number, fields: Record<string, unknown> = { text: 'Здравствуйте' }): Record<string, unknown> {
  return {
    update_id: updateId++,
    message: {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: 'private', first_name: 'Мария', last_name: 'Клиентова', username: 'maria_k' },
      from: { id: chatId, is_bot: false, first_name: 'Мария', last_name: 'Клиентова', username: 'maria_k' },
      ...fields,
    },
  };
}
