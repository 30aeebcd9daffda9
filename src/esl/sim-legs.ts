import { EslEvent, EslHeaders, header } from './event';
import { AttXfer, IDENTITY, isExtension, numberOfChannel, PhoneMode, replay, SimCore, SimLeg, Template } from './sim-replay';

/**
 * The simulator's leg table (src/esl/sim-actions.ts): it follows every event the simulator emits, answers the
 * test's phone controls, and holds the machinery every action family uses (ringing, new legs, the ordered
 * queue after the api reply, replaying a capture window). How a leg ends is the subclass's (`end`).
 */
export abstract class SimLegTable {
  readonly legs = new Map<string, SimLeg>();
  readonly phones = new Map<string, PhoneMode>();
  /** Destroyed channels: FreeSWITCH still sends CHANNEL_STATE CS_DESTROY after CHANNEL_DESTROY (no new leg). */
  private gone = new Set<string>();
  /** How long an `auto` phone rings, ms. */
  ringMs = 20;
  private queue: Promise<void> = Promise.resolve();
  /** att_xfer runs by operator leg. */
  protected atts = new Map<string, AttXfer>();

  constructor(protected readonly core: SimCore) {}

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

  /** A leg ends (uuid_kill, a phone's BYE): with its bridged partner, its eavesdroppers and the legs it rang. */
  protected abstract end(uuid: string, cause: string): void;

  // ---- machinery ------------------------------------------------------------------------------------

  protected ring(uuid: string, mode: PhoneMode, answer: () => void): void {
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

  protected modeOf(dest: string): PhoneMode | undefined {
    return this.phones.get(dest) ?? (isExtension(dest) ? undefined : 'auto');
  }

  protected newLeg(uuid: string, dest: string, opts: { originator?: string; vars?: Record<string, string> }): SimLeg {
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

  protected live(uuid: string | undefined): SimLeg | undefined {
    const l = uuid ? this.legs.get(uuid) : undefined;
    return l && !l.hungUp ? l : undefined;
  }

  /** Runs fn after the api reply went out, in order with everything queued before. */
  protected later(fn: () => void): Promise<void> {
    this.queue = this.queue.then(() => new Promise<void>((r) => setImmediate(() => {
      try {
        fn();
      } finally {
        r();
      }
    })));
    return this.queue;
  }
  /** Replays a capture window onto live legs (see `replay` in src/esl/sim-replay.ts). */
  protected play(t: Template, roles: Record<string, string | undefined>, opts: Parameters<typeof replay>[4] = {}): void {
    replay(this.core, this.legs, t, roles, opts);
  }
}
