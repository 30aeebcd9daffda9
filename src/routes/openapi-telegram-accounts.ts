import { errorResponses, json, nullable, ref } from './openapi-parts';

/** OpenAPI parts for employees' own Telegram accounts (issue 13, C9). */

const notConfigured = {
  '503': { description: 'TELEGRAM_API_ID / TELEGRAM_API_HASH are not configured (the message says so, in Russian).', content: json(ref('Error')) },
};
const errors = (...codes: number[]) => ({
  ...errorResponses(...codes),
  ...(codes.includes(502) ? { '502': { description: 'Telegram answered with an error the person cannot fix (named in the message).', content: json(ref('Error')) } } : {}),
  ...notConfigured,
});
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

export const telegramAccountSchemas = {
  TelegramAccount: {
    type: 'object',
    required: ['id', 'accountId', 'employee', 'phone', 'telegramUserId', 'state', 'connectedAt'],
    description: 'A connected account; the session never leaves the server.',
    properties: {
      id: { type: 'string' },
      accountId: { type: 'string', description: 'The chat account id: `telegram-user:<id>`.' },
      employee: { type: 'string', description: 'The extension of the employee who owns it.' },
      phone: { type: 'string' },
      telegramUserId: { type: 'string' },
      username: nullable({ type: 'string' }),
      name: nullable({ type: 'string' }),
      state: { type: 'string', enum: ['connected', 'offline', 'revoked'], description: 'revoked: Telegram ended the session (or the secrets key changed): connect again.' },
      connectedAt: { type: 'string', format: 'date-time' },
    },
  },
  TelegramLoginStep: {
    type: 'object',
    required: ['id', 'status'],
    properties: {
      id: { type: 'string', description: 'The login id (valid 10 minutes); the account id once connected.' },
      status: { type: 'string', enum: ['code_sent', 'password_needed', 'connected'] },
      next: { type: 'string', enum: ['code', 'password'] },
      employee: { type: 'string' },
      phone: { type: 'string' },
      viaApp: { type: 'boolean', description: 'The code went to the Telegram apps (else SMS).' },
      hint: nullable({ type: 'string', description: 'The two-step password hint.' }),
      expiresAt: { type: 'string', format: 'date-time' },
      account: ref('TelegramAccount'),
    },
  },
};

export const telegramAccountPaths = {
  '/messengers/telegram/accounts': {
    post: {
      summary: 'Connect an employee\'s own Telegram account, step 1: Telegram sends a code. An employee connects his own; an admin names `employee`.',
      requestBody: {
        required: true,
        content: json({ type: 'object', required: ['phone'], additionalProperties: false, properties: { phone: { type: 'string' }, employee: { type: 'string' } } }),
      },
      responses: { '202': { description: 'Code sent.', content: json(ref('TelegramLoginStep')) }, ...errors(400, 401, 403, 415, 502) },
    },
    get: {
      summary: 'Connected accounts: an employee his own, an admin all (`?employee=`). Never the session.',
      parameters: [{ name: 'employee', in: 'query', required: false, schema: { type: 'string' } }],
      responses: { '200': { description: 'Accounts.', content: json({ type: 'object', properties: { items: { type: 'array', items: ref('TelegramAccount') } } }) }, ...errors(400, 401, 403) },
    },
  },
  '/messengers/telegram/accounts/{id}/code': {
    post: {
      summary: 'Step 2: the code Telegram sent. A wrong one is a 400 with `field: code`; with two-step verification on, the answer asks for the password.',
      parameters: [idParam],
      requestBody: { required: true, content: json({ type: 'object', required: ['code'], additionalProperties: false, properties: { code: { type: 'string' } } }) },
      responses: { '200': { description: 'Connected, or the password is needed.', content: json(ref('TelegramLoginStep')) }, ...errors(400, 401, 403, 404, 409, 415, 502) },
    },
  },
  '/messengers/telegram/accounts/{id}/password': {
    post: {
      summary: 'Step 3 (two-step verification): the cloud password. A wrong one is a 400 with `field: password`.',
      parameters: [idParam],
      requestBody: { required: true, content: json({ type: 'object', required: ['password'], additionalProperties: false, properties: { password: { type: 'string', format: 'password' } } }) },
      responses: { '200': { description: 'Connected.', content: json(ref('TelegramLoginStep')) }, ...errors(400, 401, 403, 404, 409, 415, 502) },
    },
  },
  '/messengers/telegram/accounts/{id}': {
    delete: {
      summary: 'Disconnect: logs the session out on Telegram and removes it (or abandons a login in progress).',
      parameters: [idParam],
      responses: { '204': { description: 'Disconnected.' }, ...errors(400, 401, 403, 404) },
    },
  },
};
