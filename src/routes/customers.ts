import { Router } from 'express';
import { z } from 'zod';
import { TokenService } from '../auth/tokens';
import { ConflictError, Directory, NotFoundError, searchQueryError } from '../directory/directory';
import { customerFieldsSchema, prepareCustomers, preparePhone, REF_RE } from '../directory/customer-input';
import { InvalidCursorError, JournalReader } from '../journal/journal-reader';
import { ValidationError } from '../validation';
import { requireRole } from './auth';
import { ApiError, jsonBody, route } from './errors';
import { jsonParser } from './input';
import { CALL_ID_RE, visibleCall } from './call-access';
import { employeeScope } from '../auth/scope';
import { bad, intParam, rejectUnknown, single } from './query';
import { syncFinishRoute, syncRunSchema } from './sync-run';

/** Its body (up to 5,000 customers) may be large; it is parsed only after the token is checked. */
export const BULK_SYNC_PATH = '/directory/sync';
const bulkJson = jsonParser('32mb');

const ALL = ['admin', 'supervisor', 'operator', 'integration'] as const;
const SYNC = ['admin', 'integration'] as const;

const syncBody = z.object({
  /** A full sync: every batch names the same run; `POST /directory/sync/finish` then drops the rest. */
  run: syncRunSchema.optional(),
  customers: z.unknown().optional(),
  deleted: z.array(z.string().regex(REF_RE, 'must be a 1C reference')).max(50_000).optional(),
}).strict();

const createBody = z.object({
  id: z.string().regex(REF_RE, 'must be a 1C reference (GUID)').optional(),
  name: z.string().trim().min(1, 'must not be empty').max(300),
  number: z.string().max(200).optional(),
  callId: z.string().regex(CALL_ID_RE, 'must be a call id').optional(),
  inn: z.string().trim().max(20).nullish(),
  comment: z.string().trim().max(2000).nullish(),
  contactName: z.string().trim().min(1).max(300).nullish(),
}).strict();

const phoneBody = z.object({
  number: z.string().max(200),
  contactId: z.string().regex(REF_RE, 'must be a 1C reference (GUID)').optional(),
}).strict();

function refParam(v: string, field = 'id'): string {
  if (!REF_RE.test(v)) throw new ApiError(400, 'invalid_parameter', `${field} must be a 1C reference (GUID)`, field);
  return v;
}

function domainErrors(e: unknown): never {
  if (e instanceof NotFoundError) throw new ApiError(404, 'not_found', e.message, e.field);
  if (e instanceof ConflictError) throw new ApiError(409, 'conflict', e.message, e.field);
  throw e;
}

/** The customer directory mirror: bulk sync from 1C, single records, unknown numbers, history. */
export function customersRouter(tokens: TokenService, directory: Directory, reader: JournalReader): Router {
  const r = Router();
  const all = requireRole(tokens, ALL);
  const sync = requireRole(tokens, SYNC);

  r.post(
    BULK_SYNC_PATH,
    sync,
    bulkJson,
    route(async (req, res) => {
      const t0 = Date.now();
      const body = jsonBody(req, syncBody);
      const customers = body.customers === undefined ? [] : prepareCustomers(body.customers, directory.region, 'customers');
      const up = await directory.upsertCustomers(customers, { run: body.run });
      const del = await directory.deleteCustomers(body.deleted ?? []);
      res.json({ upserted: up.upserted, deleted: del.deleted, ms: Date.now() - t0 });
    }),
  );

  syncFinishRoute(r, '/directory/sync/finish', sync, (run) => directory.finishSyncRun(run));

  r.get(
    '/directory/lookup',
    all,
    route(async (req, res) => {
      const query = req.query as Record<string, unknown>;
      rejectUnknown(query, new Set(['number']));
      const number = single(query, 'number');
      if (number === undefined) throw bad('number', 'number is required');
      let e164: string;
      try {
        e164 = preparePhone(number, directory.region, 'number').e164;
      } catch (e) {
        if (e instanceof ValidationError) throw new ApiError(400, 'invalid_phone', e.message, 'number');
        throw e;
      }
      res.json(await directory.identify(e164));
    }),
  );

  r.get(
    '/directory/search',
    all,
    route(async (req, res) => {
      const query = req.query as Record<string, unknown>;
      rejectUnknown(query, new Set(['q', 'limit']));
      const q = single(query, 'q');
      if (q === undefined) throw bad('q', 'q is required');
      const why = searchQueryError(q);
      if (why) throw bad('q', why);
      const limit = intParam(query, 'limit', 1, 50, 20);
      res.json({ items: await directory.search(q, limit) });
    }),
  );

  r.get(
    '/directory/stats',
    all,
    route(async (_req, res) => {
      res.json({ ...(await directory.counts()), cache: { entries: directory.cache.size(), ...directory.cache.stats } });
    }),
  );

  r.post(
    '/customers',
    requireRole(tokens, ALL),
    route(async (req, res) => {
      const body = jsonBody(req, createBody);
      let number = body.number;
      if (body.callId) {
        // The call's number is only given to a token that may see the call (the one scope rule).
        const call = await visibleCall(reader, body.callId, req.principal!, 'callId');
        const ext = call.externalNumber as string | null;
        if (!ext) throw new ApiError(400, 'invalid_body', `call ${body.callId} has no external number`, 'callId');
        if (number === undefined) number = ext;
      }
      if (number === undefined) throw new ApiError(400, 'invalid_body', 'give the unknown number, or the callId of a call from it', 'number');
      try {
        // Every earlier call from the number is linked; an operator is told only about their own.
        const out = await directory.createFromNumber({ ...body, number }, { visibleTo: employeeScope(req.principal!, undefined) });
        res.status(201).json(out);
      } catch (e) {
        domainErrors(e);
      }
    }),
  );

  r.get(
    '/customers/:id',
    all,
    route(async (req, res) => {
      const c = await directory.getCustomer(refParam(req.params.id));
      if (!c) throw new ApiError(404, 'not_found', `no customer ${req.params.id}`, 'id');
      res.json(c);
    }),
  );

  r.put(
    '/customers/:id',
    sync,
    route(async (req, res) => {
      const id = refParam(req.params.id);
      const body = jsonBody(req, customerFieldsSchema);
      const out = await directory.putCustomer(id, body);
      res.status(out.created ? 201 : 200).json(out.customer);
    }),
  );

  r.delete(
    '/customers/:id',
    sync,
    route(async (req, res) => {
      const { deleted } = await directory.deleteCustomers([refParam(req.params.id)]);
      if (!deleted) throw new ApiError(404, 'not_found', `no customer ${req.params.id}`, 'id');
      res.status(204).end();
    }),
  );

  r.post(
    '/customers/:id/phones',
    all,
    route(async (req, res) => {
      const id = refParam(req.params.id);
      const body = jsonBody(req, phoneBody);
      try {
        res.status(201).json(await directory.addPhone(id, body.number, body.contactId, { visibleTo: employeeScope(req.principal!, undefined) }));
      } catch (e) {
        domainErrors(e);
      }
    }),
  );

  r.delete(
    '/customers/:id/phones/:number',
    sync,
    route(async (req, res) => {
      const id = refParam(req.params.id);
      if (!(await directory.removePhone(id, req.params.number))) throw new ApiError(404, 'not_found', `customer ${id} has no phone ${req.params.number}`, 'number');
      res.status(204).end();
    }),
  );

  r.get(
    '/customers/:id/history',
    all,
    route(async (req, res) => {
      const id = refParam(req.params.id);
      const query = req.query as Record<string, unknown>;
      rejectUnknown(query, new Set(['limit', 'cursor']));
      const limit = intParam(query, 'limit', 1, 500, 50);
      const cursor = single(query, 'cursor');
      if (!(await directory.getCustomer(id))) throw new ApiError(404, 'not_found', `no customer ${id}`, 'id');
      try {
        // The customer's calls the token may see: an operator's history holds only their own calls.
        const employee = employeeScope(req.principal!, undefined);
        const calls = await reader.listCalls({ filter: { customer: id, employee }, sort: '-startedAt', limit, cursor });
        res.json({ customerId: id, items: calls.items.map((c) => ({ kind: 'call', ...c })), nextCursor: calls.nextCursor });
      } catch (e) {
        if (e instanceof InvalidCursorError) throw new ApiError(400, 'invalid_parameter', e.message, 'cursor');
        throw e;
      }
    }),
  );
  return r;
}
