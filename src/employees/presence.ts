import { EventEmitter } from 'node:events';
import { Db, SqlValue } from '../db/database';
import { EslConnection } from '../esl/connection';
import { EslEvent, header } from '../esl/event';
import { CallService, parseRows } from '../calls/call-service';
import { JournalBatch, LegState } from '../calls/types';
import { EventLog, LogEventInput } from '../events/event-log';
import { Employees, EmployeeView } from './employees';

export type PresenceState = 'offline' | 'online' | 'busy';
export type BusyReason = 'ringing' | 'talking' | 'held' | 'supervising';

/** An extension's presence as published (GET /employees and the `employee.presence` events say the same). */
export interface PresenceView {
  presence: PresenceState;
  /** Why busy: ringing (a phone rings or dials out), talking, held (the call is on hold), supervising; null unless busy. */
  reason: BusyReason | null;
  /** When it became so (ISO); null for an extension never seen. */
  since: string | null;
  /** Phones (SIP contacts) registered for the extension right now. */
  registrations: number;
  /** Live calls the extension is on. */
  callIds: string[];
}

/** A row of `show registrations as json` (FreeSWITCH core `registrations` table; every value a string). */
export interface RegistrationRow {
  reg_user?: string;
  realm?: string;
  token?: string;
  url?: string;
  expires?: string;
  network_ip?: string;
  network_port?: string;
  network_proto?: string;
  hostname?: string;
  metadata?: string;
}

export interface PresenceOptions {
  /** Sofia profiles whose registered users are employees (TELEFONIST_EMPLOYEE_PROFILES). */
  profiles: ReadonlySet<string>;
  /**
   * A registration counts this long past its `expires` before it lapses here: FreeSWITCH's own
   * `sip-expires-late-margin` (60 s by default), so we never expire a phone FreeSWITCH still holds.
   */
  expiryMarginMs?: number;
  /**
   * A change to offline is published only if it still holds this long after (a phone that unregisters and
   * registers again at once, as phones do on reboot or re-provisioning, does not flip). Default 3 s.
   */
  offlineDelayMs?: number;
  /** How often lapsed registrations are looked for (default 1 s). */
  sweepMs?: number;
}

interface Contact {
  profile: string;
  /** Local ms after which it lapses (Infinity: no expiry). */
  expiresAt: number;
  /** Local ms an event last touched it (a snapshot leaves contacts touched while it was in flight alone). */
  touchedAt: number;
}

interface Published {
  presence: PresenceState;
  reason: BusyReason | null;
  since: number;
}

const RANK: Record<BusyReason, number> = { ringing: 1, held: 2, supervising: 3, talking: 4 };
const SNAPSHOT_RETRY_FIRST_MS = 1_000;
const SNAPSHOT_RETRY_MAX_MS = 30_000;
const FLUSH_ROWS = 500;

/**
 * Presence per extension, from three facts:
 * - registrations: `CUSTOM sofia::register` (profile-name, from-user, call-id, expires: seconds) adds or
 *   refreshes a contact keyed by its SIP Call-ID; `sofia::unregister` (from-user, call-id) and
 *   `sofia::expire` (user, call-id) remove it; a contact not refreshed by `expires` + the late margin
 *   lapses here too. Contacts are counted per extension, so a second phone, or a phone refreshing its
 *   registration (same Call-ID, capture 10 → 15), changes nothing;
 * - after every (re)connect, `show registrations as json` (the core `registrations` table: reg_user, token =
 *   Call-ID, url `sofia/<profile>/…`, expires = absolute epoch s incl. the late margin, FreeSWITCH's clock):
 *   an extension it lists is registered, one it does not list is not (contacts an event touched while the
 *   snapshot was in flight are left to their events). With `multiple-registrations` off (FreeSWITCH's
 *   default) the table keeps one row per user, so per-phone detail comes from the events;
 * - calls: the call tracker's live legs of the extension (busy: talking > supervising > held > ringing;
 *   held = its leg or its partner's leg on hold).
 * Registration lapses are acted on only while the link is up and the snapshot after the connect is in: while
 * Telefonist cannot hear FreeSWITCH it does not guess. A change of a configured employee (one 1C synced) is
 * published as an `employee.presence` event (durable, in the event log) addressed to the extension and to every
 * supervisor; other extensions' presence is kept and listed (GET /employees `unconfigured`) without events. The
 * last state of every extension is kept in `employee_presence`, so a restart publishes only what changed meanwhile.
 */
export class Presence extends EventEmitter {
  readonly stats = { registrationEvents: 0, changes: 0, snapshots: 0, lastSnapshotAt: 0, lastSnapshotError: '', snapshotFailures: 0 };
  private readonly contacts = new Map<string, Map<string, Contact>>();
  /** Call-IDs removed by an event (local ms): a snapshot taken before must not bring them back. */
  private readonly removedAt = new Map<string, number>();
  private readonly legs = new Map<string, Set<string>>();
  private readonly published = new Map<string, Published>();
  private readonly offlineTimers = new Map<string, NodeJS.Timeout>();
  private pending: Array<{ ext: string; next: Published; prev: Published | undefined; registrations: number; callIds: string[] }> = [];
  private flushing: Promise<void> | null = null;
  private flushScheduled = false;
  /** The snapshot after the current connection's handshake is in: lapses may be acted on. */
  private synced = false;
  /** The first snapshot since start is in: changes are published (before, the persisted state stands). */
  private started = false;
  private sweepTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = SNAPSHOT_RETRY_FIRST_MS;
  private snapshotting: Promise<void> | null = null;
  /** When the current connection came up: events since then are newer than any snapshot taken on it. */
  private readyAt = 0;
  private supervisors: string[] = [];
  private seq = 0;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly esl: EslConnection,
    private readonly calls: CallService,
    private readonly events: EventLog,
    private readonly employees: Employees,
    private readonly opts: PresenceOptions,
  ) {
    super();
    this.on('error', () => undefined);
  }

  /** Loads the last published presence and listens; call before the ESL connection starts (CallService.start). */
  async start(): Promise<void> {
    const rows = await this.db.query<{ extension: string; state: string; reason: string | null; since: bigint | number | string }>(
      'SELECT extension, state, reason, since FROM employee_presence',
    );
    for (const r of rows) this.published.set(r.extension, { presence: r.state as PresenceState, reason: (r.reason as BusyReason | null) ?? null, since: Number(r.since) });
    this.supervisors = this.employees.supervisors();
    this.employees.on('changed', () => {
      this.supervisors = this.employees.supervisors();
    });
    this.esl.on('event', (ev: EslEvent) => {
      if (ev.name === 'CUSTOM') this.onCustom(ev);
    });
    this.esl.on('ready', () => {
      this.synced = false;
      this.readyAt = Date.now();
      this.retryMs = SNAPSHOT_RETRY_FIRST_MS;
      void this.snapshot();
    });
    this.esl.on('disconnected', () => {
      this.synced = false;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = null;
    });
    this.calls.on('batch', (b: JournalBatch) => this.onBatch(b));
    this.calls.on('resynced', () => this.indexLiveCalls(true));
    this.sweepTimer = setInterval(() => this.sweep(), this.opts.sweepMs ?? 1_000);
    this.sweepTimer.unref();
  }

  // ---- reading -----------------------------------------------------------------------------------

  /** The extension's presence as last published (offline, never seen, for an extension we know nothing of). */
  get(ext: string): PresenceView {
    const p = this.published.get(ext);
    return {
      presence: p?.presence ?? 'offline',
      reason: p?.reason ?? null,
      since: p ? new Date(p.since).toISOString() : null,
      registrations: this.contacts.get(ext)?.size ?? 0,
      callIds: this.callIdsOf(ext),
    };
  }

  /** Extensions registered or on a call right now, or with a published presence other than offline. */
  extensions(): string[] {
    const out = new Set<string>([...this.contacts.keys(), ...this.legs.keys()]);
    for (const [ext, p] of this.published) if (p.presence !== 'offline') out.add(ext);
    return [...out].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  }

  /** Resolves once every change published so far is in the event log and the presence table. */
  async idle(): Promise<void> {
    while (this.flushScheduled || this.flushing) {
      if (this.flushing) await this.flushing;
      else await new Promise((r) => setImmediate(r));
    }
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const t of this.offlineTimers.values()) clearTimeout(t);
    this.offlineTimers.clear();
    await this.snapshotting?.catch(() => undefined);
    await this.idle();
  }

  // ---- registrations ---------------------------------------------------------------------------------

  private onCustom(ev: EslEvent): void {
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

  private margin(): number {
    return this.opts.expiryMarginMs ?? 60_000;
  }

  /** Registrations that lapsed go (only while we hear FreeSWITCH and the snapshot after the connect is in). */
  private sweep(): void {
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

  private async runSnapshot(): Promise<void> {
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
  private applySnapshot(rows: RegistrationRow[], since: number): void {
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

  // ---- calls ---------------------------------------------------------------------------------------------

  /**
   * A batch changed these legs and calls: every employee leg of the calls they belong to is looked at again
   * (a hold arrives on the customer's leg, capture 14, yet makes the employee on the other end `held`).
   */
  private onBatch(b: JournalBatch): void {
    const touched = new Set<string>();
    const calls = new Set<string>();
    for (const l of b.legs) {
      this.noteLeg(l, touched);
      calls.add(l.callId);
    }
    for (const c of b.calls) {
      for (const ext of Object.keys(c.employees)) touched.add(ext);
      calls.add(c.id);
    }
    for (const id of calls) {
      for (const uuid of this.calls.tracker.liveCall(id)?.legs ?? []) {
        const l = this.calls.tracker.liveLeg(uuid);
        if (l) this.noteLeg(l, touched);
      }
    }
    for (const ext of touched) this.recompute(ext);
  }

  private noteLeg(l: LegState, touched: Set<string>): void {
    if (!l.employee) return;
    touched.add(l.employee);
    if (l.endedAt !== undefined) return;
    let set = this.legs.get(l.employee);
    if (!set) this.legs.set(l.employee, (set = new Set()));
    set.add(l.uuid);
  }

  /** The tracker's live legs of employees (at start, and after each call resync). */
  private indexLiveCalls(recompute: boolean): void {
    const touched = new Set<string>(this.legs.keys());
    for (const c of this.calls.tracker.liveCalls()) {
      for (const uuid of c.legs) {
        const l = this.calls.tracker.liveLeg(uuid);
        if (l) this.noteLeg(l, touched);
      }
    }
    if (recompute) for (const ext of touched) this.recompute(ext);
  }

  /** Busy reason from the extension's live legs (ended or moved legs drop out of the index). */
  private callState(ext: string): { reason: BusyReason | null; callIds: string[] } {
    const set = this.legs.get(ext);
    if (!set) return { reason: null, callIds: [] };
    let best: BusyReason | null = null;
    const callIds = new Set<string>();
    for (const uuid of set) {
      const l = this.calls.tracker.liveLeg(uuid);
      if (!l || l.endedAt !== undefined || l.destroyed || l.employee !== ext || !this.calls.tracker.liveCall(l.callId) || this.calls.tracker.liveCall(l.callId)!.endedAt !== undefined) {
        set.delete(uuid);
        continue;
      }
      const partner = l.partner ? this.calls.tracker.liveLeg(l.partner) : undefined;
      const r: BusyReason = l.answeredAt === undefined
        ? 'ringing'
        : l.role === 'supervisor'
          ? 'supervising'
          : l.held || partner?.held ? 'held' : 'talking';
      if (!best || RANK[r] > RANK[best]) best = r;
      callIds.add(l.callId);
    }
    if (set.size === 0) this.legs.delete(ext);
    return { reason: best, callIds: [...callIds].sort() };
  }

  private callIdsOf(ext: string): string[] {
    return this.callState(ext).callIds;
  }

  // ---- publishing ----------------------------------------------------------------------------------------

  private recompute(ext: string): void {
    if (!this.started || this.closed) return;
    const { reason, callIds } = this.callState(ext);
    const registrations = this.contacts.get(ext)?.size ?? 0;
    const presence: PresenceState = reason ? 'busy' : registrations > 0 ? 'online' : 'offline';
    const prev = this.published.get(ext);
    const timer = this.offlineTimers.get(ext);
    if (presence === 'offline' && prev && prev.presence !== 'offline') {
      // Published only if it still holds after the delay (a phone registering again at once does not flip).
      if (!timer) {
        const t = setTimeout(() => {
          this.offlineTimers.delete(ext);
          this.commit(ext, 'offline', null, callIds);
        }, this.opts.offlineDelayMs ?? 3_000);
        t.unref();
        this.offlineTimers.set(ext, t);
      }
      return;
    }
    if (timer) {
      clearTimeout(timer);
      this.offlineTimers.delete(ext);
    }
    this.commit(ext, presence, reason, callIds);
  }

  private commit(ext: string, presence: PresenceState, reason: BusyReason | null, callIds: string[]): void {
    if (this.closed) return;
    if (presence === 'offline') {
      // The delay passed: look again.
      const now = this.callState(ext);
      if (now.reason || this.contacts.get(ext)?.size) return this.recompute(ext);
    }
    const prev = this.published.get(ext);
    if (prev ? prev.presence === presence && prev.reason === reason : presence === 'offline') return;
    const next: Published = { presence, reason, since: Date.now() };
    this.published.set(ext, next);
    this.stats.changes++;
    this.pending.push({ ext, next, prev, registrations: this.contacts.get(ext)?.size ?? 0, callIds });
    this.emit('changed', ext, this.get(ext));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        if (!this.flushing) this.flushing = this.flush().finally(() => (this.flushing = null));
      });
    }
  }

  private async flush(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0, FLUSH_ROWS);
      // Events only for employees 1C configured; every extension's state is kept (GET /employees `unconfigured`).
      const inputs: LogEventInput[] = batch.filter((c) => this.employees.get(c.ext)).map((c) => ({
        key: `presence:${c.ext}:${c.next.since}:${++this.seq}`,
        type: 'employee.presence',
        employees: [c.ext, ...this.supervisors],
        at: c.next.since,
        data: {
          extension: c.ext,
          name: this.employees.nameOf(c.ext) ?? null,
          presence: c.next.presence,
          reason: c.next.reason,
          since: new Date(c.next.since).toISOString(),
          previous: c.prev ? { presence: c.prev.presence, reason: c.prev.reason, since: new Date(c.prev.since).toISOString() } : null,
          registrations: c.registrations,
          callIds: c.callIds,
        },
      }));
      try {
        if (inputs.length) await this.events.append(inputs);
        const latest = new Map<string, Published>();
        for (const c of batch) latest.set(c.ext, c.next);
        await this.db.execMany(
          'INSERT INTO employee_presence (extension, state, reason, since)',
          4,
          [...latest].map(([ext, p]) => [ext, p.presence, p.reason, BigInt(p.since)] as SqlValue[]),
          'ON CONFLICT (extension) DO UPDATE SET state = excluded.state, reason = excluded.reason, since = excluded.since',
          undefined,
          FLUSH_ROWS,
        );
      } catch (e) {
        // The event log retries on its own; a presence row that did not get written is rewritten by the next change.
        this.emit('error', e);
      }
    }
  }
}

/** An employee with their presence, as `GET /employees` lists them. */
export type EmployeeWithPresence = EmployeeView & PresenceView;

/**
 * The listing behind `GET /employees`: configured employees with presence (optionally only those with this
 * presence or in this group), and extensions registered or on a call that no employee record names yet.
 */
export function employeeListing(
  employees: Employees,
  presence: Presence,
  filter: { presence?: PresenceState; group?: string } = {},
): { items: EmployeeWithPresence[]; unconfigured: Array<{ extension: string } & PresenceView> } {
  const items: EmployeeWithPresence[] = [];
  for (const e of employees.list()) {
    if (filter.group && !e.groups.includes(filter.group)) continue;
    const p = presence.get(e.extension);
    if (filter.presence && p.presence !== filter.presence) continue;
    items.push({ ...employees.view(e.extension)!, ...p });
  }
  const unconfigured = filter.group
    ? []
    : presence.extensions().filter((x) => !employees.get(x)).map((x) => ({ extension: x, ...presence.get(x) })).filter((p) => !filter.presence || p.presence === filter.presence);
  return { items, unconfigured };
}

/** One employee with presence, or undefined for an extension no employee record names. */
export function employeeWithPresence(employees: Employees, presence: Presence, extension: string): EmployeeWithPresence | undefined {
  const v = employees.view(extension);
  return v && { ...v, ...presence.get(extension) };
}
