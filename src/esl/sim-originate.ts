import { randomUUID } from 'node:crypto';
import { parseVars, T } from './sim-replay';
import { SimTransfers } from './sim-transfer';

/**
 * Originates in the simulator (src/esl/sim-actions.ts): `&park()` (capture 05), supervision by
 * `&eavesdrop(<uuid>)` (06), click-to-call `<num> XML <ctx>` (13), a busy phone (08), an unknown or
 * unregistered one (17: no channel at all).
 */
export abstract class SimOriginates extends SimTransfers {
  protected originate(args: string): string | Promise<string> | undefined {
    const m = /^(?:\{([^}]*)\})?user\/([0-9A-Za-z_.-]+)\s+(.+)$/.exec(args.trim());
    if (!m) return undefined;
    const [, varText = '', ext, rest] = m;
    const vars = parseVars(varText);
    const mode = this.modeOf(ext);
    if (mode === undefined) return '-ERR SUBSCRIBER_ABSENT\n';
    if (mode === 'unregistered') return '-ERR USER_NOT_REGISTERED\n';
    const fresh = vars.origination_uuid ?? randomUUID();
    if (this.legs.has(fresh)) return '-ERR DESTINATION_OUT_OF_ORDER\n';
    return new Promise<string>((resolve) => {
      this.later(() => {
        const leg = this.newLeg(fresh, ext, { vars });
        if (mode === 'busy') {
          this.play(T.originateBusy, { fresh }, { tokens: [['1005', ext], ['1000', vars.origination_caller_id_number ?? ext]] });
          resolve('-ERR USER_BUSY\n');
          return;
        }
        leg.job = resolve;
        const eaves = /^&eavesdrop\(([0-9a-f-]{36})\)$/.exec(rest);
        const dial = /^(\+?[0-9]{2,20}) XML \S+$/.exec(rest);
        this.play(dial ? T.clickRing : T.originateRing, { fresh }, { tokens: [[dial ? '1001' : '1002', ext]] });
        const timeout = Number(vars.originate_timeout ?? 60) * 1000;
        leg.timer = setTimeout(() => void this.later(() => this.end(fresh, 'NO_ANSWER')), timeout);
        leg.timer.unref?.();
        this.ring(fresh, mode, () => {
          if (leg.timer) clearTimeout(leg.timer);
          if (eaves) {
            if (!this.live(eaves[1])) {
              // eavesdrop on a channel that is gone: the application returns and the leg hangs up.
              this.play(T.originatePark, { fresh }, { tokens: [['1002', ext]], only: new Set(['CHANNEL_ANSWER']) });
              leg.job?.(`+OK ${fresh}\n`);
              leg.job = undefined;
              this.end(fresh, 'NORMAL_CLEARING');
              return;
            }
            leg.eavesdropTarget = eaves[1];
            this.play(T.originateEavesdrop, { fresh, target: eaves[1] }, { tokens: [['1002', ext]] });
          } else if (dial) {
            this.play(T.clickAnswer, { fresh }, { tokens: [['1001', ext]] });
          } else {
            this.play(T.originatePark, { fresh }, { tokens: [['1002', ext]] });
          }
          leg.job?.(`+OK ${fresh}\n`);
          leg.job = undefined;
          if (dial) this.clickToCallDial(fresh, ext, dial[1]);
        });
      });
    });
  }

  /** Click-to-call after the employee answered: the dialplan dials the number (capture 13). */
  protected clickToCallDial(fresh: string, ext: string, number: string): void {
    const mode = this.modeOf(number);
    if (mode === undefined || mode === 'busy' || mode === 'unregistered') {
      this.end(fresh, mode === 'busy' ? 'USER_BUSY' : 'NO_ROUTE_DESTINATION');
      return;
    }
    const carrier = randomUUID();
    this.newLeg(carrier, number, { originator: fresh });
    const tokens: Array<[string, string]> = [['1001', ext], ['+79161234567', number], ['79161234567', number.replace(/^\+/, '')]];
    this.play(T.clickDial, { fresh, carrier }, { tokens });
    this.ring(carrier, mode, () => {
      if (!this.live(fresh)) return this.end(carrier, 'ORIGINATOR_CANCEL');
      this.play(T.clickConnect, { fresh, carrier }, { tokens });
    });
  }
}
