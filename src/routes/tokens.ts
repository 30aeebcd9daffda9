import { Router } from 'express';
import { z } from 'zod';
import { ROLES, TokenService } from '../auth/tokens';
import { Employees } from '../employees/employees';
import { requireRole } from './auth';
import { ApiError, jsonBody, route } from './errors';

const createBody = z.object({
  name: z.string().trim().min(1).max(100),
  role: z.enum(ROLES),
  employee: z.string().regex(/^[0-9A-Za-z_.+-]{1,32}$/, 'must be an extension (letters, digits, ._+-; up to 32)').optional(),
}).strict().refine((b) => b.role !== 'operator' || b.employee !== undefined, {
  path: ['employee'],
  message: 'an operator token names the operator\'s extension',
});

/**
 * API tokens (admin). A token's `employee` is the extension it acts for; once employees are configured
 * (synced from 1C), it must be one of theirs (400 naming `employee`). With no employees configured, any
 * extension is taken, as before employees existed (installations that never sync them keep working).
 */
export function tokensRouter(tokens: TokenService, employees?: Employees): Router {
  const r = Router();
  const admin = requireRole(tokens, ['admin']);
  r.get('/tokens', admin, route(async (_req, res) => {
    res.json({ items: await tokens.list() });
  }));
  r.post('/tokens', admin, route(async (req, res) => {
    const body = jsonBody(req, createBody);
    if (body.employee !== undefined && employees && employees.count() > 0 && !employees.get(body.employee)) {
      throw new ApiError(400, 'invalid_body', `employee: no employee has extension ${body.employee}`, 'employee');
    }
    res.status(201).json(await tokens.create(body.name, body.role, body.employee));
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
