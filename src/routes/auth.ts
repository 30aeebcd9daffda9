import type { RequestHandler } from 'express';
import { Principal, Role, TokenService } from '../auth/tokens';
import { ApiError } from './errors';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** Bearer-token authentication; `roles` lists who may call the route. */
export function requireRole(tokens: TokenService, roles: readonly Role[], opts: { queryToken?: boolean } = {}): RequestHandler {
  return (req, _res, next) => {
    const h = req.headers.authorization;
    let token: string | undefined;
    if (!h && opts.queryToken && typeof req.query.access_token === 'string') {
      // Browsers' EventSource cannot send headers: the stream also takes ?access_token=.
      token = req.query.access_token;
    } else {
      if (!h) return next(new ApiError(401, 'unauthorized', 'missing Authorization: Bearer <token> header', 'Authorization'));
      const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
      if (!m) return next(new ApiError(401, 'unauthorized', 'Authorization header must be "Bearer <token>"', 'Authorization'));
      token = m[1];
    }
    tokens
      .verify(token)
      .then((p) => {
        if (!p) return next(new ApiError(401, 'unauthorized', 'token is invalid or revoked', 'Authorization'));
        if (!roles.includes(p.role)) return next(new ApiError(403, 'forbidden', `role ${p.role} may not do this; needs ${roles.join(' or ')}`));
        req.principal = p;
        next();
      })
      .catch(next);
  };
}
