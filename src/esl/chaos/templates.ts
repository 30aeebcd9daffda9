import { EslHeaders } from '../event';
import { loadFixtureEvents } from '../fixtures';

/**
 * The chaos switch's call templates: one call each, compiled from the real 1.10.12 captures into events
 * whose JSON bodies are cut at every value a call instance rewrites (UUIDs, epochs, Event-Sequence, dates,
 * durations), and what FreeSWITCH's CDR says of the call (legs, causes, the expected final status).
 */

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
export const VALUE_TOKEN_RE = new RegExp(`(${UUID_SRC})|\\b(\\d{16}|\\d{13}|\\d{10})\\b`, 'g');
export const EPOCH_WINDOW_US = 86_400e6;

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

export type Part =
  | string
  | { k: 'uuid'; i: number }
  | { k: 'epoch'; us: number; unit: 1 | 1000 | 1_000_000 }
  | { k: 'seq' }
  | { k: 'local' }
  | { k: 'gmt' }
  | { k: 'dur'; v: number; key: string };

export interface TemplateEvent {
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

/** A header of a capture event as one string (the first of an array). */
export function str(h: EslHeaders, k: string): string | undefined {
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
