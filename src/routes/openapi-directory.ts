import { EVENT_TYPES } from '../events/event-log';
import { deleteOperation, errorResponses, json, nullable, queryParams, readOperation, ref, refSchema, replaceOperation, syncFinishPath, syncRunProperty } from './openapi-parts';
import { EVENT_POLL_PARAMS, EVENT_STREAM_PARAMS } from './events';

/** OpenAPI parts for the directory, caller identification, the event log and webhooks (issue 3). */

const errors = errorResponses;
const security = [{ bearer: [] }];
const query = queryParams;
const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const idParam = pathParam('id', 'The customer\'s 1C reference (Партнер GUID).');

const Named = { type: 'object', required: ['id', 'name'], properties: { id: { type: 'string' }, name: { type: 'string' } } };
const PhoneInput = {
  oneOf: [
    { type: 'string', description: 'Any way a person writes it: `8 (495) 123-45-67`, `+7 495 1234567 доб. 12`, text around it.' },
    { type: 'object', required: ['number'], additionalProperties: false, properties: { number: { type: 'string' } } },
  ],
};
const CustomerFields = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', maxLength: 300 },
    inn: nullable({ type: 'string', maxLength: 20 }),
    comment: nullable({ type: 'string', maxLength: 2000 }),
    phones: { type: 'array', maxItems: 100, items: PhoneInput, description: 'Company phones.' },
    contacts: {
      type: 'array',
      maxItems: 500,
      items: {
        type: 'object',
        required: ['id', 'name'],
        additionalProperties: false,
        properties: {
          id: { ...refSchema, description: 'Контактное лицо reference.' },
          name: { type: 'string', maxLength: 300 },
          position: nullable({ type: 'string', maxLength: 200 }),
          phones: { type: 'array', maxItems: 50, items: PhoneInput },
        },
      },
    },
  },
};

export const directorySchemas = {
  Named,
  CallerIdentity: {
    type: 'object',
    required: ['kind', 'number', 'matches'],
    properties: {
      kind: { type: 'string', enum: ['customer', 'contact', 'unknown'] },
      number: { type: 'string', description: 'E.164.' },
      customer: ref('Named'),
      contact: ref('Named'),
      matches: { type: 'integer', description: 'Customers sharing this number (the most recently updated one is named).' },
    },
  },
  DirectorySearchItem: {
    type: 'object',
    required: ['kind', 'id', 'name', 'phones'],
    additionalProperties: false,
    properties: {
      kind: { type: 'string', enum: ['customer', 'contact'] },
      id: { type: 'string', description: 'The customer\'s or the contact person\'s 1C reference.' },
      name: { type: 'string' },
      inn: nullable({ type: 'string', description: 'A customer\'s INN.' }),
      position: nullable({ type: 'string', description: 'A contact person\'s position.' }),
      customer: {
        type: 'object',
        description: 'The customer a contact person belongs to.',
        properties: { id: { type: 'string' }, name: { type: 'string' } },
      },
      phones: { type: 'array', description: 'The customer\'s company phones, or the contact person\'s phones.', items: ref('PhoneView') },
    },
  },
  PhoneView: {
    type: 'object',
    properties: {
      number: { type: 'string', description: 'E.164.' },
      extension: nullable({ type: 'string' }),
      kind: { type: 'string', enum: ['company', 'contact'] },
      raw: { type: 'string', description: 'As 1C sent it.' },
    },
  },
  CustomerFields,
  CustomerInput: { allOf: [{ type: 'object', required: ['id'], properties: { id: refSchema } }, ref('CustomerFields')] },
  Customer: {
    type: 'object',
    properties: {
      id: { type: 'string' }, name: { type: 'string' }, inn: nullable({ type: 'string' }), comment: nullable({ type: 'string' }),
      source: { type: 'string', enum: ['1c', 'telefonist'], description: '`telefonist`: created here from an unknown number.' },
      createdAt: { type: 'string', format: 'date-time' }, updatedAt: { type: 'string', format: 'date-time' },
      phones: { type: 'array', items: ref('PhoneView') },
      contacts: {
        type: 'array',
        items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, position: nullable({ type: 'string' }), phones: { type: 'array', items: ref('PhoneView') } } },
      },
    },
  },
  Event: {
    type: 'object',
    required: ['id', 'type', 'at', 'employees', 'data'],
    properties: {
      id: { type: 'string', description: 'The cursor (decimal digits, increasing).' },
      type: { type: 'string', enum: EVENT_TYPES },
      at: { type: 'string', format: 'date-time' },
      callId: nullable({ type: 'string' }),
      employees: { type: 'array', items: { type: 'string' }, description: 'Extensions the event is addressed to.' },
      data: {
        type: 'object',
        additionalProperties: true,
        description: 'The call (callId, direction, status, number, numberE164, identification, customer, contact, callEmployees, startedAt) plus, '
          + 'per type: `leg` and `role` caller|callee (ringing), `answeredBy` and `screenPop` {action: open_customer|create_customer} (answered), '
          + '`from`/`to`/`transferType` (transferred), endedAt/talkSeconds/durationSeconds/hangupCause (ended), `mergedCallId` (merged). '
          + 'Call events also carry `employeeNames` {extension: full name} for the call\'s employees that have one. '
          + '`employee.presence` (no call): extension, name, presence offline|online|busy, reason ringing|talking|held|supervising|null, since, '
          + 'previous {presence, reason, since} | null, registrations, callIds; for employees 1C synced, addressed to the extension and to every supervisor.',
      },
    },
  },
  EventPage: {
    type: 'object',
    required: ['events', 'cursor'],
    properties: { events: { type: 'array', items: ref('Event') }, cursor: { type: 'string', description: 'Pass as `after` next time.' } },
  },
  Webhook: {
    type: 'object',
    properties: {
      id: { type: 'string' }, url: { type: 'string' }, employees: { type: 'array', items: { type: 'string' } }, types: { type: 'array', items: { type: 'string' } },
      basicAuth: nullable({
        type: 'object',
        description: 'The Basic credentials\' user name; the password is stored encrypted and never returned.',
        properties: { username: { type: 'string' }, hasPassword: { type: 'boolean', enum: [true] } },
      }),
      headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Extra headers sent with every delivery.' },
      active: { type: 'boolean' }, cursor: { type: 'string', description: 'Last event delivered.' }, failures: { type: 'integer' },
      nextAttemptAt: nullable({ type: 'string', format: 'date-time' }), lastError: nullable({ type: 'string' }),
      deliveredAt: nullable({ type: 'string', format: 'date-time' }), createdAt: { type: 'string', format: 'date-time' },
      secret: { type: 'string', description: 'Only in the answer to create, when it was generated.' },
    },
  },
};

export const directoryPaths = {
  '/events': {
    get: {
      summary: 'Long-poll the event log (for 1C\'s HTTPСоединение): waits up to `wait` seconds for events after the cursor.',
      security,
      parameters: query(EVENT_POLL_PARAMS),
      responses: { '200': { description: 'Events (possibly none) and the cursor to continue from.', content: json(ref('EventPage')) }, ...errors(400, 401, 403) },
    },
  },
  '/events/stream': {
    get: {
      summary: 'Server-Sent Events from the event log (for the panel). Each message: `id` (cursor), `event` (type), `data` (the Event).',
      security,
      parameters: [...query(EVENT_STREAM_PARAMS), { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } }],
      responses: { '200': { description: 'An endless event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors(400, 401, 403) },
    },
  },
  '/directory/sync': {
    post: {
      summary: 'Bulk sync from 1C (admin, integration): idempotent upserts (whole records: phones and contacts are replaced) and deletes by 1C reference.',
      security,
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          additionalProperties: false,
          properties: {
            run: syncRunProperty('/directory', 'customers'),
            customers: { type: 'array', maxItems: 5000, items: ref('CustomerInput') },
            deleted: { type: 'array', maxItems: 50000, items: refSchema },
          },
        }),
      },
      responses: {
        '200': { description: 'Applied, all or nothing.', content: json({ type: 'object', properties: { upserted: { type: 'integer' }, deleted: { type: 'integer' }, ms: { type: 'integer' } } }) },
        ...errors(400, 401, 403, 413, 415),
      },
    },
  },
  '/directory/sync/finish': syncFinishPath('End a full sync run: customers from 1C not sent in it are deleted (customers created here are kept).'),
  '/directory/lookup': {
    get: {
      summary: 'Who a number belongs to (cached, as calls are identified).',
      security,
      parameters: [{ name: 'number', in: 'query', required: true, description: 'A phone number in any common notation.', schema: { type: 'string' } }],
      responses: { '200': { description: 'The identity.', content: json(ref('CallerIdentity')) }, ...errors(400, 401, 403) },
    },
  },
  '/directory/search': {
    get: {
      summary: 'Smart search over customers, contact persons and phones (any role). A number in any notation '
        + '(+7 916 123-45-67, 8 916…, 916 123-45-67) finds the owners of that number; 4+ digits find numbers '
        + 'and INNs holding them anywhere; text (3+ characters) finds customers by part of the name and contact '
        + 'persons by part of the name, case-insensitive (Cyrillic too). Indexed (trigram), fast on large directories.',
      security,
      parameters: [
        { name: 'q', in: 'query', required: true, description: 'Text (3–100 characters) or a number (4+ digits).', schema: { type: 'string', minLength: 3, maxLength: 100 } },
        { name: 'limit', in: 'query', description: 'Most items (1–50, default 20).', schema: { type: 'integer', minimum: 1, maximum: 50, default: 20 } },
      ],
      responses: {
        '200': {
          description: 'Matches: owners of a matching number first, then customers, then contact persons.',
          content: json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('DirectorySearchItem') } } }),
        },
        ...errors(400, 401, 403),
      },
    },
  },
  '/directory/stats': {
    get: {
      summary: 'Directory counts and cache statistics.',
      security,
      responses: { '200': { description: 'Counts.', content: json({ type: 'object', additionalProperties: true }) }, ...errors(401, 403) },
    },
  },
  '/customers': {
    post: {
      summary: 'Create a customer from an unknown number (or from a call): every earlier call from the number is linked to it in the same transaction. '
        + 'An operator may name only a call they took part in (403 naming `callId` otherwise), and `linkedCalls` counts only their calls.',
      security,
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            id: { ...refSchema, description: 'The new Партнер\'s 1C reference, when 1C created it; generated otherwise.' },
            name: { type: 'string', maxLength: 300 },
            number: { type: 'string', description: 'The number; defaults to the external number of `callId`.' },
            callId: { type: 'string' },
            inn: nullable({ type: 'string' }),
            comment: nullable({ type: 'string' }),
            contactName: nullable({ type: 'string', description: 'Create a contact person owning the number instead of a company phone.' }),
          },
        }),
      },
      responses: {
        '201': { description: 'Created.', content: json({ type: 'object', properties: { customer: ref('Customer'), linkedCalls: { type: 'integer' } } }) },
        ...errors(400, 401, 403, 404, 409, 415),
      },
    },
  },
  '/customers/{id}': {
    get: readOperation('One customer with phones and contact persons.', idParam, 'The customer.', ref('Customer')),
    put: replaceOperation('Create or replace one customer from 1C (admin, integration).', idParam, ref('CustomerFields'), ref('Customer')),
    delete: deleteOperation('Delete one customer (admin, integration); its calls become unidentified.', idParam),
  },
  '/customers/{id}/phones': {
    post: {
      summary: 'Bind a number to the customer (company phone) or to one of its contact persons; earlier unidentified calls from it are linked.',
      security,
      parameters: [idParam],
      requestBody: {
        required: true,
        content: json({ type: 'object', required: ['number'], additionalProperties: false, properties: { number: { type: 'string' }, contactId: refSchema } }),
      },
      responses: { '201': { description: 'Bound.', content: json({ type: 'object', additionalProperties: true }) }, ...errors(400, 401, 403, 404, 409, 415) },
    },
  },
  '/customers/{id}/phones/{number}': {
    delete: {
      summary: 'Unbind a number (admin, integration).',
      security,
      parameters: [idParam, pathParam('number', 'The number, in any notation (URL-encoded).')],
      responses: { '204': { description: 'Unbound.' }, ...errors(400, 401, 403, 404) },
    },
  },
  '/customers/{id}/history': {
    get: {
      summary: 'The customer\'s calls (later: chats), newest first, cursor-paginated. An operator sees only the calls they took part in, as in `GET /calls`.',
      security,
      parameters: [
        idParam,
        { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
        { name: 'cursor', in: 'query', required: false, schema: { type: 'string' } },
      ],
      responses: {
        '200': {
          description: 'History items; each has `kind` ("call") and the CallSummary fields.',
          content: json({
            type: 'object',
            properties: {
              customerId: { type: 'string' },
              items: { type: 'array', items: { allOf: [{ type: 'object', properties: { kind: { type: 'string', enum: ['call'] } } }, ref('CallSummary')] } },
              nextCursor: nullable({ type: 'string' }),
            },
          }),
        },
        ...errors(400, 401, 403, 404),
      },
    },
  },
  '/webhooks': {
    get: {
      summary: 'Webhook receivers (admin).',
      security,
      responses: { '200': { description: 'Receivers with their delivery state.', content: json({ type: 'object', properties: { items: { type: 'array', items: ref('Webhook') } } }) }, ...errors(401, 403) },
    },
    post: {
      summary: 'Add a receiver (admin). Deliveries are POSTs of one Event, in order, retried with backoff until 2xx; headers X-Telefonist-Event, '
        + 'X-Telefonist-Event-Id, X-Telefonist-Timestamp and X-Telefonist-Signature = "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body). '
        + 'Redirects are not followed (a 3xx is a failed delivery); each attempt times out after 10 s.',
      security,
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          required: ['url'],
          additionalProperties: false,
          properties: {
            url: { type: 'string', format: 'uri' },
            secret: { type: 'string', minLength: 16, description: 'Generated (and shown once) when absent.' },
            employees: { type: 'array', items: { type: 'string' }, description: 'Only events addressed to these extensions.' },
            types: { type: 'array', items: { type: 'string', enum: EVENT_TYPES } },
            fromStart: { type: 'boolean', description: 'Deliver the whole log, not only events from now on.' },
            basicAuth: {
              type: 'object',
              required: ['username', 'password'],
              additionalProperties: false,
              description: 'HTTP Basic credentials for the receiver (a 1C publication authenticates an infobase user). Sent as UTF-8; '
                + 'the password is stored encrypted (AES-256-GCM) and never returned or logged. A URL with user:pass@ is refused.',
              properties: {
                username: { type: 'string', minLength: 1, maxLength: 200, description: 'No colon, no control characters.' },
                password: { type: 'string', maxLength: 200, description: 'No control characters.' },
              },
            },
            headers: {
              type: 'object',
              maxProperties: 20,
              additionalProperties: { type: 'string', minLength: 1, maxLength: 1000 },
              description: 'Extra headers for every delivery: token names, printable ASCII values without CR/LF. Refused: Authorization (use basicAuth), '
                + 'Proxy-Authorization, Content-Length, Content-Type, Content-Encoding, Transfer-Encoding, Host, Connection, Keep-Alive, TE, Trailer, '
                + 'Upgrade, Proxy-Connection, Expect and X-Telefonist-*. Shown to admins: no secrets here.',
            },
          },
        }),
      },
      responses: { '201': { description: 'Created.', content: json(ref('Webhook')) }, ...errors(400, 401, 403, 413, 415) },
    },
  },
  '/webhooks/{id}': {
    get: {
      summary: 'One receiver and its delivery state (admin).',
      security,
      parameters: [pathParam('id', 'Webhook id.')],
      responses: { '200': { description: 'The receiver.', content: json(ref('Webhook')) }, ...errors(400, 401, 403, 404) },
    },
    delete: {
      summary: 'Remove a receiver (admin).',
      security,
      parameters: [pathParam('id', 'Webhook id.')],
      responses: { '204': { description: 'Removed.' }, ...errors(400, 401, 403, 404) },
    },
  },
};
