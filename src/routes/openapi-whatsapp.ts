import { errorResponses as errors, json, ref } from './openapi-parts';

/** OpenAPI: WhatsApp webhooks, template catalogues and the mapping of our templates (src/routes/whatsapp.ts). */
const security = [{ bearer: [] }];
const accountParam = { name: 'accountId', in: 'path', required: true, description: 'A WhatsApp account id from TELEFONIST_WHATSAPP_ACCOUNTS.', schema: { type: 'string' } };
const nameParam = { name: 'name', in: 'path', required: true, description: 'Our template (GET /chat-templates).', schema: { type: 'string' } };
const ok = (schema: unknown, description = 'OK.') => ({ description, content: json(schema) });
const catalogue = { type: 'object', required: ['accountId', 'items'], properties: { accountId: { type: 'string' }, kind: { type: 'string', enum: ['cloud', 'gateway'] }, items: { type: 'array', items: ref('WhatsappTemplate') } } };

export const whatsappSchemas = {
  WhatsappTemplate: {
    type: 'object',
    required: ['name', 'language', 'status', 'category', 'body', 'params'],
    properties: {
      name: { type: 'string' },
      language: { type: 'string', description: 'ru, en_US …' },
      status: { type: 'string', description: 'APPROVED, PENDING, REJECTED … (a gateway\'s configured texts: APPROVED).' },
      category: { type: 'string', nullable: true },
      body: { type: 'string', nullable: true, description: 'The body with {{1}}, {{2}} …' },
      params: { type: 'integer', description: 'How many body parameters it takes.' },
      header: { type: 'string', nullable: true, description: 'The header\'s format (TEXT, IMAGE, DOCUMENT, VIDEO, LOCATION), null without one. A DOCUMENT header carries a file (an invoice) outside the 24-hour window.' },
    },
  },
  WhatsappTemplateMapping: {
    type: 'object',
    required: ['template', 'accountId', 'waName', 'language', 'params', 'updatedAt'],
    properties: {
      template: { type: 'string', description: 'Our template.' },
      accountId: { type: 'string' },
      waName: { type: 'string' },
      language: { type: 'string' },
      params: { type: 'array', items: { type: 'string' }, description: 'Our placeholders for {{1}}, {{2}} … in order.' },
      header: { type: 'string', nullable: true, description: 'The WhatsApp template\'s header format from the catalogue: with `DOCUMENT` a file sent with this template goes in its header (one message, allowed outside the 24-hour window).' },
      updatedAt: { type: 'string', format: 'date-time' },
    },
  },
};

export const whatsappPaths = {
  '/messengers/whatsapp/{accountId}/webhook': {
    get: {
      summary: 'Meta\'s webhook verification (Cloud API): hub.challenge back as text when hub.verify_token matches',
      security: [],
      parameters: [accountParam, ...['hub.mode', 'hub.verify_token', 'hub.challenge'].map((name) => ({ name, in: 'query', required: true, schema: { type: 'string' } }))],
      responses: { '200': { description: 'The challenge.', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors(403, 404) },
    },
    post: {
      summary: 'WhatsApp webhook: Cloud API (X-Hub-Signature-256 = sha256=HMAC-SHA256(app secret, raw body)) or gateway (Authorization: Bearer <webhookToken>); unsigned or wrong → 401, nothing stored',
      security: [],
      parameters: [accountParam, { name: 'X-Hub-Signature-256', in: 'header', required: false, schema: { type: 'string' } }],
      requestBody: { required: true, content: json({ type: 'object', description: 'A Cloud API notification or a gateway webhook.' }) },
      responses: { '200': ok({ type: 'object' }, 'Stored (replays ignored; statuses only move a message forward).'), ...errors(400, 401, 404) },
    },
  },
  '/messengers/whatsapp/{accountId}/templates': {
    get: { summary: 'The account\'s WhatsApp template catalogue', security, parameters: [accountParam], responses: { '200': ok(catalogue), ...errors(401, 403, 404) } },
  },
  '/messengers/whatsapp/{accountId}/templates/sync': {
    post: {
      summary: 'Re-read the catalogue: Graph GET /{waba-id}/message_templates (Cloud), the configured texts (gateway)',
      security,
      parameters: [accountParam],
      responses: { '200': ok(catalogue), '502': { description: 'Graph could not be read.', content: json(ref('Error')) }, ...errors(401, 403, 404) },
    },
  },
  '/chat-templates/{name}/whatsapp': {
    get: {
      summary: 'Our template\'s WhatsApp forms, one per account',
      security,
      parameters: [nameParam],
      responses: { '200': ok({ type: 'object', required: ['template', 'items'], properties: { template: { type: 'string' }, items: { type: 'array', items: ref('WhatsappTemplateMapping') } } }), ...errors(400, 401, 403) },
    },
  },
  '/chat-templates/{name}/whatsapp/{accountId}': {
    put: {
      summary: 'Map our template onto an APPROVED WhatsApp template of the account',
      security,
      parameters: [nameParam, accountParam],
      requestBody: {
        required: true,
        content: json({ type: 'object', required: ['waName', 'language'], additionalProperties: false, properties: { waName: { type: 'string' }, language: { type: 'string' }, params: { type: 'array', items: { type: 'string' } } } }),
      },
      responses: {
        '200': ok(ref('WhatsappTemplateMapping'), 'Replaced.'),
        '201': ok(ref('WhatsappTemplateMapping'), 'Created.'),
        '422': { description: '`unknown_whatsapp_template` (not in the catalogue: sync it), `template_not_approved`.', content: json(ref('Error')) },
        ...errors(400, 401, 403, 404, 415),
      },
    },
    delete: { summary: 'Remove the mapping', security, parameters: [nameParam, accountParam], responses: { '204': { description: 'Removed.' }, ...errors(401, 403, 404) } },
  },
};
