import { EslEvent, header } from '../esl/event';
import { employeeFromChannelRow } from './party';
import { microsToMs } from './fs-clock';
import { LinkAlive } from './link-alive';
import { SHORT_EXTENSION_RE } from './tracker-core';
import { EventTracker } from './tracker-events';
import { CallState, JournalBatch, LegState } from './types';

export { CLOSING_GRACE_MS } from './tracker-core';

const FAILED_ORIGINATE_WINDOW_MS = 120_000;

/** A row of `show channels as json` (fixtures/freeswitch/02_show_channels_midcall.json). */
export interface ChannelRow {
  uuid: string;
  direction: string;
  created_epoch?: string;
  name?: string;
  cid_name?: string;
  cid_num?: string;
  dest?: string;
  callstate?: string;
  call_uuid?: string;
  presence_id?: string;
  accountcode?: string;
  [k: string]: string | undefined;
}

/** A row of `show calls as json`: a bridged pair (fixtures/freeswitch/02_show_calls_midcall.json). */
export interface CallRow {
  uuid: string;
  b_uuid?: string;
  [k: string]: string | undefined;
}

/** What FreeSWITCH said about its channels after a (re)connect. */
export interface Snapshot {
  channels: ChannelRow[];
  bridged: CallRow[];
  /** `uuid_dump <uuid> json` of the legs worth a closer look (decoded as an event: CHANNEL_DATA). */
  dumps?: Map<string, EslEvent>;
}

interface OriginateLeg {
  leg: string;
  callId: string;
  dest?: string;
  cause?: string;
  at: number;
  jobLinked: boolean;
}

/**
 * The call tracker: channel events (tracker-events.ts) on the shared state (tracker-core.ts), plus the two
 * things that are not one channel's events: originate results (BACKGROUND_JOB) and the resync with
 * FreeSWITCH's own snapshot after a (re)connect or a restart.
 */
export class CallTracker extends EventTracker {
  private recentOriginateLegs: OriginateLeg[] = [];
  /** Closed calls an originate made: their BACKGROUND_JOB can come after the last CHANNEL_DESTROY (08). */
  private closedOriginated = new Map<string, CallState>();
  /** Until when (ms, FreeSWITCH clock) the link showed every leg we know alive (src/calls/link-alive.ts). */
  private readonly alive = new LinkAlive();

  /**
   * Restores the journal's live state. Legs were alive at least until their last persisted sighting, and
   * until `aliveMark`: the journal's last "link known alive until" (ms, FreeSWITCH clock), persisted while
   * in sync, so after a crash a call that ended while we were down ends no earlier than the last heartbeat.
   */
  override restore(calls: CallState[], legs: LegState[], aliveMark?: number): void {
    super.restore(calls, legs);
    let seen = 0;
    for (const l of legs) seen = Math.max(seen, l.lastSeenAt ?? 0, l.answeredAt ?? 0, l.createdAt);
    this.alive.restored(aliveMark, seen, legs.length > 0);
  }

  /** An event's timestamp: a frame of the link (src/calls/link-alive.ts). */
  protected override observeFrame(fsMs: number): void {
    this.alive.saw(fsMs);
  }

  /** A HEARTBEAT at `fsMs` (its Event-Date-Timestamp, ms, FreeSWITCH clock): a frame like any event. */
  observeHeartbeat(fsMs: number): void {
    this.clock.observe(fsMs);
    this.alive.saw(fsMs);
  }

  /** A probe sent at `localMs` (our clock) was answered: alive then, on FreeSWITCH's clock (FsClock.at). */
  observeProbe(localMs: number): void {
    this.alive.saw(this.clock.at(localMs));
  }

  /** "Link known alive until" (ms, FreeSWITCH clock) worth persisting now; undefined while out of sync. */
  get aliveMark(): number | undefined {
    return this.alive.mark;
  }

  /** The link to FreeSWITCH dropped: every live leg was alive until the latest frame of the link. */
  linkDown(): void {
    this.alive.down();
  }

  /**
   * A snapshot is about to be requested: from now on, every leg an event touches is newer than the
   * snapshot, which must neither end nor re-add it (issue 9, items 5 and 8).
   */
  beginSnapshot(): void {
    this.touched.clear();
    this.snapshotInFlight = true;
  }

  /** The snapshot was applied, or could not be had: stop noting touched legs. */
  endSnapshot(): void {
    this.snapshotInFlight = false;
    this.touched.clear();
  }

  /** Known live legs whose state the snapshot contradicts, or unknown legs: worth a `uuid_dump`. */
  legsToInspect(channels: ChannelRow[]): string[] {
    const out: string[] = [];
    for (const row of channels) {
      if (this.touched.has(row.uuid) || this.gone.has(row.uuid) || this.recentlyEnded.has(row.uuid) || this.closingLegs.has(row.uuid)) continue;
      const leg = this.legs.get(row.uuid);
      const talking = row.callstate === 'ACTIVE' || row.callstate === 'HELD';
      if (!leg || (talking && !leg.answeredAt)) out.push(row.uuid);
    }
    return out;
  }

  // ---- originate results (BACKGROUND_JOB) ---------------------------------------------------------

  protected override noteOriginatedLeg(leg: LegState): void {
    if (!leg.originated) return;
    this.recentOriginateLegs.push({ leg: leg.uuid, callId: leg.callId, dest: leg.destination, at: leg.createdAt, jobLinked: false });
    this.pruneOriginateLegs(leg.createdAt);
  }

  protected override closeCall(call: CallState): void {
    super.closeCall(call);
    if (call.legs.some((u) => this.recentOriginateLegs.some((o) => o.leg === u))) {
      this.closedOriginated.set(call.id, call);
      if (this.closedOriginated.size > 1000) this.closedOriginated.delete(this.closedOriginated.keys().next().value!);
    }
  }

  protected override noteLegHangup(leg: LegState): void {
    const orig = this.recentOriginateLegs.find((o) => o.leg === leg.uuid);
    if (orig) orig.cause = leg.hangupCause;
  }

  protected override dialTargetOf(data: string): unknown {
    return dialTarget(data);
  }

  /**
   * The result of a `bgapi originate`. `+OK <uuid>`: the call it made gets the job id. `-ERR <cause>`: a call
   * whose channel failed (busy) is already journalled and gets the job id, even after it ended (the result
   * comes after its CHANNEL_DESTROY: capture 17); an originate that created no channel at all
   * (SUBSCRIBER_ABSENT, USER_NOT_REGISTERED) is journalled as a failed call of its own.
   */
  protected override onBackgroundJob(ev: EslEvent, key: string): void {
    if (header(ev, 'Job-Command') !== 'originate') return;
    const body = (ev.body ?? '').trim();
    const jobUuid = header(ev, 'Job-UUID') ?? key;
    const at = this.eventTime(ev);
    this.pruneOriginateLegs(at);
    if (body.startsWith('+OK')) {
      const legUuid = body.slice(3).trim();
      const leg = this.liveLeg(legUuid);
      const o = this.recentOriginateLegs.find((r) => r.leg === legUuid);
      if (o) o.jobLinked = true;
      const call = leg ? this.liveCall(leg.callId) : undefined;
      if (call && !call.originJob) {
        call.originJob = jobUuid;
        this.markCall(call);
      }
      return;
    }
    const cause = /^-ERR\s+(\S+)/.exec(body)?.[1] ?? 'UNKNOWN';
    const arg = header(ev, 'Job-Command-Arg') ?? '';
    const target = dialTarget(arg);
    // Our own originates name their leg (origination_uuid): only that leg. Others: the latest unlinked leg
    // that failed the same way to the same number.
    const match = target.uuid
      ? this.recentOriginateLegs.find((r) => !r.jobLinked && r.leg === target.uuid)
      : [...this.recentOriginateLegs].reverse().find((r) => !r.jobLinked && r.cause === cause && (!target.number || r.dest === target.number));
    if (match) {
      match.jobLinked = true;
      const call = this.liveCall(match.callId) ?? this.closedOriginated.get(match.callId);
      if (call && !call.originJob) {
        call.originJob = jobUuid;
        if (call.closed) this.markCallSnapshot(call);
        else this.markCall(call);
      }
      return;
    }
    // No channel was ever created (SUBSCRIBER_ABSENT, unknown user, no route): record the failed attempt.
    const id = target.uuid ?? jobUuid;
    if (this.liveCall(id) || this.recentlyEnded.has(id)) return;
    const clickToCall = target.employee !== undefined && target.then !== undefined;
    // Click-to-call: the employee's phone was to ring first, then the dialplan would dial `then`.
    const number = clickToCall ? target.then! : target.number;
    const external = number !== undefined && !SHORT_EXTENSION_RE.test(number);
    const call: CallState = {
      id,
      direction: clickToCall ? (external ? 'outbound' : 'internal') : target.employee ? 'internal' : 'outbound',
      status: cause === 'USER_BUSY' ? 'busy' : 'failed',
      firstLeg: id,
      anchorLeg: id,
      legs: [],
      startedAt: at,
      endedAt: at,
      callerNumber: clickToCall ? target.employee : target.callerIdNumber,
      destinationNumber: number,
      externalNumber: (clickToCall ? external : !target.employee) ? number : undefined,
      hangupCause: cause,
      employees: target.employee ? { [target.employee]: { role: clickToCall ? 'caller' : 'callee', answered: false } } : {},
      hasRecording: false,
      originJob: jobUuid,
      closed: true,
    };
    this.addTimeline(call.id, `${key}:originate_failed`, at, 'originate_failed', undefined, { command: `originate ${arg}`, cause });
    this.recentlyEnded.set(id, id);
    this.markCallSnapshot(call);
  }

  private pruneOriginateLegs(now: number): void {
    if (this.recentOriginateLegs.length > 1000 || this.recentOriginateLegs[0]?.at < now - FAILED_ORIGINATE_WINDOW_MS) {
      this.recentOriginateLegs = this.recentOriginateLegs.filter((r) => r.at >= now - FAILED_ORIGINATE_WINDOW_MS).slice(-1000);
    }
  }

  // ---- resync ------------------------------------------------------------------------------------

  /**
   * Reconciles live state with FreeSWITCH's snapshot after a (re)connect or a restart. The snapshot is older
   * than the events that arrived while it was in flight: a leg an event touched since `beginSnapshot()` is
   * left to its events. What FreeSWITCH can still tell is used (`uuid_dump`: every variable, created and
   * answered times in µs); a leg that vanished while we were away is ended at the last moment we knew it
   * alive, and every call the resync changes is marked `uncertain`. Made-up times are on FreeSWITCH's clock.
   */
  resync(snapshot: Snapshot): JournalBatch {
    const { channels, bridged } = snapshot;
    const dumps = snapshot.dumps ?? new Map<string, EslEvent>();
    const fsNow = this.clock.now();
    const present = new Set(channels.map((c) => c.uuid));
    // 1. End what FreeSWITCH no longer has.
    for (const call of this.liveCalls()) {
      let lastEnd = 0;
      for (const u of call.legs) {
        const leg = this.legs.get(u);
        if (!leg || leg.endedAt || present.has(u) || this.touched.has(u)) continue;
        leg.endedAt = Math.max(leg.lastSeenAt ?? 0, this.alive.aliveUntil, leg.answeredAt ?? 0, leg.createdAt);
        leg.endedAt = Math.min(leg.endedAt, fsNow);
        leg.hangupCause = leg.hangupCause ?? 'LOST_DURING_DISCONNECT';
        leg.destroyed = true;
        lastEnd = Math.max(lastEnd, leg.endedAt);
        call.uncertain = true;
        this.markLeg(leg);
        this.markCall(call);
        this.addTimeline(call.id, `resync:${u}:gone`, leg.endedAt, 'leg_hangup', u, {
          party: this.party(leg),
          cause: leg.hangupCause,
          resync: true,
          endedWhileAway: true,
        });
      }
      if (call.legs.every((u) => this.legs.get(u)?.endedAt)) {
        const end = Math.max(lastEnd, ...call.legs.map((u) => this.legs.get(u)?.endedAt ?? 0));
        this.endCall(call, end, `resync:${call.id}`);
      }
    }
    // 2. Add what we missed: legs that lead a call first (call_uuid is their own), then the legs FreeSWITCH
    //    created for them, so every B-leg finds its A-leg; oldest first within each group.
    const leads = (r: ChannelRow) => !r.call_uuid || r.call_uuid === r.uuid;
    const sorted = [...channels].sort(
      (a, b) => Number(leads(b)) - Number(leads(a)) || Number(a.created_epoch ?? 0) - Number(b.created_epoch ?? 0),
    );
    for (const row of sorted) {
      const u = row.uuid;
      if (this.legs.has(u) || this.closingLegs.has(u) || this.recentlyEnded.has(u) || this.gone.has(u) || this.touched.has(u)) continue;
      const dump = dumps.get(u);
      const leg = dump ? this.openLeg(dumpAsLegEvent(dump), u, `resync:${u}`) : this.openLegFromRow(row, fsNow);
      const call = this.callOf(leg);
      call.uncertain = true;
      this.markCall(call);
      this.addTimeline(call.id, `resync:${u}:found`, fsNow, 'resynced', u, { party: this.party(leg) });
      if (!dump && (row.callstate === 'ACTIVE' || row.callstate === 'HELD')) {
        // No dump (it failed): the leg talks, since some time before now; the row has only seconds.
        this.onAnswer(leg, Math.max(leg.createdAt, Math.min(fsNow, this.alive.aliveUntil || fsNow)), `resync:${u}`);
      }
    }
    // 2b. A B-leg that an event opened before its A-leg was known (the snapshot names its call): one call.
    for (const row of channels) {
      if (!row.call_uuid || row.call_uuid === row.uuid) continue;
      const b = this.legs.get(row.uuid);
      const a = this.legs.get(row.call_uuid);
      if (!a || !b || a.callId === b.callId) continue;
      const merged = this.mergeCalls(this.callOf(a), this.callOf(b));
      merged.uncertain = true;
    }
    // 3. Known legs that answered while we were away.
    for (const row of channels) {
      const leg = this.legs.get(row.uuid);
      if (!leg || leg.answeredAt || this.touched.has(row.uuid)) continue;
      if (row.callstate !== 'ACTIVE' && row.callstate !== 'HELD') continue;
      const dumped = microsToMs(header(dumps.get(row.uuid) ?? { name: '', headers: {} }, 'Caller-Channel-Answered-Time'));
      this.onAnswer(leg, dumped ?? Math.max(leg.createdAt, this.alive.aliveUntil || fsNow), `resync:${row.uuid}`);
      const call = this.callOf(leg);
      call.uncertain = true;
      this.markCall(call);
    }
    // 4. Bridges from `show calls`.
    for (const row of bridged) {
      if (!row.b_uuid) continue;
      const a = this.legs.get(row.uuid);
      const b = this.legs.get(row.b_uuid);
      if (!a || !b || a.partner === b.uuid) continue;
      let call = this.callOf(a);
      const other = this.callOf(b);
      if (call !== other) call = this.mergeCalls(call, other);
      a.partner = b.uuid;
      b.partner = a.uuid;
      const anchorLeg = a.uuid === call.anchorLeg ? a : b.uuid === call.anchorLeg ? b : undefined;
      if (anchorLeg && !anchorLeg.lastPartner) anchorLeg.lastPartner = anchorLeg.partner;
      this.markLeg(a);
      this.markLeg(b);
      if (!call.answeredAt) call.uncertain = true;
      this.markAnswered(call, Math.max(a.answeredAt ?? 0, b.answeredAt ?? 0) || fsNow);
    }
    this.endSnapshot();
    this.alive.synced();
    return this.flush();
  }

  /** A leg from a `show channels` row alone (its uuid_dump failed): second-resolution times, no variables. */
  private openLegFromRow(row: ChannelRow, fsNow: number): LegState {
    const createdAt = row.created_epoch && /^\d+$/.test(row.created_epoch) ? Number(row.created_epoch) * 1000 : fsNow;
    const fsDirection = row.direction === 'inbound' ? 'inbound' : 'outbound';
    const leg: LegState = {
      uuid: row.uuid,
      callId: row.uuid,
      fsDirection,
      channelName: row.name ?? '',
      employee: employeeFromChannelRow(row as Record<string, string>, this.rules),
      number: fsDirection === 'inbound' ? row.cid_num : row.dest,
      name: fsDirection === 'inbound' ? row.cid_name : undefined,
      destination: row.dest,
      createdAt,
      role: 'party',
      held: row.callstate === 'HELD',
      originated: false,
      lastSeenAt: fsNow,
      transferBaselineUnknown: true,
    };
    this.legs.set(leg.uuid, leg);
    const parent = row.call_uuid && row.call_uuid !== row.uuid ? this.legs.get(row.call_uuid) : undefined;
    if (parent) this.attachLeg(this.callOf(parent), leg);
    else this.newCall(leg, `resync:${leg.uuid}`);
    return leg;
  }
}

/**
 * `uuid_dump <uuid> json` is a CHANNEL_DATA event of the leg as it is now (fixtures/freeswitch/02: the
 * answer in 02_inbound_call_bridge.esl). Read as the leg's opening event, with two corrections: an inbound
 * leg's destination is the number it was called on (`variable_sip_req_user`: the DID), not where the
 * dialplan's transfer sent it; and its Caller-Transfer-Source is a baseline, not a transfer we saw.
 */
export function dumpAsLegEvent(dump: EslEvent): EslEvent {
  const headers = { ...dump.headers };
  const req = header(dump, 'variable_sip_req_user');
  if (header(dump, 'Call-Direction') === 'inbound' && req && /^\+?[0-9A-Za-z_.-]{1,32}$/.test(req)) headers['Caller-Destination-Number'] = req;
  return { name: 'CHANNEL_DATA', headers };
}

/** `{vars}user/1005 &park()` → the dialled endpoint's number; also origination_caller_id_number and _uuid. */
export function dialTarget(arg: string): { number?: string; employee?: string; callerIdNumber?: string; then?: string; uuid?: string } {
  let s = arg.trim();
  let callerIdNumber: string | undefined;
  let uuid: string | undefined;
  const vars = /^[{[<]([^}\]>]*)[}\]>]/.exec(s);
  if (vars) {
    callerIdNumber = /(?:^|,)origination_caller_id_number=([^,]*)/.exec(vars[1])?.[1];
    uuid = /(?:^|,)origination_uuid=([0-9a-fA-F-]{36})(?:,|$)/.exec(vars[1])?.[1];
    s = s.slice(vars[0].length);
  }
  const [endpoint = '', second] = s.split(/\s+/);
  // `originate user/1001 +74951234567 XML default`: after the A-leg answers, the dialplan dials `then`.
  const then = second && !second.startsWith('&') ? second : undefined;
  let m = /^user\/([^@\s]+)/.exec(endpoint);
  if (m) return { number: m[1], employee: m[1], callerIdNumber, then, uuid };
  m = /^sofia\/gateway\/[^/]+\/([^@\s]+)/.exec(endpoint);
  if (m) return { number: m[1], callerIdNumber, uuid };
  m = /^(?:sofia\/[^/]+|loopback)\/([^@\s/]+)/.exec(endpoint);
  if (m) return { number: m[1], callerIdNumber, uuid };
  return { callerIdNumber, uuid };
}
