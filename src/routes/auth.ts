import type { RequestHandler } from 'express';
import { Principal, Role, TokenService } from '../auth/tokens';
import { ApiError } from './errors';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** Bearer-token authentication; `roles` lists who may call the route. */
export function requireRole(tokens: TokenService, roles: readonly Role[]): RequestHandler {
  return (req, _res, next) => {
    const h = req.headers.authorization;
    if (!h) return next(new ApiError(401, 'unauthorized', 'missing Authorization: Bearer <token> header', 'Authorization'));
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (!m) return next(new ApiError(401, 'unauthorized', 'Authorization header must be "Bearer <token>"', 'Authorization'));
    tokens
      .verify(m[1])
      .then((p) => {
        if (!p) return next(new ApiError(401, 'unauthorized', 'token is invalid or revoked', 'Authorization'));
        if (!roles.includes(p.role)) return next(new ApiError(403, 'forbidden', `role ${p.role} may not do this; needs ${roles.join(' or ')}`));
        req.principal = p;
        next();
      })
      .catch(next);
  };
}
