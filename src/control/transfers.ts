import { randomUUID } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import { EslEvent, header } from '../esl/event';
import { Principal } from '../auth/tokens';
import { DialFormat, dialNumber, normalizePhone, PhoneError } from '../directory/phone';
import { CallState, LegState } from '../calls/types';
import { EXTENSION_RE, originate, safeName, uuidBridge, uuidHold, uuidKill, uuidSetvarMulti, uuidTransfer, valid } from '../calls/commands';
import { ActionError, Actor, actorOf, Control } from './control';

/**
 * Transfers as a resource (the model of Wazo calld's /transfers; ../shared/notes/call-control.md).
 *
 * Blind (`flow: blind`): `uuid_transfer <customer leg> <target> XML <context>` (captures 04, 12): FreeSWITCH
 * releases the operator's leg (NORMAL_CLEARING; ORIGINATOR_CANCEL when it still rang: the operator sends a
 * ringing call on without picking up) and runs the dialplan for the target. The customer leg is the
 * operator's partner, or — while the operator's phone still rings — the caller whose bridge rings it, so a
 * second incoming call can be sent on while the operator stays in the first one (that call is not touched).
 * The transfer is `completed` as soon as FreeSWITCH accepted it; the journal shows the route (tracker).
 *
 * Attended (`flow: attended`, park-and-bridge, capture 05; FusionPBX's operator panel):
 *  starting   `uuid_setvar_multi` recording_follow_transfer / recording_follow_attxfer on both legs, then
 *             `uuid_hold <operator leg>`: the customer hears hold music (FreeSWITCH plays it to the partner);
 *  ringback   `bgapi originate {…,telefonist_consult_of=<operator leg>}user/<colleague> &park()`: the
 *             colleague's phone rings showing the operator's extension (the tracker puts the leg on the call);
 *  answered   BACKGROUND_JOB `+OK <uuid>` / CHANNEL_ANSWER of that leg;
 *  completed  PUT …/complete: `uuid_bridge <customer> <colleague>` (FreeSWITCH unholds and hangs up the
 *             operator's leg itself, capture 05); during ringback it becomes blind: the colleague's ringing
 *             leg is cancelled and the customer `uuid_transfer`red to them;
 *  cancelled  DELETE, or the colleague hung up after answering: `uuid_kill <colleague>`, `uuid_hold off
 *             <operator leg>` (the operator is back with the customer);
 *  abandoned  the customer (or the operator, whose leg FreeSWITCH takes the customer with: hangup_after_bridge)
 *             hung up before completion: the colleague's leg is cancelled;
 *  failed     FreeSWITCH refused a step, or the colleague did not answer (BACKGROUND_JOB `-ERR <cause>`:
 *             USER_BUSY, NO_ANSWER after `timeoutSeconds`, …): the operator is taken off hold; `cause` says why.
 * One transfer per call at a time (409 `transfer_in_progress` naming it). Every step tolerates a party that
 * is already gone. Transfers live in memory: a restart forgets unfinished ones (the calls themselves are in
 * the journal and resynced); after an ESL reconnect each is checked against the live legs.
 */

export const TRANSFER_STATES = ['starting', 'ringback', 'answered', 'completed', 'cancelled', 'abandoned', 'failed'] as const;
export type TransferState = (typeof TRANSFER_STATES)[number];
const FINAL: ReadonlySet<TransferState> = new Set(['completed', 'cancelled', 'abandoned', 'failed']);

export interface TransferRequest {
  callId: string;
  initiator: string;
  target: string;
  flow: 'attended' | 'blind';
  timeoutSeconds: number;
}

export interface Transfer {
  id: string;
  callId: string;
  flow: 'attended' | 'blind';
  initiator: string;
  /** As asked (extension or number) and as dialled. */
  target: string;
  dial: string;
  state: TransferState;
  /** Completed as blind (the flow, or completion while the colleague still rang). */
  blind: boolean;
  /** Why it ended when not completed (who hung up, FreeSWITCH's cause). */
  cause: string | null;
  transferredLeg: string;
  initiatorLeg: string;
  targetLeg: string | null;
  timeoutSeconds: number;
  createdAt: string;
  updatedAt: string;
  by: Actor;
}

interface Live {
  t: Transfer;
  jobUuid?: string;
  timer?: NodeJS.Timeout;
  held: boolean;
  /** Legs we hang up ourselves: their CHANNEL_HANGUP is no news. */
  killing: Set<string>;
  done?: boolean;
}

export interface TransferOptions {
  region: CountryCode;
  format: DialFormat;
  context: string;
}

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

  /** POST /transfers. 201 with the transfer (blind: completed; attended: ringback). */
  async create(req: TransferRequest, p: Principal): Promise<Transfer> {
    valid.uuid('callId', req.callId);
    valid.extension('initiator', req.initiator);
    if (p.role === 'operator' && req.initiator !== p.employee) {
      throw new ActionError(403, 'forbidden', `an operator transfers only as their own extension ${p.employee}`, 'initiator');
    }
    const dial = this.dialOf(req.target);
    if (req.flow === 'attended' && !EXTENSION_RE.test(dial)) {
      throw new ActionError(400, 'invalid_parameter', 'an attended transfer goes to an extension; use flow "blind" for an outside number', 'target');
    }
    const call = await this.control.liveCall(req.callId, p);
    const busy = this.byCall.get(call.id);
    if (busy) throw new ActionError(409, 'transfer_in_progress', `call ${call.id} already has transfer ${busy} in progress; complete or cancel it first`, 'callId');
    const agent = this.control.employeeLeg(call, req.initiator);
    if (!agent) throw new ActionError(409, 'initiator_not_on_call', `extension ${req.initiator} is not on call ${call.id}`, 'initiator');
    if (dial === req.initiator) throw new ActionError(400, 'invalid_parameter', 'the target is the initiator', 'target');
    const customer = this.transferredLeg(call, agent);
    if (!customer) throw new ActionError(409, 'nothing_to_transfer', `extension ${req.initiator} has nobody to transfer on call ${call.id}`, 'initiator');
    if (req.flow === 'attended' && !agent.partner) {
      throw new ActionError(409, 'not_answered', `an attended transfer needs the call answered; use flow "blind" to send a ringing call on`, 'flow');
    }
    const now = new Date().toISOString();
    const t: Transfer = {
      id: randomUUID(), callId: call.id, flow: req.flow, initiator: req.initiator, target: req.target, dial, state: 'starting', blind: req.flow === 'blind',
      cause: null, transferredLeg: customer.uuid, initiatorLeg: agent.uuid, targetLeg: null, timeoutSeconds: req.timeoutSeconds, createdAt: now, updatedAt: now, by: actorOf(p),
    };
    const live: Live = { t, held: false, killing: new Set() };
    this.byId.set(t.id, live);
    this.byCall.set(call.id, t.id);
    await this.publish(live, call);
    try {
      await this.control.api(uuidSetvarMulti(customer.uuid, [['recording_follow_transfer', 'true'], ['recording_follow_attxfer', 'true']]));
      if (req.flow === 'blind') {
        // FreeSWITCH releases the operator's leg itself (capture 12): that hangup is no news.
        live.killing.add(agent.uuid);
        await this.control.api(uuidTransfer(customer.uuid, dial, this.opts.context));
        await this.finish(live, 'completed', null);
        return { ...t };
      }
      // Each step first checks that nobody hung up meanwhile (the catch below answers 409 then).
      const goOn = () => {
        if (live.done) throw new Error('ended');
      };
      goOn();
      await this.control.api(uuidSetvarMulti(agent.uuid, [['recording_follow_transfer', 'true'], ['recording_follow_attxfer', 'true']]));
      goOn();
      await this.control.api(uuidHold(agent.uuid));
      live.held = true;
      goOn();
      const consult = randomUUID();
      t.targetLeg = consult;
      live.jobUuid = consult;
      await this.control.bgapi(originate([
        ['origination_uuid', consult],
        ['origination_caller_id_number', req.initiator],
        ['origination_caller_id_name', safeName(`Transfer ${req.initiator}`)],
        ['telefonist_transfer', t.id],
        ['telefonist_consult_of', agent.uuid],
        ['recording_follow_transfer', 'true'],
        ['originate_timeout', String(req.timeoutSeconds)],
      ], dial, { app: 'park' }), consult);
      if (t.state === 'starting') {
        await this.move(live, 'ringback');
        live.timer = setTimeout(() => void this.fail(live, 'NO_ANSWER'), (req.timeoutSeconds + 5) * 1000);
        live.timer.unref();
      }
      return { ...t };
    } catch (e) {
      // A party hung up while we were giving the commands: the transfer is abandoned, not an error of ours.
      if (live.done) throw new ActionError(409, 'transfer_abandoned', `transfer ${t.id} ended before it started: ${t.cause}`, 'callId');
      // Accepted here, refused by FreeSWITCH: the resource ends failed with the cause, the operator unheld.
      await this.fail(live, e instanceof ActionError ? `${e.code}: ${e.message}` : (e as Error).message);
      throw e;
    }
  }

  /** PUT /transfers/{id}/complete. */
  async complete(id: string, p: Principal): Promise<Transfer> {
    const live = this.active(id, p);
    const t = live.t;
    if (t.state === 'answered') {
      // FreeSWITCH unholds and hangs up the operator's leg itself (capture 05).
      live.killing.add(t.initiatorLeg);
      try {
        await this.control.api(uuidBridge(t.transferredLeg, t.targetLeg!));
      } catch (e) {
        live.killing.delete(t.initiatorLeg);
        throw e;
      }
      await this.finish(live, 'completed', null);
    } else if (t.state === 'ringback') {
      // The colleague still rings: the customer goes to them blind.
      t.blind = true;
      live.killing.add(t.targetLeg!);
      live.killing.add(t.initiatorLeg);
      await this.control.apiQuiet(uuidKill(t.targetLeg!, 'ORIGINATOR_CANCEL'));
      await this.control.api(uuidTransfer(t.transferredLeg, t.dial, this.opts.context));
      await this.finish(live, 'completed', null);
    } else {
      throw new ActionError(409, 'transfer_not_ready', `transfer ${id} is ${t.state}; it can be completed once the colleague's phone rings`, 'id');
    }
    return { ...t };
  }

  /** DELETE /transfers/{id}: the colleague's leg goes, the operator is back with the customer. */
  async cancel(id: string, p: Principal): Promise<Transfer> {
    const live = this.active(id, p);
    this.control.assertConnected();
    await this.finish(live, 'cancelled', 'cancelled by request');
    return { ...live.t };
  }

  // ---- events --------------------------------------------------------------------------------------

  private onEvent(ev: EslEvent): void {
    if (this.orphans.size) this.reapOrphan(ev);
    if (this.byId.size === 0) return;
    if (ev.name === 'BACKGROUND_JOB') {
      const job = header(ev, 'Job-UUID');
      const live = [...this.byId.values()].find((l) => l.jobUuid === job);
      if (!live) return;
      const body = (ev.body ?? '').trim();
      if (body.startsWith('+OK')) void this.answered(live);
      else if (!live.killing.has(live.t.targetLeg ?? '')) void this.fail(live, /^-ERR\s+(\S+)/.exec(body)?.[1] ?? body);
      return;
    }
    const uuid = header(ev, 'Unique-ID');
    if (!uuid) return;
    for (const live of [...this.byId.values()]) {
      const t = live.t;
      if (ev.name === 'CHANNEL_ANSWER' && uuid === t.targetLeg) void this.answered(live);
      if (ev.name !== 'CHANNEL_HANGUP') continue;
      if (live.killing.has(uuid)) continue;
      const cause = header(ev, 'Hangup-Cause') ?? 'NORMAL_CLEARING';
      if (uuid === t.transferredLeg) void this.finish(live, 'abandoned', `customer hung up (${cause})`);
      else if (uuid === t.initiatorLeg) void this.finish(live, 'abandoned', `initiator hung up (${cause})`);
      else if (uuid === t.targetLeg) {
        if (t.state === 'answered') void this.finish(live, 'cancelled', `target hung up (${cause})`);
        else void this.fail(live, cause);
      }
    }
  }

  /** A colleague's leg that rings for a transfer already over (the customer left while we dialled): hang it up. */
  private reapOrphan(ev: EslEvent): void {
    const uuid = ev.name === 'BACKGROUND_JOB' ? /^\+OK\s+(\S+)/.exec((ev.body ?? '').trim())?.[1] : header(ev, 'Unique-ID');
    if (!uuid || !this.orphans.has(uuid)) return;
    if (ev.name === 'CHANNEL_HANGUP' || ev.name === 'CHANNEL_DESTROY') {
      this.orphans.delete(uuid);
      return;
    }
    if (ev.name === 'CHANNEL_CREATE' || ev.name === 'CHANNEL_PROGRESS' || ev.name === 'CHANNEL_ANSWER' || ev.name === 'BACKGROUND_JOB') {
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
      if (!this.control.leg(t.transferredLeg)) void this.finish(live, 'abandoned', 'customer gone (seen at resync)');
      else if (!this.control.leg(t.initiatorLeg)) void this.finish(live, 'abandoned', 'initiator gone (seen at resync)');
      else if (t.targetLeg && t.state !== 'starting' && !this.control.leg(t.targetLeg)) void this.finish(live, 'cancelled', 'target gone (seen at resync)');
    }
  }

  // ---- state ---------------------------------------------------------------------------------------

  private active(id: string, p: Principal): Live {
    valid.uuid('id', id);
    const live = this.byId.get(id);
    if (!live) {
      const ended = this.ended.get(id);
      if (ended && (p.role !== 'operator' || ended.initiator === p.employee)) {
        throw new ActionError(409, 'transfer_ended', `transfer ${id} is already ${ended.state}`, 'id');
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
    if (state !== 'completed' && t.flow === 'attended') {
      // The colleague's leg goes (if any); the operator, if still there, is taken off hold.
      if (t.targetLeg && this.control.leg(t.targetLeg)) {
        live.killing.add(t.targetLeg);
        await this.control.apiQuiet(uuidKill(t.targetLeg, 'ORIGINATOR_CANCEL'));
      } else if (t.targetLeg && live.jobUuid) {
        this.orphans.add(t.targetLeg);
        if (this.orphans.size > 1000) this.orphans.delete(this.orphans.values().next().value!);
      }
      if (live.held && this.control.leg(t.initiatorLeg) && this.control.leg(t.transferredLeg)) {
        await this.control.apiQuiet(uuidHold(t.initiatorLeg, true));
      }
    }
    await this.move(live, state);
  }

  private async move(live: Live, state: TransferState): Promise<void> {
    live.t.state = state;
    live.t.updatedAt = new Date().toISOString();
    const call = this.control.calls.tracker.liveCall(live.t.callId);
    if (call) await this.publish(live, call);
  }

  private async publish(live: Live, call: CallState): Promise<void> {
    const t = live.t;
    const employees = [t.initiator, ...(EXTENSION_RE.test(t.dial) ? [t.dial] : [])];
    await this.control.audit(call, 'action', 'transfer.updated', t.transferredLeg, {
      action: 'transfer', transfer: { ...t }, by: t.by,
    }, employees);
  }

  private transferredLeg(call: CallState, agent: LegState): LegState | undefined {
    if (agent.partner) return this.control.leg(agent.partner);
    // The operator's phone still rings: the leg whose bridge rings it (the caller).
    const anchor = this.control.leg(call.anchorLeg) ?? this.control.leg(call.firstLeg);
    return anchor && anchor.uuid !== agent.uuid ? anchor : undefined;
  }

  /** An extension as it is; a number in any notation normalised and put in the dial format. */
  private dialOf(target: string): string {
    if (typeof target !== 'string') throw new ActionError(400, 'invalid_parameter', 'target must be an extension or a phone number', 'target');
    if (EXTENSION_RE.test(target)) return target;
    if (!/^[+0-9 ()-]{7,32}$/.test(target)) throw new ActionError(400, 'invalid_parameter', 'target must be an extension (2 to 6 digits) or a phone number', 'target');
    try {
      return valid.dial('target', dialNumber(normalizePhone(target, this.opts.region).e164, this.opts.format));
    } catch (e) {
      if (e instanceof PhoneError) throw new ActionError(400, 'invalid_phone', `target: ${e.message}`, 'target');
      throw e;
    }
  }
}
