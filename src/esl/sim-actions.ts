import { T } from './sim-replay';
import { SimOriginates } from './sim-originate';

export type { PhoneMode, SimCore, SimLeg } from './sim-replay';

/**
 * The simulator's answers to call-control commands, the way FreeSWITCH 1.10.12 answers them: the api reply
 * the captures show, then the events the captures show for that command, replayed from the capture as a
 * template onto the live channels (their UUIDs, numbers and times; answer times, caller identity and
 * channel variables from this table, never the template's). It keeps its own leg table from every event the
 * simulator emits (replayed calls and its own), so each answer depends on state: a channel that is gone is
 * `-ERR No such channel!`, a held leg is unheld, a bridged leg's partner goes with it.
 *
 *  command                                      reply                      events (capture, window)
 *  uuid_hold [off] <uuid>                       +OK Success                14: HOLD / UNHOLD, hold music on the partner
 *  uuid_transfer <uuid> <dest> XML <ctx>        +OK                        12: partner released (NORMAL_CLEARING, or
 *                                                                          ORIGINATOR_CANCEL if it still rang), the leg
 *                                                                          re-routed, a new leg rings, answers, bridges;
 *                                                                          11: to a busy phone that leg ends USER_BUSY
 *                                                                          and the caller with it; not registered: the
 *                                                                          caller ends USER_NOT_REGISTERED (no leg)
 *  uuid_bridge <a> <b>                          +OK <b>                    05: a's old partner unheld and hung up, a↔b
 *  uuid_broadcast <op> att_xfer::{vars}user/<ext> aleg
 *                                               +OK Message sent           05b: att_xfer on <op>, the consult leg rings,
 *                                                                          answers and bridges to <op>; uuid_kill <op>
 *                                                                          (or its phone hanging up) → 05b's completion,
 *                                                                          customer↔consult; the consult leg ending →
 *                                                                          its hang-up (14), <op>'s inner unbridge and
 *                                                                          att_xfer's EXECUTE_COMPLETE (05b): <op> is
 *                                                                          back with the customer
 *  uuid_kill <uuid> [cause]                     +OK                        14 / 12: the leg and its bridged partner end
 *  uuid_setvar_multi <uuid> a=b;c=d             +OK                        none (the variables show on later events)
 *  uuid_recv_dtmf <uuid> <digits>               +OK                        06: DTMF on that leg
 *  originate {vars}user/<ext> &park()           BACKGROUND_JOB +OK <uuid>  05: rings, answers, parks
 *  originate {vars}user/<ext> &eavesdrop(<u>)   BACKGROUND_JOB +OK <uuid>  06: rings, answers, MEDIA_BUG_START on <u>
 *  originate {vars}user/<ext> <num> XML <ctx>   BACKGROUND_JOB +OK <uuid>  13: employee rings and answers, number dialled
 *  originate to a busy phone                    BACKGROUND_JOB -ERR USER_BUSY          08: a channel that fails
 *  originate to an unknown / unregistered one   -ERR SUBSCRIBER_ABSENT / USER_NOT_REGISTERED (17: no channel at all)
 *
 * Phones answer as the test says (`phone(ext, mode)`): `auto` after `ringMs`, `manual` on `answer(uuid)`,
 * `busy`, `unregistered`; an extension never set is not in the directory (SUBSCRIBER_ABSENT); outside
 * numbers answer (the carrier in captures 09–17 answers everything).
 */
export class SimActions extends SimOriginates {
  /** An api command this module answers (undefined: not ours, the simulator answers it as before). */
  run(cmd: string, args: string): string | Promise<string> | undefined {
    const a = args.trim().split(/\s+/).filter(Boolean);
    switch (cmd) {
      case 'uuid_hold': {
        const off = a[0] === 'off';
        const toggle = a[0] === 'toggle';
        const leg = this.live(off || toggle ? a[1] : a[0]);
        if (!leg) return '-ERR No such channel!\n';
        const unhold = off || (toggle && leg.held);
        if (unhold !== leg.held) return '-ERR Operation failed\n';
        this.later(() => this.play(unhold ? T.unhold : T.hold, { held: leg.uuid, partner: leg.partner }));
        return '+OK Success\n';
      }
      case 'uuid_transfer': {
        const leg = this.live(a[0]);
        if (!leg) return '-ERR No such channel!\n';
        const dest = a[1] === '-bleg' || a[1] === '-both' ? a[2] : a[1];
        if (!dest) return '-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n';
        this.later(() => this.transfer(leg.uuid, dest));
        return '+OK\n';
      }
      case 'uuid_bridge': {
        const x = this.live(a[0]);
        const y = this.live(a[1]);
        if (!x || !y || x === y || !y.answeredUs) return '-ERR Invalid uuid\n';
        this.later(() => this.bridge(x.uuid, y.uuid));
        return `+OK ${y.uuid}\n`;
      }
      case 'uuid_kill': {
        const leg = this.live(a[0]);
        if (!leg) return '-ERR No such channel!\n';
        this.later(() => this.end(leg.uuid, a[1] ?? 'NORMAL_CLEARING'));
        return '+OK\n';
      }
      case 'uuid_setvar_multi': {
        const leg = this.live(a[0]);
        if (!leg) return '-ERR No such channel!\n';
        for (const pair of (a[1] ?? '').split(';')) {
          const i = pair.indexOf('=');
          if (i > 0) leg.vars[pair.slice(0, i)] = pair.slice(i + 1);
        }
        return '+OK\n';
      }
      case 'uuid_broadcast': {
        const m = /^att_xfer::(?:\{([^}]*)\})?user\/([0-9]{2,6})$/.exec(a[1] ?? '');
        if (!m || (a[2] ?? 'aleg') !== 'aleg') return undefined;
        const leg = this.live(a[0]);
        if (!leg) return '-ERR No such channel!\n';
        this.later(() => this.attXfer(leg.uuid, m[1] ?? '', m[2]));
        return '+OK Message sent\n';
      }
      case 'uuid_recv_dtmf': {
        const leg = this.live(a[0]);
        if (!leg) return '-ERR No such channel!\n';
        for (const digit of a[1] ?? '') this.later(() => this.play(T.dtmf, { leg: leg.uuid }, { set: { 'DTMF-Digit': digit, 'DTMF-Source': 'APP' } }));
        return '+OK\n';
      }
      case 'originate':
        return this.originate(args);
      default:
        return undefined;
    }
  }
}
