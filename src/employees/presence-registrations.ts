import { EventEmitter } from 'node:events';
import { Db } from '../db/database';
import { EslConnection } from '../esl/connection';
import { EslEvent, header } from '../esl/event';
import { CallService, parseRows } from '../calls/call-service';
import { EventLog } from '../events/event-log';
import { Employees } from './employees';
import { Contact, PresenceOptions, Published, RegistrationRow } from './presence-types';

export const SNAPSHOT_RETRY_FIRST_MS = 1_000;
const SNAPSHOT_RETRY_MAX_MS = 30_000;

/**
 * Registrations behind presence (src/employees/presence.ts): `CUSTOM sofia::register` adds or refreshes a
 * contact keyed by its SIP Call-ID, `sofia::unregister` / `sofia::expire` remove it, a contact not refreshed by
 * `expires` + the late margin lapses (only while the link is up and the snapshot after the connect is in), and
 * `show registrations as json` after every (re)connect says what is registered. What an extension's presence
 * then is, is the subclass's (`recompute`, `indexLiveCalls`).
 */
export abstract class PresenceRegistrations extends EventEmitter {
  readonly stats = { registrationEvents: 0, changes: 0, snapshots: 0, lastSnapshotAt: 0, lastSnapshotError: '', snapshotFailures: 0 };
  protected readonly contacts = new Map<string, Map<string, Contact>>();
  /** Call-IDs removed by an event (local ms): a snapshot taken before must not bring them back. */
  protected readonly removedAt = new Map<string, number>();
  protected readonly legs = new Map<string, Set<string>>();
  protected readonly published = new Map<string, Published>();
  /** The snapshot after the current connection's handshake is in: lapses may be acted on. */
  protected synced = false;
  /** The first snapshot since start is in: changes are published (before, the persisted state stands). */
  protected started = false;
  protected retryTimer: NodeJS.Timeout | null = null;
  protected retryMs = SNAPSHOT_RETRY_FIRST_MS;
  protected snapshotting: Promise<void> | null = null;
  /** When the current connection came up: events since then are newer than any snapshot taken on it. */
  protected readyAt = 0;
  protected closed = false;

  constructor(
    protected readonly db: Db,
    protected readonly esl: EslConnection,
    protected readonly calls: CallService,
    protected readonly events: EventLog,
    protected readonly employees: Employees,
    protected readonly opts: PresenceOptions,
  ) {
    super();
    this.on('error', () => undefined);
  }

  // ---- registrations ---------------------------------------------------------------------------------

  protected onCustom(ev: EslEvent): void {
    const sub = header(ev, 'Event-Subclass');
    if (sub !== 'sofia::register' && sub !== 'sofia::unregister' && sub !== 'sofia::expire') return;
    const profile = header(ev, 'profile-name') ?? '';
    if (!this.opts.profiles.has(profile)) return;
    // sofia::expire names the user `user` (sofia_reg_del_callback); register/unregister `from-user`.
    const ext = header(ev, 'from-user') ?? header(ev, 'user') ?? header(ev, 'username');
    const token = header(ev, 'call-id') ?? header(ev, 'contact');
    if (!ext || !token) return;
    this.stats.registrationEvents++;
    const now = Date.now();
    if (sub === 'sofia::register') {
      const expires = Number(header(ev, 'expires') ?? '');
      let set = this.contacts.get(ext);
      if (!set) this.contacts.set(ext, (set = new Map()));
      const wasEmpty = set.size === 0;
      set.set(token, { profile, expiresAt: expires > 0 ? now + expires * 1000 + this.margin() : Infinity, touchedAt: now });
      this.removedAt.delete(token);
      if (wasEmpty) this.recompute(ext);
      return;
    }
    const set = this.contacts.get(ext);
    this.removedAt.set(token, now);
    if (!set?.delete(token)) return; // a contact we never counted: the others stand
    if (set.size === 0) {
      this.contacts.delete(ext);
      this.recompute(ext);
    }
  }

  protected margin(): number {
    return this.opts.expiryMarginMs ?? 60_000;
  }

  /** Registrations that lapsed go (only while we hear FreeSWITCH and the snapshot after the connect is in). */
  protected sweep(): void {
    if (!this.synced || this.esl.state !== 'ready') return;
    const now = Date.now();
    for (const [ext, set] of this.contacts) {
      let removed = false;
      for (const [token, c] of set) {
        if (c.expiresAt <= now) {
          set.delete(token);
          removed = true;
        }
      }
      if (set.size === 0) {
        this.contacts.delete(ext);
        if (removed) this.recompute(ext);
      }
    }
    for (const [token, at] of this.removedAt) if (now - at > 120_000) this.removedAt.delete(token);
  }

  /** `show registrations as json` after every (re)connect; retried with backoff while the link stays up. */
  snapshot(): Promise<void> {
    if (!this.snapshotting) this.snapshotting = this.runSnapshot().finally(() => (this.snapshotting = null));
    return this.snapshotting;
  }

  protected async runSnapshot(): Promise<void> {
    try {
      const rows = parseRows<RegistrationRow>(await this.esl.apiOk('show registrations as json'));
      this.applySnapshot(rows, this.readyAt);
      this.stats.snapshots++;
      this.stats.lastSnapshotAt = Date.now();
      this.stats.lastSnapshotError = '';
      this.emit('synced');
    } catch (e) {
      this.stats.snapshotFailures++;
      this.stats.lastSnapshotError = (e as Error).message;
      this.emit('error', e);
      if (!this.closed && this.esl.state === 'ready' && !this.retryTimer) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          if (this.esl.state === 'ready') void this.snapshot();
        }, this.retryMs);
        this.retryTimer.unref();
        this.retryMs = Math.min(this.retryMs * 2, SNAPSHOT_RETRY_MAX_MS);
      }
    }
  }

  /**
   * Events received on this connection (since `since`, its handshake) are newer than the snapshot or race
   * with it (FreeSWITCH writes its table through a queue): they win. Everything older yields to the snapshot.
   */
  protected applySnapshot(rows: RegistrationRow[], since: number): void {
    const now = Date.now();
    const fsOffset = this.calls.tracker.clock.offset;
    const listed = new Map<string, Map<string, Contact>>();
    for (const r of rows) {
      const profile = /^sofia\/([^/]+)\//.exec(r.url ?? '')?.[1];
      const ext = r.reg_user;
      const token = r.token || r.url;
      if (!profile || !this.opts.profiles.has(profile) || !ext || !token) continue;
      const exp = Number(r.expires ?? '0');
      const expiresAt = exp > 0 ? exp * 1000 - fsOffset : Infinity; // the row's expires already holds the late margin
      if (expiresAt <= now) continue; // lapsed; FreeSWITCH's periodic cleanup has not removed it yet
      const removed = this.removedAt.get(token);
      if (removed !== undefined && removed >= since) continue; // an event on this connection says it is gone
      let set = listed.get(ext);
      if (!set) listed.set(ext, (set = new Map()));
      set.set(token, { profile, expiresAt, touchedAt: 0 });
    }
    const touched = new Set<string>([...this.contacts.keys(), ...listed.keys()]);
    for (const ext of touched) {
      const known = this.contacts.get(ext) ?? new Map<string, Contact>();
      const fresh = listed.get(ext);
      if (!fresh) {
        // Not registered, says FreeSWITCH: what an event touched while the snapshot was in flight stays.
        for (const [token, c] of known) if (c.touchedAt < since) known.delete(token);
      } else {
        for (const [token, c] of fresh) {
          const k = known.get(token);
          if (!k || k.touchedAt < since) known.set(token, c);
        }
      }
      if (known.size) this.contacts.set(ext, known);
      else this.contacts.delete(ext);
    }
    this.synced = true;
    this.started = true;
    this.indexLiveCalls(false);
    const all = new Set<string>([...touched, ...this.published.keys(), ...this.legs.keys()]);
    for (const ext of all) this.recompute(ext);
  }

  /** Looks at the extension again and publishes what changed. */
  protected abstract recompute(ext: string): void;
  /** The tracker's live legs of employees (at start, and after each call resync). */
  protected abstract indexLiveCalls(recompute: boolean): void;
}
