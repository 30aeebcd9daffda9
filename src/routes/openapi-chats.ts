import { PLACEHOLDERS } from '../chats/templates';
import { CHAT_LIST_PARAMS } from './chats';
import { errorResponses, json, nullable, ref } from './openapi-parts';

/** OpenAPI parts for chats, attachments, templates and messenger accounts (issue 13). */

const errors = errorResponses;
const security = [{ bearer: [] }];
const idParam = { name: 'id', in: 'path', required: true, description: 'The chat id (UUID).', schema: { type: 'string', format: 'uuid' } };
const employeeQuery = {
  name: 'employee', in: 'query', required: false,
  description: 'Act as this employee (admin, integration); a token or session bound to an employee is always that employee.',
  schema: { type: 'string' },
};
const ext = { type: 'string', pattern: '^[0-9]{2,6}$' };
const actingEmployee = { ...ext, description: 'The employee this request acts for (integration, admin); an operator token or panel session acts as its own employee and may omit it.' };
const context = {
  type: 'object',
  additionalProperties: false,
  description: '1C context of the message: references to an order (Заказ клиента), a partner, an invoice.',
  properties: { order: { type: 'string' }, partner: { type: 'string' }, invoice: { type: 'string' } },
};
const messageInput = {
  employee: actingEmployee,
  text: { type: 'string', maxLength: 4096, description: 'The text; @login or @extension mentions add those employees as observers.' },
  template: { type: 'string', description: 'A template name instead of text, rendered with `vars` and the chat\'s customer, the employee and the context.' },
  vars: { type: 'object', additionalProperties: false, properties: Object.fromEntries(PLACEHOLDERS.map((p) => [p, { type: 'string' }])) },
  file: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', description: 'From POST /chat-files.' }, name: { type: 'string' } } },
  context,
};
const chat = ref('Chat');

export const chatSchemas = {
  Chat: {
    type: 'object',
    required: ['id', 'messenger', 'accountId', 'peerId', 'peerName', 'peerUsername', 'phone', 'customerId', 'contactId', 'status', 'responsible', 'observers', 'reference', 'createdAt', 'updatedAt', 'lastMessageAt', 'closedAt', 'unread'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      messenger: { type: 'string', description: 'telegram (a bot), telegram_user (an employee\'s own account), …' },
      accountId: { type: 'string', description: 'Our messenger account.' },
      peerId: { type: 'string', description: 'The customer-side chat id in the messenger.' },
      peerName: nullable({ type: 'string' }),
      peerUsername: nullable({ type: 'string' }),
      phone: nullable({ type: 'string', description: 'E.164, when known.' }),
      customerId: nullable({ type: 'string', description: 'The customer (1C Партнер) bound by phone or by hand.' }),
      contactId: nullable({ type: 'string' }),
      status: { type: 'string', enum: ['queue', 'in_work', 'closed'] },
      responsible: nullable({ type: 'string', description: 'The extension of the responsible employee.' }),
      observers: { type: 'array', items: { type: 'string' } },
      reference: nullable({ type: 'string', description: 'The 1C reference the chat came with (a /start deep link, an order).' }),
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      lastMessageAt: { type: 'string', format: 'date-time' },
      closedAt: nullable({ type: 'string', format: 'date-time' }),
      unread: { type: 'integer', description: 'Customer messages after the viewing employee\'s last read.' },
      window: {
        type: 'object',
        required: ['open', 'closesAt'],
        description: 'Only for messengers with a customer service window (WhatsApp Cloud API): free-form text and files only while `open` (24 hours after the customer\'s last message); outside it only a mapped template (422 `template_required`), and a file only in a template with a DOCUMENT header (422 `template_without_document_header`).',
        properties: {
          open: { type: 'boolean' },
          closesAt: { type: 'string', format: 'date-time', nullable: true, description: 'When the window closes (open) or closed (closed); null when the customer has not written.' },
        },
      },
      analysis: {
        description: 'The AI analysis (GET /chats: a brief per row — status, sentiment, answered, summary; GET /chats/{id}: the whole ChatAnalysis without chatId). Not in chat events; a finished analysis is its own `chat.analysis` event (data: chatId, customerId, analysis).',
        oneOf: [ref('ChatAnalysisBrief'), ref('ChatAnalysis')],
      },
    },
  },
  ChatAnalysisBrief: {
    type: 'object',
    required: ['status'],
    properties: {
      status: { type: 'string', enum: ['disabled', 'none', 'pending', 'done', 'failed'] },
      sentiment: { type: 'string', enum: ['positive', 'neutral', 'negative', 'mixed'] },
      answered: { type: 'string', enum: ['yes', 'no', 'partly'] },
      summary: { type: 'string' },
    },
  },
  ChatAnalysis: {
    type: 'object',
    required: ['status'],
    description: 'disabled: no language model (LLM_PROVIDER=none), `message` says so; none: not analysed yet; pending: asked (or waiting to be retried: `error` is the last try\'s reason); '
      + 'done; failed: `error` says why (a failed re-run keeps the previous `analysis`). Made when a chat is closed without one covering its last message, and on demand.',
    properties: {
      chatId: { type: 'string', format: 'uuid' },
      status: { type: 'string', enum: ['disabled', 'none', 'pending', 'done', 'failed'] },
      message: { type: 'string', description: 'Why there is none (disabled), in plain words.' },
      analysis: nullable({
        type: 'object',
        required: ['summary', 'request', 'agreements', 'nextSteps', 'sentiment', 'answered'],
        properties: {
          summary: { type: 'string', description: '2–4 sentences: what the chat was about and how it ended.' },
          request: { type: 'string', description: 'The customer\'s request; empty if unclear.' },
          agreements: { type: 'array', items: { type: 'string' } },
          nextSteps: { type: 'array', items: { type: 'object', required: ['who', 'what', 'due'], properties: { who: { type: 'string' }, what: { type: 'string' }, due: nullable({ type: 'string' }) } } },
          sentiment: { type: 'string', enum: ['positive', 'neutral', 'negative', 'mixed'] },
          answered: { type: 'string', enum: ['yes', 'no', 'partly'], description: 'Whether the customer\'s question was answered.' },
        },
      }),
      model: nullable({ type: 'string' }),
      error: nullable({ type: 'string' }),
      attempts: { type: 'integer' },
      trigger: { type: 'string', enum: ['auto', 'manual'] },
      lastMessageId: { type: 'integer', description: 'The chat\'s last message the analysis covers.' },
      updatedAt: { type: 'string', format: 'date-time' },
    },
  },
  ChatMessage: {
    type: 'object',
    required: ['id', 'chatId', 'direction', 'author', 'text', 'externalId', 'state', 'failure', 'attempts', 'context', 'file', 'createdAt', 'editedAt', 'deletedAt'],
    properties: {
      id: { type: 'integer' },
      chatId: { type: 'string' },
      direction: { type: 'string', enum: ['in', 'out', 'note'], description: 'in: from the customer; out: to the customer; note: internal, never sent.' },
      author: nullable({ type: 'string', description: 'The employee (out, note).' }),
      text: nullable({ type: 'string' }),
      externalId: nullable({ type: 'string', description: 'The messenger\'s message id.' }),
      state: { type: 'string', enum: ['received', 'queued', 'sent', 'delivered', 'read', 'failed', 'note'] },
      failure: nullable({ type: 'string', description: 'Why it failed (failed), or why it waits (queued).' }),
      attempts: { type: 'integer' },
      context: nullable(context),
      file: nullable({ type: 'object', required: ['id', 'name', 'mime', 'size'], properties: { id: { type: 'string' }, name: { type: 'string' }, mime: { type: 'string' }, size: { type: 'integer' } } }),
      createdAt: { type: 'string', format: 'date-time' },
      editedAt: nullable({ type: 'string', format: 'date-time' }),
      deletedAt: nullable({ type: 'string', format: 'date-time' }),
    },
  },
  ChatTemplate: {
    type: 'object',
    required: ['name', 'text', 'placeholders', 'updatedAt'],
    properties: { name: { type: 'string' }, text: { type: 'string' }, placeholders: { type: 'array', items: { type: 'string', enum: PLACEHOLDERS } }, updatedAt: { type: 'string', format: 'date-time' } },
  },
};

const ok = (schema: unknown, description = 'OK.') => ({ description, content: json(schema) });
const body = (schema: unknown) => ({ required: true, content: json(schema) });
const actorOnly = body({ type: 'object', additionalProperties: false, properties: { employee: actingEmployee } });

export const chatPaths = {
  '/chats': {
    get: {
      summary: 'Chats: My (view=my), Observed, Queue, or the journal with filters; what the viewer may see only',
      security,
      parameters: CHAT_LIST_PARAMS.map((p) => ({ name: p.name, in: 'query', required: false, description: p.description, schema: p.schema })),
      responses: { '200': ok({ type: 'object', required: ['items', 'total'], properties: { items: { type: 'array', items: chat }, total: { type: 'integer' } } }), ...errors(400, 401, 403) },
    },
  },
  '/chats/counts': {
    get: {
      summary: 'My chats, Observed and Queue: chats and unread messages in each',
      security,
      parameters: [employeeQuery],
      responses: {
        '200': ok({ type: 'object', properties: Object.fromEntries(['my', 'observed', 'queue'].map((k) => [k, { type: 'object', properties: { chats: { type: 'integer' }, unread: { type: 'integer' } } }])) }),
        ...errors(400, 401, 403),
      },
    },
  },
  '/chats/start': {
    post: {
      summary: 'Start a chat with a phone (from a customer, contact or order), or continue the active one',
      description: 'Checks reachability first: `no` → 422 `not_registered` ("not registered in Telegram"); an account that cannot write first to a phone (a bot) → 422 `cannot_write_first` with the reason, unless a chat with that phone exists.',
      security,
      requestBody: body({
        type: 'object', required: ['accountId', 'phone'], additionalProperties: false,
        properties: { ...messageInput, accountId: { type: 'string' }, phone: { type: 'string' }, customerId: { type: 'string' }, contactId: { type: 'string' } },
      }),
      responses: {
        '200': ok({ type: 'object' }, 'An active chat with that peer was continued.'),
        '201': ok({ type: 'object', required: ['chat', 'message', 'continued', 'reachability'], properties: { chat, message: nullable(ref('ChatMessage')), continued: { type: 'boolean' }, reachability: { type: 'object' } } }, 'Started.'),
        '422': { description: 'Not reachable in that messenger (`not_registered`), the account cannot write first (`cannot_write_first`), or the first message needs a template (`template_required`, `template_not_mapped`: WhatsApp Cloud) — `code`, `message`.', content: json(ref('Error')) },
        ...errors(400, 401, 403, 415),
      },
    },
  },
  '/chats/reachability': {
    get: {
      summary: 'Whether a phone can be written to on each messenger account, without writing anything',
      description: 'Per account: `reachable` yes / no / unknown (a gateway\'s number check or a Telegram user account\'s resolve answer; a bot or WhatsApp Cloud cannot check: unknown), `canWriteFirst`, the plain `reason`, and `activeChatId` when a chat with that phone is already active there. `accountId` (comma-separated or repeated) limits the accounts. An employee\'s own account (his Telegram) is checked only for him: left out of the list for anyone else, 403 `personal_account` when named.',
      security,
      parameters: [
        { name: 'phone', in: 'query', required: true, schema: { type: 'string' }, description: 'Any human notation; normalised to E.164.' },
        { name: 'accountId', in: 'query', required: false, schema: { type: 'string' } },
        employeeQuery,
      ],
      responses: {
        '200': ok({
          type: 'object', required: ['phone', 'items'],
          properties: {
            phone: { type: 'string' },
            items: {
              type: 'array',
              items: {
                type: 'object', required: ['accountId', 'kind', 'reachable', 'canWriteFirst', 'reason', 'activeChatId'],
                properties: {
                  accountId: { type: 'string' }, kind: { type: 'string' }, reachable: { type: 'string', enum: ['yes', 'no', 'unknown'] },
                  canWriteFirst: { type: 'boolean' }, reason: nullable({ type: 'string' }), activeChatId: nullable({ type: 'string' }),
                },
              },
            },
          },
        }),
        ...errors(400, 401, 403),
      },
    },
  },
  '/chats/{id}': {
    get: { summary: 'A chat', security, parameters: [idParam, employeeQuery], responses: { '200': ok(chat), ...errors(400, 401, 403, 404) } },
  },
  '/chats/{id}/messages': {
    get: {
      summary: 'Messages of a chat',
      security,
      parameters: [idParam, employeeQuery, { name: 'after', in: 'query', required: false, schema: { type: 'integer' } }, { name: 'limit', in: 'query', required: false, schema: { type: 'integer' } }],
      responses: { '200': ok({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('ChatMessage') } } }), ...errors(400, 401, 403, 404) },
    },
    post: {
      summary: 'Write in a chat (queued for delivery); the first reply in the queue makes the author responsible',
      security,
      parameters: [idParam],
      requestBody: body({ type: 'object', additionalProperties: false, properties: { ...messageInput, internal: { type: 'boolean', description: 'An internal note, never sent to the customer.' } } }),
      responses: {
        '202': ok(ref('ChatMessage'), 'Queued.'),
        '422': { description: 'The messenger refuses this message before it is queued: `template_required` (WhatsApp Cloud: free text or a file outside the 24-hour customer service window — send `template`), `template_not_mapped` (our template has no WhatsApp form for this account), `template_without_document_header` (a file outside the window needs a template whose WhatsApp form has a DOCUMENT header).', content: json(ref('Error')) },
        ...errors(400, 401, 403, 404, 415),
      },
    },
  },
  '/chats/{id}/messages/{n}/file': {
    get: {
      summary: 'The file of a message (same rights as the chat)',
      security,
      parameters: [idParam, { name: 'n', in: 'path', required: true, schema: { type: 'integer' } }, employeeQuery],
      responses: { '200': { description: 'The bytes.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } }, ...errors(400, 401, 403, 404) },
    },
  },
  '/chats/{id}/observers': {
    post: {
      summary: 'Add an observer (the responsible or a supervisor)',
      security,
      parameters: [idParam],
      requestBody: body({ type: 'object', required: ['observer'], additionalProperties: false, properties: { employee: actingEmployee, observer: ext } }),
      responses: { '200': ok(chat), ...errors(400, 401, 403, 404, 415) },
    },
  },
  '/chats/{id}/handover': {
    post: {
      summary: 'Hand the chat over; the previous responsible stays an observer only with keepAsObserver',
      security,
      parameters: [idParam],
      requestBody: body({ type: 'object', required: ['to'], additionalProperties: false, properties: { employee: actingEmployee, to: ext, keepAsObserver: { type: 'boolean', default: false } } }),
      responses: { '200': ok(chat), ...errors(400, 401, 403, 404, 415) },
    },
  },
  '/chats/{id}/analysis': {
    get: { summary: 'The chat\'s AI analysis (the chat\'s rights)', security, parameters: [idParam, employeeQuery], responses: { '200': ok(ref('ChatAnalysis')), ...errors(400, 401, 403, 404) } },
    post: {
      summary: 'Analyse the chat now (again): 202 pending; the result in GET. 409 analysis_disabled without a model, not_ready without messages',
      security,
      parameters: [idParam],
      requestBody: { ...actorOnly, required: false },
      responses: { '202': ok(ref('ChatAnalysis'), 'Asked.'), ...errors(400, 401, 403, 404, 409, 415) },
    },
  },
  '/chats/{id}/close': {
    post: { summary: 'Close (the responsible or a supervisor)', security, parameters: [idParam], requestBody: actorOnly, responses: { '200': ok(chat), ...errors(400, 401, 403, 404, 415) } },
  },
  '/chats/{id}/read': {
    post: { summary: 'Mark the chat read by the employee', security, parameters: [idParam], requestBody: actorOnly, responses: { '204': { description: 'Read.' }, ...errors(400, 401, 403, 404, 415) } },
  },
  '/chats/{id}/customer': {
    put: {
      summary: 'Bind the chat\'s peer to a customer (and contact)',
      security,
      parameters: [idParam],
      requestBody: body({ type: 'object', required: ['customerId'], additionalProperties: false, properties: { employee: actingEmployee, customerId: { type: 'string' }, contactId: { type: 'string' } } }),
      responses: { '200': ok(chat), ...errors(400, 401, 403, 404, 415) },
    },
  },
  '/customers/{id}/chats': {
    get: {
      summary: 'A customer\'s active dialogs (queue and in work), for the customer card',
      security,
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, employeeQuery],
      responses: { '200': ok({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: chat } } }), ...errors(400, 401, 403) },
    },
  },
  '/chat-files': {
    post: {
      summary: 'Upload an attachment (the bytes as the body); its type is decided from the content',
      security,
      parameters: [{ name: 'name', in: 'query', required: false, description: 'The file name to show.', schema: { type: 'string' } }],
      requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
      responses: {
        '201': ok({ type: 'object', required: ['id', 'size', 'mime', 'name'], properties: { id: { type: 'string' }, size: { type: 'integer' }, mime: { type: 'string' }, name: nullable({ type: 'string' }) } }, 'Stored.'),
        ...errors(400, 401, 403, 413, 415),
      },
    },
  },
  '/chat-templates': {
    get: {
      summary: 'Message templates and the placeholders they may use',
      security,
      responses: { '200': ok({ type: 'object', required: ['items', 'placeholders'], properties: { items: { type: 'array', items: ref('ChatTemplate') }, placeholders: { type: 'array', items: { type: 'string' } } } }), ...errors(401, 403) },
    },
  },
  '/chat-templates/{name}': {
    put: {
      summary: 'Create or replace a template (admin, supervisor, integration); an unknown {placeholder} is a 400',
      security,
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
      requestBody: body({ type: 'object', required: ['text'], additionalProperties: false, properties: { text: { type: 'string' } } }),
      responses: { '200': ok(ref('ChatTemplate'), 'Replaced.'), '201': ok(ref('ChatTemplate'), 'Created.'), ...errors(400, 401, 403, 415) },
    },
    delete: {
      summary: 'Delete a template',
      security,
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { '204': { description: 'Deleted.' }, ...errors(401, 403, 404) },
    },
  },
  '/messengers': {
    get: {
      summary: 'Our messenger accounts (a bot\'s startLink + a 1C reference is a deep link that starts a chat)',
      description: 'An employee gets the accounts he may write from: company accounts and his own Telegram, not a colleague\'s. Admin and integration tokens get every account; `owner` is the extension of an employee\'s own account (only he starts chats or checks numbers through it).',
      security,
      responses: { '200': ok({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: { type: 'object', properties: { accountId: { type: 'string' }, kind: { type: 'string' }, owner: nullable({ type: 'string' }), username: nullable({ type: 'string' }), startLink: nullable({ type: 'string' }) } } } } }), ...errors(401, 403) },
    },
  },
  '/messengers/telegram/{accountId}/webhook': {
    post: {
      summary: 'Telegram Bot API webhook (no bearer token: X-Telegram-Bot-Api-Secret-Token, compared in constant time)',
      security: [],
      parameters: [{ name: 'accountId', in: 'path', required: true, schema: { type: 'string' } }, { name: 'X-Telegram-Bot-Api-Secret-Token', in: 'header', required: true, schema: { type: 'string' } }],
      requestBody: body({ type: 'object', description: 'A Telegram Update.' }),
      responses: { '200': ok({ type: 'object' }, 'Stored (duplicates are ignored).'), ...errors(400, 401, 404) },
    },
  },
};
