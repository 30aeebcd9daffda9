import { EslCommandError, EslConnection, EslTimeoutError } from '../esl/connection';
import { EslEvent } from '../esl/event';
import { CallService } from '../calls/call-service';
import { CallState, LegState, TimelineEntry, TimelineKind } from '../calls/types';
import { EventLog, EventType } from '../events/event-log';
import { Principal } from '../auth/tokens';
import { maySeeCall } from '../auth/scope';
import { JournalReader } from '../journal/journal-reader';
import { ApiError } from '../api-error';
import { HANGUP_CAUSES, HangupCause, uuidHold, uuidKill, valid } from '../calls/commands';

/**
 * What every call action shares: the live call and its legs (from the call tracker), FreeSWITCH commands
 * with their failures mapped to HTTP (not connected → 503, refused → 502 with FreeSWITCH's reason, connected but
 * silent past `commandTimeoutMs` → 504 `freeswitch_timeout`), and the
 * audit: a timeline entry on the call (journal) and an event on the streams (SSE, long-poll, webhooks).
 * Hold / resume / hang-up live here; transfers (transfers.ts) and supervision (supervision.ts) build on it.
 */

/**
 * The 504 `freeswitch_timeout` message (Russian, then English): FreeSWITCH is connected but did not answer the
 * command within `commandTimeoutMs`; the connection is dropped and re-established, the command may or may not
 * have run.
 */
export function timeoutMessage(e: EslTimeoutError): string {
  const s = Math.round(e.timeoutMs / 100) / 10;
  return `FreeSWITCH не ответил на команду за ${s} с; соединение переподключается, проверьте состояние звонка / `
    + `FreeSWITCH did not answer the command within ${s} s; reconnecting, check the call's state (${e.message})`;
}

/**
 * An action refused: its HTTP status, a code for 1C, the message and the field it is about. `call`: the existing
 * call it was about when the refusal is known before the live call is (an ended call, an ended transfer), so
 * the refusal can still be audited there.
 */
export class ActionError extends ApiError {
  declare call?: { id: string; employees: string[] };
}

/** The refusals audited on the call (rights and policy 403, state 409, FreeSWITCH 502 / 503 / 504). */
const AUDITED_REFUSALS = new Set([403, 409, 502, 503, 504]);

/** An ActionError tied to an existing call (for the refusal audit). */
function onExistingCall(e: ActionError, call: { id: string; employees: string[] }): ActionError {
  e.call = call;
  return e;
}

/** Who asked (from the API token): recorded on every audit entry. */
export interface Actor {
  tokenId: string;
  name: string;
  role: string;
  employee?: string;
}

export function actorOf(p: Principal): Actor {
  return { tokenId: p.tokenId, name: p.name, role: p.role, ...(p.employee ? { employee: p.employee } : {}) };
}

export class Control {
  private seq = 0;

  constructor(
    readonly esl: EslConnection,
    readonly calls: CallService,
    readonly reader: JournalReader,
    readonly events: EventLog | undefined,
  ) {}

  /** A live call by id (a merged id resolves to its call). 404 unknown, 409 ended. */
  async liveCall(id: string, p: Principal): Promise<CallState> {
    valid.uuid('id', id);
    let call = this.calls.tracker.liveCall(id);
    if (!call) {
      const resolved = await this.reader.resolveId(id);
      call = this.calls.tracker.liveCall(resolved);
      if (!call) {
        const stored = await this.reader.getCall(resolved);
        if (!stored || !maySeeCall(p, stored.employees)) throw new ActionError(404, 'not_found', `no call ${id}`, 'id');
        throw onExistingCall(new ActionError(409, 'call_ended', `call ${id} has ended`, 'id'), { id: stored.id, employees: stored.employees });
      }
    }
    if (!maySeeCall(p, Object.keys(call.employees))) throw new ActionError(404, 'not_found', `no call ${id}`, 'id');
    if (call.endedAt !== undefined) throw onExistingCall(new ActionError(409, 'call_ended', `call ${id} has ended`, 'id'), { id: call.id, employees: Object.keys(call.employees) });
    return call;
  }

  /**
   * Runs an action on a live call (`liveCall`, then `fn`) and audits its refusal: a 403 (rights, the outside-number
   * policy), 409 (state; also `call_ended`), 502 / 503 / 504 (FreeSWITCH) is put on the call's timeline (kind
   * `action`: `{action, refused: {status, code}, by, ...data}`) and published as `call.action` with the same
   * data, then rethrown unchanged. Requests that name no existing call (404, and 400 validation) are not
   * audited: there is nothing to attach them to. Like every audit entry it is queued, not awaited; the success
   * path costs one try/catch.
   */
  async onCall<T>(id: string, p: Principal, action: string, fn: (call: CallState) => Promise<T>, data: Record<string, unknown> = {}): Promise<T> {
    let call: CallState;
    try {
      call = await this.liveCall(id, p);
    } catch (e) {
      if (e instanceof ActionError && e.call) this.refused(e.call, action, e, p, data);
      throw e;
    }
    return this.audited(() => ({ id: call.id, employees: Object.keys(call.employees) }), p, action, () => fn(call), data);
  }

  /**
   * `onCall`'s refusal audit for an action on a call found another way (a transfer's, a supervision's id): the
   * live call by `callId`, else the stored id with `employees` as its audience.
   */
  async onCallOf<T>(callId: string, employees: string[], p: Principal, action: string, fn: () => Promise<T>, data: Record<string, unknown> = {}): Promise<T> {
    return this.audited(() => this.callRef(callId, employees), p, action, fn, data);
  }

  /** Runs `fn`; a refusal is audited on the call `ref()` names when it comes (see onCall), then rethrown. */
  private async audited<T>(ref: () => { id: string; employees: string[] }, p: Principal, action: string, fn: () => Promise<T>, data: Record<string, unknown>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      this.refused(ref(), action, e, p, data);
      throw e;
    }
  }

  /** The live call's id and employees, else the stored id with `employees`. */
  callRef(callId: string, employees: string[]): { id: string; employees: string[] } {
    const call = this.calls.tracker.liveCall(callId);
    return call ? { id: call.id, employees: Object.keys(call.employees) } : { id: callId, employees };
  }

  /** The refusal audit of `onCall` for a call found another way (a transfer's or supervision's call). No-op for anything but an audited ActionError. */
  refused(call: { id: string; employees: string[] }, action: string, e: unknown, p: Principal, data: Record<string, unknown> = {}): void {
    if (!(e instanceof ActionError) || !AUDITED_REFUSALS.has(e.status)) return;
    void this.audit(call, 'action', 'call.action', undefined, { action, ...data, refused: { status: e.status, code: e.code }, by: actorOf(p) }, call.employees);
  }

  /** The call's legs that are still up. */
  liveLegs(call: CallState): LegState[] {
    return call.legs.map((u) => this.calls.tracker.liveLeg(u)).filter((l): l is LegState => !!l && l.endedAt === undefined);
  }

  leg(uuid: string | undefined): LegState | undefined {
    const l = uuid ? this.calls.tracker.liveLeg(uuid) : undefined;
    return l && l.endedAt === undefined ? l : undefined;
  }

  /** The employee's own (party) leg on the call: answered first, else ringing. */
  employeeLeg(call: CallState, ext: string): LegState | undefined {
    const mine = this.liveLegs(call).filter((l) => l.employee === ext && l.role === 'party');
    return mine.find((l) => l.partner) ?? mine.find((l) => l.answeredAt) ?? mine[0];
  }

  /** `api <cmd>` that must answer +OK: 503 when FreeSWITCH is not connected, 502 with its reply when it refuses, 504 when it never answers. */
  async api(cmd: string): Promise<string> {
    this.assertConnected();
    try {
      return await this.esl.apiOk(cmd);
    } catch (e) {
      throw this.eslFailure(e);
    }
  }

  /** `bgapi <cmd>` with our Job-UUID, accepted (the result comes later as BACKGROUND_JOB). */
  async bgapi(cmd: string, jobUuid: string): Promise<void> {
    this.assertConnected();
    try {
      await this.esl.bgapiAccepted(cmd, jobUuid);
    } catch (e) {
      throw this.eslFailure(e);
    }
  }

  /** The same command where failure is fine (cleaning up after a party that already left). */
  async apiQuiet(cmd: string): Promise<void> {
    if (this.esl.state !== 'ready') return;
    await this.esl.api(cmd).catch(() => undefined);
  }

  assertConnected(): void {
    if (this.esl.state !== 'ready') throw new ActionError(503, 'freeswitch_unavailable', `FreeSWITCH is not connected (${this.esl.state})`);
  }

  private eslFailure(e: unknown): Error {
    if (e instanceof EslTimeoutError) return new ActionError(504, 'freeswitch_timeout', timeoutMessage(e));
    if (!(e instanceof EslCommandError)) return e as Error;
    if (this.esl.state !== 'ready') return new ActionError(503, 'freeswitch_unavailable', `FreeSWITCH is not connected: ${e.message}`);
    return new ActionError(502, 'freeswitch_refused', `FreeSWITCH refused the command: ${e.message}`);
  }

  /** Every channel event, after the call tracker has applied it. */
  onEvent(fn: (ev: EslEvent) => void): void {
    this.esl.on('event', fn);
  }

  /**
   * An audit entry on the call's timeline (journal) and an event on the streams. Both are queued at once, in
   * order (the journal writer and the event log are durable queues that retry), and not waited for: the
   * FreeSWITCH command that follows is not delayed by a database commit. `call` is the live call or, once it
   * has closed (a final state that comes after the last leg left), just its stored id: the entry still lands.
   */
  async audit(call: { id: string }, kind: TimelineKind, type: EventType, leg: string | undefined, data: Record<string, unknown>, employees: string[]): Promise<void> {
    const at = Date.now();
    const key = `${kind}:${call.id}:${at}:${++this.seq}`;
    const entry: TimelineEntry = { key, callId: call.id, at, kind, data };
    if (leg) entry.leg = leg;
    this.calls.writer.write({ calls: [], legs: [], timeline: [entry], recordings: [], merges: [] }).catch(() => undefined);
    this.events?.append([{ key: `${key}:event`, type, callId: call.id, employees, at, data: { callId: call.id, ...data } }]).catch(() => undefined);
  }

  // ---- hold, resume, hang up ------------------------------------------------------------------------

  /**
   * Holds (or resumes) one leg: `uuid_hold [off] <uuid>` (captures 05, 14; `+OK Success`). FreeSWITCH plays
   * hold music to the held leg's *partner*, so to put the customer on hold the operator's own leg is held
   * (capture 05). Default leg: `employee`'s leg on the call (an operator token: its own), else the leg
   * talking to the customer. The tracker puts `held` / `resumed` on the timeline from CHANNEL_HOLD/UNHOLD.
   */
  async hold(callId: string, body: { leg?: string; employee?: string }, p: Principal, off: boolean): Promise<Record<string, unknown>> {
    return this.onCall(callId, p, off ? 'resume' : 'hold', (call) => this.holdOn(call, body, p, off));
  }

  private async holdOn(call: CallState, body: { leg?: string; employee?: string }, p: Principal, off: boolean): Promise<Record<string, unknown>> {
    const leg = this.pickLeg(call, body, p);
    if (!off && leg.held) throw new ActionError(409, 'already_held', `leg ${leg.uuid} is already on hold`, 'leg');
    if (off && !leg.held) throw new ActionError(409, 'not_held', `leg ${leg.uuid} is not on hold`, 'leg');
    await this.api(uuidHold(leg.uuid, off));
    const action = off ? 'resume' : 'hold';
    await this.audit(call, 'action', 'call.action', leg.uuid, { action, leg: leg.uuid, employee: leg.employee ?? null, by: actorOf(p) }, Object.keys(call.employees));
    return { callId: call.id, action, leg: leg.uuid, employee: leg.employee ?? null };
  }

  /** `uuid_kill <uuid> [cause]` of one leg, or of every live leg of the call (captures 03, 14; `+OK`). */
  async hangup(callId: string, body: { leg?: string; cause?: string }, p: Principal): Promise<Record<string, unknown>> {
    return this.onCall(callId, p, 'hangup', (call) => this.hangupOn(call, body, p));
  }

  private async hangupOn(call: CallState, body: { leg?: string; cause?: string }, p: Principal): Promise<Record<string, unknown>> {
    if (body.cause !== undefined && !(HANGUP_CAUSES as readonly string[]).includes(body.cause)) {
      throw new ActionError(400, 'invalid_parameter', `cause must be one of ${HANGUP_CAUSES.join(', ')}`, 'cause');
    }
    let legs: LegState[];
    if (body.leg !== undefined) {
      valid.uuid('leg', body.leg);
      const leg = this.liveLegs(call).find((l) => l.uuid === body.leg);
      if (!leg) throw new ActionError(404, 'not_found', `leg ${body.leg} is not a live leg of call ${call.id}`, 'leg');
      legs = [leg];
    } else {
      legs = this.liveLegs(call);
    }
    // An operator hangs up only calls they are on (liveCall answers 404 for the others): any leg of them.
    const cause = body.cause as HangupCause | undefined;
    const done: string[] = [];
    for (const l of legs) {
      try {
        await this.api(uuidKill(l.uuid, cause));
        done.push(l.uuid);
      } catch (e) {
        // A leg that left meanwhile (-ERR No such channel!) is not a failure of the hang-up.
        if (!(e instanceof ActionError && e.status === 502 && /No such channel/.test(e.message))) throw e;
      }
    }
    await this.audit(call, 'action', 'call.action', body.leg, { action: 'hangup', legs: done, cause: cause ?? 'NORMAL_CLEARING', by: actorOf(p) }, Object.keys(call.employees));
    return { callId: call.id, action: 'hangup', legs: done, cause: cause ?? 'NORMAL_CLEARING' };
  }

  private pickLeg(call: CallState, body: { leg?: string; employee?: string }, p: Principal): LegState {
    if (body.leg !== undefined) {
      valid.uuid('leg', body.leg);
      const leg = this.liveLegs(call).find((l) => l.uuid === body.leg);
      if (!leg) throw new ActionError(404, 'not_found', `leg ${body.leg} is not a live leg of call ${call.id}`, 'leg');
      if (p.role === 'operator' && leg.employee !== p.employee && !this.liveLegs(call).some((l) => l.employee === p.employee)) {
        throw new ActionError(403, 'forbidden', 'an operator acts only on calls they are on', 'leg');
      }
      return leg;
    }
    const ext = p.role === 'operator' ? p.employee : body.employee;
    if (body.employee !== undefined) valid.extension('employee', body.employee);
    if (p.role === 'operator' && body.employee !== undefined && body.employee !== p.employee) {
      throw new ActionError(403, 'forbidden', `an operator acts only as their own extension ${p.employee}`, 'employee');
    }
    if (ext) {
      const leg = this.employeeLeg(call, ext);
      if (!leg) throw new ActionError(409, 'not_on_call', `extension ${ext} is not on call ${call.id}`, 'employee');
      return leg;
    }
    const anchor = this.leg(call.anchorLeg);
    const talking = anchor?.partner ? this.leg(anchor.partner) : undefined;
    const leg = talking?.employee ? talking : this.liveLegs(call).find((l) => l.employee && l.role === 'party' && l.partner);
    if (!leg) throw new ActionError(409, 'not_talking', `call ${call.id} has no employee talking to hold`, 'leg');
    return leg;
  }
}
