import { EslEvent, header } from '../esl/event';
import { eventTimestamp, microsToMs } from './fs-clock';
import { finalStatus } from './status';
import { TrackerCore } from './tracker-core';
import { EavesdropMode, LegState } from './types';

/** Eavesdrop DTMF keys (mod_dptools): 0 listen only, 1 talk to the other half, 2 talk to the target, 3 three-way. */
const EAVESDROP_KEYS: Record<string, EavesdropMode> = { '0': 'listen', '1': 'whisper_other', '2': 'whisper', '3': 'barge' };

/**
 * What happens on one leg of a call: hold, the applications it runs (eavesdrop, three_way, att_xfer,
 * uuid_bridge), eavesdrop mode keys, recordings, blind transfers seen as a change of transfer source, and the
 * hangup sequence (CHANNEL_HANGUP, HANGUP_COMPLETE with FreeSWITCH's CDR, DESTROY). The event dispatch and the
 * legs' opening live in tracker-events.ts; both act on the shared state of tracker-core.ts.
 */
export class LegEventTracker extends TrackerCore {
  protected eventTime(ev: EslEvent): number {
    return eventTimestamp(ev) ?? this.clock.now();
  }

  /**
   * CHANNEL_HOLD / UNHOLD come on the held leg, whoever asked: a desk phone pressing hold (its own leg) or
   * `uuid_hold <leg>` from the API (capture 14 holds the customer's leg). `held` is that leg; `by` is the
   * employee whose phone held, else nobody we know.
   */
  protected onHold(leg: LegState, held: boolean, at: number, key: string): void {
    if (leg.held === held) return;
    leg.held = held;
    this.markLeg(leg);
    this.addTimeline(leg.callId, `${key}:hold`, at, held ? 'held' : 'resumed', leg.uuid, {
      held: this.party(leg),
      by: leg.employee ? this.party(leg) : null,
    });
  }

  protected onExecute(leg: LegState, ev: EslEvent, at: number, key: string): void {
    const app = header(ev, 'Application');
    const data = header(ev, 'Application-Data') ?? '';
    if (app === 'eavesdrop' || app === 'three_way') {
      const target = this.legs.get(data.trim());
      if (!target || target.uuid === leg.uuid) return;
      let call = this.callOf(target);
      const own = this.callOf(leg);
      leg.role = 'supervisor';
      leg.eavesdropTarget = target.uuid;
      leg.eavesdropMode = app === 'three_way' ? 'barge' : 'listen';
      if (own !== call) call = this.mergeCalls(call, own);
      if (leg.employee) call.employees[leg.employee] = { role: 'supervisor', answered: leg.answeredAt !== undefined };
      this.recomputeParties(call);
      this.markLeg(leg);
      this.addTimeline(call.id, `${key}:eavesdrop`, at, 'eavesdrop_started', leg.uuid, {
        supervisor: this.party(leg),
        target: this.party(target),
        mode: leg.eavesdropMode,
      });
    } else if (app === 'att_xfer') {
      const call = this.callOf(leg);
      call.attendedPending = true;
      this.markCall(call);
      this.addTimeline(call.id, `${key}:att_xfer`, at, 'consultation', leg.uuid, {
        by: this.party(leg),
        target: this.dialTargetOf(data),
        method: 'att_xfer',
      });
    } else if (app === 'uuid_bridge') {
      const call = this.callOf(leg);
      call.attendedPending = true;
      this.markCall(call);
    }
  }

  protected dialTargetOf(_data: string): unknown {
    return undefined;
  }

  protected onDtmf(leg: LegState, ev: EslEvent, at: number, key: string): void {
    if (leg.role !== 'supervisor' || !leg.eavesdropTarget) return;
    const mode = EAVESDROP_KEYS[header(ev, 'DTMF-Digit') ?? ''];
    if (!mode || mode === leg.eavesdropMode) return;
    leg.eavesdropMode = mode;
    this.markLeg(leg);
    const target = this.legs.get(leg.eavesdropTarget);
    const other = target?.partner ? this.legs.get(target.partner) : undefined;
    const heardBy =
      mode === 'listen' ? [] :
      mode === 'whisper' ? [this.party(target)] :
      mode === 'whisper_other' ? [this.party(other)] :
      [this.party(target), this.party(other)];
    this.addTimeline(leg.callId, `${key}:dtmf`, at, 'eavesdrop_mode', leg.uuid, {
      supervisor: this.party(leg),
      mode,
      heardBy: heardBy.filter(Boolean),
    });
  }

  /**
   * RECORD_START comes while the call still rings (early media, even with RECORD_ANSWER_REQ); RECORD_STOP
   * comes late, and on an unanswered call says the file was thrown away (`empty-file`,
   * variable_RECORD_DISCARDED=true: captures 10, 11, 16). The length is the recorder's own
   * (variable_record_ms): held stretches are not recorded (capture 14), so it is not the talk time.
   */
  protected onRecord(leg: LegState, ev: EslEvent, at: number, key: string): void {
    const path = header(ev, 'Record-File-Path');
    if (!path) return;
    const call = this.callOf(leg);
    const stereo = /^true$/i.test(header(ev, 'variable_RECORD_STEREO') ?? header(ev, 'variable_record_stereo') ?? '');
    const recKey = `${call.id}:${path}`;
    const recordings = (call.recordings ??= {});
    if (ev.name === 'RECORD_START') {
      if (recordings[path]) return;
      recordings[path] = 'recording';
      call.hasRecording = true;
      this.markCall(call);
      this.batch.recordings.push({ key: recKey, callId: call.id, leg: leg.uuid, path, startedAt: at, stereo });
      this.addTimeline(call.id, `${key}:rec`, at, 'recording_started', leg.uuid, { path, stereo });
      return;
    }
    const cause = header(ev, 'Record-Completion-Cause');
    const discarded = /^true$/i.test(header(ev, 'variable_RECORD_DISCARDED') ?? '') || cause === 'empty-file';
    if (discarded) {
      recordings[path] = 'discarded';
      call.hasRecording = Object.values(recordings).some((s) => s !== 'discarded');
      this.markCall(call);
      this.batch.recordings.push({ key: recKey, callId: call.id, leg: leg.uuid, path, startedAt: at, stoppedAt: at, stereo, discarded: true });
      this.addTimeline(call.id, `${key}:rec`, at, 'recording_discarded', leg.uuid, { path, cause: cause ?? null });
      return;
    }
    const ms = header(ev, 'variable_record_ms');
    const secs = header(ev, 'variable_record_seconds');
    const seconds = ms && /^\d+$/.test(ms) ? Number(ms) / 1000 : secs && /^\d+$/.test(secs) ? Number(secs) : undefined;
    recordings[path] = 'stopped';
    call.hasRecording = true;
    this.markCall(call);
    this.batch.recordings.push({
      key: recKey,
      callId: call.id,
      leg: leg.uuid,
      path,
      // Never before the call itself (a recorder's length cannot reach back past the call's first leg).
      startedAt: Math.max(call.startedAt, at - Math.round((seconds ?? 0) * 1000)),
      stoppedAt: at,
      seconds,
      stereo,
    });
    this.addTimeline(call.id, `${key}:rec`, at, 'recording_stopped', leg.uuid, { path, seconds, cause: cause ?? null });
  }

  /**
   * A blind transfer is a *change* of the leg's Caller-Transfer-Source that we saw happen. The DID routing of
   * every inbound call leaves `…:bl_xfer:1001/default/XML` before anyone answers (captures 09–16), and a leg
   * first seen in the middle of its life brings an old value: neither is a transfer.
   */
  protected trackTransferSource(leg: LegState, ev: EslEvent, key: string): void {
    const src = header(ev, 'Caller-Transfer-Source');
    if (!src || src === leg.transferSource) return;
    leg.transferSource = src;
    this.markLeg(leg);
    if (leg.transferBaselineUnknown) {
      leg.transferBaselineUnknown = false;
      return;
    }
    const call = this.callOf(leg);
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
    const prev = leg.partner ? this.legs.get(leg.partner) : leg.lastPartner ? this.liveLeg(leg.lastPartner) : undefined;
    const ringing = call.legs
      .map((u) => this.legs.get(u))
      .filter((l): l is LegState => !!l && l.uuid !== leg.uuid && !l.answeredAt && l.role === 'party');
    const from = prev ?? ringing[0];
    if (!from) return; // the dialplan routing a call (DID → extension, click-to-call), not a transfer by a person
    const to = rest.split('/')[0];
    if (from.employee !== undefined && from.employee === to) return;
    call.pendingBlind = { from: from.employee, to };
    this.markCall(call);
    this.addTimeline(call.id, `${key}:blind`, this.eventTime(ev), 'transfer', leg.uuid, {
      type: 'blind',
      from: this.party(from),
      to: { number: to },
      whileRinging: !prev,
    });
  }

  /**
   * CHANNEL_HANGUP, then HANGUP_COMPLETE (with FreeSWITCH's CDR: variable_answer_uepoch, end_uepoch,
   * hangup_cause) and DESTROY. The call ends when its last leg hangs up; it closes when every leg is
   * destroyed. The CDR fills what the events did not say (an answer we did not see).
   */
  protected onHangup(leg: LegState, ev: EslEvent, at: number, key: string): void {
    const cause = header(ev, 'Hangup-Cause') ?? header(ev, 'variable_hangup_cause');
    if (cause && !leg.hangupCause) {
      leg.hangupCause = cause;
      this.markLeg(leg);
    }
    const disposition = header(ev, 'variable_sip_hangup_disposition');
    if (disposition && disposition !== leg.hangupDisposition) {
      leg.hangupDisposition = disposition;
      this.markLeg(leg);
    }
    const call = this.callOf(leg);
    if (!leg.answeredAt && call.endedAt === undefined) {
      const answered = microsToMs(header(ev, 'variable_answer_uepoch')) ?? microsToMs(header(ev, 'Caller-Channel-Answered-Time'));
      if (answered) this.onAnswer(leg, answered, `${key}:cdr`);
    }
    if (ev.name === 'CHANNEL_DESTROY' && !leg.destroyed) {
      leg.destroyed = true;
      this.markLeg(leg);
    }
    if (!leg.endedAt) {
      leg.endedAt = Math.max(microsToMs(header(ev, 'Caller-Channel-Hangup-Time')) ?? at, leg.createdAt);
      this.markLeg(leg);
      this.addTimeline(call.id, `${key}:hangup`, leg.endedAt, 'leg_hangup', leg.uuid, {
        party: this.party(leg),
        cause: leg.hangupCause,
        role: leg.role,
      });
      if (leg.role === 'supervisor' && leg.eavesdropTarget) {
        this.addTimeline(call.id, `${key}:eavesdrop_end`, leg.endedAt, 'eavesdrop_stopped', leg.uuid, { supervisor: this.party(leg) });
      }
      this.noteLegHangup(leg);
    }
    if (call.endedAt === undefined) {
      const live = call.legs.some((u) => {
        const l = this.legs.get(u);
        return l && !l.endedAt;
      });
      if (!live) this.endCall(call, leg.endedAt, key);
      return;
    }
    if (!call.closed && call.uncertain) {
      // A call seen only in part: its legs' late facts may still change the outcome.
      const legs = call.legs.map((u) => this.closingLegs.get(u)).filter((l): l is LegState => !!l);
      if (call.answeredAt === undefined) {
        const answered = legs.filter((l) => l.uuid !== call.firstLeg && l.role === 'party' && l.answeredAt).map((l) => l.answeredAt!);
        if (answered.length) call.answeredAt = Math.max(call.startedAt, Math.min(...answered));
      }
      call.status = finalStatus(call, legs);
    }
    this.markCall(call);
    const allDestroyed = call.legs.every((u) => {
      const l = this.closingLegs.get(u);
      return !l || l.destroyed === true;
    });
    if (!call.closed && allDestroyed) this.closeCall(call);
  }

  // Overridden by the full tracker (originate results).
  protected noteLegHangup(_leg: LegState): void {}
}
