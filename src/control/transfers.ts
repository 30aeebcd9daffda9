import { randomUUID } from 'node:crypto';
import { EslEvent, header } from '../esl/event';
import { Principal } from '../auth/tokens';
import { CallState } from '../calls/types';
import { EXTENSION_RE, uuidBroadcastAttXfer, uuidKill, uuidSetvarMulti, uuidTransfer, valid } from '../calls/commands';
import { ActionError, actorOf, Control } from './control';
import { blindStep, blindWatch } from './blind-watch';
import { checkOutside, OPEN_OUTSIDE, outsideE164 } from './outside-policy';
import { BRIDGE_WAIT_MS, dialOf, transferredLeg, Live, Transfer, TransferOptions, TransferRequest, TransferState } from './transfer-model';

export { TRANSFER_STATES } from './transfer-model';
export type { Transfer, TransferOptions, TransferRequest, TransferState } from './transfer-model';

/**
 * Transfers as a resource (the model of Wazo calld's /transfers; ../shared/notes/call-control.md).
 *
 * Blind (`flow: blind`): `uuid_transfer <customer leg> <target> XML <context>` (captures 04, 12): FreeSWITCH
 * releases the operator's leg (NORMAL_CLEARING; ORIGINATOR_CANCEL when it still rang: the operator sends a
 * ringing call on without picking up) and runs the dialplan for the target. The customer leg is the
 * operator's partner, or — while the operator's phone still rings — the caller whose bridge rings it, so a
 * second incoming call can be sent on while the operator stays in the first one (that call is not touched).
 * FreeSWITCH accepting the command is not the end: the transfer stays `starting`, is `ringback` while the
 * dialplan's new leg rings, `completed` when it answers, `failed` with its cause when it does not (USER_BUSY,
 * NO_ANSWER, USER_NOT_REGISTERED…), `abandoned` when the customer hangs up first (src/control/blind-watch.ts);
 * with nothing decided after max(timeoutSeconds, 60) + 60 s it ends `failed` (the call is free for another
 * transfer; FreeSWITCH is not touched). The journal shows the route (tracker).
 *
 * Attended (`flow: attended`, FreeSWITCH's own att_xfer application run on the operator's leg, capture 05b): its
 * states and the events that move them are documented at TRANSFER_STATES (src/control/transfer-model.ts).
 * One transfer per call at a time (409 `transfer_in_progress` naming it). Every step tolerates a party that
 * is already gone. Transfers live in memory: a restart forgets unfinished ones (the calls themselves are in
 * the journal and resynced); after an ESL reconnect each is checked against the live legs.
 */

export class Transfers {
  private byId = new Map<string, Live>();
  private byCall = new Map<string, string>();
  /** Ended transfers kept for GET (newest 1,000). */
  private ended = new Map<string, Transfer>();
  /** Colleague legs of transfers that ended before the leg showed up: hung up as soon as it does. */
  private orphans = new Set<string>();

  constructor(
    private readonly control: Control,
    private readonly opts: TransferOptions,
  ) {
    control.onEvent((ev) => this.onEvent(ev));
    control.calls.on('resynced', () => this.reconcile());
  }

  get(id: string, p: Principal): Transfer {
    valid.uuid('id', id);
    const t = this.byId.get(id)?.t ?? this.ended.get(id);
    if (!t || (p.role === 'operator' && t.initiator !== p.employee && t.target !== p.employee)) throw new ActionError(404, 'not_found', `no transfer ${id}`, 'id');
    return { ...t };
  }

  /**
   * POST /transfers. 201 with the transfer (starting, or ringback once the target's phone rings). 400 before the
   * call is looked up (ids, target, attended to a number); then, on the call: 403 `forbidden` (an operator as
   * someone else), 403 `outside_transfer_forbidden` / `outside_number_not_allowed` (src/control/outside-policy.ts,
   * nothing sent), 409s, 502–504 — each audited on the call (Control.onCall).
   */
  async create(req: TransferRequest, p: Principal): Promise<Transfer> {
    valid.uuid('callId', req.callId);
    valid.extension('initiator', req.initiator);
    const dial = dialOf(req.target, this.opts);
    if (req.flow === 'attended' && !EXTENSION_RE.test(dial)) {
      throw new ActionError(400, 'invalid_parameter', 'an attended transfer goes to an extension; use flow "blind" for an outside number', 'target');
    }
    // Refusals from here on are about an existing call: audited there (Control.onCall).
    return this.control.onCall(req.callId, p, 'transfer', (call) => this.start(call, req, dial, p), { flow: req.flow, initiator: req.initiator, target: req.target });
  }

  private async start(call: CallState, req: TransferRequest, dial: string, p: Principal): Promise<Transfer> {
    if (p.role === 'operator' && req.initiator !== p.employee) {
      throw new ActionError(403, 'forbidden', `an operator transfers only as their own extension ${p.employee}`, 'initiator');
    }
    // The toll-fraud guard (TELEFONIST_TRANSFER_OUTSIDE, TELEFONIST_OUTSIDE_ALLOW): before anything reaches FreeSWITCH.
    await checkOutside(this.opts.outside ?? OPEN_OUTSIDE, outsideE164(req.target, this.opts.region), 'target', p);
    const busy = this.byCall.get(call.id);
    if (busy) throw new ActionError(409, 'transfer_in_progress', `call ${call.id} already has transfer ${busy} in progress; complete or cancel it first`, 'callId');
    const agent = this.control.employeeLeg(call, req.initiator);
    if (!agent) throw new ActionError(409, 'initiator_not_on_call', `extension ${req.initiator} is not on call ${call.id}`, 'initiator');
    if (dial === req.initiator) throw new ActionError(400, 'invalid_parameter', 'the target is the initiator', 'target');
    const customer = transferredLeg(this.control, call, agent);
    if (!customer) throw new ActionError(409, 'nothing_to_transfer', `extension ${req.initiator} has nobody to transfer on call ${call.id}`, 'initiator');
    if (req.flow === 'attended' && !agent.partner) {
      throw new ActionError(409, 'not_answered', `an attended transfer needs the call answered; use flow "blind" to send a ringing call on`, 'flow');
    }
    const now = new Date().toISOString();
    const t: Transfer = {
      id: randomUUID(), callId: call.id, flow: req.flow, initiator: req.initiator, target: req.target, dial, state: 'starting', blind: req.flow === 'blind',
      cause: null, transferredLeg: customer.uuid, initiatorLeg: agent.uuid, targetLeg: null, timeoutSeconds: req.timeoutSeconds, createdAt: now, updatedAt: now, by: actorOf(p),
    };
    const live: Live = { t, killing: new Set(), waiters: [] };
    this.byId.set(t.id, live);
    this.byCall.set(call.id, t.id);
    await this.publish(live, call);
    try {
      await this.control.api(uuidSetvarMulti(customer.uuid, [['recording_follow_transfer', 'true'], ['recording_follow_attxfer', 'true']]));
      if (req.flow === 'blind') {
        // FreeSWITCH releases the operator's leg itself (capture 12): that hangup is no news.
        live.killing.add(agent.uuid);
        this.handOver(live, call.legs);
        await this.control.api(uuidTransfer(customer.uuid, dial, this.opts.context));
        return { ...t };
      }
      // Each step first checks that nobody hung up meanwhile (the catch below answers 409 then).
      const goOn = () => {
        if (live.done) throw new Error('ended');
      };
      goOn();
      await this.control.api(uuidSetvarMulti(agent.uuid, [['recording_follow_transfer', 'true'], ['recording_follow_attxfer', 'true']]));
      goOn();
      const consult = randomUUID();
      t.targetLeg = consult;
      await this.control.api(uuidBroadcastAttXfer(agent.uuid, [
        ['origination_uuid', consult],
        ['origination_caller_id_number', req.initiator],
        ['telefonist_transfer', t.id],
        ['recording_follow_transfer', 'true'],
        ['originate_timeout', String(req.timeoutSeconds)],
      ], dial));
      if (!live.done) {
        live.timer = setTimeout(() => {
          if (live.t.state === 'starting' || live.t.state === 'ringback') void this.fail(live, 'NO_ANSWER');
        }, (req.timeoutSeconds + 5) * 1000);
        live.timer.unref();
      }
      return { ...t };
    } catch (e) {
      // A party hung up while we were giving the commands: the transfer is abandoned, not an error of ours.
      if (live.done) throw new ActionError(409, 'transfer_abandoned', `transfer ${t.id} ended before it started: ${t.cause}`, 'callId');
      const gone = !this.control.leg(customer.uuid) ? 'customer' : !this.control.leg(agent.uuid) ? 'initiator' : null;
      if (gone) {
        await this.finish(live, 'abandoned', `${gone} hung up`);
        throw new ActionError(409, 'transfer_abandoned', `transfer ${t.id} ended before it started: ${t.cause}`, 'callId');
      }
      // Accepted here, refused by FreeSWITCH: the resource ends failed with the cause (a consult leg, if any, goes).
      await this.fail(live, e instanceof ActionError ? `${e.code}: ${e.message}` : (e as Error).message);
      throw e;
    }
  }

  /** PUT /transfers/{id}/complete. */
  async complete(id: string, p: Principal): Promise<Transfer> {
    const live = this.active(id, p, 'transfer_complete');
    return this.control.onCallOf(live.t.callId, [live.t.initiator], p, 'transfer_complete', () => this.completeLive(live, id), { transfer: id });
  }

  private async completeLive(live: Live, id: string): Promise<Transfer> {
    const t = live.t;
    if (live.blind) throw new ActionError(409, 'transfer_handed_over', `transfer ${id} is handed over blind: it completes when the target answers`, 'id');
    if (t.state === 'answered') {
      if (!live.completing) {
        // att_xfer bridges the customer to the colleague once the operator's leg is gone (capture 05b).
        live.killing.add(t.initiatorLeg);
        try {
          await this.control.api(uuidKill(t.initiatorLeg));
        } catch (e) {
          live.killing.delete(t.initiatorLeg);
          throw e;
        }
        this.expectBridge(live);
      }
      await this.untilEnded(live);
      if ((t.state as TransferState) !== 'completed') throw new ActionError(409, 'transfer_ended', `transfer ${id} ended ${t.state}: ${t.cause}`, 'id');
    } else if (t.state === 'ringback') {
      // The colleague still rings: the customer goes to them blind (att_xfer returns the operator first).
      t.blind = true;
      live.blinding = true;
      live.killing.add(t.targetLeg!);
      live.killing.add(t.initiatorLeg);
      await this.control.apiQuiet(uuidKill(t.targetLeg!, 'ORIGINATOR_CANCEL'));
      if (live.done) throw new ActionError(409, 'transfer_ended', `transfer ${id} ended ${t.state}: ${t.cause}`, 'id');
      this.handOver(live, this.control.calls.tracker.liveCall(t.callId)?.legs ?? []);
      try {
        await this.control.api(uuidTransfer(t.transferredLeg, t.dial, this.opts.context));
      } catch (e) {
        await this.fail(live, e instanceof ActionError ? `${e.code}: ${e.message}` : (e as Error).message);
        throw e;
      }
    } else {
      throw new ActionError(409, 'transfer_not_ready', `transfer ${id} is ${t.state}; it can be completed once the colleague's phone rings`, 'id');
    }
    return { ...t };
  }

  /** DELETE /transfers/{id}: the colleague's leg goes, att_xfer returns the operator to the customer. */
  async cancel(id: string, p: Principal): Promise<Transfer> {
    const live = this.active(id, p, 'transfer_cancel');
    return this.control.onCallOf(live.t.callId, [live.t.initiator], p, 'transfer_cancel', () => this.cancelLive(live, id), { transfer: id });
  }

  private async cancelLive(live: Live, id: string): Promise<Transfer> {
    this.control.assertConnected();
    if (live.blind) throw new ActionError(409, 'transfer_handed_over', `transfer ${id} is handed over blind: the customer is no longer with the operator`, 'id');
    if (live.completing) throw new ActionError(409, 'transfer_completing', `transfer ${id} is being completed (the operator's leg is gone)`, 'id');
    await this.finish(live, 'cancelled', 'cancelled by request');
    return { ...live.t };
  }

  // ---- events --------------------------------------------------------------------------------------

  private onEvent(ev: EslEvent): void {
    if (this.orphans.size) this.reapOrphan(ev);
    if (this.byId.size === 0) return;
    const uuid = header(ev, 'Unique-ID');
    if (!uuid) return;
    for (const live of [...this.byId.values()]) {
      const t = live.t;
      if (live.done) continue;
      if (live.blind) {
        this.onHandOver(live, ev);
        continue;
      }
      if (t.flow !== 'attended') continue;
      const consult = uuid === t.targetLeg || header(ev, 'variable_telefonist_transfer') === t.id;
      switch (ev.name) {
        case 'CHANNEL_CREATE':
        case 'CHANNEL_PROGRESS':
        case 'CHANNEL_PROGRESS_MEDIA':
          if (consult && t.state === 'starting') void this.move(live, 'ringback');
          break;
        case 'CHANNEL_ANSWER':
          if (consult) void this.answered(live);
          break;
        case 'CHANNEL_BRIDGE': {
          const pair = new Set([header(ev, 'Bridge-A-Unique-ID'), header(ev, 'Bridge-B-Unique-ID')]);
          if (!pair.has(t.targetLeg!)) break;
          // att_xfer's inner bridge operator↔colleague; then (capture 05b) customer↔colleague: done.
          if (pair.has(t.initiatorLeg)) void this.answered(live);
          else if (pair.has(t.transferredLeg)) void this.finish(live, 'completed', null);
          break;
        }
        case 'CHANNEL_EXECUTE_COMPLETE':
          // att_xfer returned on the operator's leg without a colleague (no channel at all: absent, unregistered).
          if (uuid === t.initiatorLeg && header(ev, 'Application') === 'att_xfer' && !live.completing && !live.blinding && (t.state === 'starting' || t.state === 'ringback')) {
            void this.fail(live, header(ev, 'variable_originate_disposition') ?? 'att_xfer ended');
          }
          break;
        case 'CHANNEL_HANGUP': {
          if (live.killing.has(uuid)) break;
          const cause = header(ev, 'Hangup-Cause') ?? 'NORMAL_CLEARING';
          if (uuid === t.transferredLeg) void this.finish(live, 'abandoned', `customer hung up (${cause})`);
          else if (uuid === t.initiatorLeg) {
            // The operator hangs up while talking to the colleague: att_xfer completes the transfer (capture 05b).
            if (t.state === 'answered') this.expectBridge(live);
            else void this.finish(live, 'abandoned', `initiator hung up (${cause})`);
          } else if (consult) {
            if (live.completing) void this.fail(live, `target hung up before the bridge (${cause})`);
            else if (t.state === 'answered') void this.finish(live, 'cancelled', `target hung up (${cause})`);
            else void this.fail(live, cause);
          }
          break;
        }
        default:
          break;
      }
    }
  }

  /**
   * Blind from here on (uuid_transfer about to be sent): the legs the call has now are not the target's; the
   * target's leg decides (blind-watch.ts). A safety timer frees the call if nothing decides.
   */
  private handOver(live: Live, legs: Iterable<string>): void {
    const t = live.t;
    live.blind = blindWatch([...legs, t.initiatorLeg, ...(t.targetLeg ? [t.targetLeg] : [])]);
    if (live.timer) clearTimeout(live.timer);
    const s = Math.max(t.timeoutSeconds, 60) + 60;
    live.timer = setTimeout(() => void this.fail(live, `NO_ANSWER (no answer seen within ${s} s)`), s * 1000);
    live.timer.unref();
  }

  private onHandOver(live: Live, ev: EslEvent): void {
    const step = blindStep(live.blind!, live.t.transferredLeg, ev);
    if (!step) return;
    if (step.kind === 'ringing' || step.kind === 'answered') live.t.targetLeg = step.leg;
    if (step.kind === 'ringing') {
      if (live.t.state === 'starting') void this.move(live, 'ringback');
    } else if (step.kind === 'answered') void this.finish(live, 'completed', null);
    else void this.finish(live, step.kind, step.cause);
  }

  /** The operator's leg is gone while the colleague talks: att_xfer's CHANNEL_BRIDGE customer↔colleague is due. */
  private expectBridge(live: Live): void {
    if (live.completing) return;
    live.completing = true;
    if (live.timer) clearTimeout(live.timer);
    live.timer = setTimeout(() => void this.fail(live, 'att_xfer did not bridge the customer to the colleague'), BRIDGE_WAIT_MS);
    live.timer.unref();
  }

  /** Resolves when the transfer has ended (any final state). */
  private untilEnded(live: Live): Promise<void> {
    if (live.done) return Promise.resolve();
    return new Promise((resolve) => live.waiters.push(resolve));
  }

  /** A colleague's leg that rings for a transfer already over (the customer left while we dialled): hang it up. */
  private reapOrphan(ev: EslEvent): void {
    const uuid = header(ev, 'Unique-ID');
    if (!uuid || !this.orphans.has(uuid)) return;
    if (ev.name === 'CHANNEL_HANGUP' || ev.name === 'CHANNEL_DESTROY') {
      this.orphans.delete(uuid);
      return;
    }
    if (ev.name === 'CHANNEL_CREATE' || ev.name === 'CHANNEL_PROGRESS' || ev.name === 'CHANNEL_ANSWER') {
      this.orphans.delete(uuid);
      void this.control.apiQuiet(uuidKill(uuid, 'ORIGINATOR_CANCEL'));
    }
  }

  private async answered(live: Live): Promise<void> {
    if (live.done || (live.t.state !== 'ringback' && live.t.state !== 'starting')) return;
    if (live.timer) clearTimeout(live.timer);
    await this.move(live, 'answered');
  }

  /** After an ESL reconnect: a party that vanished meanwhile ends the transfer as its hangup would. */
  private reconcile(): void {
    for (const live of [...this.byId.values()]) {
      const t = live.t;
      if (live.blind) {
        const customer = this.control.leg(t.transferredLeg);
        if (!customer) void this.finish(live, 'abandoned', 'customer gone (seen at resync)');
        else if (customer.partner && !live.blind.before.has(customer.partner)) void this.finish(live, 'completed', null);
        continue;
      }
      if (!this.control.leg(t.transferredLeg)) void this.finish(live, 'abandoned', 'customer gone (seen at resync)');
      else if (!this.control.leg(t.initiatorLeg)) void this.finish(live, 'abandoned', 'initiator gone (seen at resync)');
      else if (t.targetLeg && t.state !== 'starting' && !this.control.leg(t.targetLeg)) void this.finish(live, 'cancelled', 'target gone (seen at resync)');
    }
  }

  // ---- state ---------------------------------------------------------------------------------------

  private active(id: string, p: Principal, action: string): Live {
    valid.uuid('id', id);
    const live = this.byId.get(id);
    if (!live) {
      const ended = this.ended.get(id);
      if (ended && (p.role !== 'operator' || ended.initiator === p.employee)) {
        const e = new ActionError(409, 'transfer_ended', `transfer ${id} is already ${ended.state}`, 'id');
        this.control.refused(this.control.callRef(ended.callId, [ended.initiator]), action, e, p, { transfer: id });
        throw e;
      }
      throw new ActionError(404, 'not_found', `no transfer ${id}`, 'id');
    }
    if (p.role === 'operator' && live.t.initiator !== p.employee) throw new ActionError(404, 'not_found', `no transfer ${id}`, 'id');
    return live;
  }

  private async fail(live: Live, cause: string): Promise<void> {
    await this.finish(live, 'failed', cause);
  }

  /** Ends a transfer (once): cleans up what is left in FreeSWITCH, publishes the final state. */
  private async finish(live: Live, state: TransferState, cause: string | null): Promise<void> {
    const t = live.t;
    if (live.done) return;
    live.done = true;
    t.cause = cause;
    if (live.timer) clearTimeout(live.timer);
    this.byCall.delete(t.callId);
    this.byId.delete(t.id);
    this.ended.set(t.id, t);
    if (this.ended.size > 1000) this.ended.delete(this.ended.keys().next().value!);
    if (state !== 'completed' && t.flow === 'attended' && t.targetLeg && !live.blind) {
      // The colleague's leg goes (if any): att_xfer returns the operator (if still there) to the customer.
      const leg = this.control.leg(t.targetLeg);
      if (leg) {
        live.killing.add(t.targetLeg);
        await this.control.apiQuiet(leg.answeredAt !== undefined ? uuidKill(t.targetLeg) : uuidKill(t.targetLeg, 'ORIGINATOR_CANCEL'));
      } else if (t.state === 'starting') {
        this.orphans.add(t.targetLeg);
        if (this.orphans.size > 1000) this.orphans.delete(this.orphans.values().next().value!);
      }
    }
    await this.move(live, state);
    for (const w of live.waiters.splice(0)) w();
  }

  private async move(live: Live, state: TransferState): Promise<void> {
    live.t.state = state;
    live.t.updatedAt = new Date().toISOString();
    // After the call closed (the last leg left before the final state), the stored id still gets it.
    await this.publish(live, this.control.calls.tracker.liveCall(live.t.callId) ?? { id: live.t.callId });
  }

  private async publish(live: Live, call: { id: string }): Promise<void> {
    const t = live.t;
    const employees = [t.initiator, ...(EXTENSION_RE.test(t.dial) ? [t.dial] : [])];
    await this.control.audit(call, 'action', 'transfer.updated', t.transferredLeg, {
      action: 'transfer', transfer: { ...t }, by: t.by,
    }, employees);
  }

}
