import { Db } from '../db/database';
import { MessengerError, MessengerFile } from '../messengers/adapter';
import type { ChatEngine, MessageRow } from './engine';
import { recheckOutbound } from './views';

/** The note on a message that waits for its account to come back (Russian for the panel, code first). */
export const NOT_CONNECTED = 'account_not_connected: аккаунт мессенджера не подключён, сообщение ждёт подключения';
/** The failure of a message whose account was removed for good (an employee disconnected his Telegram). */
export const ACCOUNT_REMOVED = 'account_removed: аккаунт мессенджера отключён, сообщение не отправлено. Отправьте его с другого аккаунта';
/** The failure of a message whose account stayed away longer than `accountGoneMs`. */
export const accountGone = (minutes: number) =>
  `account_gone: аккаунт мессенджера отключён или удалён дольше ${minutes} мин, сообщение не отправлено. Подключите аккаунт и отправьте сообщение ещё раз`;

export interface OutboxOptions {
  /** Attempts before a message is failed (default 8). */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt up to maxDelayMs (defaults 1 s, 5 min). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * How long queued messages wait for an account that is not connected (revoked, removed, dropped from
   * the configuration) before they fail with `account_gone` (default 60 min; counted from when this
   * process first saw the account missing, so a restart never fails a message early).
   */
  accountGoneMs?: number;
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
  /** Sends finished since the current look began: its rows may predate them (never sent twice). */
  private readonly finished = new Set<number>();
  private readonly busyPeers = new Set<string>();
  private readonly accountNext = new Map<string, number>();
  private readonly peerLast = new Map<string, number>();
  private readonly working = new Set<Promise<void>>();
  readonly stats = { sent: 0, failed: 0, retries: 0 };
  /** Peers looked at per account per look (one head message each). */
  private readonly window = 200;
  /** Accounts with queued messages but no adapter: since when (this process) they are missing. */
  private readonly missingSince = new Map<string, number>();
  /** Accounts removed for good (they never come back under the same id): their messages fail at once. */
  private readonly removed = new Set<string>();
  private readonly opts: Required<Omit<OutboxOptions, 'limits'>> & Pick<OutboxOptions, 'limits'>;

  constructor(
    private readonly db: Db,
    private readonly engine: ChatEngine,
    opts: OutboxOptions = {},
  ) {
    this.opts = { maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 300_000, accountGoneMs: 3_600_000, ...opts };
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

  /**
   * One look at the queue. Fair by construction: per account with queued messages, only the head (oldest
   * queued message) of each peer is a candidate, so a backlog or a retry wait in one chat, or an account
   * that is not connected, never holds back another chat. A head is sent when it is due (its retry time
   * passed), its peer has nothing in flight and is past its interval, and its account is past its pacing.
   */
  private async pump(): Promise<void> {
    this.finished.clear();
    const accounts = await this.db.query<{ account_id: string }>(`SELECT DISTINCT account_id FROM chat_messages WHERE state = 'queued'`);
    let earliest = Infinity;
    for (const { account_id: account } of accounts) {
      const adapter = this.engine.adapters.get(account);
      if (!adapter) {
        earliest = Math.min(earliest, await this.missing(account));
        continue;
      }
      this.missingSince.delete(account);
      this.removed.delete(account);
      const paused = this.accountNext.get(account) ?? 0;
      if (paused > Date.now()) {
        earliest = Math.min(earliest, paused);
        continue;
      }
      const heads = await this.db.query<{ id: number }>(
        `SELECT MIN(id) AS id FROM chat_messages WHERE state = 'queued' AND account_id = ? GROUP BY peer_id ORDER BY MIN(id) LIMIT ${this.window}`, [account]);
      if (!heads.length) continue;
      const rows = await this.db.query<MessageRow>(`SELECT * FROM chat_messages WHERE id IN (${heads.map(() => '?').join(',')}) AND state = 'queued' ORDER BY id`,
        heads.map((h) => Number(h.id)));
      // Taken after the queries: pacing compares with the moment of the decision, never an older one.
      const now = Date.now();
      const limits = this.opts.limits ?? adapter.limits;
      for (const r of rows) {
        const id = Number(r.id);
        const peerKey = `${account}\u0000${r.peer_id}`;
        if (this.inFlight.has(id) || this.finished.has(id) || this.busyPeers.has(peerKey)) continue;
        const at = Math.max(Number(r.next_attempt_at ?? 0), this.accountNext.get(account) ?? 0, (this.peerLast.get(peerKey) ?? -Infinity) + limits.perPeerIntervalMs);
        if (at > now) {
          earliest = Math.min(earliest, at);
          continue;
        }
        // Reserved now; deliver() moves both marks to the moment the adapter is actually called.
        this.accountNext.set(account, now + 1000 / limits.perSecond);
        this.peerLast.set(peerKey, now);
        this.inFlight.add(id);
        this.busyPeers.add(peerKey);
        const p = this.deliver(r, peerKey, limits).finally(() => {
          this.finished.add(id);
          this.inFlight.delete(id);
          this.busyPeers.delete(peerKey);
          this.working.delete(p);
          this.wake();
        });
        this.working.add(p);
      }
    }
    if (earliest !== Infinity) this.schedule(earliest - Date.now());
  }

  /**
   * An account with queued messages and no adapter: its messages wait (each noted once, visible in the
   * chat) until it has been missing `accountGoneMs`, then fail with `account_gone`. Returns when to look again.
   */
  private async missing(account: string): Promise<number> {
    const now = Date.now();
    const since = this.missingSince.get(account) ?? now;
    this.missingSince.set(account, since);
    const removed = this.removed.has(account);
    const gone = removed || now - since >= this.opts.accountGoneMs;
    const rows = await this.db.query<{ id: number }>(
      gone ? `SELECT id FROM chat_messages WHERE state = 'queued' AND account_id = ? ORDER BY id`
        : `SELECT id FROM chat_messages WHERE state = 'queued' AND account_id = ? AND (failure IS NULL OR failure <> ?) ORDER BY id`,
      gone ? [account] : [account, NOT_CONNECTED]);
    for (const { id } of rows) {
      if (gone) {
        await this.fail(Number(id), removed ? ACCOUNT_REMOVED : accountGone(Math.round(this.opts.accountGoneMs / 60_000)));
      } else {
        await this.db.exec(`UPDATE chat_messages SET failure = ? WHERE id = ? AND state = 'queued'`, [NOT_CONNECTED, Number(id)]);
        await this.engine.delivered(Number(id));
      }
    }
    return gone ? Infinity : Math.min(now + 5000, since + this.opts.accountGoneMs);
  }

  /** The account was removed for good (not just disconnected): its queued messages fail now. */
  accountRemoved(accountId: string): void {
    if (this.engine.adapters.has(accountId)) return;
    this.removed.add(accountId);
    this.wake();
  }

  private async deliver(r: MessageRow, peerKey: string, limits: { perSecond: number; perPeerIntervalMs: number }): Promise<void> {
    const id = Number(r.id);
    const adapter = this.engine.adapters.get(r.account_id);
    if (!adapter) return; // removed meanwhile: the next look notes or fails the message
    try {
      await recheckOutbound(this.engine, adapter, r); // the messenger's rule again: WhatsApp's window may have closed while it waited
      let file: MessengerFile | undefined;
      if (r.file_hash) file = { bytes: await this.engine.files.read(r.file_hash), fileName: r.file_name ?? 'file', mimeType: r.file_mime ?? 'application/octet-stream' };
      const template = r.template ? (JSON.parse(r.template) as { name: string; vars: Record<string, string> }) : undefined;
      // Pacing counts from the moment the messenger is called (reading a file may have taken a while).
      const sentAt = Date.now();
      this.peerLast.set(peerKey, sentAt);
      this.accountNext.set(r.account_id, Math.max(this.accountNext.get(r.account_id) ?? 0, sentAt + 1000 / limits.perSecond));
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
