import { EslEvent, header } from '../esl/event';
import { employeeFromEvent } from './party';
import { eventTimestamp, microsToMs } from './fs-clock';
import { LegEventTracker } from './tracker-leg-events';
import { CallOrigin, JournalBatch, LegState } from './types';

/**
 * Channel events that may introduce a leg we have not seen yet. Not CHANNEL_OUTGOING: FreeSWITCH fires it
 * before CHANNEL_CREATE without any channel variable (capture 13), and the variables decide what the call is
 * (originating_leg_uuid, telefonist_click_to_call); CHANNEL_CREATE follows in the same millisecond.
 */
const LEG_OPENING_EVENTS = new Set([
  'CHANNEL_CREATE',
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
/** Events that start a leg's life: a leg opened by anything else was first seen in the middle of it. */
const LEG_BIRTH_EVENTS = new Set(['CHANNEL_CREATE', 'CHANNEL_OUTGOING', 'CHANNEL_ORIGINATE']);
/**
 * Events FreeSWITCH sends after a call's last CHANNEL_HANGUP (captures 09, 12, 13, 15, 17: RECORD_STOP comes
 * after both hangups and the first leg's HANGUP_COMPLETE / DESTROY): they still update the ended call.
 */
const LATE_EVENTS = new Set(['RECORD_STOP', 'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_DESTROY', 'CHANNEL_UNBRIDGE']);


/**
 * Turns FreeSWITCH channel events into calls. Deterministic: the same events give the same calls, legs and
 * timeline keys, so the journal can upsert idempotently. Every `apply` returns what changed.
 */
export class EventTracker extends LegEventTracker {
  private seen = new Set<string>();
  private seenOrder: string[] = [];
  /**
   * Legs any event touched while a snapshot was in flight (a resync must not undo them). Kept only between
   * beginSnapshot() and the resync's end, so it does not grow with every leg between reconnects.
   */
  protected touched = new Set<string>();
  protected snapshotInFlight = false;
  /** Uuids whose CHANNEL_DESTROY / HANGUP we saw without knowing the leg (a snapshot may still list them). */
  protected gone = new Set<string>();
  /** Legs opened before the leg that originated them was known (originator uuid → leg uuid). */
  private orphans = new Map<string, string>();

  /** Applies one event; returns the journal changes it caused (empty when the event changes nothing). */
  apply(ev: EslEvent): JournalBatch {
    const ts = eventTimestamp(ev);
    // Before the duplicate check: a repeated event is still a frame of the link (as it always was).
    if (ts !== undefined) this.observeFrame(ts);
    const eventKey = this.eventKey(ev);
    if (eventKey) {
      if (this.seen.has(eventKey)) return this.flush();
      this.remember(eventKey);
    }
    if (ts !== undefined) this.clock.observe(ts);
    this.dispatch(ev, eventKey ?? `${ev.name}:${header(ev, 'Unique-ID') ?? ''}:${ts ?? this.clock.now()}`);
    return this.flush();
  }

  /** Every event's timestamp (ms, FreeSWITCH clock), duplicates included: a frame of the link. */
  protected observeFrame(_fsMs: number): void {}

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

  protected dispatch(ev: EslEvent, key: string): void {
    if (ev.name === 'BACKGROUND_JOB') return this.onBackgroundJob(ev, key);
    const uuid = header(ev, 'Unique-ID');
    if (!uuid) return;
    if (this.snapshotInFlight) this.touched.add(uuid);
    const at = this.eventTime(ev);
    const closing = this.closingLegs.get(uuid);
    if (closing) return this.onLateEvent(closing, ev, at, key);
    let leg = this.legs.get(uuid);
    if (!leg) {
      if (this.recentlyEnded.has(uuid)) return; // stragglers after the call closed
      if (ev.name === 'CHANNEL_DESTROY' || ev.name === 'CHANNEL_HANGUP_COMPLETE') this.rememberGone(uuid);
      if (!LEG_OPENING_EVENTS.has(ev.name)) return;
      leg = this.openLeg(ev, uuid, key);
    }
    leg.lastSeenAt = Math.max(leg.lastSeenAt ?? 0, at);
    this.touchLeg(leg, ev);
    this.trackTransferSource(leg, ev, key);
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
      case 'CHANNEL_DESTROY':
        this.onHangup(leg, ev, at, key);
        break;
      default:
        break;
    }
  }

  private rememberGone(uuid: string): void {
    this.gone.add(uuid);
    if (this.gone.size > 20_000) this.gone.delete(this.gone.values().next().value!);
  }

  // Overridden by the full tracker (originate results).
  protected onBackgroundJob(_ev: EslEvent, _key: string): void {}

  // ---- legs ---------------------------------------------------------------------------------------

  protected openLeg(ev: EslEvent, uuid: string, key: string): LegState {
    const channelName = header(ev, 'Channel-Name') ?? header(ev, 'Caller-Channel-Name') ?? '';
    const fsDirection = header(ev, 'Call-Direction') === 'inbound' ? 'inbound' : 'outbound';
    const createdAt = microsToMs(header(ev, 'Caller-Channel-Created-Time')) ?? this.eventTime(ev);
    const employee = employeeFromEvent(ev, channelName, this.rules);
    // telefonist_consult_of: a colleague we dial for an attended transfer belongs to the operator's call.
    const originator = header(ev, 'variable_originating_leg_uuid') ?? header(ev, 'variable_telefonist_consult_of') ??
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
      lastSeenAt: this.eventTime(ev),
    };
    if (!LEG_BIRTH_EVENTS.has(ev.name)) {
      // First seen in the middle of its life: what the opening event says (a uuid_dump, a late hangup) is the
      // leg's state now, so its transfer source is the baseline; without one we cannot tell.
      const src = header(ev, 'Caller-Transfer-Source');
      if (src) leg.transferSource = src;
      else leg.transferBaselineUnknown = true;
    }
    const c2c = clickToCallOf(ev);
    if (c2c && leg.originated) leg.clickToCall = c2c;
    this.legs.set(uuid, leg);
    const parentLeg = originator ? this.legs.get(originator) ?? this.closingLegs.get(originator) : undefined;
    if (parentLeg) {
      const call = this.callOf(parentLeg);
      // A leg of a call that already ended here: we saw that call only in part (its start was missed).
      if (call.endedAt !== undefined) {
        call.uncertain = true;
        this.closingLegs.set(uuid, leg);
        this.legs.delete(uuid);
      }
      this.attachLeg(call, leg);
      this.addTimeline(parentLeg.callId, `${key}:leg`, createdAt, 'leg_ringing', leg.uuid, { party: this.party(leg) });
    } else {
      let call = this.newCall(leg, key);
      // A leg of a call we do not know, or a call first seen after its CHANNEL_CREATE: we missed its start.
      if (originator || !LEG_BIRTH_EVENTS.has(ev.name)) call.uncertain = true;
      if (originator) {
        this.orphans.set(originator, uuid);
        if (this.orphans.size > 10_000) this.orphans.delete(this.orphans.keys().next().value!);
      }
      // The leg that originated an orphan shows up at last: one call, not two.
      const orphan = this.orphans.get(uuid);
      const orphanLeg = orphan ? this.legs.get(orphan) : undefined;
      if (orphanLeg && orphanLeg.callId !== call.id && this.calls.has(orphanLeg.callId)) {
        call = this.mergeCalls(call, this.callOf(orphanLeg));
        call.uncertain = true;
      }
      if (orphan) this.orphans.delete(uuid);
    }
    this.noteOriginatedLeg(leg);
    // A leg first seen at hangup (started while we were disconnected) still has its times in the profile.
    const answered = microsToMs(header(ev, 'Caller-Channel-Answered-Time'));
    if (answered && !leg.answeredAt) this.onAnswer(leg, answered, `${key}:answered`);
    return leg;
  }

  // Overridden by the full tracker (originate results).
  protected noteOriginatedLeg(_leg: LegState): void {}

  private touchLeg(leg: LegState, ev: EslEvent): void {
    if (!leg.employee) {
      const e = employeeFromEvent(ev, leg.channelName, this.rules);
      if (e) {
        leg.employee = e;
        this.noteEmployee(this.callOf(leg), leg);
        this.markLeg(leg);
      }
    }
  }

  // ---- late events of an ended call ----------------------------------------------------------------

  /** RECORD_STOP, the other leg's HANGUP_COMPLETE, DESTROY after the call ended: they still count. */
  private onLateEvent(leg: LegState, ev: EslEvent, at: number, key: string): void {
    if (!LATE_EVENTS.has(ev.name)) return;
    if (ev.name === 'RECORD_STOP') this.onRecord(leg, ev, at, key);
    else if (ev.name !== 'CHANNEL_UNBRIDGE') this.onHangup(leg, ev, at, key);
  }

  // ---- event handlers ----------------------------------------------------------------------------

  private onBridge(ev: EslEvent, at: number, key: string): void {
    const aId = header(ev, 'Bridge-A-Unique-ID') ?? header(ev, 'Unique-ID');
    const bId = header(ev, 'Bridge-B-Unique-ID') ?? header(ev, 'Other-Leg-Unique-ID');
    if (!aId || !bId) return;
    const a = this.legs.get(aId);
    let b = this.legs.get(bId);
    if (!a) return;
    if (!b) {
      if (this.recentlyEnded.has(bId) || this.closingLegs.has(bId)) return;
      // The other leg started while we were not listening: build it from the Other-Leg-* profile.
      b = this.openLegFromOther(ev, bId, key);
    }
    let call = this.callOf(a);
    const other = this.callOf(b);
    if (call !== other) call = this.mergeCalls(call, other);
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
      const prev = anchorLeg.lastPartner ? this.liveLeg(anchorLeg.lastPartner) : undefined;
      if (anchorLeg.lastPartner && anchorLeg.lastPartner !== newPartner.uuid && !call.pendingBlind) {
        // (A blind transfer was announced when it was made; the bridge only completes it.)
        this.addTimeline(call.id, `${key}:transfer`, at, 'transfer', newPartner.uuid, {
          type: 'attended',
          from: this.party(prev) ?? { leg: anchorLeg.lastPartner },
          to: this.party(newPartner),
        });
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
      name: 'CHANNEL_BRIDGE',
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
    if (a && b && !a.endedAt && !b.endedAt) {
      this.addTimeline(a.callId, `${key}:unbridge`, at, 'unbridged', a.uuid, { a: this.party(a), b: this.party(b) });
    }
  }

}

/**
 * A click-to-call leg: we set `telefonist_click_to_call=true` and the number on the originate
 * (src/calls/click-to-call.ts; capture 13 shows them as channel variables from the first event), so the
 * call is outbound to that number before the employee even picks up.
 */
export function clickToCallOf(ev: EslEvent): { number: string; origin?: CallOrigin } | undefined {
  if (header(ev, 'variable_telefonist_click_to_call') !== 'true') return undefined;
  const n = header(ev, 'variable_telefonist_dial') ?? header(ev, 'variable_origination_caller_id_number');
  if (!n || !/^\+?[0-9]{2,20}$/.test(n)) return undefined;
  const origin = originOf(ev);
  return origin ? { number: n, origin } : { number: n };
}

/** telefonist_origin_kind / _ref / _label (src/calls/commands.ts sets them only from checked values). */
function originOf(ev: EslEvent): CallOrigin | undefined {
  const kind = header(ev, 'variable_telefonist_origin_kind');
  if (!kind || !/^(partner|contact|order|lenta|panel)$/.test(kind)) return undefined;
  const origin: CallOrigin = { kind: kind as CallOrigin['kind'] };
  const ref = header(ev, 'variable_telefonist_origin_ref');
  if (ref && /^[0-9a-fA-F-]{36}$/.test(ref)) origin.ref = ref;
  const label = header(ev, 'variable_telefonist_origin_label');
  if (label && /^[\p{L}\p{N} .-]{1,40}$/u.test(label)) origin.label = label;
  return origin;
}
