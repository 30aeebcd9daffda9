import { Router } from 'express';
import { z } from 'zod';
import { ROLES, TokenService } from '../auth/tokens';
import { requireRole } from './auth';
import { ApiError, route } from './errors';

const createBody = z.object({
  name: z.string().trim().min(1).max(100),
  role: z.enum(ROLES),
}).strict();

export function tokensRouter(tokens: TokenService): Router {
  const r = Router();
  const admin = requireRole(tokens, ['admin']);
  r.get('/tokens', admin, route(async (_req, res) => {
    res.json({ items: await tokens.list() });
  }));
  r.post('/tokens', admin, route(async (req, res) => {
    if (!req.is('application/json')) throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json', 'body');
    const parsed = createBody.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(',') : 'body');
      throw new ApiError(400, 'invalid_body', issue.message, field);
    }
    res.status(201).json(await tokens.create(parsed.data.name, parsed.data.role));
  }));
  r.delete('/tokens/:id', admin, route(async (req, res) => {
    const id = req.params.id;
    if (!/^[0-9A-Za-z-]{1,64}$/.test(id)) throw new ApiError(400, 'invalid_parameter', 'token id is malformed', 'id');
    if (req.principal?.tokenId === id) throw new ApiError(409, 'conflict', 'a token cannot revoke itself', 'id');
    if (!(await tokens.revoke(id))) throw new ApiError(404, 'not_found', `no token ${id}`, 'id');
    res.status(204).end();
  }));
  return r;
}
