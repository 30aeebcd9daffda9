import { ValidationError } from '../validation';

/**
 * The one place ESL command text is made. Every action (click-to-call, transfers, hold, hang-up,
 * supervision) builds its FreeSWITCH command here, from parts that each passed a strict pattern; nothing
 * else from a request reaches the socket. `assertSafeCommand` in src/esl/connection.ts is the last line.
 *
 * What is dangerous in FreeSWITCH command text (../shared/notes/call-control.md, mod_commands.c and
 * switch_ivr_originate.c): a newline or CR (a new ESL command, `api`/`bgapi` smuggled after it), a space
 * (a new argument), `,` `|` `:_:` (more legs: parallel, sequential, enterprise), `{}` `[]` `<>` (channel
 * variables), `'` `"` `\` (quoting inside brackets), `^^` (a new delimiter), `${` `$${` (expansion), `&`
 * (an application), `;` (uuid_setvar_multi's separator). None of the patterns below admits any of them.
 */

/** A FreeSWITCH channel UUID as FreeSWITCH writes it (lower-case hex). */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A 1C reference (GUID), either case. */
export const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Internal extensions: 2 to 6 digits. */
export const EXTENSION_RE = /^[0-9]{2,6}$/;
/** What the dialplan gets as a number: digits with an optional leading + (E.164 or national digits). */
export const DIAL_RE = /^\+?[0-9]{2,20}$/;
/** A dialplan context name. */
export const CONTEXT_RE = /^[A-Za-z0-9_.-]{1,64}$/;
/** Shown names (caller id name, origin label) after safeName(): letters, digits, space . - only. */
const SAFE_NAME_RE = /^[\p{L}\p{N} .-]{1,40}$/u;

/** Hang-up causes a request may name (uuid_kill <uuid> [cause]); FreeSWITCH's Q.850 names. */
export const HANGUP_CAUSES = ['NORMAL_CLEARING', 'CALL_REJECTED', 'USER_BUSY', 'NO_ANSWER', 'ORIGINATOR_CANCEL'] as const;
export type HangupCause = (typeof HANGUP_CAUSES)[number];

/** Where a click-to-call was started in 1C or the panel. */
export const ORIGIN_KINDS = ['partner', 'contact', 'order', 'lenta', 'panel'] as const;
export type OriginKind = (typeof ORIGIN_KINDS)[number];

/**
 * Eavesdrop modes and how FreeSWITCH is told (mod_dptools eavesdrop_function, switch_ivr_async.c). The
 * supervisor eavesdrops on the *employee's* leg (the target), so "whisper" (only the employee hears the
 * supervisor) is key 2 / ED_MUX_WRITE, set at start by `eavesdrop_whisper_bleg=true`; "barge" is key 3, both
 * variables. The variable names mislead: `_aleg` muxes into the read stream = the target's *partner* hears
 * (signalwire/freeswitch issue 2460).
 */
export const SUPERVISION_MODES = ['listen', 'whisper', 'barge'] as const;
export type SupervisionMode = (typeof SUPERVISION_MODES)[number];
export const EAVESDROP_KEY: Record<SupervisionMode, string> = { listen: '0', whisper: '2', barge: '3' };
const EAVESDROP_START_VARS: Record<SupervisionMode, { aleg: 'true' | 'false'; bleg: 'true' | 'false' }> = {
  listen: { aleg: 'false', bleg: 'false' },
  whisper: { aleg: 'false', bleg: 'true' },
  barge: { aleg: 'true', bleg: 'true' },
};

/** Channel variables we ever set, each with the pattern its value must match. */
const VARIABLES: Record<string, RegExp> = {
  origination_uuid: UUID_RE,
  origination_caller_id_number: DIAL_RE,
  origination_caller_id_name: SAFE_NAME_RE,
  effective_caller_id_number: DIAL_RE,
  telefonist_caller_id: DIAL_RE,
  telefonist_click_to_call: /^true$/,
  telefonist_dial: DIAL_RE,
  telefonist_origin_kind: new RegExp(`^(${ORIGIN_KINDS.join('|')})$`),
  telefonist_origin_ref: GUID_RE,
  telefonist_origin_label: SAFE_NAME_RE,
  telefonist_transfer: UUID_RE,
  /** The operator's leg a consult leg belongs to (the tracker puts the colleague on the operator's call). */
  telefonist_consult_of: UUID_RE,
  telefonist_supervision: UUID_RE,
  recording_follow_transfer: /^true$/,
  recording_follow_attxfer: /^true$/,
  eavesdrop_enable_dtmf: /^(true|false)$/,
  eavesdrop_whisper_aleg: /^(true|false)$/,
  eavesdrop_whisper_bleg: /^(true|false)$/,
  originate_timeout: /^[0-9]{1,3}$/,
};
/** Values that may contain a space are quoted inside `{}` (FreeSWITCH's `'` quoting; none contains `'`). */
const QUOTED = new Set(['origination_caller_id_name', 'telefonist_origin_label']);

export type Vars = Array<[string, string]>;

function check(field: string, value: unknown, re: RegExp, what: string): string {
  if (typeof value !== 'string' || !re.test(value)) throw new ValidationError(field, `${field} must be ${what}`, 'invalid_parameter');
  return value;
}

export const valid = {
  uuid: (field: string, v: unknown) => check(field, v, UUID_RE, 'a FreeSWITCH channel UUID (lower-case hex 8-4-4-4-12)'),
  extension: (field: string, v: unknown) => check(field, v, EXTENSION_RE, 'an extension: 2 to 6 digits'),
  dial: (field: string, v: unknown) => check(field, v, DIAL_RE, 'a number of 2 to 20 digits with an optional leading +'),
  guid: (field: string, v: unknown) => check(field, v, GUID_RE, 'a 1C reference (GUID 8-4-4-4-12)'),
  context: (field: string, v: unknown) => check(field, v, CONTEXT_RE, 'a dialplan context name'),
};

/** Letters (any script), digits, space and . - only; at most 40 characters (what a free-text label becomes). */
export function safeName(name: string, fallback = 'Telefonist'): string {
  return name.replace(/[^\p{L}\p{N} .-]/gu, ' ').replace(/\s+/g, ' ').trim().slice(0, 40).trim() || fallback;
}

/** `{a=b,c='d e'}`: only known variables, each value checked against its own pattern. */
export function channelVars(vars: Vars): string {
  const parts = vars.map(([name, value]) => {
    const re = VARIABLES[name];
    if (!re) throw new ValidationError(name, `channel variable ${name} is not one Telefonist sets`, 'invalid_parameter');
    check(name, value, re, 'a safe value');
    return QUOTED.has(name) ? `${name}='${value}'` : `${name}=${value}`;
  });
  return `{${parts.join(',')}}`;
}

/** What the originated leg does once answered. */
export type OriginateThen =
  | { app: 'park' }
  | { app: 'eavesdrop'; target: string }
  | { dial: string; context: string };

/**
 * `originate {vars}user/<ext> <then>` (mod_commands originate_function; captures 03, 05, 06, 13, 17). Sent as
 * `bgapi` with our Job-UUID: the result (+OK <uuid> on answer, -ERR <cause>) comes as BACKGROUND_JOB.
 */
export function originate(vars: Vars, extension: string, then: OriginateThen): string {
  valid.extension('extension', extension);
  let tail: string;
  if ('app' in then) {
    tail = then.app === 'park' ? '&park()' : `&eavesdrop(${valid.uuid('target', then.target)})`;
  } else {
    tail = `${valid.dial('number', then.dial)} XML ${valid.context('context', then.context)}`;
  }
  return `originate ${channelVars(vars)}user/${extension} ${tail}`;
}

/** Variables that start an eavesdrop in a mode (see EAVESDROP_KEY). */
export function eavesdropVars(mode: SupervisionMode): Vars {
  const v = EAVESDROP_START_VARS[mode];
  return [['eavesdrop_enable_dtmf', 'true'], ['eavesdrop_whisper_aleg', v.aleg], ['eavesdrop_whisper_bleg', v.bleg]];
}

/** `uuid_transfer <uuid> <dest> XML <context>`: blind transfer (captures 04, 12; answers `+OK`). */
export function uuidTransfer(uuid: string, dest: string, context: string): string {
  return `uuid_transfer ${valid.uuid('uuid', uuid)} ${valid.dial('target', dest)} XML ${valid.context('context', context)}`;
}

/**
 * `uuid_broadcast <operator leg> att_xfer::{vars}user/<ext> aleg` (capture 05b; `+OK Message sent`): the
 * att_xfer application (mod_dptools) runs on the operator's leg: the customer waits on soft hold, the
 * colleague's phone rings from the operator's leg and, once answered, the operator talks to the colleague.
 * The operator's leg hanging up (`uuid_kill`) makes att_xfer bridge the customer to the colleague; the
 * colleague's leg hanging up returns the operator to the customer. uuid_broadcast splits its arguments on
 * spaces, so the variables are ones whose values never hold a space (no quoted caller id name).
 */
export function uuidBroadcastAttXfer(uuid: string, vars: Vars, extension: string): string {
  valid.extension('extension', extension);
  for (const [name] of vars) {
    if (QUOTED.has(name)) throw new ValidationError(name, `channel variable ${name} cannot be set here`, 'invalid_parameter');
  }
  return `uuid_broadcast ${valid.uuid('uuid', uuid)} att_xfer::${channelVars(vars)}user/${extension} aleg`;
}

/** `uuid_hold <uuid>` / `uuid_hold off <uuid>` (captures 05, 14; `+OK Success`). The partner hears hold music. */
export function uuidHold(uuid: string, off = false): string {
  return off ? `uuid_hold off ${valid.uuid('uuid', uuid)}` : `uuid_hold ${valid.uuid('uuid', uuid)}`;
}

/** `uuid_bridge <a> <b>` (capture 05; `+OK <b>`): FreeSWITCH unholds and hangs up a's old partner itself. */
export function uuidBridge(a: string, b: string): string {
  return `uuid_bridge ${valid.uuid('uuid', a)} ${valid.uuid('uuid', b)}`;
}

/** `uuid_kill <uuid> [cause]` (captures 03, 14; `+OK`, `-ERR No such channel!`). */
export function uuidKill(uuid: string, cause?: HangupCause): string {
  if (cause !== undefined && !(HANGUP_CAUSES as readonly string[]).includes(cause)) throw new ValidationError('cause', 'unknown hang-up cause', 'invalid_parameter');
  return cause ? `uuid_kill ${valid.uuid('uuid', uuid)} ${cause}` : `uuid_kill ${valid.uuid('uuid', uuid)}`;
}

/** `uuid_setvar_multi <uuid> a=b;c=d` (mod_commands; `+OK`). Values are checked like originate's. */
export function uuidSetvarMulti(uuid: string, vars: Vars): string {
  const parts = vars.map(([name, value]) => {
    const re = VARIABLES[name];
    if (!re || QUOTED.has(name)) throw new ValidationError(name, `channel variable ${name} cannot be set here`, 'invalid_parameter');
    return `${name}=${check(name, value, re, 'a safe value')}`;
  });
  return `uuid_setvar_multi ${valid.uuid('uuid', uuid)} ${parts.join(';')}`;
}

/**
 * `uuid_recv_dtmf <uuid> <digits>`: DTMF as if the supervisor's phone had sent it. The eavesdrop loop reads
 * it as a mode key (switch_ivr_async.c; `eavesdrop_enable_dtmf=true` is set on the leg when it is
 * originated), and FreeSWITCH fires the DTMF event on that leg as for the phone's own keys (capture 06).
 */
export function uuidRecvDtmf(uuid: string, digits: string): string {
  return `uuid_recv_dtmf ${valid.uuid('uuid', uuid)} ${check('digits', digits, /^[0-9*#]{1,4}$/, 'DTMF digits')}`;
}
