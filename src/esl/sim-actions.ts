import { randomUUID } from 'node:crypto';
import { EslEvent, EslHeaders, header } from './event';
import { FixtureEvent, loadFixtureEvents } from './fixtures';

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
 *                                                                          re-routed, a new leg rings, answers, bridges
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

export type PhoneMode = 'auto' | 'manual' | 'busy' | 'unregistered';

export interface SimLeg {
  uuid: string;
  /** The leg's own identity headers from its first event (channel name, direction, caller id, created time). */
  identity: EslHeaders;
  number?: string;
  createdUs: string;
  answeredUs?: string;
  partner?: string;
  /** This leg ran the bridge (CHANNEL_BRIDGE came with its Unique-ID). */
  bridging?: boolean;
  /** The leg whose bridge / originate made this one. */
  originator?: string;
  held: boolean;
  vars: Record<string, string>;
  recordPath?: string;
  hungUp: boolean;
  /** The latest Caller-Transfer-Source / variable_transfer_history seen on the leg. */
  transfer?: EslHeaders;
  eavesdropTarget?: string;
  /** An originate waiting for this leg: resolves the BACKGROUND_JOB body. */
  job?: (body: string) => void;
  /** What happens when the phone answers (manual phones wait for answer()). */
  onAnswer?: () => void;
  timer?: NodeJS.Timeout;
}

/** An att_xfer running on an operator's leg (uuid_broadcast, capture 05b). */
interface AttXfer {
  agent: string;
  customer?: string;
  consult: string;
}

export interface SimCore {
  coreUuid: string;
  nextSeq: () => number;
  /** Emits one event through the simulator (its channel table, then every subscriber). */
  emit: (ev: EslEvent) => void;
}

interface Template {
  capture: string;
  from: number;
  to: number;
  /** role → uuid prefix in the capture. */
  roles: Record<string, string>;
}

/** Capture windows (seconds from the capture's first event), read with fixtures/freeswitch/README.md. */
const T = {
  hold: { capture: '14_hold_unhold', from: 3.55, to: 3.7, roles: { held: 'a5367d93', partner: '31d53e29' } },
  unhold: { capture: '14_hold_unhold', from: 6.55, to: 6.6, roles: { held: 'a5367d93', partner: '31d53e29' } },
  killB: { capture: '14_hold_unhold', from: 8.57, to: 8.62, roles: { killed: '31d53e29', partner: 'a5367d93' } },
  killA: { capture: '12_did_blind_transfer', from: 10.13, to: 10.16, roles: { killed: '990229cc', partner: '0027bcd4' } },
  supervisorGone: { capture: '06_eavesdrop', from: 10.45, to: 10.48, roles: { killed: '79297ca3', target: '19616c02' } },
  transferRelease: { capture: '12_did_blind_transfer', from: 4.57, to: 4.59, roles: { transferred: '990229cc', partner: 'a37c4993' } },
  transferRing: { capture: '12_did_blind_transfer', from: 4.57, to: 4.61, roles: { transferred: '990229cc', fresh: '0027bcd4' } },
  transferAnswer: { capture: '12_did_blind_transfer', from: 6.09, to: 6.13, roles: { transferred: '990229cc', fresh: '0027bcd4' } },
  callerAnswer: { capture: '09_did_inbound_answered', from: 1.53, to: 1.545, roles: { caller: '0d9a032a' } },
  originateRing: { capture: '05_attended_transfer', from: 4.59, to: 4.61, roles: { fresh: 'f647dd6e' } },
  originatePark: { capture: '05_attended_transfer', from: 6.11, to: 6.13, roles: { fresh: 'f647dd6e' } },
  originateEavesdrop: { capture: '06_eavesdrop', from: 4.09, to: 4.11, roles: { fresh: '79297ca3', target: '19616c02' } },
  originateBusy: { capture: '08_errors', from: 0, to: 0.05, roles: { fresh: 'ee9364c9' } },
  clickRing: { capture: '13_click_to_call_to_customer', from: 0, to: 0.01, roles: { fresh: '95d02914' } },
  clickAnswer: { capture: '13_click_to_call_to_customer', from: 1.51, to: 1.53, roles: { fresh: '95d02914' } },
  clickDial: { capture: '13_click_to_call_to_customer', from: 1.53, to: 1.56, roles: { fresh: '95d02914', carrier: '6e508e9d' } },
  clickConnect: { capture: '13_click_to_call_to_customer', from: 3.05, to: 3.09, roles: { fresh: '95d02914', carrier: '6e508e9d' } },
  bridge: { capture: '05_attended_transfer', from: 7.65, to: 7.73, roles: { a: '0e39dc36', b: 'f647dd6e', old: 'a24691c0' } },
  dtmf: { capture: '06_eavesdrop', from: 5.87, to: 5.89, roles: { leg: '79297ca3' } },
  attRing: { capture: '05b_att_xfer_app', from: 3.21, to: 3.25, roles: { agent: 'dad0c7c4', customer: '0b7a9a4b', consult: 'fff87a40' } },
  attAnswer: { capture: '05b_att_xfer_app', from: 4.75, to: 4.79, roles: { agent: 'dad0c7c4', customer: '0b7a9a4b', consult: 'fff87a40' } },
  attDone: { capture: '05b_att_xfer_app', from: 6.75, to: 6.9, roles: { agent: 'dad0c7c4', customer: '0b7a9a4b', consult: 'fff87a40' } },
  attUnbridge: { capture: '05b_att_xfer_app', from: 6.75, to: 6.77, roles: { agent: 'dad0c7c4', consult: 'fff87a40' } },
  attReturn: { capture: '05b_att_xfer_app', from: 6.82, to: 6.83, roles: { agent: 'dad0c7c4', consult: 'fff87a40' } },
} satisfies Record<string, Template>;

/** Events a template never replays: the API / job / heartbeat chatter of the capture session itself. */
const NEVER = new Set(['API', 'BACKGROUND_JOB', 'HEARTBEAT', 'RE_SCHEDULE', 'CUSTOM', 'PRESENCE_IN', 'CODEC', 'CALL_UPDATE']);
/** Identity headers overlaid from the leg table onto every event of that leg. */
const IDENTITY = ['Channel-Name', 'Caller-Channel-Name', 'Call-Direction', 'Caller-Caller-ID-Number', 'Caller-Caller-ID-Name',
  'Channel-Presence-ID', 'variable_dialed_user', 'variable_user_name', 'variable_sip_auth_username'];
const UUID_G = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

interface Loaded {
  events: FixtureEvent[];
  baseUs: number;
  uuids: string[];
}

const cache = new Map<string, Loaded>();
function load(capture: string): Loaded {
  let l = cache.get(capture);
  if (!l) {
    const events = loadFixtureEvents(capture);
    const first = events.find((e) => header(e.event, 'Event-Date-Timestamp'));
    const uuids = [...new Set(events.map((e) => header(e.event, 'Unique-ID')).filter((u): u is string => !!u))];
    l = { events, baseUs: Number(header(first!.event, 'Event-Date-Timestamp')), uuids };
    cache.set(capture, l);
  }
  return l;
}

/** The number a channel stands for: its user part (sofia/internal/1001@…, sofia/external/+7916…@…). */
function numberOfChannel(name: string | undefined): string | undefined {
  const m = /^sofia\/[^/]+\/([^@]+)/.exec(name ?? '');
  return m ? m[1] : undefined;
}

const isExtension = (n: string) => /^[0-9]{2,6}$/.test(n);

export class SimActions {
  readonly legs = new Map<string, SimLeg>();
  readonly phones = new Map<string, PhoneMode>();
  /** Destroyed channels: FreeSWITCH still sends CHANNEL_STATE CS_DESTROY after CHANNEL_DESTROY (no new leg). */
  private gone = new Set<string>();
  /** How long an `auto` phone rings, ms. */
  ringMs = 20;
  private queue: Promise<void> = Promise.resolve();
  /** att_xfer runs by operator leg. */
  private atts = new Map<string, AttXfer>();

  constructor(private readonly core: SimCore) {}

  /** How the phone of an extension (or an outside number) answers. */
  phone(extOrNumber: string, mode: PhoneMode): void {
    this.phones.set(extOrNumber, mode);
  }

  /** A ringing leg's phone picks up (manual phones). */
  answer(uuid: string): void {
    const leg = this.live(uuid);
    if (!leg || leg.answeredUs || !leg.onAnswer) throw new Error(`leg ${uuid} is not ringing here`);
    const f = leg.onAnswer;
    leg.onAnswer = undefined;
    this.later(f);
  }

  /** A phone (or the customer) hangs up: the same events as a BYE, ending its bridged partner too. */
  hangup(uuid: string, cause = 'NORMAL_CLEARING'): Promise<void> {
    return this.later(() => this.end(uuid, cause));
  }

  /** Live legs of an extension or number, oldest first. */
  legsOf(number: string): SimLeg[] {
    return [...this.legs.values()].filter((l) => !l.hungUp && l.number === number);
  }

  /** Resolves when everything queued so far has been emitted. */
  idle(): Promise<void> {
    return this.queue;
  }

  reset(): void {
    for (const l of this.legs.values()) if (l.timer) clearTimeout(l.timer);
    this.legs.clear();
    this.gone.clear();
    this.atts.clear();
  }

  // ---- the simulator's hooks -------------------------------------------------------------------------

  /** Every event the simulator emits passes here first: the leg table follows the events. */
  observe(ev: EslEvent): void {
    const uuid = header(ev, 'Unique-ID');
    if (!uuid) return;
    if (ev.name === 'CHANNEL_DESTROY') {
      const l = this.legs.get(uuid);
      if (l?.timer) clearTimeout(l.timer);
      this.legs.delete(uuid);
      this.gone.add(uuid);
      if (this.gone.size > 10_000) this.gone.delete(this.gone.values().next().value!);
      return;
    }
    if (ev.name === 'CHANNEL_CREATE') this.gone.delete(uuid); // a capture replayed as it is
    if (this.gone.has(uuid)) return;
    let leg = this.legs.get(uuid);
    if (!leg) {
      const name = header(ev, 'Channel-Name');
      if (!name || !ev.name.startsWith('CHANNEL_') || ev.name === 'CHANNEL_HANGUP_COMPLETE') return;
      const identity: EslHeaders = {};
      for (const k of IDENTITY) {
        const v = header(ev, k);
        if (v !== undefined) identity[k] = v;
      }
      const originator = header(ev, 'variable_originating_leg_uuid') ??
        (header(ev, 'Other-Type') === 'originator' ? header(ev, 'Other-Leg-Unique-ID') : undefined);
      leg = {
        uuid, identity, number: numberOfChannel(name), createdUs: header(ev, 'Caller-Channel-Created-Time') ?? String(Date.now() * 1000),
        held: false, vars: {}, hungUp: false, originator,
      };
      const answered = header(ev, 'Caller-Channel-Answered-Time');
      if (answered && answered !== '0') leg.answeredUs = answered;
      this.legs.set(uuid, leg);
    }
    const src = header(ev, 'Caller-Transfer-Source');
    if (src) {
      leg.transfer = { 'Caller-Transfer-Source': src };
      for (const k of ['variable_transfer_history', 'variable_transfer_source']) if (ev.headers[k] !== undefined) leg.transfer[k] = ev.headers[k];
    }
    switch (ev.name) {
      case 'CHANNEL_ANSWER': {
        const at = header(ev, 'Caller-Channel-Answered-Time');
        leg.answeredUs ??= at && at !== '0' ? at : String(Date.now() * 1000);
        break;
      }
      case 'CHANNEL_BRIDGE': {
        const a = this.legs.get(header(ev, 'Bridge-A-Unique-ID') ?? '');
        const b = this.legs.get(header(ev, 'Bridge-B-Unique-ID') ?? '');
        if (a && b) {
          a.partner = b.uuid;
          b.partner = a.uuid;
          a.bridging = true;
          b.bridging = false;
        }
        break;
      }
      case 'CHANNEL_UNBRIDGE': {
        const a = this.legs.get(header(ev, 'Bridge-A-Unique-ID') ?? '');
        const b = this.legs.get(header(ev, 'Bridge-B-Unique-ID') ?? '');
        if (a && a.partner === b?.uuid) a.partner = undefined;
        if (b && b.partner === a?.uuid) b.partner = undefined;
        break;
      }
      case 'CHANNEL_HOLD':
      case 'CHANNEL_UNHOLD':
        leg.held = ev.name === 'CHANNEL_HOLD';
        break;
      case 'RECORD_START':
        leg.recordPath = header(ev, 'Record-File-Path');
        break;
      case 'RECORD_STOP':
        leg.recordPath = undefined;
        break;
      case 'CHANNEL_HANGUP':
        leg.hungUp = true;
        break;
      default:
        break;
    }
  }

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

  // ---- actions --------------------------------------------------------------------------------------

  private transfer(uuid: string, dest: string): void {
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
  private dialFrom(uuid: string, dest: string, shared: Map<string, string>): void {
    const mode = this.modeOf(dest);
    if (mode === 'busy' || mode === 'unregistered' || mode === undefined) {
      this.end(uuid, mode === 'busy' ? 'USER_BUSY' : mode === 'unregistered' ? 'USER_NOT_REGISTERED' : 'SUBSCRIBER_ABSENT');
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

  private bridge(a: string, b: string): void {
    const x = this.live(a);
    const y = this.live(b);
    if (!x || !y) return;
    const old = x.partner && x.partner !== b ? this.live(x.partner) : undefined;
    this.play(T.bridge, { a, b, old: old?.uuid });
    if (old) this.afterGone(old.uuid);
  }

  /** A leg ends (uuid_kill, a phone's BYE): with its bridged partner, its eavesdroppers and the legs it rang. */
  private end(uuid: string, cause: string): void {
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
  private afterGone(uuid: string): void {
    for (const l of [...this.legs.values()]) {
      if (l.hungUp) continue;
      if (l.eavesdropTarget === uuid) this.end(l.uuid, 'NORMAL_CLEARING');
      else if (l.originator === uuid && !l.answeredUs) this.end(l.uuid, 'ORIGINATOR_CANCEL');
    }
  }

  /**
   * `uuid_broadcast <agent> att_xfer::{vars}user/<ext> aleg` (capture 05b): att_xfer starts on the agent's
   * leg, the consult leg rings from it and, answered, bridges to it (the customer waits on its old bridge).
   */
  private attXfer(agentUuid: string, varText: string, ext: string): void {
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
  private attEnd(att: AttXfer, uuid: string, cause: string): boolean {
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
  private attReturn(agent: string, consult: string, disposition: string): void {
    this.play(T.attReturn, { agent, consult }, {
      only: new Set(['CHANNEL_EXECUTE_COMPLETE']),
      patch: (h) => {
        clearCause(h);
        h['variable_originate_disposition'] = disposition;
      },
    });
  }

  private originate(args: string): string | Promise<string> | undefined {
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
  private clickToCallDial(fresh: string, ext: string, number: string): void {
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

  // ---- machinery ------------------------------------------------------------------------------------

  private ring(uuid: string, mode: PhoneMode, answer: () => void): void {
    const leg = this.legs.get(uuid);
    if (!leg) return;
    const go = () => {
      const l = this.live(uuid);
      if (!l || l.answeredUs) return;
      answer();
    };
    if (mode === 'auto') {
      const t = setTimeout(() => void this.later(go), this.ringMs);
      t.unref?.();
    } else {
      leg.onAnswer = go;
    }
  }

  private modeOf(dest: string): PhoneMode | undefined {
    return this.phones.get(dest) ?? (isExtension(dest) ? undefined : 'auto');
  }

  private newLeg(uuid: string, dest: string, opts: { originator?: string; vars?: Record<string, string> }): SimLeg {
    const ext = isExtension(dest);
    const identity: EslHeaders = {
      'Channel-Name': ext ? `sofia/internal/${dest}@127.0.0.1:5090` : `sofia/external/${dest.replace(/^\+/, '')}`,
      'Call-Direction': 'outbound',
    };
    identity['Caller-Channel-Name'] = identity['Channel-Name'];
    if (ext) {
      identity['variable_dialed_user'] = dest;
      identity['Channel-Presence-ID'] = `${dest}@127.0.0.1`;
    }
    const vars = opts.vars ?? {};
    if (vars.origination_caller_id_number) identity['Caller-Caller-ID-Number'] = vars.origination_caller_id_number;
    if (vars.origination_caller_id_name) identity['Caller-Caller-ID-Name'] = vars.origination_caller_id_name;
    const leg: SimLeg = { uuid, identity, number: dest, createdUs: String(Date.now() * 1000), held: false, vars: { ...vars }, hungUp: false, originator: opts.originator };
    this.legs.set(uuid, leg);
    return leg;
  }

  private live(uuid: string | undefined): SimLeg | undefined {
    const l = uuid ? this.legs.get(uuid) : undefined;
    return l && !l.hungUp ? l : undefined;
  }

  /** Runs fn after the api reply went out, in order with everything queued before. */
  private later(fn: () => void): Promise<void> {
    this.queue = this.queue.then(() => new Promise<void>((r) => setImmediate(() => {
      try {
        fn();
      } finally {
        r();
      }
    })));
    return this.queue;
  }

  /**
   * Replays a capture window onto live legs: roles map the capture's channels to ours (a role left
   * undefined drops that channel's events), other channels' events are dropped, numbers are replaced by
   * `tokens` and the roles' own numbers, times are moved to now, and each leg's identity, answer time and
   * variables come from the leg table.
   */
  private play(t: Template, roles: Record<string, string | undefined>, opts: {
    tokens?: Array<[string, string]>;
    causeOf?: Record<string, string>;
    drop?: Set<string>;
    only?: Set<string>;
    set?: EslHeaders;
    /** Capture UUIDs that are no channel (e.g. transfer_history's): one action's segments share their mapping. */
    fresh?: Map<string, string>;
    /** Last touch on each event's headers. */
    patch?: (h: EslHeaders) => void;
  } = {}): void {
    const cap = load(t.capture);
    const uuidMap = new Map<string, string>();
    const tokens = new Map<string, string>();
    for (const [role, prefix] of Object.entries(t.roles)) {
      const from = cap.uuids.find((u) => u.startsWith(prefix));
      const to = roles[role];
      if (!from || !to) continue;
      uuidMap.set(from, to);
      const live = this.legs.get(to);
      const capNumber = numberOfChannel(cap.events.find((e) => header(e.event, 'Unique-ID') === from && header(e.event, 'Channel-Name'))?.event.headers['Channel-Name'] as string | undefined);
      if (capNumber && live?.number && capNumber !== live.number) tokens.set(capNumber, live.number);
    }
    for (const [k, v] of opts.tokens ?? []) if (!tokens.has(k)) tokens.set(k, v);
    const tokenRe = tokens.size
      ? new RegExp(`(?<![0-9A-Za-z+])(${[...tokens.keys()].map((k) => k.replace(/[+.]/g, '\\$&')).join('|')})(?![0-9A-Za-z])`, 'g')
      : null;
    const nowUs = Date.now() * 1000;
    const startUs = cap.baseUs + t.from * 1e6;
    const offsetUs = nowUs - startUs;
    const fresh = opts.fresh ?? new Map<string, string>();
    const mapUuid = (u: string) => uuidMap.get(u) ?? fresh.get(u) ?? (fresh.set(u, randomUUID()), fresh.get(u)!);
    const shift = (s: string) => s.replace(/\b(\d{16}|\d{13}|\d{10})\b/g, (d) => {
      const n = Number(d);
      const base = cap.baseUs;
      if (d.length === 16 && Math.abs(n - base) < 86_400e6) return String(Math.round(n + offsetUs));
      if (d.length === 13 && Math.abs(n - base / 1000) < 86_400e3) return String(Math.round(n + offsetUs / 1000));
      if (d.length === 10 && Math.abs(n - base / 1e6) < 86_400) return String(Math.round(n + offsetUs / 1e6));
      return d;
    });
    const plain = (s: string) => shift((tokenRe ? s.replace(tokenRe, (x) => tokens.get(x) ?? x) : s).replace(UUID_G, mapUuid));
    // A value FreeSWITCH wrote once for the whole action (transfer_history, Caller-Transfer-Source: epoch and
    // a uuid) reads the same in every segment of that action.
    const map = (s: string) => {
      if (!/:(bl_xfer|uuid_br|att_xfer):/.test(s)) return plain(s);
      const k = `text:${s}`;
      let v = fresh.get(k);
      if (v === undefined) fresh.set(k, (v = plain(s)));
      return v;
    };
    for (const fe of cap.events) {
      const ts = Number(header(fe.event, 'Event-Date-Timestamp') ?? 0);
      if (ts < startUs || ts >= cap.baseUs + t.to * 1e6) continue;
      if (NEVER.has(fe.event.name)) continue;
      if (opts.drop?.has(fe.event.name) || (opts.only && !opts.only.has(fe.event.name))) continue;
      const own = header(fe.event, 'Unique-ID');
      if (!own || !uuidMap.has(own)) continue;
      const uuid = uuidMap.get(own)!;
      const headers: EslHeaders = {};
      for (const [k, v] of Object.entries(fe.event.headers)) {
        if (k === 'Core-UUID' || k === 'variable_Core-UUID') headers[k] = this.core.coreUuid;
        else if (k === 'Event-Sequence') headers[k] = String(this.core.nextSeq());
        else headers[k] = Array.isArray(v) ? v.map(map) : map(v);
      }
      // Another channel the capture mentions but we do not map (a partner that is not there): drop the mention.
      for (const k of ['Other-Leg-Unique-ID', 'Bridge-A-Unique-ID', 'Bridge-B-Unique-ID']) {
        const v = headers[k];
        if (typeof v === 'string' && !this.legs.has(v) && ![...uuidMap.values()].includes(v)) {
          if (fe.event.name === 'CHANNEL_BRIDGE' || fe.event.name === 'CHANNEL_UNBRIDGE') continue;
          delete headers[k];
        }
      }
      if ((fe.event.name === 'CHANNEL_BRIDGE' || fe.event.name === 'CHANNEL_UNBRIDGE') &&
        !(this.legs.has(headers['Bridge-A-Unique-ID'] as string) && this.legs.has(headers['Bridge-B-Unique-ID'] as string))) continue;
      const leg = this.legs.get(uuid);
      if (leg) this.overlay(headers, leg, fe.event.name);
      const cause = opts.causeOf?.[uuid];
      if (cause) {
        for (const k of ['Hangup-Cause', 'variable_hangup_cause', 'variable_originate_disposition']) if (k in headers) headers[k] = cause;
      }
      if (fe.event.name === 'RECORD_STOP' || fe.event.name === 'RECORD_START' ||
        (fe.event.name.startsWith('MEDIA_BUG') && header(fe.event, 'Media-Bug-Function') === 'session_record')) {
        // A recording only where one runs on this leg (or the template starts one).
        if (fe.event.name !== 'RECORD_START' && !leg?.recordPath) continue;
        if (fe.event.name !== 'RECORD_START') headers['Record-File-Path'] = leg!.recordPath!;
      }
      Object.assign(headers, opts.set ?? {});
      opts.patch?.(headers);
      const ev: EslEvent = { name: fe.event.name, headers, body: fe.event.body !== undefined ? map(fe.event.body) : undefined };
      this.core.emit(ev);
    }
  }

  private overlay(h: EslHeaders, leg: SimLeg, name: string): void {
    for (const [k, v] of Object.entries(leg.identity)) h[k] = v;
    h['Caller-Channel-Created-Time'] = leg.createdUs;
    const answered = leg.answeredUs ?? (name === 'CHANNEL_ANSWER' ? String(Date.now() * 1000) : '0');
    h['Caller-Channel-Answered-Time'] = answered;
    if ('variable_answer_uepoch' in h || answered !== '0') h['variable_answer_uepoch'] = answered;
    if ('variable_answer_epoch' in h) h['variable_answer_epoch'] = String(Math.floor(Number(answered) / 1e6));
    if (!('variable_uuid' in h)) h['variable_uuid'] = leg.uuid;
    for (const [k, v] of Object.entries(leg.vars)) h[`variable_${k}`] = v;
    if (leg.originator && this.legs.has(leg.originator)) h['variable_originating_leg_uuid'] = leg.originator;
    else delete h['variable_originating_leg_uuid'];
  }
}

/** Headers of an agent that was hanging up in the capture, replayed where it does not. */
function clearCause(h: EslHeaders): void {
  for (const k of ['Hangup-Cause', 'variable_hangup_cause']) delete h[k];
}

/** `a=b,c='d e'` as FreeSWITCH reads `{…}` (quotes kept out). */
function parseVars(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/([A-Za-z0-9_]+)=('([^']*)'|[^,]*)/g)) out[m[1]] = m[3] ?? m[2];
  return out;
}
