import { createServer, Server, Socket } from 'node:net';
import { encodeFrame } from './frame';
import { encodePlainEventBody, EslEvent, EslHeaders } from './event';
import { loadFixtureEvents } from './fixtures';

/**
 * The chaos stand-in for FreeSWITCH (issue 9, `npm run bench -- chaos`). Unlike the replay simulator it is
 * a switch with a life of its own: it runs many concurrent calls built from the real 1.10.12 captures, each
 * with fresh UUIDs, this switch's Core-UUID and one Event-Sequence, timestamps mapped onto now (compressed
 * by `speed`, inter-event timing kept), and it updates its channel table (created, callstate, bridged
 * partner) as the events HAPPEN, whether a client is connected or not. While no client is subscribed the
 * events are simply not delivered, as FreeSWITCH would do. `api show channels as json` / `show calls as
 * json` / `uuid_dump <uuid> json` are answered from that live table in the shapes of the captures.
 *
 * With chaos on it cuts the client's connection at random points (mid-frame, in the middle of a resync
 * reply: show channels, show calls or a uuid_dump; between the show channels and show calls replies;
 * right after auth), answers a `show …` with -ERR now and then, and delays `show channels`
 * replies (snapshot taken at the request) while events keep flowing. It keeps its own truth per call: what
 * FreeSWITCH's CDR says (from the template's CHANNEL_HANGUP_COMPLETE variables, mapped like the events) and
 * whether every event the client subscribed to was handed to a connected client.
 *
 * Protocol details are those of src/esl/simulator.ts (greeting, replies, framing), which this file does
 * not change; for tests and benches only.
 */

const VERSION = 'FreeSWITCH Version 1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit (git a88d069 2024-08-02 21:02:27Z 64bit)';
const UUID_SRC = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** Channel variables that are durations: scaled by the speed factor like the epochs they derive from. */
const DURATION_VARS = [
  'billsec', 'duration', 'progresssec', 'answersec', 'waitsec', 'progress_mediasec', 'flow_billsec',
  'billmsec', 'mduration', 'progressmsec', 'answermsec', 'waitmsec', 'progress_mediamsec', 'flow_billmsec',
  'billusec', 'uduration', 'progressusec', 'answerusec', 'waitusec', 'progress_mediausec', 'flow_billusec',
  'record_seconds', 'record_ms', 'record_samples',
];
const BODY_TOKEN_RE = new RegExp(
  `"(Event-Sequence|Event-Date-Local|Event-Date-GMT)":"([^"]*)"` +
    `|"variable_(?:${DURATION_VARS.join('|')})":"(\\d+)"` +
    `|(${UUID_SRC})` +
    `|\\b(\\d{16}|\\d{13}|\\d{10})\\b`,
  'g',
);
const VALUE_TOKEN_RE = new RegExp(`(${UUID_SRC})|\\b(\\d{16}|\\d{13}|\\d{10})\\b`, 'g');
const EPOCH_WINDOW_US = 86_400e6;

// ---- templates ----------------------------------------------------------------------------------------

export interface TemplateSpec {
  name: string;
  fixture: string;
  /** Only the capture's events in [fromS, toS) seconds after its first event (one call of a multi-call capture). */
  fromS?: number;
  toS?: number;
}

/** One call per template: the calls of the 09–17 captures (17 split into its four click-to-calls) and 02. */
export const CHAOS_TEMPLATES: TemplateSpec[] = [
  { name: '02-internal', fixture: '02_inbound_call_bridge' },
  { name: '09-answered', fixture: '09_did_inbound_answered' },
  { name: '10-abandoned', fixture: '10_did_inbound_caller_hung_up_ringing' },
  { name: '11-busy', fixture: '11_did_inbound_busy' },
  { name: '12-blind-transfer', fixture: '12_did_blind_transfer' },
  { name: '13-click-to-call', fixture: '13_click_to_call_to_customer' },
  { name: '14-hold', fixture: '14_hold_unhold' },
  { name: '15-outbound', fixture: '15_outbound_from_desk_phone' },
  { name: '16-no-answer', fixture: '16_no_answer_timeout' },
  { name: '17a-c2c-busy', fixture: '17_click_to_call_failures', fromS: 0, toS: 2.5 },
  { name: '17b-c2c-not-registered', fixture: '17_click_to_call_failures', fromS: 2.5, toS: 4.5 },
  { name: '17c-c2c-no-such-user', fixture: '17_click_to_call_failures', fromS: 4.5, toS: 6.5 },
  { name: '17d-c2c-internal', fixture: '17_click_to_call_failures', fromS: 6.5 },
];

type Part =
  | string
  | { k: 'uuid'; i: number }
  | { k: 'epoch'; us: number; unit: 1 | 1000 | 1_000_000 }
  | { k: 'seq' }
  | { k: 'local' }
  | { k: 'gmt' }
  | { k: 'dur'; v: number; key: string };

interface TemplateEvent {
  name: string;
  subclass?: string;
  /** Event-Date-Timestamp in the capture, µs. */
  tUs: number;
  /** The capture's headers (values unmapped; mapped on demand for show/uuid_dump rows). */
  headers: EslHeaders;
  body?: string;
  /** The JSON body as FreeSWITCH wrote it, cut at every value this switch rewrites. */
  parts: Part[];
  /** UUID-table index of Unique-ID (-1: none). */
  uid: number;
  callState?: string;
  bridgeA: number;
  bridgeB: number;
}

export interface LegCdr {
  /** UUID-table index of the leg. */
  leg: number;
  direction: string;
  startUs: number;
  answerUs: number;
  endUs: number;
  cause: string;
  disposition: string;
  /** UUID-table index of variable_originating_leg_uuid (-1: none: the leg was not created for another). */
  originator: number;
}

export type ExpectedStatus = 'answered' | 'missed' | 'abandoned' | 'busy' | 'no_answer' | 'failed';

export interface CallTemplate {
  name: string;
  fixture: string;
  events: TemplateEvent[];
  /** Every UUID in the capture, in order of appearance; each call instance gets a fresh one per entry. */
  uuids: string[];
  /** Indices that are FreeSWITCH's Core-UUID (they become this switch's). */
  core: Set<number>;
  baseUs: number;
  durationUs: number;
  /** The call id: the first channel created, or the Job-UUID of an originate that created none. */
  idIndex: number;
  /** Channel legs in creation order, and every BACKGROUND_JOB's Job-UUID. */
  legs: number[];
  jobs: number[];
  cdr: LegCdr[];
  /** The -ERR of the originate job when no channel was created. */
  jobError?: string;
  expected: ExpectedStatus;
}

const templateCache = new Map<string, CallTemplate>();

export function loadTemplates(specs: TemplateSpec[] = CHAOS_TEMPLATES): CallTemplate[] {
  return specs.map((s) => {
    const key = `${s.name}|${s.fixture}|${s.fromS ?? ''}|${s.toS ?? ''}`;
    let t = templateCache.get(key);
    if (!t) {
      t = compileTemplate(s);
      templateCache.set(key, t);
    }
    return t;
  });
}

function str(h: EslHeaders, k: string): string | undefined {
  const v = h[k];
  return v === undefined ? undefined : Array.isArray(v) ? v[0] : v;
}

function compileTemplate(spec: TemplateSpec): CallTemplate {
  const all = loadFixtureEvents(spec.fixture);
  const first = all.find((e) => str(e.event.headers, 'Event-Date-Timestamp'));
  const fixtureStart = first ? Number(str(first.event.headers, 'Event-Date-Timestamp')) : 0;
  const from = fixtureStart + (spec.fromS ?? 0) * 1e6;
  const to = spec.toS === undefined ? Infinity : fixtureStart + spec.toS * 1e6;
  const picked = all.filter((fe) => {
    const h = fe.event.headers;
    const t = Number(str(h, 'Event-Date-Timestamp') ?? 0);
    if (t < from || t >= to) return false;
    if (fe.format !== 'json') return false;
    // Channel events of the call, and the originate result (click-to-call); not the capture's own API/
    // HEARTBEAT/registration events.
    return str(h, 'Unique-ID') !== undefined || (fe.event.name === 'BACKGROUND_JOB' && str(h, 'Job-Command') === 'originate');
  });
  if (picked.length === 0) throw new Error(`template ${spec.name}: no events`);
  const baseUs = Number(str(picked[0].event.headers, 'Event-Date-Timestamp'));
  const uuids: string[] = [];
  const index = new Map<string, number>();
  const idx = (u: string | undefined): number => {
    if (!u) return -1;
    let i = index.get(u);
    if (i === undefined) {
      i = uuids.length;
      uuids.push(u);
      index.set(u, i);
    }
    return i;
  };
  const core = new Set<number>();
  const events: TemplateEvent[] = [];
  for (const fe of picked) {
    const raw = fe.raw.toString('utf8');
    const json = raw.slice(raw.indexOf('\n\n') + 2);
    const parts: Part[] = [];
    let last = 0;
    BODY_TOKEN_RE.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = BODY_TOKEN_RE.exec(json))) {
      let start = m.index;
      let part: Part | undefined;
      if (m[1] !== undefined) {
        // "Key":"value": keep the key, replace the value.
        start = m.index + m[1].length + 4;
        part = m[1] === 'Event-Sequence' ? { k: 'seq' } : m[1] === 'Event-Date-Local' ? { k: 'local' } : { k: 'gmt' };
        parts.push(json.slice(last, start), part);
        last = start + m[2].length;
        continue;
      }
      if (m[3] !== undefined) {
        start = m.index + m[0].length - 1 - m[3].length;
        parts.push(json.slice(last, start), { k: 'dur', v: Number(m[3]), key: m[0] });
        last = start + m[3].length;
        continue;
      }
      if (m[4] !== undefined) {
        part = { k: 'uuid', i: idx(m[4]) };
      } else if (m[5] !== undefined) {
        const d = m[5];
        const unit = d.length === 16 ? 1 : d.length === 13 ? 1000 : 1_000_000;
        const us = Number(d) * unit;
        if (Math.abs(us - baseUs) < EPOCH_WINDOW_US) part = { k: 'epoch', us, unit };
      }
      if (!part) continue;
      parts.push(json.slice(last, start), part);
      last = start + m[0].length;
    }
    parts.push(json.slice(last));
    const h = fe.event.headers;
    const coreUuid = str(h, 'Core-UUID');
    if (coreUuid) core.add(idx(coreUuid));
    events.push({
      name: fe.event.name,
      subclass: str(h, 'Event-Subclass'),
      tUs: Number(str(h, 'Event-Date-Timestamp')),
      headers: h,
      body: fe.event.body,
      parts: mergeLiterals(parts),
      uid: idx(str(h, 'Unique-ID')),
      callState: str(h, 'Channel-Call-State'),
      bridgeA: idx(str(h, 'Bridge-A-Unique-ID')),
      bridgeB: idx(str(h, 'Bridge-B-Unique-ID')),
    });
  }
  const legs: number[] = [];
  const jobs: number[] = [];
  const cdr: LegCdr[] = [];
  let jobError: string | undefined;
  for (const ev of events) {
    if (ev.name === 'CHANNEL_CREATE' && !legs.includes(ev.uid)) legs.push(ev.uid);
    if (ev.name === 'BACKGROUND_JOB') {
      jobs.push(idx(str(ev.headers, 'Job-UUID')));
      if ((ev.body ?? '').startsWith('-ERR')) jobError = /^-ERR\s+(\S+)/.exec(ev.body ?? '')?.[1];
    }
    if (ev.name === 'CHANNEL_HANGUP_COMPLETE') {
      const h = ev.headers;
      cdr.push({
        leg: ev.uid,
        direction: str(h, 'Call-Direction') ?? '',
        startUs: Number(str(h, 'variable_start_uepoch') ?? 0),
        answerUs: Number(str(h, 'variable_answer_uepoch') ?? 0),
        endUs: Number(str(h, 'variable_end_uepoch') ?? 0),
        cause: str(h, 'variable_hangup_cause') ?? str(h, 'Hangup-Cause') ?? '',
        disposition: str(h, 'variable_sip_hangup_disposition') ?? '',
        originator: idx(str(h, 'variable_originating_leg_uuid')),
      });
    }
  }
  const idIndex = legs.length ? legs[0] : jobs[0];
  if (idIndex === undefined) throw new Error(`template ${spec.name}: no channel and no originate job`);
  const t: CallTemplate = {
    name: spec.name,
    fixture: spec.fixture,
    events,
    uuids,
    core,
    baseUs,
    durationUs: events[events.length - 1].tUs - baseUs,
    idIndex,
    legs,
    jobs,
    cdr,
    jobError: legs.length ? undefined : jobError,
    expected: 'failed',
  };
  t.expected = expectedStatus(t);
  return t;
}

function mergeLiterals(parts: Part[]): Part[] {
  const out: Part[] = [];
  for (const p of parts) {
    if (typeof p === 'string' && typeof out[out.length - 1] === 'string') out[out.length - 1] = (out[out.length - 1] as string) + p;
    else if (p !== '') out.push(p);
  }
  return out;
}

const NO_ANSWER_CAUSES = new Set(['NO_ANSWER', 'NO_USER_RESPONSE', 'ALLOTTED_TIMEOUT', 'PROGRESS_TIMEOUT']);
const FAILED_CAUSES = new Set([
  'SUBSCRIBER_ABSENT', 'USER_NOT_REGISTERED', 'UNALLOCATED_NUMBER', 'NO_ROUTE_DESTINATION', 'NORMAL_TEMPORARY_FAILURE',
  'NETWORK_OUT_OF_ORDER', 'DESTINATION_OUT_OF_ORDER', 'INVALID_NUMBER_FORMAT', 'GATEWAY_DOWN', 'SERVICE_UNAVAILABLE',
]);

/**
 * When the call was answered by FreeSWITCH's CDR: two parties talked, i.e. the earliest answer of a leg
 * other than the first (the callee of an inbound or internal call, the customer of a click-to-call, the
 * carrier leg of an outbound call); a call of one leg is answered when that leg is. Capture time, µs; 0: never.
 */
export function answeredUs(t: CallTemplate): number {
  const others = t.cdr.filter((c) => c.leg !== t.idIndex && c.answerUs > 0).map((c) => c.answerUs);
  if (others.length) return Math.min(...others);
  const first = t.cdr.find((c) => c.leg === t.idIndex);
  return first && t.legs.length === 1 && first.answerUs > 0 ? first.answerUs : 0;
}

/**
 * The final status from FreeSWITCH's CDR alone (the call's first leg and the legs created for it), written
 * independently of src/calls/status.ts so that the bench cross-checks it: answered when two parties talked
 * (answeredUs); otherwise busy / failed by any leg's cause (or the originate job's -ERR when no channel came
 * up); no_answer when FreeSWITCH originated the first leg (click-to-call) or it was an outbound call;
 * missed when the callee leg timed out; abandoned when the caller hung up (recv_cancel/recv_bye) first.
 */
export function expectedStatus(t: CallTemplate): ExpectedStatus {
  const first = t.cdr.find((c) => c.leg === t.idIndex);
  if (!first) {
    if (t.jobError === 'USER_BUSY') return 'busy';
    return 'failed';
  }
  if (answeredUs(t) > 0) return 'answered';
  const causes = t.cdr.map((c) => c.cause);
  if (causes.includes('USER_BUSY') || t.jobError === 'USER_BUSY') return 'busy';
  if (causes.some((c) => FAILED_CAUSES.has(c))) return 'failed';
  if (first.direction === 'outbound' && first.originator < 0) return 'no_answer';
  const others = t.cdr.filter((c) => c.leg !== t.idIndex);
  if (others.some((c) => NO_ANSWER_CAUSES.has(c.cause))) return 'missed';
  if (/^recv_(cancel|bye)$/.test(first.disposition)) return 'abandoned';
  return 'missed';
}

// ---- call instances ----------------------------------------------------------------------------------

export type CutKind = 'mid-frame' | 'after-auth' | 'resync-mid-reply' | 'resync-between';
export const CUT_KINDS: CutKind[] = ['mid-frame', 'after-auth', 'resync-mid-reply', 'resync-between'];
/** Chaos that is not a cut. */
export type GlitchKind = 'show-err' | 'show-delayed';

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

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** FreeSWITCH's `Event-Date-Local` / `created`: `YYYY-MM-DD HH:MM:SS` in the switch's local time. */
export function localDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uuidFrom(rand: () => number): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(rand() * 4)]}${hex(3)}-${hex(12)}`;
}

// ---- the switch --------------------------------------------------------------------------------------

interface Subscription {
  format: 'json' | 'plain';
  all: boolean;
  names: Set<string>;
  subclasses: Set<string>;
}

interface Client {
  id: number;
  socket: Socket;
  alive: boolean;
  authed: boolean;
  sub: Subscription | null;
  buf: string;
  queue: Promise<void>;
  /** The cut planned for this connection (chaos on), and for mid-frame the moment from which it fires. */
  plan: CutKind | null;
  cutAt: number;
  /** resync-mid-reply: which api reply of the resync to cut (0 show channels, 1 show calls, 2 the first uuid_dump). */
  cutReply: number;
  /** api replies since the last `show channels` (the resync's). */
  apiReplies: number;
  /** The calls the last `show channels` reply listed, until the `show calls` reply completes the pair. */
  listed: Set<CallInstance> | null;
}

interface LiveChannel {
  inst: CallInstance;
  first: number;
  last: number;
  callstate: string;
  createdUs: number;
}

export interface ChaosOptions {
  /** How many cuts to make at most. */
  cuts: number;
  /** Wall-clock ms by which the cuts should be spread (pacing: connected time is sized to fit them in). */
  untilMs: number;
  /** Relative weights of the cut kinds (default mid-frame 55, after-auth 15, resync-mid-reply 15, resync-between 15). */
  weights?: Partial<Record<CutKind, number>>;
  /** Chance that a `show … as json` is answered -ERR (default 0.05). */
  showErrorRate?: number;
  /** Chance that a `show channels as json` reply is held back while events keep flowing (default 0.2). */
  showDelayRate?: number;
  /** How long it is held back, ms (default 50..1500). */
  showDelayMs?: [number, number];
  /** Mean number of cuts per storm (default 5; 1 = evenly spread cuts). */
  storm?: number;
}

export interface ChaosSwitchOptions {
  password?: string;
  seed?: number;
  /** Call time runs this many times faster than the captures (timestamps are compressed alike). */
  speed?: number;
}

export class ChaosSwitch {
  readonly coreUuid: string;
  readonly speed: number;
  port = 0;
  readonly stats = {
    connections: 0,
    cuts: Object.fromEntries(CUT_KINDS.map((k) => [k, 0])) as Record<CutKind, number>,
    glitches: { 'show-err': 0, 'show-delayed': 0 } as Record<GlitchKind, number>,
    events: 0,
    framesWritten: 0,
    shows: 0,
  };
  readonly commands: string[] = [];
  private readonly rand: () => number;
  private readonly password: string;
  private server: Server | null = null;
  private clients = new Set<Client>();
  private nextClientId = 1;
  private channels = new Map<string, LiveChannel>();
  /** Both ends of each bridge; `a` marks the Bridge-A side (the caller row of `show calls`). */
  private bridges = new Map<string, { partner: string; at: number; a: boolean }>();
  private instances: CallInstance[] = [];
  private heap: CallInstance[] = [];
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private seq = 1_000;
  private standing: Subscription | null = null;
  private chaos: (ChaosOptions & { left: number }) | null = null;
  private lastCut: { kind: CutKind; at: number } | null = null;
  private reconnectMs = 0;
  private stormLeft = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(opts: ChaosSwitchOptions = {}) {
    this.password = opts.password ?? 'ClueCon';
    this.speed = opts.speed ?? 1;
    this.rand = prng(opts.seed ?? 1);
    this.coreUuid = uuidFrom(this.rand);
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    this.server = createServer((s) => this.onConnection(s));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : port;
    return this.port;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    this.heap = [];
    this.dropClients();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Drops every connection at once (no cut accounting). */
  dropClients(): void {
    for (const c of this.clients) {
      c.alive = false;
      c.socket.destroy();
    }
    this.clients.clear();
  }

  get subscribers(): number {
    return [...this.clients].filter((c) => c.alive && c.sub).length;
  }

  async waitForSubscribers(n = 1, timeoutMs = 5000): Promise<void> {
    const t0 = Date.now();
    while (this.subscribers < n) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`no ${n} subscriber(s) within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Live channel UUIDs (what `show channels` would list now). */
  liveChannels(): string[] {
    return [...this.channels.keys()];
  }

  get calls(): readonly CallInstance[] {
    return this.instances;
  }

  /** Schedules one call from a template; its first event happens at `startMs` (wall clock). */
  addCall(tpl: CallTemplate, startMs = Date.now()): CallInstance {
    const inst = new CallInstance(tpl, this.instances.length, startMs, this.speed, this.coreUuid, () => uuidFrom(this.rand));
    this.instances.push(inst);
    this.heapPush(inst);
    this.arm();
    return inst;
  }

  /** Resolves when every scheduled call has played all its events and every write has settled. */
  idle(): Promise<void> {
    if (this.heap.length === 0 && this.instances.every((i) => i.pending === 0)) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  startChaos(opts: ChaosOptions): void {
    this.chaos = { ...opts, left: opts.cuts };
    // A client that is already connected gets its fate now.
    for (const c of this.clients) {
      if (!c.alive || c.plan) continue;
      this.plan(c);
      if (c.sub && c.cutAt < 0) c.cutAt = Date.now() + (-c.cutAt - 1);
    }
  }

  stopChaos(): void {
    this.chaos = null;
    for (const c of this.clients) {
      c.plan = null;
      c.cutAt = 0;
    }
  }

  get cutsMade(): number {
    return Object.values(this.stats.cuts).reduce((a, b) => a + b, 0);
  }

  /** Plans `kind` for the next connection (tests); chaos need not be on. */
  forceNextCut(kind: CutKind, afterMs = 0): void {
    this.forced = { kind, afterMs };
  }
  private forced: { kind: CutKind; afterMs: number } | null = null;

  // ---- scheduling -------------------------------------------------------------------------------------

  private less(a: CallInstance, b: CallInstance): boolean {
    return a.nextAt < b.nextAt || (a.nextAt === b.nextAt && a.seq < b.seq);
  }

  private heapPush(x: CallInstance): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private heapFix(): void {
    const h = this.heap;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l], h[m])) m = l;
      if (r < h.length && this.less(h[r], h[m])) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }

  private heapPop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      this.heapFix();
    }
  }

  private arm(): void {
    if (this.immediate) return; // a pump is already queued; it re-arms
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.heap.length === 0) return;
    const wait = Math.max(0, this.heap[0].nextAt - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, wait);
  }

  private pump(): void {
    let n = 0;
    while (this.heap.length && this.heap[0].nextAt <= Date.now()) {
      const inst = this.heap[0];
      inst.started = true;
      this.emit(inst, inst.next);
      inst.next++;
      if (inst.next >= inst.tpl.events.length) {
        inst.done = true;
        this.heapPop();
      } else {
        inst.nextAt = inst.atMs(inst.next);
        this.heapFix();
      }
      if (++n >= 500) {
        // Let sockets breathe; the clock keeps the schedule.
        this.immediate = setImmediate(() => {
          this.immediate = null;
          this.pump();
        });
        return;
      }
    }
    this.arm();
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.heap.length === 0 && this.instances.every((i) => i.pending === 0)) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  // ---- events: state first, then delivery -------------------------------------------------------------

  private emit(inst: CallInstance, i: number): void {
    const ev = inst.tpl.events[i];
    const seq = ++this.seq;
    this.stats.events++;
    this.track(inst, i);
    const wanted = this.standing ? wants(this.standing, ev.name, ev.subclass) : true;
    if (wanted) inst.wanted++;
    let json: Buffer | undefined;
    let plain: Buffer | undefined;
    let targets = 0;
    let cutHere = false;
    let ok = false;
    for (const c of this.clients) {
      if (!c.alive || !c.sub || !wants(c.sub, ev.name, ev.subclass)) continue;
      let frame: Buffer;
      if (c.sub.format === 'json') {
        json ??= encodeFrame([['Content-Length', ''], ['Content-Type', 'text/event-json']], inst.jsonBody(i, seq));
        frame = json;
      } else {
        plain ??= encodeFrame([['Content-Length', ''], ['Content-Type', 'text/event-plain']], encodePlainEventBody(inst.event(i, seq)));
        frame = plain;
      }
      if (c.plan === 'mid-frame' && c.cutAt > 0 && Date.now() >= c.cutAt && this.mayCut()) {
        // Half a frame, then the connection is gone.
        const k = 1 + Math.floor(this.rand() * (frame.length - 1));
        c.socket.write(frame.subarray(0, k));
        this.cut(c, 'mid-frame');
        if (wanted) inst.miss('cut mid-frame');
        cutHere = true;
        continue;
      }
      targets++;
      inst.pending++;
      this.stats.framesWritten++;
      c.socket.write(frame, (err) => {
        inst.pending--;
        if (!err && !ok) {
          ok = true;
          if (wanted) inst.delivered++;
        } else if (err && wanted) {
          inst.miss('write failed');
          inst.note('-', `${ev.name} (write failed)`);
        }
        if (inst.pending === 0 && inst.done) this.checkIdle();
      });
    }
    const what = `${ev.name} ${ev.uid >= 0 ? inst.letter(ev.uid) : 'J'}`;
    if (wanted && targets === 0 && !cutHere) {
      const why = this.offlineReason();
      inst.miss(why);
      inst.note('-', `${what} (${why})`);
    } else if (wanted && cutHere) {
      inst.note('-', `${what} (cut mid-frame)`);
    } else if (wanted) {
      inst.note('+', what);
    }
  }

  private offlineReason(): string {
    const authed = [...this.clients].some((c) => c.alive && c.authed);
    if (authed) return 'connected, not subscribed yet';
    return this.lastCut ? `offline after ${this.lastCut.kind}` : 'no client';
  }

  /** The channel table as FreeSWITCH's core keeps it: a row from CHANNEL_CREATE to CHANNEL_DESTROY. */
  private track(inst: CallInstance, i: number): void {
    const ev = inst.tpl.events[i];
    if (ev.uid < 0) return;
    const uuid = inst.uuids[ev.uid];
    if (ev.name === 'CHANNEL_CREATE') {
      const created = ev.headers['Caller-Channel-Created-Time'];
      const us = typeof created === 'string' && created !== '0' ? inst.mapUs(Number(created)) : inst.mapUs(ev.tUs);
      this.channels.set(uuid, { inst, first: i, last: i, callstate: ev.callState ?? 'DOWN', createdUs: us });
      return;
    }
    const ch = this.channels.get(uuid);
    if (!ch) return;
    if (ev.name === 'CHANNEL_DESTROY') {
      this.channels.delete(uuid);
      const b = this.bridges.get(uuid);
      this.bridges.delete(uuid);
      if (b && this.bridges.get(b.partner)?.partner === uuid) this.bridges.delete(b.partner);
      return;
    }
    ch.last = i;
    if (ev.callState) ch.callstate = ev.callState;
    if (ev.name === 'CHANNEL_BRIDGE' && ev.bridgeA >= 0 && ev.bridgeB >= 0) {
      const a = inst.uuids[ev.bridgeA];
      const b = inst.uuids[ev.bridgeB];
      const at = inst.mapUs(ev.tUs);
      this.bridges.set(a, { partner: b, at, a: true });
      this.bridges.set(b, { partner: a, at, a: false });
    } else if (ev.name === 'CHANNEL_UNBRIDGE' && ev.bridgeA >= 0 && ev.bridgeB >= 0) {
      const a = inst.uuids[ev.bridgeA];
      const b = inst.uuids[ev.bridgeB];
      if (this.bridges.get(a)?.partner === b) this.bridges.delete(a);
      if (this.bridges.get(b)?.partner === a) this.bridges.delete(b);
    }
  }

  // ---- show channels / calls / uuid_dump, from the live table ---------------------------------------

  private channelRow(uuid: string, ch: LiveChannel): Record<string, string> {
    const { inst, first, last } = ch;
    const v = (k: string) => inst.value(last, k) ?? '';
    const f = (k: string) => inst.value(first, k) ?? '';
    const calleeNum = v('Caller-Callee-ID-Number');
    return {
      uuid,
      direction: v('Call-Direction'),
      created: localDate(ch.createdUs / 1000),
      created_epoch: String(Math.floor(ch.createdUs / 1e6)),
      name: v('Channel-Name'),
      state: v('Channel-State'),
      cid_name: v('Caller-Caller-ID-Name'),
      cid_num: v('Caller-Caller-ID-Number'),
      ip_addr: v('Caller-Network-Addr'),
      dest: v('Caller-Destination-Number'),
      application: v('variable_current_application'),
      application_data: v('variable_current_application_data'),
      dialplan: v('Caller-Dialplan'),
      context: v('Caller-Context'),
      read_codec: v('Channel-Read-Codec-Name'),
      read_rate: v('Channel-Read-Codec-Rate'),
      read_bit_rate: v('Channel-Read-Codec-Bit-Rate'),
      write_codec: v('Channel-Write-Codec-Name'),
      write_rate: v('Channel-Write-Codec-Rate'),
      write_bit_rate: v('Channel-Write-Codec-Bit-Rate'),
      secure: '',
      hostname: v('FreeSWITCH-Hostname'),
      presence_id: v('Channel-Presence-ID'),
      presence_data: v('Channel-Presence-Data'),
      accountcode: v('variable_accountcode'),
      callstate: ch.callstate,
      callee_name: v('Caller-Callee-ID-Name'),
      callee_num: calleeNum,
      callee_direction: calleeNum ? 'SEND' : '',
      call_uuid: v('Channel-Call-UUID'),
      sent_callee_name: v('variable_last_sent_callee_id_name'),
      sent_callee_num: v('variable_last_sent_callee_id_number'),
      initial_cid_name: f('Caller-Caller-ID-Name'),
      initial_cid_num: f('Caller-Caller-ID-Number'),
      initial_ip_addr: f('Caller-Network-Addr'),
      initial_dest: f('Caller-Destination-Number'),
      initial_dialplan: f('Caller-Dialplan'),
      initial_context: f('Caller-Context'),
    };
  }

  /** The calls that have a channel in the table now. */
  private listedCalls(): Set<CallInstance> {
    return new Set([...this.channels.values()].map((ch) => ch.inst));
  }

  /** `api show channels as json`, exactly as 1.10.12 shapes it (02_show_channels_midcall.json). */
  showChannels(): string {
    if (this.channels.size === 0) return '{"row_count": 0}\n';
    const rows = [...this.channels].map(([u, ch]) => this.channelRow(u, ch));
    return JSON.stringify({ row_count: rows.length, rows });
  }

  /** `api show calls as json` (02_show_calls_midcall.json): bridged pairs as one row with b_ columns. */
  showCalls(): string {
    if (this.channels.size === 0) return '{"row_count": 0}\n';
    const CALL_COLS = ['uuid', 'direction', 'created', 'created_epoch', 'name', 'state', 'cid_name', 'cid_num', 'ip_addr', 'dest', 'presence_id',
      'presence_data', 'accountcode', 'callstate', 'callee_name', 'callee_num', 'callee_direction', 'call_uuid', 'hostname', 'sent_callee_name', 'sent_callee_num'];
    const B_COLS = CALL_COLS.filter((c) => c !== 'call_uuid' && c !== 'hostname');
    const rows: Array<Record<string, string>> = [];
    const callees = new Set<string>();
    for (const [a, br] of this.bridges) {
      if (br.a && this.channels.has(a) && this.channels.has(br.partner)) callees.add(br.partner);
    }
    for (const [u, ch] of this.channels) {
      if (callees.has(u)) continue;
      const full = this.channelRow(u, ch);
      const row: Record<string, string> = {};
      for (const c of CALL_COLS) row[c] = full[c];
      const br = this.bridges.get(u);
      const b = br && callees.has(br.partner) ? this.channels.get(br.partner) : undefined;
      const bRow = b ? this.channelRow(br!.partner, b) : undefined;
      for (const c of B_COLS) row[`b_${c}`] = bRow ? bRow[c] : '';
      row.call_created_epoch = b ? String(Math.floor(br!.at / 1e6)) : '';
      rows.push(row);
    }
    return JSON.stringify({ row_count: rows.length, rows });
  }

  /** `api uuid_dump <uuid> json`: the channel's last event headers as a CHANNEL_DATA object (capture 02). */
  uuidDump(uuid: string, json: boolean): string {
    const ch = this.channels.get(uuid);
    if (!ch) return '-ERR No such channel!\n';
    const ev = ch.inst.event(ch.last, ++this.seq);
    const now = Date.now();
    const out: EslHeaders = {
      'Event-Name': 'CHANNEL_DATA',
      'Core-UUID': this.coreUuid,
      'FreeSWITCH-Hostname': (ev.headers['FreeSWITCH-Hostname'] as string) ?? 'vm',
      'FreeSWITCH-Switchname': (ev.headers['FreeSWITCH-Switchname'] as string) ?? 'vm',
      'FreeSWITCH-IPv4': (ev.headers['FreeSWITCH-IPv4'] as string) ?? '',
      'FreeSWITCH-IPv6': (ev.headers['FreeSWITCH-IPv6'] as string) ?? '',
      'Event-Date-Local': localDate(now),
      'Event-Date-GMT': new Date(now).toUTCString(),
      'Event-Date-Timestamp': String(now * 1000),
      'Event-Calling-File': 'mod_commands.c',
      'Event-Calling-Function': 'uuid_dump_function',
      'Event-Calling-Line-Number': '6468',
      'Event-Sequence': String(this.seq),
    };
    const KEEP = /^(Channel-|Unique-ID$|Call-Direction$|Presence-|Answer-State$|Caller-|Other-|variable_)/;
    for (const [k, v] of Object.entries(ev.headers)) if (KEEP.test(k)) out[k] = v;
    out['Channel-Call-State'] = ch.callstate;
    if (json) return JSON.stringify(out);
    return Object.entries(out).map(([k, v]) => `${k}: ${encodeURIComponent(Array.isArray(v) ? `ARRAY::${v.join('|:')}` : v)}`).join('\n') + '\n';
  }

  // ---- protocol ---------------------------------------------------------------------------------------

  private onConnection(socket: Socket): void {
    const now = Date.now();
    this.stats.connections++;
    if (this.lastCut) {
      const sample = now - this.lastCut.at;
      this.reconnectMs = this.reconnectMs ? 0.7 * this.reconnectMs + 0.3 * sample : sample;
    }
    const c: Client = { id: this.nextClientId++, socket, alive: true, authed: false, sub: null, buf: '', queue: Promise.resolve(), plan: null, cutAt: 0,
      cutReply: 0, apiReplies: 0, listed: null };
    this.plan(c);
    this.clients.add(c);
    socket.setNoDelay(true);
    socket.on('close', () => {
      c.alive = false;
      this.clients.delete(c);
    });
    socket.on('error', () => undefined);
    socket.on('data', (d) => {
      if (!c.alive) return;
      c.buf += d.toString('utf8');
      let i: number;
      while ((i = c.buf.indexOf('\n\n')) >= 0) {
        const cmd = c.buf.slice(0, i);
        c.buf = c.buf.slice(i + 2);
        c.queue = c.queue.then(() => this.onCommand(c, cmd)).catch(() => undefined);
      }
    });
    socket.write(encodeFrame([['Content-Type', 'auth/request']]));
  }

  private plan(c: Client): void {
    if (this.forced) {
      c.plan = this.forced.kind;
      c.cutAt = this.forced.kind === 'mid-frame' ? -this.forced.afterMs - 1 : 0; // relative until subscribed
      this.forced = null;
      return;
    }
    const ch = this.chaos;
    if (!ch || ch.left <= 0) return;
    const w = { 'mid-frame': 55, 'after-auth': 15, 'resync-mid-reply': 15, 'resync-between': 15, ...ch.weights };
    const total = CUT_KINDS.reduce((a, k) => a + (w[k] ?? 0), 0);
    let r = this.rand() * total;
    let kind: CutKind = 'mid-frame';
    for (const k of CUT_KINDS) {
      r -= w[k] ?? 0;
      if (r < 0) {
        kind = k;
        break;
      }
    }
    // Cuts come in storms (a few quick cuts: each connection dies within 100 ms of subscribing, or in its
    // handshake or resync) between calm connections that live until the next storm and end mid-frame, so
    // that some calls run entirely while connected and others straddle cuts. The calm spells are sized so
    // that the remaining cuts fit in the remaining time.
    if (this.stormLeft > 0) {
      this.stormLeft--;
      c.plan = kind;
      const r = this.rand();
      c.cutReply = r < 0.5 ? 0 : r < 0.75 ? 1 : 2;
      if (kind === 'mid-frame') c.cutAt = -this.rand() * 100 - 1; // armed when the client subscribes
      return;
    }
    const storm = Math.max(1, ch.storm ?? 5);
    const stormsLeft = Math.max(1, ch.left / storm);
    const calm = Math.max(0, (ch.untilMs - Date.now()) / stormsLeft - storm * (this.reconnectMs + 50));
    c.plan = 'mid-frame';
    c.cutAt = -calm * (0.5 + this.rand()) - 1;
    this.stormLeft = Math.floor(this.rand() * (2 * storm - 1));
  }

  private mayCut(): boolean {
    return !!this.chaos ? this.chaos.left > 0 : true;
  }

  /** Ends the connection the way a cut looks from the client: what was written arrives, then EOF. */
  private cut(c: Client, kind: CutKind): void {
    if (!c.alive) return;
    c.alive = false;
    if (this.chaos) this.chaos.left--;
    this.stats.cuts[kind]++;
    const now = Date.now();
    this.lastCut = { kind, at: now };
    for (const inst of this.heap) {
      if (!inst.started) continue;
      inst.cuts.add(kind);
      inst.note('x', `cut ${kind}`);
    }
    c.socket.end();
    setTimeout(() => c.socket.destroy(), 1000).unref();
  }

  private glitch(kind: GlitchKind): void {
    this.stats.glitches[kind]++;
    for (const inst of this.heap) {
      if (!inst.started) continue;
      inst.glitches.add(kind);
      inst.note('!', kind);
    }
  }

  private write(c: Client, bytes: Buffer): void {
    if (c.alive) c.socket.write(bytes);
  }

  private reply(c: Client, text: string, extra: Array<[string, string]> = []): void {
    this.write(c, encodeFrame([['Content-Type', 'command/reply'], ['Reply-Text', text], ...extra]));
  }

  private disconnectNotice(c: Client): void {
    this.write(c, encodeFrame([['Content-Type', 'text/disconnect-notice'], ['Content-Length', '']], 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n'));
    c.alive = false;
    c.socket.end();
  }

  private async onCommand(c: Client, raw: string): Promise<void> {
    if (!c.alive) return;
    const lines = raw.replace(/\r/g, '').split('\n');
    const line = lines[0].trim();
    const extra: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const k = l.indexOf(': ');
      if (k > 0) extra[l.slice(0, k)] = l.slice(k + 2);
    }
    this.commands.push(line);
    const [verb, ...rest] = line.split(' ');
    const args = rest.join(' ');
    if (!c.authed) {
      if (verb === 'auth' && args === this.password) {
        c.authed = true;
        this.reply(c, '+OK accepted');
        if (c.plan === 'after-auth' && this.mayCut()) this.cut(c, 'after-auth');
      } else if (verb === 'auth') {
        this.reply(c, '-ERR invalid');
        this.disconnectNotice(c);
      } else {
        this.reply(c, '-ERR command not found');
      }
      return;
    }
    switch (verb) {
      case 'event':
        return this.subscribe(c, rest);
      case 'api':
        return this.api(c, args);
      case 'bgapi': {
        const jobUuid = extra['Job-UUID'] ?? uuidFrom(this.rand);
        this.reply(c, `+OK Job-UUID: ${jobUuid}`, [['Job-UUID', jobUuid]]);
        const [command, ...cmdArgs] = args.split(' ');
        const body = this.runApi(args);
        const sub = c.sub;
        if (sub && wants(sub, 'BACKGROUND_JOB')) {
          const now = Date.now();
          const ev: EslEvent = {
            name: 'BACKGROUND_JOB',
            headers: {
              'Event-Name': 'BACKGROUND_JOB', 'Core-UUID': this.coreUuid, 'FreeSWITCH-Hostname': 'vm', 'FreeSWITCH-Switchname': 'vm',
              'Event-Date-Local': localDate(now), 'Event-Date-GMT': new Date(now).toUTCString(), 'Event-Date-Timestamp': String(now * 1000),
              'Event-Calling-File': 'mod_event_socket.c', 'Event-Calling-Function': 'api_exec', 'Event-Calling-Line-Number': '1572',
              'Event-Sequence': String(++this.seq), 'Job-UUID': jobUuid, 'Job-Command': command,
              ...(cmdArgs.length ? { 'Job-Command-Arg': cmdArgs.join(' ') } : {}),
            },
            body,
          };
          const encoded = sub.format === 'json'
            ? encodeFrame([['Content-Length', ''], ['Content-Type', 'text/event-json']], JSON.stringify({ ...ev.headers, 'Content-Length': String(Buffer.byteLength(body)), _body: body }))
            : encodeFrame([['Content-Length', ''], ['Content-Type', 'text/event-plain']], encodePlainEventBody(ev));
          setImmediate(() => this.write(c, encoded));
        }
        return;
      }
      case 'exit':
        this.reply(c, '+OK bye');
        this.disconnectNotice(c);
        return;
      case 'noevents':
        c.sub = null;
        this.reply(c, '+OK no longer listening for events');
        return;
      default:
        this.reply(c, '-ERR command not found');
    }
  }

  private subscribe(c: Client, rest: string[]): void {
    const [format, ...names] = rest;
    if ((format !== 'json' && format !== 'plain') || names.length === 0) {
      this.reply(c, '-ERR no keywords supplied');
      return;
    }
    const sub: Subscription = c.sub && c.sub.format === format ? c.sub : { format, all: false, names: new Set(), subclasses: new Set() };
    let custom = false;
    let any = false;
    for (const n of names) {
      if (n === 'ALL') {
        sub.all = true;
        any = true;
      } else if (n === 'CUSTOM') {
        custom = true;
        any = true;
      } else if (custom && n.includes('::')) {
        sub.subclasses.add(n);
      } else if (KNOWN_EVENTS.has(n)) {
        sub.names.add(n);
        any = true;
      }
    }
    if (!any) {
      this.reply(c, '-ERR no keywords supplied');
      return;
    }
    c.sub = sub;
    this.standing = sub;
    if (c.cutAt < 0) c.cutAt = Date.now() + (-c.cutAt - 1);
    this.reply(c, `+OK event listener enabled ${format}`);
  }

  private async api(c: Client, args: string): Promise<void> {
    const trimmed = args.trim();
    const channels = trimmed === 'show channels as json';
    const show = channels || trimmed === 'show calls as json';
    if (channels) c.apiReplies = 0; // a resync starts
    const n = c.apiReplies++;
    if (c.plan === 'resync-mid-reply' && n === c.cutReply && this.mayCut()) {
      // Half of this resync reply (show channels, show calls or a uuid_dump), then the connection is gone.
      const f = apiFrame(channels ? this.showChannels() : show ? this.showCalls() : this.runApi(args));
      this.write(c, f.subarray(0, 1 + Math.floor(this.rand() * (f.length - 1))));
      this.cut(c, 'resync-mid-reply');
      return;
    }
    if (!show) {
      this.write(c, apiFrame(this.runApi(args)));
      return;
    }
    this.stats.shows++;
    const ch = this.chaos;
    if (ch && this.rand() < (ch.showErrorRate ?? 0.05)) {
      this.glitch('show-err');
      this.write(c, apiFrame('-ERR Unable to query the core database\n'));
      return;
    }
    // The snapshot is taken now; with chaos the reply may go out later, after more events.
    const body = channels ? this.showChannels() : this.showCalls();
    const listed = channels ? this.listedCalls() : null;
    if (channels && ch && this.rand() < (ch.showDelayRate ?? 0.2)) {
      const [lo, hi] = ch.showDelayMs ?? [50, 1500];
      this.glitch('show-delayed');
      await new Promise((r) => setTimeout(r, lo + this.rand() * (hi - lo)));
    }
    if (!c.alive) return;
    // A listing counts as seen once the snapshot pair (show channels + show calls) reached the client.
    if (listed) c.listed = listed;
    const pair = !channels ? c.listed : null;
    if (!channels) c.listed = null;
    c.socket.write(apiFrame(body), (err) => {
      if (err || !pair) return;
      for (const inst of pair) {
        inst.snapshots++;
        inst.note('=', 'listed in a resync snapshot');
      }
    });
    if (channels && c.plan === 'resync-between' && this.mayCut()) this.cut(c, 'resync-between');
  }

  private runApi(args: string): string {
    const [cmd, ...rest] = args.trim().split(/\s+/);
    const a = rest.join(' ');
    switch (cmd) {
      case 'status':
        return `UP 0 years, 0 days, 0 hours, 1 minute, 0 seconds, 0 milliseconds, 0 microseconds\nFreeSWITCH (Version 1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit) is ready\n${this.instances.length} session(s) since startup\n${this.channels.size} session(s) - peak ${this.channels.size}, last 5min ${this.channels.size} \n0 session(s) per Sec out of max 30, peak 2, last 5min 2 \n1000 session(s) max\nmin idle cpu 0.00/99.00\nCurrent Stack Size/Max 240K/8192K\n`;
      case 'version':
        return `${VERSION}\n`;
      case 'show':
        if (a === 'channels as json') return this.showChannels();
        if (a === 'calls as json') return this.showCalls();
        return '-ERR Unsupported by the stand-in\n';
      case 'uuid_dump':
        return this.uuidDump(rest[0] ?? '', rest[1] === 'json');
      case 'uuid_kill':
      case 'uuid_transfer':
      case 'uuid_hold':
      case 'uuid_bridge':
      case 'uuid_record':
      case 'uuid_setvar':
        return this.channels.has(rest[0] ?? '') ? '+OK\n' : '-ERR No such channel!\n';
      case 'originate':
        if (!a) return '-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n';
        return '-ERR SUBSCRIBER_ABSENT\n';
      default:
        return `-ERR ${cmd} Command not found!\n`;
    }
  }
}

function apiFrame(body: string): Buffer {
  return encodeFrame([['Content-Type', 'api/response'], ['Content-Length', '']], body);
}

function wants(s: Subscription, name: string, subclass?: string): boolean {
  if (s.all) return true;
  if (name === 'CUSTOM') return s.subclasses.has(subclass ?? '');
  return s.names.has(name);
}

// Copied from src/esl/simulator.ts (private there): the event names `event json …` accepts.
const KNOWN_EVENTS = new Set([
  'CUSTOM', 'CLONE', 'CHANNEL_CREATE', 'CHANNEL_DESTROY', 'CHANNEL_STATE', 'CHANNEL_CALLSTATE', 'CHANNEL_ANSWER',
  'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE', 'CHANNEL_HOLD',
  'CHANNEL_UNHOLD', 'CHANNEL_BRIDGE', 'CHANNEL_UNBRIDGE', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_OUTGOING', 'CHANNEL_PARK', 'CHANNEL_UNPARK', 'CHANNEL_APPLICATION', 'CHANNEL_ORIGINATE', 'CHANNEL_UUID',
  'API', 'LOG', 'INBOUND_CHAN', 'OUTBOUND_CHAN', 'STARTUP', 'SHUTDOWN', 'PUBLISH', 'UNPUBLISH', 'TALK', 'NOTALK',
  'SESSION_CRASH', 'MODULE_LOAD', 'MODULE_UNLOAD', 'DTMF', 'MESSAGE', 'PRESENCE_IN', 'NOTIFY_IN', 'PRESENCE_OUT',
  'PRESENCE_PROBE', 'MESSAGE_WAITING', 'MESSAGE_QUERY', 'ROSTER', 'CODEC', 'BACKGROUND_JOB', 'DETECTED_SPEECH',
  'DETECTED_TONE', 'PRIVATE_COMMAND', 'HEARTBEAT', 'TRAP', 'ADD_SCHEDULE', 'DEL_SCHEDULE', 'EXE_SCHEDULE',
  'RE_SCHEDULE', 'RELOADXML', 'NOTIFY', 'PHONE_FEATURE', 'PHONE_FEATURE_SUBSCRIBE', 'SEND_MESSAGE', 'RECV_MESSAGE',
  'REQUEST_PARAMS', 'CHANNEL_DATA', 'GENERAL', 'COMMAND', 'SESSION_HEARTBEAT', 'CLIENT_DISCONNECTED',
  'SERVER_DISCONNECTED', 'SEND_INFO', 'RECV_INFO', 'RECV_RTCP_MESSAGE', 'SEND_RTCP_MESSAGE', 'CALL_SECURE', 'NAT',
  'RECORD_START', 'RECORD_STOP', 'PLAYBACK_START', 'PLAYBACK_STOP', 'CALL_UPDATE', 'FAILURE', 'SOCKET_DATA',
  'MEDIA_BUG_START', 'MEDIA_BUG_STOP', 'CONFERENCE_DATA_QUERY', 'CONFERENCE_DATA', 'CALL_SETUP_REQ',
  'CALL_SETUP_RESULT', 'CALL_DETAIL', 'DEVICE_STATE', 'TEXT', 'SHUTDOWN_REQUESTED', 'ALL',
]);
