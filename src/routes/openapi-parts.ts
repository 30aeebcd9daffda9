import { QueryParam } from './query';

/** Building blocks shared by the parts of the OpenAPI document. */

export const nullable = (schema: Record<string, unknown>) => ({ ...schema, nullable: true });
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: unknown) => ({ 'application/json': { schema } });

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid parameter or body; `field` names it (`invalid_phone` for a value that is not a phone number).',
  401: 'Missing, invalid or revoked token (or an ended panel session).',
  403: 'The token\'s role may not do this; or (`csrf`) a state-changing request signed in by the session cookie without `X-Telefonist-CSRF` or a same-origin `Origin`.',
  404: 'Not found.',
  409: 'Conflict.',
  413: 'Body too large.',
  415: 'Body is not application/json.',
  416: 'The byte range is outside the file (Content-Range: bytes */<size>).',
  422: '`unknown_employee`: the extension (`field`: employee, supervisor) is neither a configured employee nor registered on FreeSWITCH right now; nothing was sent to FreeSWITCH.',
  429: 'Too many failed authentications from this client: wait `Retry-After` seconds (tokens this client already used keep working).',
  502: 'FreeSWITCH refused the command.',
  503: 'FreeSWITCH is not connected.',
};

/** The documented error answers, each an `Error` body; every route that may answer 401 may also answer 429. */
export const errorResponses = (...codes: number[]) =>
  Object.fromEntries((codes.includes(401) && !codes.includes(429) ? [...codes, 429] : codes).map((c) => [
    String(c),
    {
      description: ERROR_TEXT[c],
      content: json(ref('Error')),
      ...(c === 429 ? { headers: { 'Retry-After': { description: 'Seconds until this client may try again.', schema: { type: 'integer' } } } } : {}),
    },
  ]));

export const queryParams = (params: QueryParam[]) =>
  params.map((p) => ({ name: p.name, in: 'query', required: false, description: p.description, schema: p.schema }));

/** The `{id}` path parameter of a call. */
export const callIdParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

/** Every route but health and sign-in: a bearer token (or the panel's session cookie). */
export const bearerSecurity = [{ bearer: [] }];

/** A 1C reference (GUID or code), as the sync batches and paths carry it. */
export const refSchema = { type: 'string', pattern: '^[0-9A-Za-z_.:-]{1,64}$' };

/** The `run` field of a bulk sync batch from 1C (`base`: `/employees`, `/directory`; `what`: what is deleted). */
export const syncRunProperty = (base: string, what: string) => ({
  ...refSchema,
  description: `A full sync names one run in every batch; \`${base}/sync/finish\` then deletes the ${what} the run did not send.`,
});

/** POST `…/sync/finish`: ends a full sync run (what it did not send is deleted). */
export const syncFinishPath = (summary: string) => ({
  post: {
    summary,
    security: bearerSecurity,
    requestBody: { required: true, content: json({ type: 'object', required: ['run'], additionalProperties: false, properties: { run: refSchema } }) },
    responses: { '200': { description: 'Done.', content: json({ type: 'object', properties: { deleted: { type: 'integer' } } }) }, ...errorResponses(400, 401, 403, 415) },
  },
});

/** PUT of one record by its key from 1C (admin, integration): 200 replaced or 201 created, both answering `answer`. */
export const replaceOperation = (summary: string, param: object, body: unknown, answer: unknown) => ({
  summary,
  security: bearerSecurity,
  parameters: [param],
  requestBody: { required: true, content: json(body) },
  responses: { '200': { description: 'Replaced.', content: json(answer) }, '201': { description: 'Created.', content: json(answer) }, ...errorResponses(400, 401, 403, 413, 415) },
});

/** DELETE of one record by its key (admin, integration): 204, or 404 when there is none. */
export const deleteOperation = (summary: string, param: object) => ({
  summary,
  security: bearerSecurity,
  parameters: [param],
  responses: { '204': { description: 'Deleted.' }, ...errorResponses(400, 401, 403, 404) },
});

/** GET of one record by its key: 200 with `answer`, or 404 when there is none. */
export const readOperation = (summary: string, param: object, description: string, answer: unknown) => ({
  summary,
  security: bearerSecurity,
  parameters: [param],
  responses: { '200': { description, content: json(answer) }, ...errorResponses(400, 401, 403, 404) },
});
