import { EslEvent, header } from '../esl/event';
import { DEFAULT_PARTY_RULES, employeeFromChannelRow, employeeFromEvent, PartyRules } from './party';
import { finalStatus } from './status';
import {
  absorbTimelineEntry,
  CallDirection,
  CallState,
  EavesdropMode,
  JournalBatch,
  LegState,
  Party,
  RecordingInfo,
  TimelineEntry,
  TimelineKind,
} from './types';

/** Channel events that may introduce a leg we have not seen yet. */
const LEG_OPENING_EVENTS = new Set([
  'CHANNEL_CREATE',
  'CHANNEL_OUTGOING',
  'CHANNEL_ORIGINATE',
  'CHANNEL_PROGRESS',
  'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_ANSWER',
  'CHANNEL_BRIDGE',
  'CHANNEL_CALLSTATE',
  'CHANNEL_EXECUTE',
  'CHANNEL_HOLD',
  'CHANNEL_PARK',
  'RECORD_START',
  'CHANNEL_HANGUP',
  'CHANNEL_HANGUP_COMPLETE',
]);

/** Eavesdrop DTMF keys (mod_dptools): 0 listen only, 1 talk to the other half, 2 talk to the target, 3 three-way. */
const EAVESDROP_KEYS: Record<string, EavesdropMode> = { '0': 'listen', '1': 'whisper_other', '2': 'whisper', '3': 'barge' };

const RECENTLY_ENDED_LIMIT = 50_000;
const FAILED_ORIGINATE_WINDOW_MS = 120_000;

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

export interface CallRow {
  uuid: string;
  b_uuid?: string;
  [k: string]: string | undefined;
}

function eventTime(ev: EslEvent): number {
  const ts = header(ev, 'Event-Date-Timestamp');
  if (ts && /^\d+$/.test(ts)) return Math.floor(Number(ts) / 1000);
  return Date.now();
}

function microsToMs(v: string | undefined): number | undefined {
  if (!v || !/^\d+$/.test(v) || v === '0') return undefined;
  return Math.floor(Number(v) / 1000);
}

/**
 * Turns FreeSWITCH channel events into calls. Deterministic: the same events give the same calls, legs and
 * timeline keys, so the journal can upsert idempotently. Every `apply` returns what changed.
 */
export class CallTracker {
  private legs = new Map<string, LegState>();
  private calls = new Map<string, CallState>();
  private recentlyEnded = new Map<string, string>(); // leg uuid -> call id
  private recentOriginateLegs: Array<{ leg: string; callId: string; dest?: string; cause?: string; at: number; jobLinked: boolean }> = [];
  private seen = new Set<string>();
  private seenOrder: string[] = [];
  private batch: JournalBatch = emptyBatch();
  private dirtyCalls = new Set<string>();
  private dirtyLegs = new Set<string>();

  constructor(private readonly rules: PartyRules = DEFAULT_PARTY_RULES) {}

  /** Live calls (for the panel and resync). */
  liveCalls(): CallState[] {
    return [...this.calls.values()];
  }

  liveCall(id: string): CallState | undefined {
    return this.calls.get(id);
  }

  liveLeg(uuid: string): LegState | undefined {
    return this.legs.get(uuid);
  }

  /** Restores live state persisted by the journal (after a restart). */
  restore(calls: CallState[], legs: LegState[]): void {
    for (const c of calls) this.calls.set(c.id, c);
    for (const l of legs) if (this.calls.has(l.callId)) this.legs.set(l.uuid, l);
  }

  /** Applies one event; returns the journal changes it caused (empty when the event changes nothing). */
  apply(ev: EslEvent): JournalBatch {
    const eventKey = this.eventKey(ev);
    if (eventKey) {
      if (this.seen.has(eventKey)) return emptyBatch();
      this.remember(eventKey);
    }
    this.dispatch(ev, eventKey ?? `${ev.name}:${header(ev, 'Unique-ID') ?? ''}:${eventTime(ev)}`);
    return this.flush();
  }

  private eventKey(ev: EslEvent): string | undefined {
    const core = header(ev, 'Core-UUID');
    const seq = header(ev, 'Event-Sequence');
    return core && seq ? `${core}:${seq}` : undefined;
  }

  private remember(key: string): void {
    this.seen.add(key);
    this.seenOrder.push(key);
    if (this.seenOrder.length > 200_000) {
      for (const k of this.seenOrder.splice(0, 100_000)) this.seen.delete(k);
    }
  }

  private dispatch(ev: EslEvent, key: string): void {
    if (ev.name === 'BACKGROUND_JOB') return this.onBackgroundJob(ev, key);
    const uuid = header(ev, 'Unique-ID');
    if (!uuid) return;
    if (this.recentlyEnded.has(uuid) && !this.legs.has(uuid)) return; // stragglers after the call ended
    let leg = this.legs.get(uuid);
    if (!leg) {
      if (!LEG_OPENING_EVENTS.has(ev.name)) return;
      leg = this.openLeg(ev, uuid, key);
    }
    this.touchLeg(leg, ev);
    this.trackTransferSource(leg, ev, key);
    const at = eventTime(ev);
    switch (ev.name) {
      case 'CHANNEL_ANSWER':
        this.onAnswer(leg, at, key);
        break;
      case 'CHANNEL_BRIDGE':
        this.onBridge(ev, at, key);
        break;
      case 'CHANNEL_UNBRIDGE':
        this.onUnbridge(ev, at, key);
        break;
      case 'CHANNEL_HOLD':
      case 'CHANNEL_UNHOLD':
        this.onHold(leg, ev.name === 'CHANNEL_HOLD', at, key);
        break;
      case 'CHANNEL_EXECUTE':
        this.onExecute(leg, ev, at, key);
        break;
      case 'DTMF':
        this.onDtmf(leg, ev, at, key);
        break;
      case 'RECORD_START':
      case 'RECORD_STOP':
        this.onRecord(leg, ev, at, key);
        break;
      case 'CHANNEL_HANGUP':
      case 'CHANNEL_HANGUP_COMPLETE':
        this.onHangup(leg, ev, at, key);
        break;
      default:
        break;
    }
  }

  // ---- legs ---------------------------------------------------------------------------------------

  private openLeg(ev: EslEvent, uuid: string, key: string): LegState {
    const channelName = header(ev, 'Channel-Name') ?? header(ev, 'Caller-Channel-Name') ?? '';
    const fsDirection = header(ev, 'Call-Direction') === 'inbound' ? 'inbound' : 'outbound';
    const createdAt = microsToMs(header(ev, 'Caller-Channel-Created-Time')) ?? eventTime(ev);
    const employee = employeeFromEvent(ev, channelName, this.rules);
    const originator = header(ev, 'variable_originating_leg_uuid') ??
      (header(ev, 'Other-Type') === 'originator' ? header(ev, 'Other-Leg-Unique-ID') : undefined);
    const leg: LegState = {
      uuid,
      callId: uuid,
      fsDirection,
      channelName,
      employee,
      number: fsDirection === 'inbound'
        ? header(ev, 'Caller-Caller-ID-Number')
        : header(ev, 'Caller-Destination-Number') ?? header(ev, 'Caller-Callee-ID-Number'),
      name: fsDirection === 'inbound' ? header(ev, 'Caller-Caller-ID-Name') : undefined,
      destination: header(ev, 'Caller-Destination-Number'),
      createdAt,
      role: 'party',
      held: false,
      originated: fsDirection === 'outbound' && !originator,
    };
    this.legs.set(uuid, leg);
    const parentLeg = originator ? this.legs.get(originator) : undefined;
    if (parentLeg) {
      this.attachLeg(this.calls.get(parentLeg.callId)!, leg);
      this.addTimeline(parentLeg.callId, `${key}:leg`, createdAt, 'leg_ringing', leg.uuid, { party: this.party(leg) });
    } else {
      this.newCall(leg, key);
    }
    if (leg.originated) {
      this.recentOriginateLegs.push({ leg: uuid, callId: leg.callId, dest: leg.destination, at: createdAt, jobLinked: false });
      this.pruneOriginateLegs(createdAt);
    }
    // A leg first seen at hangup (started while we were disconnected) still has its times in the profile.
    const answered = microsToMs(header(ev, 'Caller-Channel-Answered-Time'));
    if (answered && !leg.answeredAt) this.onAnswer(leg, answered, `${key}:answered`);
    return leg;
  }

  private touchLeg(leg: LegState, ev: EslEvent): void {
    if (!leg.employee) {
      const e = employeeFromEvent(ev, leg.channelName, this.rules);
      if (e) {
        leg.employee = e;
        this.noteEmployee(this.calls.get(leg.callId)!, leg);
        this.markLeg(leg);
      }
    }
  }

  private newCall(leg: LegState, key: string): CallState {
    const call: CallState = {
      id: leg.uuid,
      direction: 'internal',
      status: 'ringing',
      firstLeg: leg.uuid,
      anchorLeg: leg.uuid,
      legs: [],
      startedAt: leg.createdAt,
      employees: {},
      hasRecording: false,
    };
    this.calls.set(call.id, call);
    this.attachLeg(call, leg);
    this.addTimeline(call.id, `${key}:ringing`, leg.createdAt, 'ringing', leg.uuid, {
      party: this.party(leg),
      destination: leg.destination,
    });
    return call;
  }

  private attachLeg(call: CallState, leg: LegState): void {
    leg.callId = call.id;
    if (!call.legs.includes(leg.uuid)) call.legs.push(leg.uuid);
    this.noteEmployee(call, leg);
    this.recomputeParties(call);
    this.markLeg(leg);
    this.markCall(call);
  }

  private noteEmployee(call: CallState, leg: LegState): void {
    if (!leg.employee) return;
    const role = leg.role === 'supervisor' ? 'supervisor' : leg.uuid === call.firstLeg ? 'caller' : 'callee';
    const cur = call.employees[leg.employee];
    if (!cur) call.employees[leg.employee] = { role, answered: false };
    else if (role === 'supervisor' && cur.role !== 'supervisor' && !cur.answered) cur.role = 'supervisor';
  }

  /** Direction, external number, anchor, caller and destination follow from who is on the legs. */
  private recomputeParties(call: CallState): void {
    const first = this.legs.get(call.firstLeg);
    if (!first) return;
    const parties = call.legs.map((u) => this.legs.get(u)).filter((l): l is LegState => !!l && l.role === 'party');
    const external = parties.find((l) => !l.employee);
    let direction: CallDirection;
    if (!first.employee) direction = first.fsDirection === 'inbound' ? 'inbound' : 'outbound';
    else direction = external ? 'outbound' : 'internal';
    call.direction = direction;
    call.anchorLeg = (external ?? first).uuid;
    call.externalNumber = external?.number;
    if (first.originated) {
      // Click-to-call: FreeSWITCH rang the operator first; the caller is the operator, the destination
      // is whoever the second leg dials.
      call.callerNumber = first.employee ?? first.number;
      const second = parties.find((l) => l.uuid !== first.uuid);
      call.destinationNumber = second?.number ?? call.destinationNumber;
    } else {
      call.callerNumber = first.number;
      call.callerName = first.name;
      call.destinationNumber = first.destination;
    }
  }

  private party(leg: LegState | undefined): Party | undefined {
    if (!leg) return undefined;
    const p: Party = { leg: leg.uuid };
    if (leg.employee) p.employee = leg.employee;
    if (leg.number) p.number = leg.number;
    if (leg.name) p.name = leg.name;
    return p;
  }

  // ---- event handlers ----------------------------------------------------------------------------

  private onAnswer(leg: LegState, at: number, key: string): void {
    if (leg.answeredAt) return;
    leg.answeredAt = at;
    this.markLeg(leg);
    const call = this.calls.get(leg.callId)!;
    if (leg.employee && call.employees[leg.employee] && leg.role === 'party') call.employees[leg.employee].answered = true;
    this.addTimeline(call.id, `${key}:answer`, at, 'answered', leg.uuid, { party: this.party(leg) });
    const first = this.legs.get(call.firstLeg);
    const answersCall = leg.role === 'party' &&
      (leg.uuid !== call.firstLeg || (first !== undefined && first.originated && call.legs.length === 1));
    if (answersCall) this.markAnswered(call, at);
  }

  private markAnswered(call: CallState, at: number): void {
    if (!call.answeredAt) {
      call.answeredAt = at;
    }
    if (call.status === 'ringing') call.status = 'active';
    this.markCall(call);
  }

  private onBridge(ev: EslEvent, at: number, key: string): void {
    const aId = header(ev, 'Bridge-A-Unique-ID') ?? header(ev, 'Unique-ID');
    const bId = header(ev, 'Bridge-B-Unique-ID') ?? header(ev, 'Other-Leg-Unique-ID');
    if (!aId || !bId) return;
    const a = this.legs.get(aId);
    let b = this.legs.get(bId);
    if (!a) return;
    if (!b) {
      if (this.recentlyEnded.has(bId)) return;
      // The other leg started while we were not listening: build it from the Other-Leg-* profile.
      b = this.openLegFromOther(ev, bId, key);
    }
    let call = this.calls.get(a.callId)!;
    const other = this.calls.get(b.callId)!;
    if (call !== other) call = this.mergeCalls(call, other);
    // A bridge ends the consult leg's original life as an originated call of its own.
    for (const l of [a, b]) {
      if (l.employee && call.employees[l.employee] && l.role === 'party') call.employees[l.employee].answered = true;
    }
    a.partner = b.uuid;
    b.partner = a.uuid;
    this.markLeg(a);
    this.markLeg(b);
    this.recomputeParties(call);
    this.addTimeline(call.id, `${key}:bridge`, at, 'bridged', a.uuid, { a: this.party(a), b: this.party(b) });
    const anchor = call.anchorLeg;
    if (a.uuid === anchor || b.uuid === anchor) {
      const anchorLeg = a.uuid === anchor ? a : b;
      const newPartner = a.uuid === anchor ? b : a;
      const prev = anchorLeg.lastPartner ? this.legs.get(anchorLeg.lastPartner) : undefined;
      if (anchorLeg.lastPartner && anchorLeg.lastPartner !== newPartner.uuid) {
        if (call.pendingBlind) {
          // Announced when the transfer was made; the bridge only completes it.
        } else {
          this.addTimeline(call.id, `${key}:transfer`, at, 'transfer', newPartner.uuid, {
            type: 'attended',
            from: this.party(prev) ?? { leg: anchorLeg.lastPartner },
            to: this.party(newPartner),
          });
        }
      }
      call.pendingBlind = undefined;
      call.attendedPending = false;
      anchorLeg.lastPartner = newPartner.uuid;
    } else {
      // Two legs other than the anchor talk: the agent consults a colleague while the customer waits.
      this.addTimeline(call.id, `${key}:consult`, at, 'consultation', a.uuid, { a: this.party(a), b: this.party(b) });
    }
    this.markAnswered(call, at);
  }

  private openLegFromOther(ev: EslEvent, uuid: string, key: string): LegState {
    const synthetic: EslEvent = {
      name: 'CHANNEL_CREATE',
      headers: {
        'Unique-ID': uuid,
        'Channel-Name': header(ev, 'Other-Leg-Channel-Name') ?? '',
        'Call-Direction': header(ev, 'Other-Leg-Direction') ?? 'outbound',
        'Caller-Caller-ID-Number': header(ev, 'Other-Leg-Caller-ID-Number') ?? '',
        'Caller-Caller-ID-Name': header(ev, 'Other-Leg-Caller-ID-Name') ?? '',
        'Caller-Destination-Number': header(ev, 'Other-Leg-Destination-Number') ?? '',
        'Caller-Channel-Created-Time': header(ev, 'Other-Leg-Channel-Created-Time') ?? '',
        'Event-Date-Timestamp': header(ev, 'Event-Date-Timestamp') ?? '',
      },
    };
    return this.openLeg(synthetic, uuid, `${key}:other`);
  }

  private onUnbridge(ev: EslEvent, at: number, key: string): void {
    const aId = header(ev, 'Bridge-A-Unique-ID') ?? header(ev, 'Unique-ID');
    const bId = header(ev, 'Bridge-B-Unique-ID');
    const a = aId ? this.legs.get(aId) : undefined;
    const b = bId ? this.legs.get(bId) : undefined;
    if (a && a.partner === bId) a.partner = undefined;
    if (b && b.partner === aId) b.partner = undefined;
    if (a) this.markLeg(a);
    if (b) this.markLeg(b);
    const call = a ? this.calls.get(a.callId) : undefined;
    if (call && a && b && !a.endedAt && !b.endedAt) {
      this.addTimeline(call.id, `${key}:unbridge`, at, 'unbridged', a.uuid, { a: this.party(a), b: this.party(b) });
    }
  }

  private onHold(leg: LegState, held: boolean, at: number, key: string): void {
    if (leg.held === held) return;
    leg.held = held;
    this.markLeg(leg);
    this.addTimeline(leg.callId, `${key}:hold`, at, held ? 'held' : 'resumed', leg.uuid, { by: this.party(leg) });
  }

  private onExecute(leg: LegState, ev: EslEvent, at: number, key: string): void {
    const app = header(ev, 'Application');
    const data = header(ev, 'Application-Data') ?? '';
    if (app === 'eavesdrop' || app === 'three_way') {
      const target = this.legs.get(data.trim());
      if (!target || target.uuid === leg.uuid) return;
      let call = this.calls.get(target.callId)!;
      const own = this.calls.get(leg.callId)!;
      leg.role = 'supervisor';
      leg.eavesdropTarget = target.uuid;
      leg.eavesdropMode = app === 'three_way' ? 'barge' : 'listen';
      if (own !== call) call = this.mergeCalls(call, own);
      if (leg.employee) call.employees[leg.employee] = { role: 'supervisor', answered: false };
      this.recomputeParties(call);
      this.markLeg(leg);
      this.addTimeline(call.id, `${key}:eavesdrop`, at, 'eavesdrop_started', leg.uuid, {
        supervisor: this.party(leg),
        target: this.party(target),
        mode: leg.eavesdropMode,
      });
    } else if (app === 'att_xfer') {
      const call = this.calls.get(leg.callId)!;
      call.attendedPending = true;
      this.markCall(call);
      this.addTimeline(call.id, `${key}:att_xfer`, at, 'consultation', leg.uuid, {
        by: this.party(leg),
        target: dialTarget(data),
        method: 'att_xfer',
      });
    } else if (app === 'uuid_bridge') {
      const call = this.calls.get(leg.callId)!;
      call.attendedPending = true;
      this.markCall(call);
    }
  }

  private onDtmf(leg: LegState, ev: EslEvent, at: number, key: string): void {
    if (leg.role !== 'supervisor' || !leg.eavesdropTarget) return;
    const mode = EAVESDROP_KEYS[header(ev, 'DTMF-Digit') ?? ''];
    if (!mode || mode === leg.eavesdropMode) return;
    leg.eavesdropMode = mode;
    this.markLeg(leg);
    const target = this.legs.get(leg.eavesdropTarget);
    const heardBy =
      mode === 'listen' ? [] :
      mode === 'whisper' ? [this.party(target)] :
      mode === 'whisper_other' ? [this.party(target?.partner ? this.legs.get(target.partner) : undefined)] :
      [this.party(target), this.party(target?.partner ? this.legs.get(target.partner) : undefined)];
    this.addTimeline(leg.callId, `${key}:dtmf`, at, 'eavesdrop_mode', leg.uuid, {
      supervisor: this.party(leg),
      mode,
      heardBy: heardBy.filter(Boolean),
    });
  }

  private onRecord(leg: LegState, ev: EslEvent, at: number, key: string): void {
    const path = header(ev, 'Record-File-Path');
    if (!path) return;
    const call = this.calls.get(leg.callId)!;
    const stereo = /^true$/i.test(header(ev, 'variable_RECORD_STEREO') ?? header(ev, 'variable_record_stereo') ?? '');
    const recKey = `${call.id}:${path}`;
    if (ev.name === 'RECORD_START') {
      call.hasRecording = true;
      this.markCall(call);
      this.batch.recordings.push({ key: recKey, callId: call.id, leg: leg.uuid, path, startedAt: at, stereo });
      this.addTimeline(call.id, `${key}:rec`, at, 'recording_started', leg.uuid, { path, stereo });
    } else {
      const ms = header(ev, 'variable_record_ms');
      const secs = header(ev, 'variable_record_seconds');
      const seconds = ms && /^\d+$/.test(ms) ? Number(ms) / 1000 : secs && /^\d+$/.test(secs) ? Number(secs) : undefined;
      call.hasRecording = true;
      this.markCall(call);
      this.batch.recordings.push({
        key: recKey,
        callId: call.id,
        leg: leg.uuid,
        path,
        startedAt: at - Math.round((seconds ?? 0) * 1000),
        stoppedAt: at,
        seconds,
        stereo,
      });
      this.addTimeline(call.id, `${key}:rec`, at, 'recording_stopped', leg.uuid, {
        path,
        seconds,
        cause: header(ev, 'Record-Completion-Cause'),
      });
    }
  }

  private trackTransferSource(leg: LegState, ev: EslEvent, key: string): void {
    const src = header(ev, 'Caller-Transfer-Source');
    if (!src || src === leg.transferSource) return;
    leg.transferSource = src;
    const call = this.calls.get(leg.callId)!;
    const m = /^\d+:[^:]*:([a-z_]+):(.*)$/.exec(src);
    if (!m) return;
    const [, kind, rest] = m;
    if (kind === 'uuid_br') {
      call.attendedPending = true;
      this.markCall(call);
      return;
    }
    if (kind !== 'bl_xfer' || leg.uuid !== call.anchorLeg) return;
    // A blind transfer of the anchor: from the employee it talked to, or the ones whose phones rang.
    const prev = leg.partner ? this.legs.get(leg.partner) : leg.lastPartner ? this.legs.get(leg.lastPartner) : undefined;
    const ringing = call.legs
      .map((u) => this.legs.get(u))
      .filter((l): l is LegState => !!l && l.uuid !== leg.uuid && !l.answeredAt && l.role === 'party');
    const from = prev ?? ringing[0];
    if (!from) return; // the dialplan routing an originated leg, not a transfer by a person
    const to = rest.split('/')[0];
    call.pendingBlind = { from: from.employee, to };
    this.markCall(call);
    this.addTimeline(call.id, `${key}:blind`, eventTime(ev), 'transfer', leg.uuid, {
      type: 'blind',
      from: this.party(from),
      to: { number: to },
      whileRinging: !prev,
    });
  }

  private onHangup(leg: LegState, ev: EslEvent, at: number, key: string): void {
    const cause = header(ev, 'Hangup-Cause');
    if (cause && !leg.hangupCause) leg.hangupCause = cause;
    const disposition = header(ev, 'variable_sip_hangup_disposition');
    if (disposition) leg.hangupDisposition = disposition;
    if (leg.endedAt) {
      this.markLeg(leg);
      return;
    }
    leg.endedAt = microsToMs(header(ev, 'Caller-Channel-Hangup-Time')) ?? at;
    this.markLeg(leg);
    const call = this.calls.get(leg.callId)!;
    this.addTimeline(call.id, `${key}:hangup`, leg.endedAt, 'leg_hangup', leg.uuid, {
      party: this.party(leg),
      cause: leg.hangupCause,
      role: leg.role,
    });
    if (leg.role === 'supervisor' && leg.eavesdropTarget) {
      this.addTimeline(call.id, `${key}:eavesdrop_end`, leg.endedAt, 'eavesdrop_stopped', leg.uuid, { supervisor: this.party(leg) });
    }
    const orig = this.recentOriginateLegs.find((o) => o.leg === leg.uuid);
    if (orig) orig.cause = leg.hangupCause;
    const live = call.legs.some((u) => {
      const l = this.legs.get(u);
      return l && !l.endedAt;
    });
    if (!live) this.endCall(call, leg.endedAt, key);
  }

  private endCall(call: CallState, at: number, key: string): void {
    const legs = call.legs.map((u) => this.legs.get(u)).filter((l): l is LegState => !!l);
    call.endedAt = at;
    call.status = finalStatus(call, legs);
    const first = this.legs.get(call.firstLeg);
    call.hangupCause = legs.find((l) => l.uuid !== call.firstLeg && l.hangupCause && l.hangupCause !== 'NORMAL_CLEARING' && !call.answeredAt)?.hangupCause
      ?? first?.hangupCause ?? legs.find((l) => l.hangupCause)?.hangupCause;
    this.addTimeline(call.id, `${key}:ended`, at, 'ended', undefined, { status: call.status, cause: call.hangupCause });
    this.markCall(call);
    for (const l of legs) {
      this.markLeg(l);
      this.legs.delete(l.uuid);
      this.recentlyEnded.set(l.uuid, call.id);
    }
    this.calls.delete(call.id);
    if (this.recentlyEnded.size > RECENTLY_ENDED_LIMIT) {
      const drop = this.recentlyEnded.size - RECENTLY_ENDED_LIMIT / 2;
      let i = 0;
      for (const k of this.recentlyEnded.keys()) {
        if (i++ >= drop) break;
        this.recentlyEnded.delete(k);
      }
    }
    // Keep the final snapshots reachable for flush, and for a late originate result (busy).
    this.endedSnapshots.set(call.id, call);
    if (call.legs.some((u) => this.recentOriginateLegs.some((o) => o.leg === u))) {
      this.recentlyEndedCalls.set(call.id, call);
      if (this.recentlyEndedCalls.size > 1000) this.recentlyEndedCalls.delete(this.recentlyEndedCalls.keys().next().value!);
    }
    for (const l of legs) this.endedLegSnapshots.set(l.uuid, l);
  }

  private endedSnapshots = new Map<string, CallState>();
  private recentlyEndedCalls = new Map<string, CallState>();
  private endedLegSnapshots = new Map<string, LegState>();

  private mergeCalls(x: CallState, y: CallState): CallState {
    // The older call survives: it is the conversation the customer started.
    const [into, from] = x.startedAt <= y.startedAt ? [x, y] : [y, x];
    for (const u of from.legs) {
      const l = this.legs.get(u);
      if (l) {
        l.callId = into.id;
        if (!into.legs.includes(u)) into.legs.push(u);
        this.markLeg(l);
      }
    }
    for (const [ext, info] of Object.entries(from.employees)) {
      const cur = into.employees[ext];
      if (!cur) into.employees[ext] = { ...info, role: info.role === 'caller' ? 'callee' : info.role };
      else cur.answered = cur.answered || info.answered;
    }
    into.hasRecording = into.hasRecording || from.hasRecording;
    into.attendedPending = into.attendedPending || from.attendedPending;
    this.calls.delete(from.id);
    this.dirtyCalls.delete(from.id);
    this.batch.merges.push({ from: from.id, into: into.id });
    // Re-point timeline entries already produced in this batch.
    for (const t of this.batch.timeline) if (t.callId === from.id) absorbTimelineEntry(t, into.id);
    for (const r of this.batch.recordings) if (r.callId === from.id) r.callId = into.id;
    this.recomputeParties(into);
    this.markCall(into);
    return into;
  }

  // ---- background jobs (originate results) -------------------------------------------------------

  private onBackgroundJob(ev: EslEvent, key: string): void {
    if (header(ev, 'Job-Command') !== 'originate') return;
    const body = (ev.body ?? '').trim();
    const jobUuid = header(ev, 'Job-UUID') ?? key;
    const at = eventTime(ev);
    this.pruneOriginateLegs(at);
    if (body.startsWith('+OK')) {
      const legUuid = body.slice(3).trim();
      const leg = this.legs.get(legUuid);
      const o = this.recentOriginateLegs.find((r) => r.leg === legUuid);
      if (o) o.jobLinked = true;
      const call = leg ? this.calls.get(leg.callId) : undefined;
      if (call && !call.originJob) {
        call.originJob = jobUuid;
        this.markCall(call);
      }
      return;
    }
    const cause = /^-ERR\s+(\S+)/.exec(body)?.[1] ?? 'UNKNOWN';
    const arg = header(ev, 'Job-Command-Arg') ?? '';
    const target = dialTarget(arg);
    // The originate created a channel that failed (busy): that call is already in the journal.
    const match = this.recentOriginateLegs.find(
      (r) => !r.jobLinked && r.cause === cause && (!target.number || r.dest === target.number),
    );
    if (match) {
      match.jobLinked = true;
      const call = this.calls.get(match.callId) ?? this.recentlyEndedCalls.get(match.callId);
      if (call && !call.originJob) {
        call.originJob = jobUuid;
        this.markCallSnapshot(call);
      }
      return;
    }
    // No channel was ever created (SUBSCRIBER_ABSENT, unknown user, no route): record the failed attempt.
    if (target.employee && target.then) {
      // Click-to-call: the employee's phone was to ring first, then the dialplan would dial `then`.
      const external = !SHORT_EXTENSION_RE.test(target.then);
      const failed: CallState = {
        id: jobUuid,
        direction: external ? 'outbound' : 'internal',
        status: cause === 'USER_BUSY' ? 'busy' : 'failed',
        firstLeg: jobUuid,
        anchorLeg: jobUuid,
        legs: [],
        startedAt: at,
        endedAt: at,
        callerNumber: target.employee,
        destinationNumber: target.then,
        externalNumber: external ? target.then : undefined,
        hangupCause: cause,
        employees: { [target.employee]: { role: 'caller', answered: false } },
        hasRecording: false,
        originJob: jobUuid,
      };
      this.addTimeline(failed.id, `${key}:originate_failed`, at, 'originate_failed', undefined, { command: `originate ${arg}`, cause });
      this.endedSnapshots.set(failed.id, failed);
      this.dirtyCalls.add(failed.id);
      return;
    }
    const call: CallState = {
      id: jobUuid,
      direction: target.employee ? 'internal' : 'outbound',
      status: 'failed',
      firstLeg: jobUuid,
      anchorLeg: jobUuid,
      legs: [],
      startedAt: at,
      endedAt: at,
      callerNumber: target.callerIdNumber,
      destinationNumber: target.number,
      externalNumber: target.employee ? undefined : target.number,
      hangupCause: cause,
      employees: target.employee ? { [target.employee]: { role: 'callee', answered: false } } : {},
      hasRecording: false,
      originJob: jobUuid,
    };
    call.status = cause === 'USER_BUSY' ? 'busy' : 'failed';
    this.addTimeline(call.id, `${key}:originate_failed`, at, 'originate_failed', undefined, {
      command: `originate ${arg}`,
      cause,
    });
    this.endedSnapshots.set(call.id, call);
    this.dirtyCalls.add(call.id);
  }

  private pruneOriginateLegs(now: number): void {
    if (this.recentOriginateLegs.length > 1000 || this.recentOriginateLegs[0]?.at < now - FAILED_ORIGINATE_WINDOW_MS) {
      this.recentOriginateLegs = this.recentOriginateLegs.filter((r) => r.at >= now - FAILED_ORIGINATE_WINDOW_MS).slice(-1000);
    }
  }

  // ---- resync ------------------------------------------------------------------------------------

  /**
   * Reconciles live state with FreeSWITCH after a (re)connect: channels we missed are added, calls whose
   * channels are gone are ended. `now` is when the snapshot was taken.
   */
  resync(channels: ChannelRow[], bridged: CallRow[], now: number): JournalBatch {
    const present = new Set(channels.map((c) => c.uuid));
    // 1. End what FreeSWITCH no longer has.
    for (const call of [...this.calls.values()]) {
      for (const u of [...call.legs]) {
        const leg = this.legs.get(u);
        if (!leg || leg.endedAt || present.has(u)) continue;
        leg.endedAt = now;
        leg.hangupCause = leg.hangupCause ?? 'LOST_DURING_DISCONNECT';
        this.markLeg(leg);
        this.addTimeline(call.id, `resync:${u}:gone`, now, 'leg_hangup', u, {
          party: this.party(leg),
          cause: leg.hangupCause,
          resync: true,
        });
      }
      if (call.legs.every((u) => this.legs.get(u)?.endedAt)) this.endCall(call, now, `resync:${call.id}`);
    }
    // 2. Add what we missed: legs that lead a call first (call_uuid is their own), then the legs FreeSWITCH
    //    created for them, so every B-leg finds its A-leg; oldest first within each group.
    const leads = (r: ChannelRow) => !r.call_uuid || r.call_uuid === r.uuid;
    const sorted = [...channels].sort(
      (a, b) => Number(leads(b)) - Number(leads(a)) || Number(a.created_epoch ?? 0) - Number(b.created_epoch ?? 0),
    );
    for (const row of sorted) {
      if (this.legs.has(row.uuid) || this.recentlyEnded.has(row.uuid)) continue;
      const createdAt = row.created_epoch && /^\d+$/.test(row.created_epoch) ? Number(row.created_epoch) * 1000 : now;
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
      };
      this.legs.set(leg.uuid, leg);
      const parent = row.call_uuid && row.call_uuid !== row.uuid ? this.legs.get(row.call_uuid) : undefined;
      if (parent) {
        this.attachLeg(this.calls.get(parent.callId)!, leg);
      } else {
        const call = this.newCall(leg, `resync:${leg.uuid}`);
        this.addTimeline(call.id, `resync:${leg.uuid}:found`, now, 'resynced', leg.uuid, { party: this.party(leg) });
      }
      if (row.callstate === 'ACTIVE' || row.callstate === 'HELD') {
        leg.answeredAt = createdAt;
        const call = this.calls.get(leg.callId)!;
        if (leg.uuid !== call.firstLeg) this.markAnswered(call, createdAt);
      }
    }
    // 3. Bridges from `show calls`.
    for (const row of bridged) {
      if (!row.b_uuid) continue;
      const a = this.legs.get(row.uuid);
      const b = this.legs.get(row.b_uuid);
      if (!a || !b || a.partner === b.uuid) continue;
      let call = this.calls.get(a.callId)!;
      const other = this.calls.get(b.callId)!;
      if (call !== other) call = this.mergeCalls(call, other);
      a.partner = b.uuid;
      b.partner = a.uuid;
      const anchorLeg = a.uuid === call.anchorLeg ? a : b.uuid === call.anchorLeg ? b : undefined;
      if (anchorLeg && !anchorLeg.lastPartner) anchorLeg.lastPartner = anchorLeg.partner;
      this.markLeg(a);
      this.markLeg(b);
      this.markAnswered(call, now);
    }
    return this.flush();
  }

  // ---- journal batch -----------------------------------------------------------------------------

  private addTimeline(callId: string, key: string, at: number, kind: TimelineKind, leg: string | undefined, data: Record<string, unknown>): void {
    const entry: TimelineEntry = { key, callId, at, kind, data };
    if (leg) entry.leg = leg;
    this.batch.timeline.push(entry);
  }

  private markCall(call: CallState): void {
    this.dirtyCalls.add(call.id);
  }

  private markCallSnapshot(call: CallState): void {
    this.endedSnapshots.set(call.id, call);
    this.dirtyCalls.add(call.id);
  }

  private markLeg(leg: LegState): void {
    this.dirtyLegs.add(leg.uuid);
  }

  private flush(): JournalBatch {
    const out = this.batch;
    for (const id of this.dirtyCalls) {
      const c = this.calls.get(id) ?? this.endedSnapshots.get(id);
      if (c) out.calls.push(cloneCall(c));
    }
    for (const u of this.dirtyLegs) {
      const l = this.legs.get(u) ?? this.endedLegSnapshots.get(u);
      if (l) out.legs.push({ ...l });
    }
    this.dirtyCalls.clear();
    this.dirtyLegs.clear();
    this.endedSnapshots.clear();
    this.endedLegSnapshots.clear();
    this.batch = emptyBatch();
    return out;
  }
}

function cloneCall(c: CallState): CallState {
  const employees: CallState['employees'] = {};
  for (const [k, v] of Object.entries(c.employees)) employees[k] = { ...v };
  return { ...c, legs: [...c.legs], employees, pendingBlind: c.pendingBlind ? { ...c.pendingBlind } : undefined };
}

function emptyBatch(): JournalBatch {
  return { calls: [], legs: [], timeline: [], recordings: [], merges: [] };
}

/** `{vars}user/1005 &park()` → the dialled endpoint's number; also origination_caller_id_number. */
/** Internal extensions: 2 to 6 digits. */
const SHORT_EXTENSION_RE = /^[0-9]{2,6}$/;

export function dialTarget(arg: string): { number?: string; employee?: string; callerIdNumber?: string; then?: string } {
  let s = arg.trim();
  let callerIdNumber: string | undefined;
  const vars = /^[{[<]([^}\]>]*)[}\]>]/.exec(s);
  if (vars) {
    callerIdNumber = /(?:^|,)origination_caller_id_number=([^,]*)/.exec(vars[1])?.[1];
    s = s.slice(vars[0].length);
  }
  const [endpoint = '', second] = s.split(/\s+/);
  // `originate user/1001 +74951234567 XML default`: after the A-leg answers, the dialplan dials `then`.
  const then = second && !second.startsWith('&') ? second : undefined;
  let m = /^user\/([^@\s]+)/.exec(endpoint);
  if (m) return { number: m[1], employee: m[1], callerIdNumber, then };
  m = /^sofia\/gateway\/[^/]+\/([^@\s]+)/.exec(endpoint);
  if (m) return { number: m[1], callerIdNumber };
  m = /^(?:sofia\/[^/]+|loopback)\/([^@\s/]+)/.exec(endpoint);
  if (m) return { number: m[1], callerIdNumber };
  return { callerIdNumber };
}
