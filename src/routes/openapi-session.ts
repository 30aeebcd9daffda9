import { errorResponses, json, ref } from './openapi-parts';

/** OpenAPI parts for the panel's sign-in (issue 12). */

const cookieHeader = {
  'Set-Cookie': {
    description: '`telefonist_session=<256-bit id>; Path=/; HttpOnly; SameSite=Strict; Max-Age=<TELEFONIST_SESSION_HOURS>` (+ `Secure` over HTTPS or with TELEFONIST_COOKIE_SECURE).',
    schema: { type: 'string' },
  },
};

export const sessionSchemas = {
  SessionLogin: {
    type: 'object',
    required: ['login', 'password'],
    additionalProperties: false,
    properties: { login: { type: 'string', maxLength: 256 }, password: { type: 'string', maxLength: 1024, format: 'password' } },
  },
  Session: {
    type: 'object',
    required: ['employee', 'extension', 'name', 'login', 'role', 'expiresAt'],
    properties: {
      employee: { type: 'string', description: 'The employee\'s extension (as an operator token\'s `employee`).' },
      extension: { type: 'string' },
      name: { type: 'string' },
      login: { type: 'string' },
      role: { type: 'string', enum: ['operator', 'supervisor'], description: 'supervisor when the employee holds the supervisor right (themself or through a group), read on every request.' },
      expiresAt: { type: 'string', format: 'date-time', description: 'When the session ends unless used (sliding).' },
    },
  },
};

export const sessionPaths = {
  '/session': {
    post: {
      summary: 'Sign in to the panel with an employee\'s login and password: sets the session cookie. State-changing requests signed in by the cookie must send `X-Telefonist-CSRF: 1` (or come from this server\'s own Origin); this one too: without it 403 `csrf` with `field` X-Telefonist-CSRF. Wrong credentials count as failed authentications (429 with Retry-After after a burst).',
      security: [],
      requestBody: { required: true, content: json(ref('SessionLogin')) },
      responses: {
        '201': { description: 'Signed in.', headers: cookieHeader, content: json(ref('Session')) },
        ...errorResponses(400, 401, 403, 413, 415, 429),
      },
    },
    get: {
      summary: 'Who is signed in (the session cookie; a bearer token is not a session: 401).',
      security: [{ session: [] }],
      responses: { '200': { description: 'The signed-in employee.', content: json(ref('Session')) }, ...errorResponses(401, 429) },
    },
    delete: {
      summary: 'Sign out: the session ends, with whatever it holds open (event streams); the cookie is cleared. Without a cookie: 204 all the same.',
      security: [{ session: [] }],
      responses: { '204': { description: 'Signed out.', headers: cookieHeader }, ...errorResponses(403) },
    },
  },
};
