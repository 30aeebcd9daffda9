import { Router } from 'express';
import { TokenService } from '../auth/tokens';
import { InvalidCursorError, JournalReader } from '../journal/journal-reader';
import { requireRole } from './auth';
import { parseCallListQuery } from './calls-query';
import { ApiError, route } from './errors';

const CALL_ID_RE = /^[0-9A-Za-z-]{1,64}$/;

export function callsRouter(tokens: TokenService, reader: JournalReader): Router {
  const r = Router();
  const readers = requireRole(tokens, ['admin', 'supervisor', 'operator', 'integration']);

  r.get(
    '/calls',
    readers,
    route(async (req, res) => {
      const request = parseCallListQuery(req.query as Record<string, unknown>);
      try {
        res.json(await reader.listCalls(request));
      } catch (e) {
        if (e instanceof InvalidCursorError) throw new ApiError(400, 'invalid_parameter', e.message, 'cursor');
        throw e;
      }
    }),
  );

  r.get(
    '/calls/:id',
    readers,
    route(async (req, res) => {
      const id = req.params.id;
      if (!CALL_ID_RE.test(id)) throw new ApiError(400, 'invalid_parameter', 'call id must be a FreeSWITCH UUID', 'id');
      const call = await reader.getCall(id);
      if (!call) throw new ApiError(404, 'not_found', `no call ${id}`, 'id');
      res.json(call);
    }),
  );
  return r;
}
