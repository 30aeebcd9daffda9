import { randomUUID } from 'node:crypto';
import { EslEvent, EslHeaders, header } from './event';
import { FixtureEvent, loadFixtureEvents } from './fixtures';

/**
 * The shared replay machinery of the simulator's call-control answers (src/esl/sim-actions.ts): the leg
 * table's types, the capture windows each command replays, and `replay`, which plays a window onto live legs.
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
export interface AttXfer {
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

export interface Template {
  capture: string;
  from: number;
  to: number;
  /** role → uuid prefix in the capture. */
  roles: Record<string, string>;
}

/** Capture windows (seconds from the capture's first event), read with fixtures/freeswitch/README.md. */
export const T = {
  hold: { capture: '14_hold_unhold', from: 3.55, to: 3.7, roles: { held: 'a5367d93', partner: '31d53e29' } },
  unhold: { capture: '14_hold_unhold', from: 6.55, to: 6.6, roles: { held: 'a5367d93', partner: '31d53e29' } },
  killB: { capture: '14_hold_unhold', from: 8.57, to: 8.62, roles: { killed: '31d53e29', partner: 'a5367d93' } },
  killA: { capture: '12_did_blind_transfer', from: 10.13, to: 10.16, roles: { killed: '990229cc', partner: '0027bcd4' } },
  supervisorGone: { capture: '06_eavesdrop', from: 10.45, to: 10.48, roles: { killed: '79297ca3', target: '19616c02' } },
  transferRelease: { capture: '12_did_blind_transfer', from: 4.57, to: 4.59, roles: { transferred: '990229cc', partner: 'a37c4993' } },
  transferRing: { capture: '12_did_blind_transfer', from: 4.57, to: 4.61, roles: { transferred: '990229cc', fresh: '0027bcd4' } },
  transferAnswer: { capture: '12_did_blind_transfer', from: 6.09, to: 6.13, roles: { transferred: '990229cc', fresh: '0027bcd4' } },
  /** The dialplan's bridge to a phone that answers 486: the new leg ends USER_BUSY, then the customer (`hangup ${originate_disposition}`). */
  transferBusy: { capture: '11_did_inbound_busy', from: 0.019, to: 0.05, roles: { transferred: '53d978bf', fresh: '9f7e2805' } },
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
export const IDENTITY = ['Channel-Name', 'Caller-Channel-Name', 'Call-Direction', 'Caller-Caller-ID-Number', 'Caller-Caller-ID-Name',
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
export function numberOfChannel(name: string | undefined): string | undefined {
  const m = /^sofia\/[^/]+\/([^@]+)/.exec(name ?? '');
  return m ? m[1] : undefined;
}

export const isExtension = (n: string) => /^[0-9]{2,6}$/.test(n);

/**
 * Replays a capture window onto live legs: roles map the capture's channels to ours (a role left
 * undefined drops that channel's events), other channels' events are dropped, numbers are replaced by
 * `tokens` and the roles' own numbers, times are moved to now, and each leg's identity, answer time and
 * variables come from the leg table.
 */
export function replay(core: SimCore, legs: Map<string, SimLeg>, t: Template, roles: Record<string, string | undefined>, opts: {
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
    const live = legs.get(to);
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
      if (k === 'Core-UUID' || k === 'variable_Core-UUID') headers[k] = core.coreUuid;
      else if (k === 'Event-Sequence') headers[k] = String(core.nextSeq());
      else headers[k] = Array.isArray(v) ? v.map(map) : map(v);
    }
    // Another channel the capture mentions but we do not map (a partner that is not there): drop the mention.
    for (const k of ['Other-Leg-Unique-ID', 'Bridge-A-Unique-ID', 'Bridge-B-Unique-ID']) {
      const v = headers[k];
      if (typeof v === 'string' && !legs.has(v) && ![...uuidMap.values()].includes(v)) {
        if (fe.event.name === 'CHANNEL_BRIDGE' || fe.event.name === 'CHANNEL_UNBRIDGE') continue;
        delete headers[k];
      }
    }
    if ((fe.event.name === 'CHANNEL_BRIDGE' || fe.event.name === 'CHANNEL_UNBRIDGE') &&
      !(legs.has(headers['Bridge-A-Unique-ID'] as string) && legs.has(headers['Bridge-B-Unique-ID'] as string))) continue;
    const leg = legs.get(uuid);
    if (leg) overlay(legs, headers, leg, fe.event.name);
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
    core.emit(ev);
  }
}

function overlay(legs: Map<string, SimLeg>, h: EslHeaders, leg: SimLeg, name: string): void {
  for (const [k, v] of Object.entries(leg.identity)) h[k] = v;
  h['Caller-Channel-Created-Time'] = leg.createdUs;
  const answered = leg.answeredUs ?? (name === 'CHANNEL_ANSWER' ? String(Date.now() * 1000) : '0');
  h['Caller-Channel-Answered-Time'] = answered;
  if ('variable_answer_uepoch' in h || answered !== '0') h['variable_answer_uepoch'] = answered;
  if ('variable_answer_epoch' in h) h['variable_answer_epoch'] = String(Math.floor(Number(answered) / 1e6));
  if (!('variable_uuid' in h)) h['variable_uuid'] = leg.uuid;
  for (const [k, v] of Object.entries(leg.vars)) h[`variable_${k}`] = v;
  if (leg.originator && legs.has(leg.originator)) h['variable_originating_leg_uuid'] = leg.originator;
  else delete h['variable_originating_leg_uuid'];
}

/** Headers of an agent that was hanging up in the capture, replayed where it does not. */
export function clearCause(h: EslHeaders): void {
  for (const k of ['Hangup-Cause', 'variable_hangup_cause']) delete h[k];
}

/** `a=b,c='d e'` as FreeSWITCH reads `{…}` (quotes kept out). */
export function parseVars(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/([A-Za-z0-9_]+)=('([^']*)'|[^,]*)/g)) out[m[1]] = m[3] ?? m[2];
  return out;
}
