import { Db } from '../db/database';
import { MessengerError, MessengerFile } from '../messengers/adapter';
import type { ChatEngine, MessageRow } from './engine';

const NOT_CONNECTED = 'the messenger account is not connected; the message waits for it';

export interface OutboxOptions {
  /** Attempts before a message is failed (default 8). */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt up to maxDelayMs (defaults 1 s, 5 min). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Overrides every adapter's rate limits (bench, tests). */
  limits?: { perSecond: number; perPeerIntervalMs: number };
}

/**
 * The persistent outbound queue: outbound messages are rows in state `queued` with `next_attempt_at`;
 * this worker sends them through their account's adapter in order per peer, within the account's rate
 * limits (per second over the account, minimum interval per peer), retries with backoff (a messenger's
 * retry-after wins), and fails a message with the reason after a permanent error or too many attempts.
 * A restart picks up whatever is still queued. Delivery is at least once: a crash between the
 * messenger's answer and our commit sends that one message again.
 */
export class Outbox {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private pumping = false;
  private again = false;
  private readonly inFlight = new Set<number>();
  private readonly busyPeers = new Set<string>();
  private readonly accountNext = new Map<string, number>();
  private readonly peerLast = new Map<string, number>();
  private readonly working = new Set<Promise<void>>();
  readonly stats = { sent: 0, failed: 0, retries: 0 };
  private readonly window = 200;
  private readonly opts: Required<Omit<OutboxOptions, 'limits'>> & Pick<OutboxOptions, 'limits'>;

  constructor(
    private readonly db: Db,
    private readonly engine: ChatEngine,
    opts: OutboxOptions = {},
  ) {
    this.opts = { maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 300_000, ...opts };
  }

  start(): void {
    this.running = true;
    this.wake();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.working]);
  }

  /** Looks at the queue now (after a new message, a finished send). */
  wake(): void {
    if (!this.running) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.pump();
        } while (this.again && this.running);
      } catch (e) {
        this.engine.emit('error', e);
        this.schedule(1000);
      } finally {
        this.pumping = false;
      }
    })();
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.wake();
    }, Math.max(0, ms));
  }

  private async pump(): Promise<void> {
    const now = Date.now();
    // The oldest queued messages; later ones wait for a later look (each completion looks again).
    const rows = await this.db.query<MessageRow>(`SELECT * FROM chat_messages WHERE state = 'queued' ORDER BY id LIMIT ${this.window}`);
    let earliest = Infinity;
    const blocked = new Set<string>();
    for (const r of rows) {
      const id = Number(r.id);
      const peerKey = `${r.account_id}\u0000${r.peer_id}`;
      if (this.inFlight.has(id) || blocked.has(peerKey) || this.busyPeers.has(peerKey)) {
        blocked.add(peerKey);
        continue;
      }
      const adapter = this.engine.adapters.get(r.account_id);
      if (!adapter) {
        // The account is not connected (yet: an employee's account reconnecting after a restart). The
        // message waits; the delivery event says why.
        blocked.add(peerKey);
        if (r.failure !== NOT_CONNECTED) {
          await this.db.exec('UPDATE chat_messages SET failure = ? WHERE id = ?', [NOT_CONNECTED, id]);
          await this.engine.delivered(id);
        }
        earliest = Math.min(earliest, now + 5000);
        continue;
      }
      const limits = this.opts.limits ?? adapter.limits;
      const due = Number(r.next_attempt_at ?? 0);
      const at = Math.max(due, this.accountNext.get(r.account_id) ?? 0, (this.peerLast.get(peerKey) ?? 0) + limits.perPeerIntervalMs);
      if (at > now) {
        // Order per peer: nothing later for this peer goes before this one.
        blocked.add(peerKey);
        earliest = Math.min(earliest, at);
        continue;
      }
      this.accountNext.set(r.account_id, Math.max(now, this.accountNext.get(r.account_id) ?? 0) + 1000 / limits.perSecond);
      this.peerLast.set(peerKey, now);
      this.inFlight.add(id);
      this.busyPeers.add(peerKey);
      blocked.add(peerKey);
      const p = this.deliver(r).finally(() => {
        this.inFlight.delete(id);
        this.busyPeers.delete(peerKey);
        this.working.delete(p);
        this.wake();
      });
      this.working.add(p);
    }
    if (earliest !== Infinity) this.schedule(earliest - Date.now());
  }

  private async deliver(r: MessageRow): Promise<void> {
    const id = Number(r.id);
    const adapter = this.engine.adapters.get(r.account_id)!;
    try {
      let file: MessengerFile | undefined;
      if (r.file_hash) file = { bytes: await this.engine.files.read(r.file_hash), fileName: r.file_name ?? 'file', mimeType: r.file_mime ?? 'application/octet-stream' };
      const template = r.template ? (JSON.parse(r.template) as { name: string; vars: Record<string, string> }) : undefined;
      const res = await adapter.send({ accountId: r.account_id, peerId: r.peer_id, text: r.text ?? undefined, file, template });
      await this.db.exec(`UPDATE chat_messages SET state = 'sent', external_id = ?, attempts = attempts + 1, next_attempt_at = NULL, failure = NULL WHERE id = ? AND state = 'queued'`,
        [res.externalId, id]);
      this.stats.sent++;
      await this.engine.delivered(id);
    } catch (e) {
      const err = e instanceof MessengerError ? e : new MessengerError((e as Error).message, true);
      const attempts = Number(r.attempts) + 1;
      if (!err.retryable || attempts >= this.opts.maxAttempts) {
        await this.fail(id, err.retryable ? `gave up after ${attempts} attempts: ${err.message}` : err.message, attempts);
        return;
      }
      const delay = err.retryAfterMs ?? Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempts - 1));
      if (err.retryAfterMs) this.accountNext.set(r.account_id, Date.now() + err.retryAfterMs);
      this.stats.retries++;
      await this.db.exec(`UPDATE chat_messages SET attempts = ?, next_attempt_at = ?, failure = ? WHERE id = ?`, [attempts, Date.now() + delay, err.message, id]);
      this.schedule(delay);
    }
  }

  private async fail(id: number, reason: string, attempts?: number): Promise<void> {
    await this.db.exec(`UPDATE chat_messages SET state = 'failed', failure = ?, next_attempt_at = NULL${attempts ? ', attempts = ?' : ''} WHERE id = ?`,
      attempts ? [reason, attempts, id] : [reason, id]);
    this.stats.failed++;
    await this.engine.delivered(id);
  }

  /** Messages still queued (tests, health). */
  async pending(): Promise<number> {
    return Number((await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM chat_messages WHERE state = 'queued'`))[0].n);
  }
}
