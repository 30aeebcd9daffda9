import { randomUUID } from 'node:crypto';
import { EslHeaders } from './event';
import { AttXfer, clearCause, parseVars, T } from './sim-replay';
import { SimHangups } from './sim-hangup';

/**
 * Transfers in the simulator (src/esl/sim-actions.ts): uuid_transfer (capture 12: the partner released, the
 * leg re-routed, a new leg rings; to a busy phone, capture 11: that leg ends USER_BUSY and so does the caller) and att_xfer by uuid_broadcast (05b: the consult leg, its completion, and
 * the agent's return to the customer).
 */
export abstract class SimTransfers extends SimHangups {
  protected transfer(uuid: string, dest: string): void {
    const leg = this.live(uuid);
    if (!leg) return;
    const partner = leg.partner ? this.live(leg.partner) : undefined;
    const ringing = [...this.legs.values()].filter((l) => l.originator === uuid && !l.answeredUs && !l.hungUp);
    const released = partner ?? ringing[0];
    const fresh = new Map<string, string>();
    this.play(T.transferRelease, { transferred: uuid, partner: released?.uuid }, {
      tokens: [['1002', dest]],
      fresh,
      causeOf: released && !partner ? { [released.uuid]: 'ORIGINATOR_CANCEL' } : undefined,
      drop: partner ? undefined : new Set(['CHANNEL_UNBRIDGE']),
    });
    if (released) this.afterGone(released.uuid);
    for (const r of ringing.slice(partner ? 0 : 1)) this.end(r.uuid, 'ORIGINATOR_CANCEL');
    this.dialFrom(uuid, dest, fresh);
  }

  /** The dialplan bridges `uuid` to `dest` (after uuid_transfer): a new leg rings, and answers per its phone. */
  protected dialFrom(uuid: string, dest: string, shared: Map<string, string>): void {
    const mode = this.modeOf(dest);
    if (mode === 'busy') {
      // Capture 11: the bridge's leg is created and ends USER_BUSY at once, then the dialplan hangs up the caller
      // with the same cause (the dialplan's own bridge and recording start were replayed with the transfer).
      // The caller's transfer history is its own (as after this uuid_transfer), not capture 11's DID routing.
      const busy = randomUUID();
      const own = this.live(uuid)?.transfer;
      this.newLeg(busy, dest, { originator: uuid });
      this.play(T.transferBusy, { transferred: uuid, fresh: busy }, {
        tokens: [['1002', dest]],
        drop: new Set(['CHANNEL_EXECUTE', 'RECORD_START', 'MEDIA_BUG_START']),
        patch: (h) => {
          if (h['Unique-ID'] === uuid && own) Object.assign(h, own);
        },
      });
      return;
    }
    if (mode === 'unregistered' || mode === undefined) {
      // No channel at all (capture 17's USER_NOT_REGISTERED / SUBSCRIBER_ABSENT): the caller is hung up with the cause.
      this.end(uuid, mode === 'unregistered' ? 'USER_NOT_REGISTERED' : 'SUBSCRIBER_ABSENT');
      return;
    }
    const fresh = randomUUID();
    this.newLeg(fresh, dest, { originator: uuid });
    this.play(T.transferRing, { transferred: uuid, fresh }, { tokens: [['1002', dest]], fresh: shared });
    this.ring(fresh, mode, () => {
      const a = this.live(uuid);
      if (!a) return this.end(fresh, 'ORIGINATOR_CANCEL');
      // The caller's answer comes from capture 09; its transfer history is the leg's own, not 09's.
      if (!a.answeredUs) this.play(T.callerAnswer, { caller: uuid }, { only: new Set(['CHANNEL_ANSWER']), fresh: shared, set: a.transfer });
      this.play(T.transferAnswer, { transferred: uuid, fresh }, { tokens: [['1002', dest]], fresh: shared });
    });
  }

  /**
   * `uuid_broadcast <agent> att_xfer::{vars}user/<ext> aleg` (capture 05b): att_xfer starts on the agent's
   * leg, the consult leg rings from it and, answered, bridges to it (the customer waits on its old bridge).
   */
  protected attXfer(agentUuid: string, varText: string, ext: string): void {
    const agent = this.live(agentUuid);
    if (!agent) return;
    const customer = agent.partner && this.live(agent.partner) ? agent.partner : undefined;
    const vars = parseVars(varText);
    const data = `${varText ? `{${varText}}` : ''}user/${ext}`;
    const patch = (h: EslHeaders) => {
      if (h['Application'] === 'att_xfer') h['Application-Data'] = data;
    };
    const mode = this.modeOf(ext);
    const consult = vars.origination_uuid ?? randomUUID();
    const tokens: Array<[string, string]> = [['1002', ext], ['1001', vars.origination_caller_id_number ?? agent.number ?? '1001']];
    if (mode === undefined || mode === 'unregistered' || mode === 'busy' || this.legs.has(consult)) {
      // The originate inside att_xfer fails: no consult leg (absent, unregistered) or one that fails (busy, 08).
      this.play(T.attRing, { agent: agentUuid, customer }, { patch, tokens });
      let cause = mode === undefined ? 'SUBSCRIBER_ABSENT' : mode === 'unregistered' ? 'USER_NOT_REGISTERED' : 'DESTINATION_OUT_OF_ORDER';
      if (mode === 'busy' && !this.legs.has(consult)) {
        cause = 'USER_BUSY';
        this.newLeg(consult, ext, { vars, originator: agentUuid });
        this.play(T.originateBusy, { fresh: consult }, { tokens: [['1005', ext], ['1000', vars.origination_caller_id_number ?? ext]] });
      }
      this.attReturn(agentUuid, consult, cause);
      return;
    }
    const leg = this.newLeg(consult, ext, { vars, originator: agentUuid });
    this.atts.set(agentUuid, { agent: agentUuid, customer, consult });
    this.play(T.attRing, { agent: agentUuid, customer, consult }, { patch, tokens });
    leg.timer = setTimeout(() => void this.later(() => this.end(consult, 'NO_ANSWER')), Number(vars.originate_timeout ?? 60) * 1000);
    leg.timer.unref?.();
    this.ring(consult, mode, () => {
      if (leg.timer) clearTimeout(leg.timer);
      if (!this.live(agentUuid)) return this.end(consult, 'ORIGINATOR_CANCEL');
      this.play(T.attAnswer, { agent: agentUuid, customer, consult }, { patch, tokens });
    });
  }

  /**
   * A leg of a running att_xfer ends (true: handled here). The agent's leg while the colleague talks: att_xfer
   * bridges the customer to the colleague (05b's completion). The consult leg while the agent is there: its
   * hang-up, the agent's inner unbridge, att_xfer returns: the agent is back with the customer.
   */
  protected override attEnd(att: AttXfer, uuid: string, cause: string): boolean {
    const agent = this.live(att.agent);
    const consult = this.live(att.consult);
    const customer = att.customer ? this.live(att.customer) : undefined;
    if (!agent || !consult) {
      this.atts.delete(att.agent);
      return false;
    }
    if (uuid === att.agent) {
      if (!consult.answeredUs || !customer) return false; // still ringing: the agent's hang-up cancels the originate (afterGone)
      this.atts.delete(att.agent);
      this.play(T.attDone, { agent: agent.uuid, customer: customer.uuid, consult: consult.uuid }, { causeOf: { [agent.uuid]: cause } });
      return true;
    }
    this.atts.delete(att.agent);
    const answered = !!consult.answeredUs;
    if (answered && consult.partner === agent.uuid) this.play(T.attUnbridge, { agent: agent.uuid, consult: consult.uuid }, { only: new Set(['CHANNEL_UNBRIDGE']), patch: clearCause });
    this.play(T.killB, { killed: consult.uuid }, { causeOf: { [consult.uuid]: cause } });
    this.attReturn(agent.uuid, consult.uuid, answered ? 'SUCCESS' : cause);
    if (customer) {
      agent.partner = customer.uuid;
      customer.partner = agent.uuid;
      agent.bridging = false;
      customer.bridging = true;
    } else {
      this.end(agent.uuid, 'NORMAL_CLEARING');
    }
    return true;
  }

  /** att_xfer returns on the agent's leg (05b's EXECUTE_COMPLETE), with the originate's disposition. */
  protected attReturn(agent: string, consult: string, disposition: string): void {
    this.play(T.attReturn, { agent, consult }, {
      only: new Set(['CHANNEL_EXECUTE_COMPLETE']),
      patch: (h) => {
        clearCause(h);
        h['variable_originate_disposition'] = disposition;
      },
    });
  }
}
