import { Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import { TokenService } from '../auth/tokens';
import { SUPERVISION_MODES } from '../calls/commands';
import { ActionError, Control } from '../control/control';
import { Transfers } from '../control/transfers';
import { Supervisions } from '../control/supervision';
import { requireRole } from './auth';
import { ApiError, jsonBody, route } from './errors';

/**
 * Call control over HTTP: validation and answers only; the operations are src/control/*. Every body is a
 * strict zod schema (unknown fields 400); every value that reaches FreeSWITCH is checked again against the
 * command builder's patterns (src/calls/commands.ts), so a newline, space, `&`, `,`, `'`, brackets, `^^` or
 * `${` in any field is a 400 and nothing is written to the socket. FreeSWITCH down: 503; refusing: 502;
 * connected but silent past the command timeout: 504 `freeswitch_timeout`.
 */

const ext = z.string().max(32);
const transferBody = z.object({
  callId: z.string().max(64),
  initiator: ext,
  target: z.string().max(64),
  flow: z.enum(['attended', 'blind']).default('attended'),
  timeoutSeconds: z.number().int().min(5).max(120).default(30),
}).strict();
const holdBody = z.object({ leg: z.string().max(64).optional(), employee: ext.optional() }).strict();
const hangupBody = z.object({ leg: z.string().max(64).optional(), cause: z.string().max(32).optional() }).strict();
const supervisionBody = z.object({ supervisor: ext, mode: z.enum(SUPERVISION_MODES), employee: ext.optional() }).strict();
const modeBody = z.object({ mode: z.enum(SUPERVISION_MODES) }).strict();

/** A body that may be absent (no Content-Type, empty): {}. */
function optionalBody<S extends z.ZodTypeAny>(req: Request, schema: S): z.output<S> {
  if (!req.headers['content-type'] && (req.headers['content-length'] === undefined || req.headers['content-length'] === '0')) return schema.parse({});
  return jsonBody(req, schema);
}

/** route() that turns the operations' ActionError (status, code, field) into the API's error answer. */
function act(fn: (req: Request, res: Response) => Promise<unknown>): RequestHandler {
  return route(async (req, res) => {
    try {
      await fn(req, res);
    } catch (e) {
      if (e instanceof ActionError) throw new ApiError(e.status, e.code, e.message, e.field);
      throw e;
    }
  });
}

export function controlRouter(tokens: TokenService, control: Control, transfers: Transfers, supervisions: Supervisions): Router {
  const r = Router();
  const anyRole = requireRole(tokens, ['admin', 'supervisor', 'operator', 'integration']);

  r.post('/transfers', anyRole, act(async (req, res) => {
    res.status(201).json(await transfers.create(jsonBody(req, transferBody), req.principal!));
  }));
  r.get('/transfers/:id', anyRole, act(async (req, res) => {
    res.json(transfers.get(req.params.id, req.principal!));
  }));
  r.put('/transfers/:id/complete', anyRole, act(async (req, res) => {
    res.json(await transfers.complete(req.params.id, req.principal!));
  }));
  r.delete('/transfers/:id', anyRole, act(async (req, res) => {
    res.json(await transfers.cancel(req.params.id, req.principal!));
  }));

  r.post('/calls/:id/hold', anyRole, act(async (req, res) => {
    res.json(await control.hold(req.params.id, optionalBody(req, holdBody), req.principal!, false));
  }));
  r.post('/calls/:id/resume', anyRole, act(async (req, res) => {
    res.json(await control.hold(req.params.id, optionalBody(req, holdBody), req.principal!, true));
  }));
  r.post('/calls/:id/hangup', anyRole, act(async (req, res) => {
    res.json(await control.hangup(req.params.id, optionalBody(req, hangupBody), req.principal!));
  }));

  r.post('/calls/:id/supervision', anyRole, act(async (req, res) => {
    res.status(201).json(await supervisions.start(req.params.id, jsonBody(req, supervisionBody), req.principal!));
  }));
  r.get('/calls/:id/supervision/:sid', anyRole, act(async (req, res) => {
    res.json(supervisions.get(req.params.id, req.params.sid, req.principal!));
  }));
  r.put('/calls/:id/supervision/:sid', anyRole, act(async (req, res) => {
    res.json(await supervisions.switchMode(req.params.id, req.params.sid, jsonBody(req, modeBody).mode, req.principal!));
  }));
  r.delete('/calls/:id/supervision/:sid', anyRole, act(async (req, res) => {
    res.json(await supervisions.stop(req.params.id, req.params.sid, req.principal!));
  }));
  return r;
}
