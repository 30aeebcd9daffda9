import { randomUUID } from 'node:crypto';
import { EslEvent, header } from '../esl/event';
import { Principal } from '../auth/tokens';
import { CallState } from '../calls/types';
import { EAVESDROP_KEY, eavesdropVars, originate, SUPERVISION_MODES, SupervisionMode, uuidKill, uuidRecvDtmf, valid } from '../calls/commands';
import { KnownExtension, unknownEmployee } from '../calls/click-to-call';
import { ActionError, Actor, actorOf, Control } from './control';

/**
 * Supervisor modes (T15): listen, whisper (only the employee hears the supervisor), barge (both hear).
 *
 * POST /calls/{id}/supervision rings the supervisor's phone and joins once they answer:
 * `bgapi originate {origination_uuid=<id>,…,eavesdrop_enable_dtmf=true,eavesdrop_whisper_aleg=…,
 * eavesdrop_whisper_bleg=…}user/<supervisor> &eavesdrop(<employee's leg>)` (capture 06). The target is the
 * employee's leg, so whisper is "your audio goes to the target" (key 2, `eavesdrop_whisper_bleg`: the
 * variable names mislead, see src/calls/commands.ts). FreeSWITCH sends no eavesdrop event of its own:
 * CHANNEL_EXECUTE eavesdrop on the supervisor's leg, MEDIA_BUG_START on the target (capture 06).
 *
 * PUT …/supervision/{id} switches live, without reconnecting: `uuid_recv_dtmf <supervisor leg> <key>`, read
 * by the eavesdrop loop as the phone's own mode key (0 listen, 2 whisper, 3 barge; switch_ivr_async.c), with
 * the same DTMF event on the leg as capture 06 shows for keys pressed on the phone.
 *
 * Only holders of the supervisor right (the rights function: employees' `supervisor` right, else the token's
 * role) may start one (403). Every use is audited on the call's timeline (`supervision`: who asked, which
 * supervisor, whom, modes, when) and on the event streams (`supervision.updated`). States: ringing →
 * active → ended, or failed (BACKGROUND_JOB -ERR <cause>: busy, not registered, no answer).
 */

export type SupervisionState = 'ringing' | 'active' | 'ended' | 'failed';
export type SupervisorRights = (extension: string) => boolean | Promise<boolean>;

export interface Supervision {
  id: string;
  callId: string;
  supervisor: string;
  /** The employee listened to and their leg. */
  employee: string;
  targetLeg: string;
  /** The supervisor's leg (its uuid is the supervision's id). */
  leg: string;
  mode: SupervisionMode;
  state: SupervisionState;
  cause: string | null;
  modes: Array<{ mode: SupervisionMode; at: string; by: Actor }>;
  createdAt: string;
  updatedAt: string;
  by: Actor;
}

export class Supervisions {
  private live = new Map<string, Supervision>();
  private ended = new Map<string, Supervision>();

  constructor(
    private readonly control: Control,
    /** Whether an extension holds the supervisor right; absent: the token's role decides (supervisor, admin). */
    private readonly rights?: SupervisorRights,
    /** Whether the supervisor's extension is someone's phone (an employee or registered); absent: not checked. */
    private readonly known?: KnownExtension,
  ) {
    control.onEvent((ev) => this.onEvent(ev));
    control.calls.on('resynced', () => {
      for (const s of [...this.live.values()]) if (s.state === 'active' && !control.leg(s.leg)) void this.end(s, 'ended', 'supervisor leg gone (seen at resync)');
    });
  }

  get(callId: string, id: string, p: Principal): Supervision {
    valid.uuid('id', callId);
    valid.uuid('sid', id);
    const s = this.live.get(id) ?? this.ended.get(id);
    if (!s || (s.callId !== callId && this.control.calls.tracker.liveCall(callId)?.id !== s.callId)) throw new ActionError(404, 'not_found', `no supervision ${id} on call ${callId}`, 'sid');
    if (p.role === 'operator' && s.supervisor !== p.employee) throw new ActionError(404, 'not_found', `no supervision ${id}`, 'sid');
    return { ...s };
  }

  async start(callId: string, body: { supervisor: string; mode: SupervisionMode; employee?: string }, p: Principal): Promise<Supervision> {
    valid.extension('supervisor', body.supervisor);
    if (!(SUPERVISION_MODES as readonly string[]).includes(body.mode)) throw new ActionError(400, 'invalid_parameter', `mode must be one of ${SUPERVISION_MODES.join(', ')}`, 'mode');
    if (body.employee !== undefined) valid.extension('employee', body.employee);
    // Refusals from here on are about an existing call: audited there (Control.onCall).
    return this.control.onCall(callId, p, 'supervision', (call) => this.startOn(call, body, p), { supervisor: body.supervisor, mode: body.mode });
  }

  private async startOn(call: CallState, body: { supervisor: string; mode: SupervisionMode; employee?: string }, p: Principal): Promise<Supervision> {
    if (p.role === 'operator' && body.supervisor !== p.employee) {
      throw new ActionError(403, 'forbidden', `a token bound to extension ${p.employee} supervises only from it`, 'supervisor');
    }
    // A typo is named as one (422), not as a missing right: neither an employee nor a registered phone.
    if (this.known && !this.known(body.supervisor)) throw unknownEmployee('supervisor', body.supervisor);
    if (!(await this.allowed(body.supervisor, p))) {
      throw new ActionError(403, 'not_a_supervisor', `extension ${body.supervisor} does not hold the supervisor right`, 'supervisor');
    }
    if (this.control.liveLegs(call).some((l) => l.employee === body.supervisor && l.role === 'party')) {
      throw new ActionError(409, 'supervisor_on_call', `extension ${body.supervisor} is a party of call ${call.id}`, 'supervisor');
    }
    const dup = [...this.live.values()].find((s) => s.callId === call.id && s.supervisor === body.supervisor);
    if (dup) throw new ActionError(409, 'supervision_in_progress', `extension ${body.supervisor} already supervises call ${call.id} (${dup.id})`, 'supervisor');
    const target = this.targetLeg(call, body.employee);
    const id = randomUUID();
    const now = new Date().toISOString();
    const by = actorOf(p);
    const s: Supervision = {
      id, callId: call.id, supervisor: body.supervisor, employee: target.employee!, targetLeg: target.uuid, leg: id, mode: body.mode, state: 'ringing',
      cause: null, modes: [{ mode: body.mode, at: now, by }], createdAt: now, updatedAt: now, by,
    };
    const cmd = originate([
      ['origination_uuid', id],
      ['origination_caller_id_number', target.employee!],
      ['origination_caller_id_name', 'Supervision'],
      ['telefonist_supervision', id],
      ...eavesdropVars(body.mode),
      ['originate_timeout', '30'],
    ], body.supervisor, { app: 'eavesdrop', target: target.uuid });
    this.control.assertConnected();
    this.live.set(id, s);
    const requested = { ...s };
    await this.publish(s, call, 'requested');
    try {
      await this.control.bgapi(cmd, id);
    } catch (e) {
      await this.end(s, 'failed', e instanceof ActionError ? `${e.code}: ${e.message}` : (e as Error).message, call);
      throw e;
    }
    return s.state === 'ringing' ? { ...s } : { ...requested, state: s.state, updatedAt: s.updatedAt };
  }

  /** Switches the mode live: `uuid_recv_dtmf <supervisor leg> <key>`. */
  async switchMode(callId: string, id: string, mode: SupervisionMode, p: Principal): Promise<Supervision> {
    if (!(SUPERVISION_MODES as readonly string[]).includes(mode)) throw new ActionError(400, 'invalid_parameter', `mode must be one of ${SUPERVISION_MODES.join(', ')}`, 'mode');
    const s = this.get(callId, id, p);
    return this.control.onCallOf(s.callId, [s.employee, s.supervisor], p, 'supervision_mode', () => this.switchOn(s, id, mode, p), { supervision: s.id, mode });
  }

  private async switchOn(s: Supervision, id: string, mode: SupervisionMode, p: Principal): Promise<Supervision> {
    const cur = this.live.get(id);
    if (!cur || s.state === 'ended' || s.state === 'failed') throw new ActionError(409, 'supervision_ended', `supervision ${id} is ${s.state}`, 'sid');
    if (cur.state !== 'active') throw new ActionError(409, 'supervision_not_active', `supervision ${id} is ${cur.state}: the supervisor has not answered yet`, 'sid');
    if (!(await this.allowed(cur.supervisor, p))) throw new ActionError(403, 'not_a_supervisor', `extension ${cur.supervisor} does not hold the supervisor right`, 'supervisor');
    const previous = cur.mode;
    if (previous !== mode) await this.control.api(uuidRecvDtmf(cur.leg, EAVESDROP_KEY[mode]));
    const by = actorOf(p);
    cur.mode = mode;
    cur.modes.push({ mode, at: new Date().toISOString(), by });
    cur.updatedAt = new Date().toISOString();
    await this.publish(cur, this.callOf(cur), 'mode', { previousMode: previous, by });
    return { ...cur };
  }

  /** DELETE: the supervisor's leg is hung up. */
  async stop(callId: string, id: string, p: Principal): Promise<Supervision> {
    const s = this.get(callId, id, p);
    return this.control.onCallOf(s.callId, [s.employee, s.supervisor], p, 'supervision_stop', () => this.stopOn(s, id, p), { supervision: s.id });
  }

  private async stopOn(s: Supervision, id: string, p: Principal): Promise<Supervision> {
    const cur = this.live.get(id);
    if (!cur) throw new ActionError(409, 'supervision_ended', `supervision ${id} is ${s.state}`, 'sid');
    await this.control.api(uuidKill(cur.leg));
    await this.end(cur, 'ended', `stopped by ${p.name}`);
    return { ...cur };
  }

  private async allowed(ext: string, p: Principal): Promise<boolean> {
    if (this.rights) return await this.rights(ext);
    return p.role === 'supervisor' || p.role === 'admin';
  }

  private targetLeg(call: CallState, employee?: string) {
    const legs = this.control.liveLegs(call).filter((l) => l.role === 'party' && l.employee);
    const leg = employee !== undefined ? legs.find((l) => l.employee === employee) : legs.find((l) => l.partner) ?? legs.find((l) => l.answeredAt);
    if (!leg) {
      throw new ActionError(409, 'no_employee_to_supervise', employee ? `extension ${employee} is not on call ${call.id}` : `call ${call.id} has no employee talking`, employee ? 'employee' : 'id');
    }
    return leg;
  }

  private onEvent(ev: EslEvent): void {
    if (this.live.size === 0) return;
    if (ev.name === 'BACKGROUND_JOB') {
      const s = this.live.get(header(ev, 'Job-UUID') ?? '');
      if (!s) return;
      const body = (ev.body ?? '').trim();
      if (body.startsWith('+OK')) void this.activate(s);
      else void this.end(s, 'failed', /^-ERR\s+(\S+)/.exec(body)?.[1] ?? body);
      return;
    }
    const uuid = header(ev, 'Unique-ID');
    const s = uuid ? this.live.get(uuid) : undefined;
    if (!s) return;
    if (ev.name === 'CHANNEL_ANSWER') void this.activate(s);
    else if (ev.name === 'CHANNEL_HANGUP') void this.end(s, s.state === 'ringing' ? 'failed' : 'ended', header(ev, 'Hangup-Cause') ?? 'NORMAL_CLEARING');
  }

  private async activate(s: Supervision): Promise<void> {
    if (s.state !== 'ringing') return;
    s.state = 'active';
    s.updatedAt = new Date().toISOString();
    await this.publish(s, this.callOf(s), 'joined');
  }

  private async end(s: Supervision, state: 'ended' | 'failed', cause: string, call?: { id: string }): Promise<void> {
    if (s.state === 'ended' || s.state === 'failed') return;
    s.state = state;
    s.cause = cause;
    s.updatedAt = new Date().toISOString();
    this.live.delete(s.id);
    this.ended.set(s.id, s);
    if (this.ended.size > 1000) this.ended.delete(this.ended.keys().next().value!);
    await this.publish(s, call ?? this.callOf(s), state === 'failed' ? 'failed' : 'left');
  }

  /** The live call, or once it has closed (the supervisor's leg outlived it), its stored id: the audit still lands. */
  private callOf(s: Supervision): { id: string } {
    return this.control.calls.tracker.liveCall(s.callId) ?? { id: s.callId };
  }

  private async publish(s: Supervision, call: { id: string }, step: string, extra: Record<string, unknown> = {}): Promise<void> {
    await this.control.audit(call, 'supervision', 'supervision.updated', s.leg, {
      step, supervision: { ...s, modes: [...s.modes] }, supervisor: s.supervisor, employee: s.employee, mode: s.mode, ...extra,
    }, [s.supervisor]);
  }
}
