import { AttXfer, T } from './sim-replay';
import { SimLegTable } from './sim-legs';

/**
 * Hang-ups and bridges in the simulator (src/esl/sim-actions.ts): uuid_kill and a phone's BYE end a leg with
 * its bridged partner, its eavesdroppers and the legs it rang (captures 14, 12, 06); uuid_bridge (05).
 * A leg of a running att_xfer ends through `attEnd` (src/esl/sim-transfer.ts).
 */
export abstract class SimHangups extends SimLegTable {
  protected bridge(a: string, b: string): void {
    const x = this.live(a);
    const y = this.live(b);
    if (!x || !y) return;
    const old = x.partner && x.partner !== b ? this.live(x.partner) : undefined;
    this.play(T.bridge, { a, b, old: old?.uuid });
    if (old) this.afterGone(old.uuid);
  }

  /** A leg ends (uuid_kill, a phone's BYE): with its bridged partner, its eavesdroppers and the legs it rang. */
  protected override end(uuid: string, cause: string): void {
    const leg = this.live(uuid);
    if (!leg) return;
    if (leg.timer) clearTimeout(leg.timer);
    leg.onAnswer = undefined;
    const att = [...this.atts.values()].find((x) => x.agent === uuid || x.consult === uuid);
    if (att && this.attEnd(att, uuid, cause)) return;
    const partner = leg.partner ? this.live(leg.partner) : undefined;
    if (leg.eavesdropTarget && this.live(leg.eavesdropTarget)) {
      this.play(T.supervisorGone, { killed: uuid, target: leg.eavesdropTarget }, { causeOf: { [uuid]: cause } });
    } else if (partner) {
      this.play(leg.bridging ? T.killA : T.killB, { killed: uuid, partner: partner.uuid }, { causeOf: { [uuid]: cause } });
      this.afterGone(partner.uuid);
    } else {
      this.play(T.killB, { killed: uuid }, { causeOf: { [uuid]: cause } });
    }
    if (leg.job && !leg.answeredUs) leg.job(`-ERR ${cause}\n`);
    leg.job = undefined;
    this.afterGone(uuid);
  }

  /** Legs that cannot outlive `uuid`: its eavesdroppers, and the phones its bridge still rings. */
  protected afterGone(uuid: string): void {
    for (const l of [...this.legs.values()]) {
      if (l.hungUp) continue;
      if (l.eavesdropTarget === uuid) this.end(l.uuid, 'NORMAL_CLEARING');
      else if (l.originator === uuid && !l.answeredUs) this.end(l.uuid, 'ORIGINATOR_CANCEL');
    }
  }

  /** A leg of a running att_xfer ends (true: handled here). */
  protected abstract attEnd(att: AttXfer, uuid: string, cause: string): boolean;
}
