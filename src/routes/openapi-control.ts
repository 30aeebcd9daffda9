import { HANGUP_CAUSES, ORIGIN_KINDS, SUPERVISION_MODES } from '../calls/commands';
import { TRANSFER_STATES } from '../control/transfers';
import { callIdParam, errorResponses, json, nullable, ref } from './openapi-parts';

/**
 * The call-control part of the OpenAPI document (src/routes/control.ts, src/control/*): transfers, hold /
 * resume / hang-up, supervision, and the click-to-call origin. Values that reach FreeSWITCH are checked
 * against the patterns of src/calls/commands.ts; anything else is a 400 naming the field.
 */

const EXT = '^[0-9]{2,6}$';
const UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const sidParam = { name: 'sid', in: 'path', required: true, description: 'The supervision\'s id (= the supervisor leg\'s UUID).', schema: { type: 'string', pattern: UUID } };
const transferIdParam = { name: 'id', in: 'path', required: true, description: 'The transfer\'s id.', schema: { type: 'string', pattern: UUID } };
const actor = { type: 'object', description: 'Who asked: the API token.', properties: { tokenId: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, employee: { type: 'string' } } };

export const ORIGIN_SCHEMA = {
  type: 'object',
  required: ['kind'],
  additionalProperties: false,
  description: 'Where the click-to-call was started in 1C or the panel; kept on the call (`origin` of the call and of every call event), so 1C opens that card when the call is answered.',
  properties: {
    kind: { type: 'string', enum: ORIGIN_KINDS },
    ref: { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'The card\'s 1C reference (GUID); stored lower-case.' },
    label: { type: 'string', maxLength: 200, description: 'Free text; stripped to letters, digits, space . - (40 characters) before it reaches FreeSWITCH, never refused.' },
  },
};

export const controlSchemas = {
  Transfer: {
    type: 'object',
    required: ['id', 'callId', 'flow', 'initiator', 'target', 'state'],
    properties: {
      id: { type: 'string' },
      callId: { type: 'string' },
      flow: { type: 'string', enum: ['attended', 'blind'] },
      initiator: { type: 'string', description: 'The operator\'s extension.' },
      target: { type: 'string', description: 'As asked: an extension or a number.' },
      dial: { type: 'string', description: 'What the dialplan gets (numbers in TELEFONIST_DIAL_FORMAT).' },
      state: {
        type: 'string', enum: TRANSFER_STATES,
        description: 'starting (att_xfer started on the operator\'s leg, the customer hears hold music) → ringback (the colleague\'s phone rings) → '
          + 'answered (the colleague picked up: operator and colleague talk) → completed (the customer bridged to the colleague; also when the operator '
          + 'hangs up their own phone while talking to the colleague) | cancelled (DELETE, or the colleague hung up after answering: the operator is back '
          + 'with the customer) | abandoned (the customer hung up, or the operator before the colleague answered) | failed (FreeSWITCH refused a step, or the '
          + 'colleague was busy / did not answer / is not registered: `cause`; the operator is back with the customer). Blind (the flow, or completed while the '
          + 'colleague rang): starting → ringback (the dialplan\'s new leg rings: `targetLeg`) → completed when it answers | failed with its cause '
          + '(USER_BUSY, NO_ANSWER, USER_NOT_REGISTERED…; also when nothing is decided within max(timeoutSeconds, 60) + 60 s) | abandoned (the customer hung up first).',
      },
      blind: { type: 'boolean', description: 'Completed blind: the flow, or completed while the colleague still rang.' },
      cause: nullable({ type: 'string', description: 'Why it ended when not completed: FreeSWITCH\'s cause (USER_BUSY, NO_ANSWER, CALL_REJECTED…) or who hung up.' }),
      transferredLeg: { type: 'string', description: 'The customer\'s leg.' },
      initiatorLeg: { type: 'string' },
      targetLeg: nullable({ type: 'string', description: 'The colleague\'s leg: the consult leg (attended), the leg the dialplan rings for the customer (blind).' }),
      timeoutSeconds: { type: 'integer' },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      by: actor,
    },
  },
  Supervision: {
    type: 'object',
    required: ['id', 'callId', 'supervisor', 'employee', 'mode', 'state'],
    properties: {
      id: { type: 'string' },
      callId: { type: 'string' },
      supervisor: { type: 'string' },
      employee: { type: 'string', description: 'The employee listened to.' },
      targetLeg: { type: 'string', description: 'The employee\'s leg (the eavesdrop target).' },
      leg: { type: 'string', description: 'The supervisor\'s leg.' },
      mode: { type: 'string', enum: SUPERVISION_MODES },
      state: { type: 'string', enum: ['ringing', 'active', 'ended', 'failed'] },
      cause: nullable({ type: 'string' }),
      modes: { type: 'array', description: 'Every mode in order, when and who asked.', items: { type: 'object', properties: { mode: { type: 'string', enum: SUPERVISION_MODES }, at: { type: 'string', format: 'date-time' }, by: actor } } },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      by: actor,
    },
  },
  CallAction: {
    type: 'object',
    properties: {
      callId: { type: 'string' }, action: { type: 'string', enum: ['hold', 'resume', 'hangup'] }, leg: { type: 'string' },
      legs: { type: 'array', items: { type: 'string' } }, employee: nullable({ type: 'string' }), cause: { type: 'string' },
    },
  },
};

const body = (schema: unknown, required = true) => ({ required, content: json(schema) });

/** Every refused call action on an existing call is audited (Control.onCall); a 404 or a 400 is not. */
const REFUSALS_AUDITED = ' Refusals on an existing call (403, 409, 502, 503, 504) are audited: `action` on its timeline and a `call.action` event, '
  + 'both with `refused: {status, code}` and `by`; a 404 or a 400 names no call and is not.';

/** The toll-fraud guard's 403s (src/control/outside-policy.ts), for transfers (`target`) and click-to-call (`number`). */
export const outsideForbidden = (field: 'target' | 'number') => ({
  '403': {
    description: field === 'target'
      ? 'The token may not do this: `forbidden` (an operator transfers only as itself); `outside_transfer_forbidden` (field `target`): an outside number '
        + 'while TELEFONIST_TRANSFER_OUTSIDE is `supervisor` and the token is an operator without the supervisor right, or `none` (every role); '
        + '`outside_number_not_allowed` (field `target`): the number\'s E.164 form starts with none of TELEFONIST_OUTSIDE_ALLOW\'s prefixes (every role). '
        + 'Extensions are never refused by this; nothing reaches FreeSWITCH.'
      : 'The token may not do this (an operator dials only from its own extension), or `outside_number_not_allowed` (field `number`): the number\'s E.164 '
        + 'form starts with none of TELEFONIST_OUTSIDE_ALLOW\'s prefixes (every role; extensions are never refused by it). Nothing reaches FreeSWITCH.',
    content: json(ref('Error')),
  },
});
/** FreeSWITCH is connected but silent: the command got no reply within the command timeout (10 s). */
export const TIMEOUT_RESPONSE = {
  '504': {
    description: '`freeswitch_timeout`: FreeSWITCH is connected but did not answer the command within 10 s (the message in Russian, then English); '
      + 'Telefonist drops the link and reconnects. The command may or may not have run: check the call (GET) before retrying.',
    content: json(ref('Error')),
  },
};
const legBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    leg: { type: 'string', pattern: UUID, description: 'A live leg of the call.' },
    employee: { type: 'string', pattern: EXT, description: 'Whose leg (an operator token: always its own).' },
  },
};

export const controlPaths = {
  '/transfers': {
    post: {
      summary: 'Transfer a call. blind: `uuid_transfer <customer leg> <target> XML <context>` (captures 04, 12); works on an answered call, on a call '
        + 'still ringing at the operator (sent on without picking up; the ringing phone is cancelled) and on a second call while the operator stays in the first. '
        + 'attended (FreeSWITCH\'s att_xfer, capture 05b): `uuid_broadcast <operator leg> att_xfer::{origination_uuid=<targetLeg>,origination_caller_id_number=<initiator>,'
        + 'telefonist_transfer=<id>,…}user/<target> aleg`: the customer hears hold music, the operator\'s phone rings the colleague and, once answered, '
        + 'the operator and the colleague talk; then complete or cancel. `recording_follow_transfer` is set on the legs, so the recording follows. One transfer per call at a time (409 `transfer_in_progress`). '
        + 'Transfers live in memory: a restart forgets unfinished ones.' + REFUSALS_AUDITED,
      security: [{ bearer: [] }],
      requestBody: body({
        type: 'object',
        required: ['callId', 'initiator', 'target'],
        additionalProperties: false,
        properties: {
          callId: { type: 'string', pattern: UUID },
          initiator: { type: 'string', pattern: EXT, description: 'The operator on the call (an operator token: its own extension).' },
          target: { type: 'string', description: 'An extension, or (blind only) a phone number in any notation.' },
          flow: { type: 'string', enum: ['attended', 'blind'], default: 'attended' },
          timeoutSeconds: { type: 'integer', minimum: 5, maximum: 120, default: 30, description: 'How long the colleague\'s phone rings (attended), seconds.' },
        },
      }),
      responses: {
        '201': { description: 'Accepted by FreeSWITCH: starting (or ringback, once the target\'s phone rings); the outcome follows as `transfer.updated` (or GET): '
          + 'blind → completed when the target answers, failed with the cause when busy / not answering.', content: json(ref('Transfer')) },
        ...errorResponses(400, 401, 403, 404, 409, 415, 502, 503), ...outsideForbidden('target'), ...TIMEOUT_RESPONSE,
      },
    },
  },
  '/transfers/{id}': {
    get: {
      summary: 'A transfer (live, or one of the last 1,000 ended).',
      security: [{ bearer: [] }],
      parameters: [transferIdParam],
      responses: { '200': { description: 'The transfer.', content: json(ref('Transfer')) }, ...errorResponses(400, 401, 403, 404) },
    },
    delete: {
      summary: 'Cancel: the colleague\'s leg is hung up (`uuid_kill <targetLeg>`; ORIGINATOR_CANCEL while it rings); att_xfer returns and the operator is back with the customer. '
        + '409 once ended, while being completed, or once handed over blind (`transfer_handed_over`: the customer is no longer with the operator).' + REFUSALS_AUDITED,
      security: [{ bearer: [] }],
      parameters: [transferIdParam],
      responses: { '200': { description: 'cancelled.', content: json(ref('Transfer')) }, ...errorResponses(400, 401, 403, 404, 409, 502, 503), ...TIMEOUT_RESPONSE },
    },
  },
  '/transfers/{id}/complete': {
    put: {
      summary: 'Complete: answered → `uuid_kill <operator leg>`: att_xfer bridges the customer to the colleague (capture 05b); the answer comes once '
        + 'FreeSWITCH reports that bridge (409 `transfer_ended` if a party hung up instead). ringback → blind (the ringing leg is cancelled, the customer '
        + '`uuid_transfer`red to the colleague): answers `ringback` with `blind: true`; completed when the colleague answers, failed with the cause if not. '
        + '409 while starting, once ended, or once handed over blind (`transfer_handed_over`).' + REFUSALS_AUDITED,
      security: [{ bearer: [] }],
      parameters: [transferIdParam],
      responses: { '200': { description: 'completed (attended), or ringback handed over blind.', content: json(ref('Transfer')) }, ...errorResponses(400, 401, 403, 404, 409, 502, 503), ...TIMEOUT_RESPONSE },
    },
  },
  '/calls/{id}/hold': {
    post: {
      summary: 'Put the customer on hold: `uuid_hold <leg>` of the operator\'s leg (FreeSWITCH plays hold music to its partner; captures 05, 14). '
        + 'No body: the employee talking to the customer. The timeline shows `held`; audited as `action` / `call.action`.' + REFUSALS_AUDITED,
      security: [{ bearer: [] }],
      parameters: [callIdParam],
      requestBody: body(legBody, false),
      responses: { '200': { description: 'Held.', content: json(ref('CallAction')) }, ...errorResponses(400, 401, 403, 404, 409, 415, 502, 503), ...TIMEOUT_RESPONSE },
    },
  },
  '/calls/{id}/resume': {
    post: {
      summary: 'Take the leg off hold: `uuid_hold off <leg>` (capture 14). Same leg choice as hold; 409 `not_held`.' + REFUSALS_AUDITED,
      security: [{ bearer: [] }],
      parameters: [callIdParam],
      requestBody: body(legBody, false),
      responses: { '200': { description: 'Resumed.', content: json(ref('CallAction')) }, ...errorResponses(400, 401, 403, 404, 409, 415, 502, 503), ...TIMEOUT_RESPONSE },
    },
  },
  '/calls/{id}/hangup': {
    post: {
      summary: 'Hang up one leg or the whole call: `uuid_kill <uuid> [cause]` per live leg (captures 03, 14). A leg that left meanwhile is skipped.' + REFUSALS_AUDITED,
      security: [{ bearer: [] }],
      parameters: [callIdParam],
      requestBody: body({
        type: 'object',
        additionalProperties: false,
        properties: { leg: { type: 'string', pattern: UUID }, cause: { type: 'string', enum: HANGUP_CAUSES, default: 'NORMAL_CLEARING' } },
      }, false),
      responses: { '200': { description: 'FreeSWITCH accepted the kills.', content: json(ref('CallAction')) }, ...errorResponses(400, 401, 403, 404, 409, 415, 502, 503), ...TIMEOUT_RESPONSE },
    },
  },
  '/calls/{id}/supervision': {
    post: {
      summary: 'Listen, whisper (only the employee hears the supervisor) or barge: rings the supervisor\'s phone and joins when they answer '
        + '(`bgapi originate {…eavesdrop_whisper_aleg/bleg…}user/<supervisor> &eavesdrop(<employee leg>)`, capture 06). Only extensions with '
        + 'the supervisor right (403 `not_a_supervisor`); an extension that is neither an employee nor registered is a 422 `unknown_employee`. Audited on the call\'s timeline (`supervision`) and as `supervision.updated`.' + REFUSALS_AUDITED,
      security: [{ bearer: [] }],
      parameters: [callIdParam],
      requestBody: body({
        type: 'object',
        required: ['supervisor', 'mode'],
        additionalProperties: false,
        properties: {
          supervisor: { type: 'string', pattern: EXT },
          mode: { type: 'string', enum: SUPERVISION_MODES },
          employee: { type: 'string', pattern: EXT, description: 'Whom to supervise (default: the employee talking on the call).' },
        },
      }),
      responses: { '201': { description: 'The supervisor\'s phone rings.', content: json(ref('Supervision')) }, ...errorResponses(400, 401, 403, 404, 409, 415, 422, 502, 503), ...TIMEOUT_RESPONSE },
    },
  },
  '/calls/{id}/supervision/{sid}': {
    get: {
      summary: 'One supervision with its modes.',
      security: [{ bearer: [] }],
      parameters: [callIdParam, sidParam],
      responses: { '200': { description: 'The supervision.', content: json(ref('Supervision')) }, ...errorResponses(400, 401, 403, 404) },
    },
    put: {
      summary: 'Switch the mode live, without reconnecting: `uuid_recv_dtmf <supervisor leg> <key>` (0 listen, 2 whisper, 3 barge), read by the '
        + 'eavesdrop as the phone\'s own mode key (capture 06). 409 until the supervisor answered.' + REFUSALS_AUDITED,
      security: [{ bearer: [] }],
      parameters: [callIdParam, sidParam],
      requestBody: body({ type: 'object', required: ['mode'], additionalProperties: false, properties: { mode: { type: 'string', enum: SUPERVISION_MODES } } }),
      responses: { '200': { description: 'The mode now.', content: json(ref('Supervision')) }, ...errorResponses(400, 401, 403, 404, 409, 415, 502, 503), ...TIMEOUT_RESPONSE },
    },
    delete: {
      summary: 'The supervisor leaves: `uuid_kill <supervisor leg>`.' + REFUSALS_AUDITED,
      security: [{ bearer: [] }],
      parameters: [callIdParam, sidParam],
      responses: { '200': { description: 'ended.', content: json(ref('Supervision')) }, ...errorResponses(400, 401, 403, 404, 409, 502, 503), ...TIMEOUT_RESPONSE },
    },
  },
};
