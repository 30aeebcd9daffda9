import { EventEmitter } from 'node:events';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Db } from '../db/database';
import { EventLog, LogEvent } from './event-log';
import { SecretBox } from './secret-box';
import { WebhookBasicAuth, WebhookHeaders } from './webhook-input';

export interface WebhookView {
  id: string;
  url: string;
  employees: string[];
  types: string[];
  /** The Basic credentials' user name; the password is never shown (stored encrypted). */
  basicAuth: { username: string; hasPassword: true } | null;
  /** Extra headers sent with every delivery. */
  headers: Record<string, string>;
  active: boolean;
  cursor: string;
  failures: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

interface WebhookRow {
  id: string;
  url: string;
  secret: string;
  employees: string;
  types: string;
  basic_user: string | null;
  /** Sealed by SecretBox (AES-256-GCM, the webhook id as additional data). */
  basic_password: string | null;
  /** JSON object, or '' for none. */
  headers: string;
  active: boolean | number;
  cursor: bigint | number | string;
  failures: number | bigint;
  next_attempt_at: bigint | number | null;
  last_error: string | null;
  delivered_at: bigint | number | null;
  created_at: bigint | number;
}

export interface WebhookOptions {
  /** First retry delay; doubles per failure up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  /** Where Basic passwords are sealed; loaded on first use (default: a fresh in-memory key, for tests). */
  secrets?: () => SecretBox;
}

/** Signature header value: HMAC-SHA256 over `<timestamp>.<body>` with the webhook's secret, hex. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

const ms = (v: bigint | number | null) => (v == null ? null : new Date(Number(v)).toISOString());

function view(r: WebhookRow): WebhookView {
  return {
    id: r.id,
    url: r.url,
    employees: r.employees.trim() ? r.employees.trim().split(' ') : [],
    types: r.types ? r.types.split(',') : [],
    basicAuth: r.basic_user != null ? { username: r.basic_user, hasPassword: true } : null,
    headers: r.headers ? (JSON.parse(r.headers) as Record<string, string>) : {},
    active: Boolean(r.active),
    cursor: String(r.cursor),
    failures: Number(r.failures),
    nextAttemptAt: ms(r.next_attempt_at),
    lastError: r.last_error,
    deliveredAt: ms(r.delivered_at),
    createdAt: ms(r.created_at)!,
  };
}

/**
 * Webhooks: the event log POSTed to 1C's HTTP service (or any receiver), one worker per webhook, in
 * order, each event until the receiver answers 2xx, then the next. The cursor lives in the database, so
 * a restart resumes where delivery stopped: nothing is lost, and the receiver can drop the rare repeat
 * (after a crash between its 2xx and our cursor update) by X-Telefonist-Event-Id.
 * Emits 'delivered' (webhook id, event) and 'failed' (webhook id, event, error).
 */
export class WebhookDispatcher extends EventEmitter {
  private readonly workers = new Map<string, { stop: () => void; wake: () => void; done: Promise<void> }>();
  private readonly baseDelay: number;
  private readonly maxDelay: number;
  private readonly timeout: number;
  private stopped = false;
  private readonly secretsFactory: () => SecretBox;
  private box: SecretBox | null = null;
  private readonly onAppended = () => {
    for (const w of this.workers.values()) w.wake();
  };

  constructor(
    private readonly db: Db,
    private readonly log: EventLog,
    opts: WebhookOptions = {},
  ) {
    super();
    this.baseDelay = opts.baseDelayMs ?? 1000;
    this.maxDelay = opts.maxDelayMs ?? 300_000;
    this.timeout = opts.timeoutMs ?? 10_000;
    this.secretsFactory = opts.secrets ?? (() => SecretBox.fromKey(randomBytes(32)));
    this.on('error', () => undefined);
  }

  async start(): Promise<void> {
    this.log.on('appended', this.onAppended);
    for (const r of await this.rows()) if (r.active) this.startWorker(r.id);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.log.off('appended', this.onAppended);
    const all = [...this.workers.values()];
    for (const w of all) w.stop();
    await Promise.all(all.map((w) => w.done));
    this.workers.clear();
  }

  async list(): Promise<WebhookView[]> {
    return (await this.rows()).map(view);
  }

  async get(id: string): Promise<WebhookView | null> {
    const r = await this.row(id);
    return r ? view(r) : null;
  }

  /**
   * Registers a receiver. Delivery starts with events logged after this moment (or from the start of the
   * log with `fromStart`); re-registering an existing id changes its settings and keeps its cursor.
   * Without a secret one is generated and returned once. The Basic password is stored sealed and never
   * returned; callers validate `basicAuth` and `headers` (webhook-input.ts) before they get here.
   */
  async create(input: {
    id?: string;
    url: string;
    secret?: string;
    employees?: string[];
    types?: string[];
    fromStart?: boolean;
    basicAuth?: WebhookBasicAuth;
    headers?: WebhookHeaders;
  }): Promise<WebhookView & { secret: string }> {
    const id = input.id ?? randomUUID();
    const secret = input.secret ?? randomBytes(24).toString('base64url');
    const cursor = input.fromStart ? 0n : BigInt(this.log.latest());
    const basicUser = input.basicAuth ? input.basicAuth.username : null;
    const basicPassword = input.basicAuth ? this.secrets().seal(input.basicAuth.password, id) : null;
    const headers = input.headers && Object.keys(input.headers).length ? JSON.stringify(input.headers) : '';
    await this.db.exec(
      `INSERT INTO webhooks (id, url, secret, employees, types, basic_user, basic_password, headers, active, cursor, failures, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)
       ON CONFLICT (id) DO UPDATE SET url = excluded.url, secret = excluded.secret, employees = excluded.employees, types = excluded.types,
         basic_user = excluded.basic_user, basic_password = excluded.basic_password, headers = excluded.headers, active = excluded.active`,
      [id, input.url, secret, employeeList(input.employees), (input.types ?? []).join(','), basicUser, basicPassword, headers, true, cursor, BigInt(Date.now())],
    );
    this.restartWorker(id);
    return { ...(await this.get(id))!, secret };
  }

  async remove(id: string): Promise<boolean> {
    const w = this.workers.get(id);
    if (w) {
      w.stop();
      await w.done;
      this.workers.delete(id);
    }
    return (await this.db.exec('DELETE FROM webhooks WHERE id = ?', [id])) > 0;
  }

  private secrets(): SecretBox {
    this.box ??= this.secretsFactory();
    return this.box;
  }

  /** The headers of one delivery besides ours: extra headers, then Basic credentials. */
  private deliveryHeaders(row: WebhookRow): Record<string, string> | string {
    const out: Record<string, string> = row.headers ? (JSON.parse(row.headers) as Record<string, string>) : {};
    if (row.basic_user != null) {
      const password = row.basic_password != null ? this.secrets().open(row.basic_password, row.id) : null;
      if (password == null) return 'the Basic password cannot be decrypted (was the secrets key changed?): register the webhook again';
      out.Authorization = `Basic ${Buffer.from(`${row.basic_user}:${password}`, 'utf8').toString('base64')}`;
    }
    return out;
  }

  private async rows(): Promise<WebhookRow[]> {
    return this.db.query<WebhookRow>('SELECT * FROM webhooks ORDER BY created_at, id');
  }

  private async row(id: string): Promise<WebhookRow | null> {
    const [r] = await this.db.query<WebhookRow>('SELECT * FROM webhooks WHERE id = ?', [id]);
    return r ?? null;
  }

  private restartWorker(id: string): void {
    const w = this.workers.get(id);
    if (w) {
      w.stop();
      this.workers.delete(id);
      void w.done.then(() => {
        if (!this.stopped && !this.workers.has(id)) this.startWorker(id);
      });
    } else if (!this.stopped) this.startWorker(id);
  }

  private startWorker(id: string): void {
    if (this.workers.has(id)) return; // one worker per webhook, or events would go out twice
    let stopped = false;
    let wakeUp: (() => void) | null = null;
    let pokes = 0;
    const sleep = (msDelay: number) =>
      new Promise<void>((resolve) => {
        if (stopped) return resolve();
        const t = setTimeout(() => {
          wakeUp = null;
          resolve();
        }, msDelay);
        wakeUp = () => {
          clearTimeout(t);
          wakeUp = null;
          resolve();
        };
      });
    const worker = {
      stop: () => {
        stopped = true;
        wakeUp?.();
      },
      wake: () => {
        pokes++;
        wakeUp?.();
      },
      done: Promise.resolve(),
    };
    worker.done = (async () => {
      while (!stopped) {
        try {
          const row = await this.row(id);
          if (!row || !row.active) return;
          const types = row.types ? row.types.split(',') : undefined;
          const employees = row.employees.trim() ? row.employees.trim().split(' ') : [];
          const seenPokes = pokes;
          const page = await this.log.page(String(row.cursor), { types }, 100);
          const wanted = page.events.filter((e) => employees.length === 0 || e.employees.some((x) => employees.includes(x)));
          let failed = false;
          for (const e of wanted) {
            if (stopped) return;
            const ok = await this.deliver(row, e);
            if (!ok.ok) {
              const failures = Number(row.failures) + 1;
              const delay = Math.min(this.maxDelay, this.baseDelay * 2 ** Math.min(20, failures - 1));
              await this.db.exec('UPDATE webhooks SET failures = ?, next_attempt_at = ?, last_error = ? WHERE id = ?', [
                failures,
                BigInt(Date.now() + delay),
                ok.error.slice(0, 500),
                id,
              ]);
              this.emit('failed', id, e, ok.error);
              failed = true;
              // Only a stop ends the wait early: new events must not jump the queue of a failing receiver.
              await new Promise<void>((resolve) => {
                const t = setTimeout(resolve, delay);
                const prevStop = worker.stop;
                worker.stop = () => {
                  clearTimeout(t);
                  resolve();
                  prevStop();
                };
              });
              break;
            }
            await this.db.exec('UPDATE webhooks SET cursor = ?, failures = 0, next_attempt_at = NULL, last_error = NULL, delivered_at = ? WHERE id = ?', [
              BigInt(e.id),
              BigInt(Date.now()),
              id,
            ]);
            row.failures = 0;
            this.emit('delivered', id, e);
          }
          if (failed) continue;
          if (page.cursor !== String(row.cursor)) {
            // Skip past events the filters left out (and those just delivered).
            await this.db.exec('UPDATE webhooks SET cursor = ? WHERE id = ? AND cursor < ?', [BigInt(page.cursor), id, BigInt(page.cursor)]);
            continue;
          }
          if (pokes === seenPokes) await sleep(30_000);
        } catch (e) {
          this.emit('error', e);
          await sleep(1000);
        }
      }
    })();
    this.workers.set(id, worker);
  }

  private async deliver(row: WebhookRow, e: LogEvent): Promise<{ ok: true } | { ok: false; error: string }> {
    const body = JSON.stringify(e);
    const ts = String(Math.floor(Date.now() / 1000));
    const extra = this.deliveryHeaders(row);
    if (typeof extra === 'string') return { ok: false, error: extra };
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.timeout);
    try {
      const res = await fetch(row.url, {
        method: 'POST',
        headers: {
          ...extra,
          'Content-Type': 'application/json; charset=utf-8',
          'User-Agent': 'Telefonist-Webhook/1',
          'X-Telefonist-Event': e.type,
          'X-Telefonist-Event-Id': e.id,
          'X-Telefonist-Timestamp': ts,
          'X-Telefonist-Signature': signWebhook(row.secret, ts, body),
        },
        body,
        signal: ctl.signal,
        redirect: 'error',
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      return { ok: false, error: `HTTP ${res.status}` };
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return { ok: false, error: ctl.signal.aborted ? `timeout after ${this.timeout} ms` : cause?.code ?? cause?.message ?? (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }
}

function employeeList(list: string[] | undefined): string {
  const l = [...new Set(list ?? [])].sort();
  return l.length ? ` ${l.join(' ')} ` : '';
}

