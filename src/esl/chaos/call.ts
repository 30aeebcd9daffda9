import { EslEvent, EslHeaders } from '../event';
import { CutKind, GlitchKind } from './cuts';
import { answeredUs, CallTemplate, EPOCH_WINDOW_US, ExpectedStatus, str, VALUE_TOKEN_RE } from './templates';
import { localDate } from './util';

/**
 * One call the chaos switch runs from a template: fresh UUIDs, this switch's Core-UUID, capture times
 * mapped onto its start (compressed by `speed`), its events as FreeSWITCH would write them, and what was
 * handed over or missed (and why), so that its truth can be set against the journal.
 */

/** What the final journal must say about one call, from FreeSWITCH's CDR (times in epoch ms). */
export interface CallTruth {
  id: string;
  template: string;
  /** Every channel UUID and Job-UUID of the call. */
  uuids: string[];
  status: ExpectedStatus;
  startedAt: number;
  answeredAt?: number;
  endedAt: number;
  /** From the answer (answeredAt) to the end of the call, ms (compressed like every time). */
  talkMs: number;
  /** Events the client's subscription wanted, and how many were handed to a connected subscribed client. */
  wanted: number;
  delivered: number;
  allDelivered: boolean;
  /** How many resync snapshots (a `show channels` listing one of its channels, then the `show calls`) reached the client. */
  snapshots: number;
  /** Nothing of it reached the client: no event, and no snapshot listing it (unknowable over ESL). */
  invisible: boolean;
  /** Cuts and glitches that happened while the call was running. */
  cuts: CutKind[];
  glitches: GlitchKind[];
  /** Why events were missed (e.g. `offline after mid-frame`), with counts. */
  missed: Record<string, number>;
  /**
   * What happened, seconds after the call's first event: `+` event handed to the client, `-` event missed
   * (and why), `x` cut, `!` glitch, `=` listed in a resync snapshot that reached the client. Legs are A
   * (the call id), B, C… in creation order; J is the originate job.
   */
  trace: string[];
}

export class CallInstance {
  readonly uuids: string[];
  next = 0;
  nextAt: number;
  done = false;
  started = false;
  wanted = 0;
  delivered = 0;
  pending = 0;
  snapshots = 0;
  readonly cuts = new Set<CutKind>();
  readonly glitches = new Set<GlitchKind>();
  readonly missReasons: Record<string, number> = {};
  readonly trace: string[] = [];

  constructor(
    readonly tpl: CallTemplate,
    readonly seq: number,
    /** Wall-clock ms of the template's first event. */
    readonly startMs: number,
    readonly speed: number,
    coreUuid: string,
    newUuid: () => string,
  ) {
    this.uuids = tpl.uuids.map((_, i) => (tpl.core.has(i) ? coreUuid : newUuid()));
    this.nextAt = startMs;
  }

  get id(): string {
    return this.uuids[this.tpl.idIndex];
  }

  /** Capture time (µs) → this call's wall-clock time (µs). */
  mapUs(us: number): number {
    return this.startMs * 1000 + (us - this.tpl.baseUs) / this.speed;
  }

  atMs(i: number): number {
    return this.mapUs(this.tpl.events[i].tUs) / 1000;
  }

  /** The i-th event's JSON body as this call's FreeSWITCH would write it. */
  jsonBody(i: number, seq: number): string {
    const ev = this.tpl.events[i];
    let out = '';
    for (const p of ev.parts) {
      if (typeof p === 'string') out += p;
      else if (p.k === 'uuid') out += this.uuids[p.i];
      else if (p.k === 'epoch') out += this.epoch(p.us, p.unit);
      else if (p.k === 'seq') out += String(seq);
      else if (p.k === 'local') out += localDate(this.mapUs(ev.tUs) / 1000);
      else if (p.k === 'gmt') out += new Date(this.mapUs(ev.tUs) / 1000).toUTCString();
      else out += String(Math.round(p.v / this.speed));
    }
    return out;
  }

  private epoch(us: number, unit: number): string {
    const m = this.mapUs(us);
    return unit === 1_000_000 ? String(Math.floor(m / unit)) : String(Math.round(m / unit));
  }

  /** One header of the i-th event, mapped (UUIDs, epochs) like the body. */
  value(i: number, key: string): string | undefined {
    const v = str(this.tpl.events[i].headers, key);
    return v === undefined ? undefined : this.mapValue(v);
  }

  mapValue(v: string): string {
    return v.replace(VALUE_TOKEN_RE, (all, u: string | undefined, d: string | undefined) => {
      if (u) {
        const i = this.tpl.uuids.indexOf(u);
        return i >= 0 ? this.uuids[i] : all;
      }
      const unit = d!.length === 16 ? 1 : d!.length === 13 ? 1000 : 1_000_000;
      const us = Number(d) * unit;
      return Math.abs(us - this.tpl.baseUs) < EPOCH_WINDOW_US ? this.epoch(us, unit) : all;
    });
  }

  /** The i-th event as an EslEvent (for plain subscribers and uuid_dump). */
  event(i: number, seq: number): EslEvent {
    const ev = this.tpl.events[i];
    const headers: EslHeaders = {};
    for (const [k, v] of Object.entries(ev.headers)) {
      headers[k] = Array.isArray(v) ? v.map((x) => this.mapValue(x)) : this.mapValue(v);
    }
    headers['Event-Sequence'] = String(seq);
    const ms = this.mapUs(ev.tUs) / 1000;
    headers['Event-Date-Local'] = localDate(ms);
    headers['Event-Date-GMT'] = new Date(ms).toUTCString();
    return { name: ev.name, headers, body: ev.body === undefined ? undefined : this.mapValue(ev.body) };
  }

  miss(reason: string): void {
    this.missReasons[reason] = (this.missReasons[reason] ?? 0) + 1;
  }

  /** Leg letter of a UUID-table index: A is the call id, then B, C… by creation; J a job. */
  letter(i: number): string {
    const k = this.tpl.legs.indexOf(i);
    if (k >= 0) return String.fromCharCode(65 + k);
    return this.tpl.jobs.includes(i) ? 'J' : '?';
  }

  note(mark: string, what: string): void {
    this.trace.push(`${mark}${((Date.now() - this.startMs) / 1000).toFixed(3)} ${what}`);
  }

  truth(): CallTruth {
    const t = this.tpl;
    const ms = (us: number) => this.mapUs(us) / 1000;
    const first = t.cdr.find((c) => c.leg === t.idIndex);
    let startedAt: number;
    let endedAt: number;
    let answeredAt: number | undefined;
    let talkMs = 0;
    if (first) {
      startedAt = ms(first.startUs);
      endedAt = Math.max(...t.cdr.map((c) => ms(c.endUs)));
      const answered = answeredUs(t);
      if (answered > 0) {
        answeredAt = ms(answered);
        talkMs = endedAt - answeredAt;
      }
    } else {
      // An originate that created no channel: the job result is the whole call.
      const job = t.events.find((e) => e.name === 'BACKGROUND_JOB')!;
      startedAt = endedAt = ms(job.tUs);
    }
    return {
      id: this.id,
      template: t.name,
      uuids: [...new Set([...t.legs, ...t.jobs].map((i) => this.uuids[i]))],
      status: t.expected,
      startedAt: Math.round(startedAt),
      answeredAt: answeredAt === undefined ? undefined : Math.round(answeredAt),
      endedAt: Math.round(endedAt),
      talkMs: Math.round(talkMs),
      wanted: this.wanted,
      delivered: this.delivered,
      allDelivered: this.pending === 0 && this.delivered >= this.wanted,
      snapshots: this.snapshots,
      invisible: this.delivered === 0 && this.snapshots === 0,
      cuts: [...this.cuts],
      glitches: [...this.glitches],
      missed: { ...this.missReasons },
      trace: [...this.trace],
    };
  }
}
