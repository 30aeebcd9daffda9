import { ALL_DIRECTIONS, ALL_STATUSES } from '../calls/types';
import { ROLES } from '../auth/tokens';
import { CALL_LIST_PARAMS } from './calls-query';
import { directoryPaths, directorySchemas } from './openapi-directory';
import { employeePaths, employeeSchemas } from './openapi-employees';
import { sessionPaths, sessionSchemas } from './openapi-session';
import { controlPaths, controlSchemas, ORIGIN_SCHEMA, outsideForbidden, TIMEOUT_RESPONSE } from './openapi-control';
import { chatPaths, chatSchemas } from './openapi-chats';
import { invoicePaths, invoiceSchemas } from './openapi-invoices';
import { whatsappPaths, whatsappSchemas } from './openapi-whatsapp';
import { telegramAccountPaths, telegramAccountSchemas } from './openapi-telegram-accounts';
import { recordingPaths } from './openapi-recordings';
import { callIdParam, errorResponses, nullable, queryParams, ref } from './openapi-parts';

const CallSummary = {
  type: 'object',
  required: ['id', 'direction', 'status', 'startedAt', 'employees', 'hasRecording'],
  properties: {
    id: { type: 'string', description: 'Call id: the UUID of the call\'s first FreeSWITCH channel.' },
    direction: { type: 'string', enum: ALL_DIRECTIONS },
    status: { type: 'string', enum: ALL_STATUSES, description: 'ringing and active are live; the rest are final.' },
    startedAt: { type: 'string', format: 'date-time' },
    answeredAt: nullable({ type: 'string', format: 'date-time' }),
    endedAt: nullable({ type: 'string', format: 'date-time' }),
    ringSeconds: nullable({ type: 'number' }),
    talkSeconds: nullable({ type: 'number' }),
    durationSeconds: nullable({ type: 'number' }),
    externalNumber: nullable({ type: 'string', description: 'The outside party\'s number (customer); null for internal calls.' }),
    callerNumber: nullable({ type: 'string' }),
    callerName: nullable({ type: 'string' }),
    destinationNumber: nullable({ type: 'string' }),
    hangupCause: nullable({ type: 'string', description: 'FreeSWITCH hangup cause, e.g. NORMAL_CLEARING, USER_BUSY.' }),
    employees: { type: 'array', items: { type: 'string' }, description: 'Extensions that took part.' },
    hasRecording: { type: 'boolean' },
    uncertain: {
      type: 'boolean',
      description: 'Part of the call happened while Telefonist was not connected to FreeSWITCH (a reconnect, a restart): its times and status come from FreeSWITCH\'s snapshot; a call that ended meanwhile ends at the last moment it was known alive.',
    },
    customerId: nullable({ type: 'string' }),
    identification: nullable({ type: 'string', enum: ['customer', 'contact', 'unknown'], description: 'Who the external number belongs to; null for internal calls.' }),
    customer: nullable({ type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } }),
    contact: nullable({ type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } }),
  },
};

export function openApiDocument(version: string) {
  return {
    openapi: '3.0.3',
    info: {
      title: 'Telefonist API for 1C:KA',
      version,
      description: 'Call journal and control plane over FreeSWITCH. Every error, from any layer, is `{"error": {"code", "message", "field"?}}`: '
        + 'besides those listed per operation, 400 for a malformed path or query escape, 405 (with `Allow`) for a method a path does not have, '
        + '413 for a body over the limit, 415 for a body that is not UTF-8 JSON, 431 for a request line and headers over 16 KB. '
        + 'Failed authentication is limited per client address: a burst of 20 failures per 10 s, then 429 with `Retry-After`. '
        + 'Every response carries `Cache-Control: no-store`, `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` and '
        + 'a `Content-Security-Policy` of `default-src \'none\'; frame-ancestors \'none\'`.',
    },
    servers: [{ url: '/api/v1' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        session: { type: 'apiKey', in: 'cookie', name: 'telefonist_session', description: 'The panel\'s sign-in (POST /session); accepted wherever a bearer token is, as an operator token of the employee\'s extension or as a supervisor. State-changing requests need `X-Telefonist-CSRF: 1` or a same-origin `Origin`.' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
            },
          },
        },
        CallSummary,
        CallPage: {
          type: 'object',
          required: ['items', 'nextCursor'],
          properties: { items: { type: 'array', items: ref('CallSummary') }, nextCursor: nullable({ type: 'string' }) },
        },
        Party: {
          type: 'object',
          properties: { leg: { type: 'string' }, employee: { type: 'string' }, number: { type: 'string' }, name: { type: 'string' } },
        },
        TimelineEntry: {
          type: 'object',
          required: ['at', 'kind'],
          additionalProperties: true,
          properties: {
            at: { type: 'string', format: 'date-time' },
            kind: {
              type: 'string',
              enum: ['ringing', 'leg_ringing', 'answered', 'bridged', 'unbridged', 'held', 'resumed', 'transfer', 'consultation',
                'eavesdrop_started', 'eavesdrop_mode', 'eavesdrop_stopped', 'recording_started', 'recording_stopped', 'leg_hangup',
                'ended', 'originate_failed', 'resynced', 'action', 'supervision'],
            },
            leg: nullable({ type: 'string' }),
            type: { type: 'string', enum: ['blind', 'attended'], description: 'transfer' },
            from: ref('Party'),
            to: ref('Party'),
            mode: { type: 'string', enum: ['listen', 'whisper', 'whisper_other', 'barge'], description: 'eavesdrop_*' },
          },
        },
        Leg: {
          type: 'object',
          properties: {
            uuid: { type: 'string' }, direction: { type: 'string', enum: ['inbound', 'outbound'] }, channel: { type: 'string' },
            employee: nullable({ type: 'string' }), number: nullable({ type: 'string' }), name: nullable({ type: 'string' }),
            destination: nullable({ type: 'string' }), role: { type: 'string', enum: ['party', 'supervisor'] },
            createdAt: { type: 'string', format: 'date-time' }, answeredAt: nullable({ type: 'string', format: 'date-time' }),
            endedAt: nullable({ type: 'string', format: 'date-time' }), hangupCause: nullable({ type: 'string' }),
          },
        },
        Recording: {
          type: 'object',
          properties: {
            url: { type: 'string', description: 'Where to GET the audio (Range supported).' },
            path: { type: 'string', description: 'The file as FreeSWITCH named it.' }, leg: { type: 'string' }, startedAt: { type: 'string', format: 'date-time' },
            stoppedAt: nullable({ type: 'string', format: 'date-time' }), seconds: nullable({ type: 'number' }), stereo: { type: 'boolean' },
          },
        },
        CallDetail: {
          allOf: [
            ref('CallSummary'),
            {
              type: 'object',
              required: ['legs', 'timeline', 'transferRoute', 'employeeDetails', 'recordings', 'transcription'],
              properties: {
                requestedId: { type: 'string', description: 'Present when the id asked for was merged into this call.' },
                originJob: nullable({ type: 'string', description: 'Job-UUID of the originate that started the call.' }),
                origin: nullable({ ...ORIGIN_SCHEMA, description: 'Click-to-call: where it was started (kind, ref, label).' }),
                employeeDetails: {
                  type: 'array',
                  items: { type: 'object', properties: { extension: { type: 'string' }, name: { type: 'string', description: 'Full name from the employees 1C syncs; absent when none names the extension.' }, role: { type: 'string', enum: ['caller', 'callee', 'supervisor'] }, answered: { type: 'boolean' } } },
                },
                legs: { type: 'array', items: ref('Leg') },
                timeline: { type: 'array', items: ref('TimelineEntry') },
                transferRoute: { type: 'array', items: ref('TimelineEntry'), description: 'The transfer entries of the timeline, in order.' },
                recordings: { type: 'array', items: ref('Recording') },
                transcription: {
                  type: 'object',
                  description: 'Transcription of the call\'s recordings: status (disabled, none, queued, running, done, failed, skipped) and progress 0..100.',
                  properties: { status: { type: 'string' }, progress: { type: 'integer' } },
                },
              },
            },
          ],
        },
        Token: {
          type: 'object',
          properties: {
            id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', enum: ROLES }, prefix: { type: 'string' },
            employee: nullable({ type: 'string', description: 'The extension the token acts for; an operator sees only its calls and events.' }),
            createdAt: { type: 'string', format: 'date-time' }, revokedAt: nullable({ type: 'string', format: 'date-time' }),
          },
        },
        TokenCreated: {
          type: 'object',
          required: ['id', 'name', 'role', 'token'],
          properties: {
            id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', enum: ROLES },
            token: { type: 'string', description: 'Shown once; only its hash is stored.' }, createdAt: { type: 'string', format: 'date-time' },
            employee: nullable({ type: 'string' }),
          },
        },
        ...directorySchemas,
        ...employeeSchemas,
        ...sessionSchemas,
        ...controlSchemas,
        ...chatSchemas,
        ...invoiceSchemas,
        ...whatsappSchemas,
        ...telegramAccountSchemas,
        Health: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: ['ok', 'degraded'] },
            uptimeSeconds: { type: 'integer' },
            freeswitch: {
              type: 'object',
              additionalProperties: true,
              properties: {
                connected: { type: 'boolean' },
                state: { type: 'string' },
                link: {
                  type: 'string',
                  enum: ['live', 'stale', 'down'],
                  description: 'stale: connected, but nothing arrived for 30 s and the `api status` probe (10 s to answer) is out; no answer drops and reconnects.',
                },
                lastByteAt: nullable({ type: 'string', format: 'date-time' }),
                lastEventAt: nullable({ type: 'string', format: 'date-time' }),
              },
            },
            database: { type: 'object', additionalProperties: true, properties: { ok: { type: 'boolean' }, kind: { type: 'string' } } },
            liveCalls: { type: 'integer' },
          },
        },
      },
    },
    paths: {
      '/health': {
        get: {
          summary: 'FreeSWITCH connection and database state (no token needed). Takes no query parameters: any is a 400 `invalid_parameter` naming it.',
          responses: {
            '200': { description: 'Database reachable.', content: { 'application/json': { schema: ref('Health') } } },
            ...errorResponses(400),
            '503': { description: 'Database unreachable or journal writes failing.', content: { 'application/json': { schema: ref('Health') } } },
          },
        },
      },
      '/openapi.json': { get: { summary: 'This document.', responses: { '200': { description: 'OpenAPI 3 document.' } } } },
      '/calls': {
        get: {
          summary: 'Call journal: filtered, newest first by default, cursor-paginated.',
          security: [{ bearer: [] }],
          parameters: queryParams(CALL_LIST_PARAMS),
          responses: {
            '200': { description: 'A page of calls.', content: { 'application/json': { schema: ref('CallPage') } } },
            ...errorResponses(400, 401, 403),
          },
        },
        post: {
          summary: 'Click-to-call: the employee\'s phone rings first; when they answer, FreeSWITCH dials the number. '
            + 'The call appears in the journal and the event log under `callId`; who asked is audited on its timeline (`action` '
            + '`click_to_call` with `by`) and as a `call.action` event, once FreeSWITCH reports the call.',
          security: [{ bearer: [] }],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['employee', 'number'],
                  additionalProperties: false,
                  properties: {
                    employee: { type: 'string', pattern: '^[0-9]{2,6}$', description: 'The employee\'s extension: a configured employee or a phone registered right now (else 422 `unknown_employee`).' },
                    number: { type: 'string', pattern: '^[+0-9() .-]{2,32}$', description: 'A phone number in any notation (digits and + ( ) - . space), or another extension; anything else is a 400 `invalid_phone`, never cleaned.' },
                    origin: ORIGIN_SCHEMA,
                  },
                },
              },
            },
          },
          responses: {
            '202': {
              description: 'FreeSWITCH accepted the originate; the phone is ringing.',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      callId: { type: 'string' }, jobUuid: { type: 'string' }, employee: { type: 'string' },
                      dial: { type: 'string', description: 'What the dialplan got (TELEFONIST_DIAL_FORMAT).' },
                      callerId: nullable({ type: 'string', description: 'The number the customer sees (TELEFONIST_CALLER_IDS, else TELEFONIST_CALLER_ID_DEFAULT); null for internal calls or none configured.' }),
                      origin: nullable(ORIGIN_SCHEMA),
                      number: { type: 'object', properties: { e164: nullable({ type: 'string' }), customer: nullable(ref('Named')) } },
                    },
                  },
                },
              },
            },
            ...errorResponses(400, 401, 403, 415, 422, 502, 503), ...outsideForbidden('number'), ...TIMEOUT_RESPONSE,
          },
        },
      },
      '/calls/{id}': {
        get: {
          summary: 'One call with every parameter, its legs, full timeline and transfer route.',
          security: [{ bearer: [] }],
          parameters: [callIdParam],
          responses: {
            '200': { description: 'The call.', content: { 'application/json': { schema: ref('CallDetail') } } },
            ...errorResponses(400, 401, 403, 404),
          },
        },
      },
      '/tokens': {
        get: {
          summary: 'API tokens (admin).',
          security: [{ bearer: [] }],
          responses: {
            '200': { description: 'Tokens without secrets.', content: { 'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: ref('Token') } } } } } },
            ...errorResponses(401, 403),
          },
        },
        post: {
          summary: 'Create an API token (admin). The secret is in the answer only.',
          security: [{ bearer: [] }],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['name', 'role'],
                  additionalProperties: false,
                  properties: {
                    name: { type: 'string', maxLength: 100 },
                    role: { type: 'string', enum: ROLES },
                    employee: { type: 'string', description: 'The operator\'s extension (required for role operator): the token then sees only that extension\'s calls and events and dials only from it.' },
                  },
                },
              },
            },
          },
          responses: {
            '201': { description: 'Created.', content: { 'application/json': { schema: ref('TokenCreated') } } },
            ...errorResponses(400, 401, 403, 413, 415),
          },
        },
      },
      '/tokens/{id}': {
        delete: {
          summary: 'Revoke an API token (admin).',
          security: [{ bearer: [] }],
          parameters: [{ name: 'id', in: 'path', required: true, description: 'Token id.', schema: { type: 'string' } }],
          responses: { '204': { description: 'Revoked.' }, ...errorResponses(400, 401, 403, 404, 409) },
        },
      },
      ...recordingPaths,
      ...directoryPaths,
      ...employeePaths,
      ...sessionPaths,
      ...controlPaths,
      ...chatPaths,
      ...invoicePaths,
      ...whatsappPaths,
      ...telegramAccountPaths,
    },
  };
}
