import type { Principal } from '../auth/tokens';
import { maySeeCall } from '../auth/scope';
import { SqlValue } from '../db/database';
import { EslEvent } from '../esl/event';
import { JournalBatch } from '../calls/types';
import { LogEventInput } from '../events/event-log';
import { Employees, EmployeeView } from './employees';
import { BusyReason, PresenceState, PresenceView, Published } from './presence-types';
import { PresenceCalls } from './presence-calls';
import { SNAPSHOT_RETRY_FIRST_MS } from './presence-registrations';

export type { BusyReason, PresenceOptions, PresenceState, PresenceView, RegistrationRow } from './presence-types';

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
export class Presence extends PresenceCalls {
  private readonly offlineTimers = new Map<string, NodeJS.Timeout>();
  private pending: Array<{ ext: string; next: Published; prev: Published | undefined; registrations: number; callIds: string[] }> = [];
  private flushing: Promise<void> | null = null;
  private flushScheduled = false;
  private sweepTimer: NodeJS.Timeout | null = null;
  private supervisors: string[] = [];
  private seq = 0;

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

  // ---- publishing ----------------------------------------------------------------------------------------

  protected override recompute(ext: string): void {
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
  viewer?: Principal,
): { items: EmployeeWithPresence[]; unconfigured: Array<{ extension: string } & PresenceView> } {
  const seen = callsVisible(presence, viewer);
  const items: EmployeeWithPresence[] = [];
  for (const e of employees.list()) {
    if (filter.group && !e.groups.includes(filter.group)) continue;
    const p = seen(presence.get(e.extension));
    if (filter.presence && p.presence !== filter.presence) continue;
    items.push({ ...employees.view(e.extension)!, ...p });
  }
  const unconfigured = filter.group
    ? []
    : presence.extensions().filter((x) => !employees.get(x)).map((x) => ({ extension: x, ...seen(presence.get(x)) })).filter((p) => !filter.presence || p.presence === filter.presence);
  return { items, unconfigured };
}

/** One employee with presence, or undefined for an extension no employee record names. */
export function employeeWithPresence(employees: Employees, presence: Presence, extension: string, viewer?: Principal): EmployeeWithPresence | undefined {
  const v = employees.view(extension);
  return v && { ...v, ...callsVisible(presence, viewer)(presence.get(extension)) };
}

/**
 * A presence's `callIds` as the viewer may see them, by the one scope rule (src/auth/scope.ts maySeeCall):
 * an operator sees the ids of live calls he is on himself (a colleague's busy state and reason stay
 * visible: he needs them to choose whom to transfer to), every other role all of them.
 */
function callsVisible(presence: Presence, viewer: Principal | undefined): (p: PresenceView) => PresenceView {
  if (!viewer || maySeeCall(viewer, [])) return (p) => p;
  const own = new Set(viewer.employee ? presence.get(viewer.employee).callIds : []);
  return (p) => ({ ...p, callIds: p.callIds.filter((id) => own.has(id)) });
}
