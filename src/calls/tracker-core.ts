import { DEFAULT_PARTY_RULES, PartyRules } from './party';
import { finalStatus } from './status';
import { FsClock } from './fs-clock';
import { absorbTimelineEntry, CallDirection, CallState, JournalBatch, LegState, Party, TimelineEntry, TimelineKind } from './types';

/** Ended calls kept for their late events (RECORD_STOP, HANGUP_COMPLETE, DESTROY, BACKGROUND_JOB). */
const CLOSING_LIMIT = 10_000;
/** An ended call whose legs were never all destroyed is closed this long after its end (FreeSWITCH clock). */
export const CLOSING_GRACE_MS = 30_000;
const RECENTLY_ENDED_LIMIT = 50_000;
/** Internal extensions: 2 to 6 digits; anything longer (or with +) is an outside number. */
export const SHORT_EXTENSION_RE = /^[0-9]{2,6}$/;

export function emptyBatch(): JournalBatch {
  return { calls: [], legs: [], timeline: [], recordings: [], merges: [] };
}

function cloneCall(c: CallState): CallState {
  const employees: CallState['employees'] = {};
  for (const [k, v] of Object.entries(c.employees)) employees[k] = { ...v };
  return {
    ...c,
    legs: [...c.legs],
    employees,
    pendingBlind: c.pendingBlind ? { ...c.pendingBlind } : undefined,
    recordings: c.recordings ? { ...c.recordings } : undefined,
    origin: c.origin ? { ...c.origin } : undefined,
  };
}

/**
 * The call model's state and the rules every handler shares: legs and calls (live, then closing after they
 * end, so late events still reach them), parties and direction, answer, merge, end and close, and the
 * journal batch. The event handlers (tracker-events.ts) and the resync (tracker.ts) build on it.
 */
export class TrackerCore {
  protected legs = new Map<string, LegState>();
  protected calls = new Map<string, CallState>();
  /** Ended, not yet closed: late events of these legs still update the call. */
  protected closing = new Map<string, CallState>();
  protected closingLegs = new Map<string, LegState>();
  /** Legs of closed calls (leg uuid → call id): stragglers after that are ignored. */
  protected recentlyEnded = new Map<string, string>();
  protected batch: JournalBatch = emptyBatch();
  private dirtyCalls = new Set<string>();
  private dirtyLegs = new Set<string>();
  /** Snapshots of calls no longer in any map (closed, failed originates) waiting for the next flush. */
  private endedSnapshots = new Map<string, CallState>();
  private endedLegSnapshots = new Map<string, LegState>();
  readonly clock: FsClock;

  constructor(protected readonly rules: PartyRules = DEFAULT_PARTY_RULES, clock?: FsClock) {
    this.clock = clock ?? new FsClock();
  }

  /** Live calls (for the panel and resync): ringing or active. */
  liveCalls(): CallState[] {
    return [...this.calls.values()];
  }

  /** A live or just-ended call. */
  liveCall(id: string): CallState | undefined {
    return this.calls.get(id) ?? this.closing.get(id);
  }

  liveLeg(uuid: string): LegState | undefined {
    return this.legs.get(uuid) ?? this.closingLegs.get(uuid);
  }

  /** Restores the state the journal kept (after a restart): live calls, and ended calls not yet closed. */
  restore(calls: CallState[], legs: LegState[]): void {
    for (const c of calls) (c.endedAt !== undefined ? this.closing : this.calls).set(c.id, c);
    for (const l of legs) {
      if (this.calls.has(l.callId)) this.legs.set(l.uuid, l);
      else if (this.closing.has(l.callId)) this.closingLegs.set(l.uuid, l);
    }
  }

  protected callOf(leg: LegState): CallState {
    return (this.calls.get(leg.callId) ?? this.closing.get(leg.callId))!;
  }

  // ---- parties -----------------------------------------------------------------------------------

  protected attachLeg(call: CallState, leg: LegState): void {
    leg.callId = call.id;
    if (!call.legs.includes(leg.uuid)) call.legs.push(leg.uuid);
    this.noteEmployee(call, leg);
    this.recomputeParties(call);
    this.markLeg(leg);
    this.markCall(call);
  }

  protected noteEmployee(call: CallState, leg: LegState): void {
    if (!leg.employee) return;
    const role = leg.role === 'supervisor' ? 'supervisor' : leg.uuid === call.firstLeg ? 'caller' : 'callee';
    const cur = call.employees[leg.employee];
    if (!cur) call.employees[leg.employee] = { role, answered: role === 'supervisor' && leg.answeredAt !== undefined };
    else if (role === 'supervisor' && cur.role !== 'supervisor' && !cur.answered) cur.role = 'supervisor';
  }

  /**
   * Direction, external number, anchor, caller and destination follow from who is on the legs. An
   * employee's call to an outside number (a desk phone dialling 8916…, a click-to-call) is outbound to that
   * number from its first event, before the carrier leg exists (captures 13, 15).
   */
  protected recomputeParties(call: CallState): void {
    const first = this.legs.get(call.firstLeg) ?? this.closingLegs.get(call.firstLeg);
    if (!first) return;
    const parties = call.legs
      .map((u) => this.legs.get(u) ?? this.closingLegs.get(u))
      .filter((l): l is LegState => !!l && l.role === 'party');
    const external = parties.find((l) => !l.employee);
    const dialled = first.clickToCall?.number ?? (first.employee && !first.originated ? first.destination : undefined);
    const dialsOut = dialled !== undefined && isOutsideNumber(dialled);
    let direction: CallDirection;
    if (!first.employee) direction = first.fsDirection === 'inbound' ? 'inbound' : 'outbound';
    else direction = external || dialsOut ? 'outbound' : 'internal';
    call.direction = direction;
    call.anchorLeg = (external ?? first).uuid;
    call.externalNumber = first.employee && dialsOut ? dialled : external?.number;
    if (first.originated) {
      // Click-to-call / originate: FreeSWITCH rang the employee first; the caller is the employee, the
      // destination is the number we asked for, else whoever the second leg dials.
      call.callerNumber = first.employee ?? first.number;
      const second = parties.find((l) => l.uuid !== first.uuid);
      call.destinationNumber = first.clickToCall?.number ?? second?.number ?? call.destinationNumber;
    } else {
      call.callerNumber = first.number;
      call.callerName = first.name;
      call.destinationNumber = first.destination;
    }
  }

  protected party(leg: LegState | undefined): Party | undefined {
    if (!leg) return undefined;
    const p: Party = { leg: leg.uuid };
    if (leg.employee) p.employee = leg.employee;
    if (leg.number) p.number = leg.number;
    if (leg.name) p.name = leg.name;
    return p;
  }

  protected newCall(leg: LegState, key: string): CallState {
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
    const data: Record<string, unknown> = { party: this.party(leg), destination: call.destinationNumber ?? leg.destination };
    if (leg.clickToCall) data.clickToCall = true;
    if (leg.clickToCall?.origin) {
      call.origin = leg.clickToCall.origin;
      data.origin = leg.clickToCall.origin;
    }
    this.addTimeline(call.id, `${key}:ringing`, leg.createdAt, 'ringing', leg.uuid, data);
    return call;
  }

  // ---- answer, merge, end, close -----------------------------------------------------------------

  /**
   * A leg answered. The call is answered when a party other than its first leg answers (the first leg is
   * the caller, answered by the PBX; for a click-to-call it is the employee picking up, and the call is
   * answered when the customer does). An originate of one leg to an application counts on its own answer.
   */
  protected onAnswer(leg: LegState, at: number, key: string): void {
    if (leg.answeredAt) return;
    leg.answeredAt = at;
    this.markLeg(leg);
    const call = this.callOf(leg);
    const info = leg.employee ? call.employees[leg.employee] : undefined;
    if (info && (leg.role === 'party' || info.role === 'supervisor')) info.answered = true;
    this.addTimeline(call.id, `${key}:answer`, at, 'answered', leg.uuid, { party: this.party(leg) });
    const first = this.legs.get(call.firstLeg);
    const answersCall = leg.role === 'party' &&
      (leg.uuid !== call.firstLeg || (first !== undefined && first.originated && !first.clickToCall && call.legs.length === 1));
    if (answersCall) this.markAnswered(call, at);
  }

  protected markAnswered(call: CallState, at: number): void {
    if (!call.answeredAt) call.answeredAt = Math.max(at, call.startedAt);
    if (call.status === 'ringing') call.status = 'active';
    this.markCall(call);
  }

  protected mergeCalls(x: CallState, y: CallState): CallState {
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
    if (from.recordings) into.recordings = { ...into.recordings, ...from.recordings };
    into.attendedPending = into.attendedPending || from.attendedPending;
    into.uncertain = into.uncertain || from.uncertain;
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

  /** Every leg has hung up: the call gets its final status and moves to closing (late events still land). */
  protected endCall(call: CallState, at: number, key: string): void {
    const legs = call.legs.map((u) => this.legs.get(u)).filter((l): l is LegState => !!l);
    const first = this.legs.get(call.firstLeg);
    if (!call.answeredAt && first?.originated && !first.clickToCall && first.answeredAt && legs.length === 1) {
      call.answeredAt = first.answeredAt;
    }
    // One clock per call: endedAt ≥ answeredAt ≥ startedAt, whatever the sources of the three.
    if (call.answeredAt !== undefined) call.answeredAt = Math.max(call.answeredAt, call.startedAt);
    call.endedAt = Math.max(at, call.answeredAt ?? call.startedAt, call.startedAt);
    call.status = finalStatus(call, legs);
    call.hangupCause = legs.find((l) => l.uuid !== call.firstLeg && l.hangupCause && l.hangupCause !== 'NORMAL_CLEARING' && !call.answeredAt)?.hangupCause
      ?? first?.hangupCause ?? legs.find((l) => l.hangupCause)?.hangupCause;
    this.addTimeline(call.id, `${key}:ended`, call.endedAt, 'ended', undefined, { status: call.status, cause: call.hangupCause ?? null });
    this.calls.delete(call.id);
    this.closing.set(call.id, call);
    for (const l of legs) {
      this.legs.delete(l.uuid);
      this.closingLegs.set(l.uuid, l);
      this.markLeg(l);
    }
    this.markCall(call);
    if (legs.every((l) => l.destroyed)) this.closeCall(call);
    if (this.closing.size > CLOSING_LIMIT) this.closeCall(this.closing.values().next().value!);
  }

  /** No more late events: the journal's final state of the call. */
  protected closeCall(call: CallState): void {
    call.closed = true;
    this.closing.delete(call.id);
    for (const u of call.legs) {
      const l = this.closingLegs.get(u);
      if (l) this.endedLegSnapshots.set(u, l);
      this.closingLegs.delete(u);
      this.recentlyEnded.set(u, call.id);
    }
    this.recentlyEnded.set(call.id, call.id);
    this.markCallSnapshot(call);
    if (this.recentlyEnded.size > RECENTLY_ENDED_LIMIT) {
      const drop = this.recentlyEnded.size - RECENTLY_ENDED_LIMIT / 2;
      let i = 0;
      for (const k of this.recentlyEnded.keys()) {
        if (i++ >= drop) break;
        this.recentlyEnded.delete(k);
      }
    }
  }

  /** Closes ended calls whose last legs never reported CHANNEL_DESTROY within the grace period. */
  sweep(fsNow: number = this.clock.now()): JournalBatch {
    for (const c of [...this.closing.values()]) {
      if ((c.endedAt ?? 0) + CLOSING_GRACE_MS <= fsNow) this.closeCall(c);
    }
    return this.flush();
  }

  // ---- journal batch -----------------------------------------------------------------------------

  protected addTimeline(callId: string, key: string, at: number, kind: TimelineKind, leg: string | undefined, data: Record<string, unknown>): void {
    const entry: TimelineEntry = { key, callId, at, kind, data };
    if (leg) entry.leg = leg;
    this.batch.timeline.push(entry);
  }

  protected markCall(call: CallState): void {
    this.dirtyCalls.add(call.id);
  }

  /** A call that is in no map any more (closed, a failed originate): its snapshot goes out with the batch. */
  protected markCallSnapshot(call: CallState): void {
    this.endedSnapshots.set(call.id, call);
    this.dirtyCalls.add(call.id);
  }

  protected markLeg(leg: LegState): void {
    this.dirtyLegs.add(leg.uuid);
  }

  protected flush(): JournalBatch {
    const out = this.batch;
    for (const id of this.dirtyCalls) {
      const c = this.calls.get(id) ?? this.closing.get(id) ?? this.endedSnapshots.get(id);
      if (c) out.calls.push(cloneCall(c));
    }
    for (const u of this.dirtyLegs) {
      const l = this.legs.get(u) ?? this.closingLegs.get(u) ?? this.endedLegSnapshots.get(u);
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

/** An outside number (not an internal extension): more than 6 digits, or written with +. */
export function isOutsideNumber(n: string): boolean {
  return /^\+?[0-9]{7,20}$/.test(n) && !SHORT_EXTENSION_RE.test(n);
}
