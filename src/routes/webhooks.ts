import { Router } from 'express';
import { z } from 'zod';
import { TokenService } from '../auth/tokens';
import { EVENT_TYPES } from '../events/event-log';
import { WebhookDispatcher } from '../events/webhooks';
import { webhookBasicAuth, webhookHeaders, webhookUrlProblem } from '../events/webhook-input';
import { requireRole } from './auth';
import { ApiError, jsonBody, route } from './errors';

export const webhookBody = z.object({
  url: z.string().url('must be an http(s) URL').max(2000).superRefine((u, ctx) => {
    const problem = webhookUrlProblem(u);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  }),
  secret: z.string().min(16, 'must be at least 16 characters').max(200).optional(),
  employees: z.array(z.string().regex(/^[0-9A-Za-z_.+-]{1,32}$/, 'must be an extension')).max(1000).optional(),
  types: z.array(z.enum(EVENT_TYPES)).max(EVENT_TYPES.length).optional(),
  fromStart: z.boolean().optional(),
  /** HTTP Basic credentials for the receiver (a 1C publication's infobase user); the password is stored encrypted, never returned. */
  basicAuth: webhookBasicAuth.optional(),
  /** Extra headers for every delivery (no credentials, framing, hop-by-hop or X-Telefonist-* names). */
  headers: webhookHeaders.optional(),
}).strict();

const ID_RE = /^[0-9A-Za-z_.:-]{1,64}$/;

/** Admin: the receivers the event log is POSTed to. */
export function webhooksRouter(tokens: TokenService, hooks: WebhookDispatcher): Router {
  const r = Router();
  const admin = requireRole(tokens, ['admin']);
  r.get('/webhooks', admin, route(async (_req, res) => {
    res.json({ items: await hooks.list() });
  }));
  r.post('/webhooks', admin, route(async (req, res) => {
    res.status(201).json(await hooks.create(jsonBody(req, webhookBody)));
  }));
  r.get('/webhooks/:id', admin, route(async (req, res) => {
    if (!ID_RE.test(req.params.id)) throw new ApiError(400, 'invalid_parameter', 'webhook id is malformed', 'id');
    const w = await hooks.get(req.params.id);
    if (!w) throw new ApiError(404, 'not_found', `no webhook ${req.params.id}`, 'id');
    res.json(w);
  }));
  r.delete('/webhooks/:id', admin, route(async (req, res) => {
    if (!ID_RE.test(req.params.id)) throw new ApiError(400, 'invalid_parameter', 'webhook id is malformed', 'id');
    if (!(await hooks.remove(req.params.id))) throw new ApiError(404, 'not_found', `no webhook ${req.params.id}`, 'id');
    res.status(204).end();
  }));
  return r;
}
