import type { RequestHandler, Response } from 'express';
import { hashToken, Principal, Role, TokenService } from '../auth/tokens';
import { AuthThrottle } from '../auth/throttle';
import { ApiError } from './errors';
import { employeeHoldKey, SESSION_COOKIE } from '../auth/sessions';
import { checkCsrf, clearSessionCookie, readCookie, setSessionCookie } from './cookies';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** Emitted on a response whose token was revoked while it was open; long-lived handlers listen for it. */
export const TOKEN_REVOKED = 'tokenRevoked';

/** Whether the token that authorised this response has been revoked since. */
export function tokenRevoked(res: Response): boolean {
  return res.locals.tokenRevoked === true;
}

/** The answer to a request whose token was revoked while it waited: 401. */
export function revokedError(): ApiError {
  return new ApiError(401, 'unauthorized', 'the token was revoked', 'Authorization');
}

/**
 * What revocation does to a response the token authorised: a handler that listens for TOKEN_REVOKED (the
 * SSE stream, a long-poll) ends it itself; a body already streaming (a recording) is cut; a short request
 * still being worked on was authorised when it began and finishes.
 */
function onRevoked(res: Response): void {
  res.locals.tokenRevoked = true;
  if (res.listenerCount(TOKEN_REVOKED) > 0) res.emit(TOKEN_REVOKED);
  else if (res.headersSent && !res.writableEnded) res.destroy();
}

/**
 * Bearer-token authentication; `roles` lists who may call the route. Answers 401 (missing, malformed,
 * unknown or revoked token, `field: "Authorization"`), 403 (role may not), or 429 with `Retry-After`
 * when this client failed to authenticate too often (see AuthThrottle). The response is held for the
 * token until it ends, so revoking the token ends it (see TokenService.hold).
 */
export function requireRole(tokens: TokenService, roles: readonly Role[], opts: { queryToken?: boolean } = {}): RequestHandler {
  return (req, res, next) => {
    const client = AuthThrottle.clientKey(req.ip);
    const throttle = tokens.throttle;
    const h = req.headers.authorization;
    // A panel sign-in: the session cookie, when the request names no token itself.
    const cookie = !h && !(opts.queryToken && typeof req.query.access_token === 'string') && tokens.sessions ? readCookie(req, SESSION_COOKIE) : undefined;
    if (cookie !== undefined) return sessionAuth(tokens, roles, cookie, client)(req, res, next);
    let token: string | undefined;
    let problem: string | undefined;
    if (!h && opts.queryToken && typeof req.query.access_token === 'string') {
      // Browsers' EventSource cannot send headers: the stream also takes ?access_token=.
      token = req.query.access_token;
    } else if (!h) {
      problem = 'missing Authorization: Bearer <token> header';
    } else {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
      if (m) token = m[1];
      else problem = 'Authorization header must be "Bearer <token>"';
    }
    const hash = token ? hashToken(token) : undefined;
    const fail = (message: string) =>
      throttle.failed(client, message).then(() => next(new ApiError(401, 'unauthorized', message, 'Authorization')));
    (async () => {
      if (!hash || !throttle.knownGood(client, hash)) {
        const refused = await throttleRefusal(throttle, client, res, (s) => `too many failed authentications from this address; retry in ${s} s`, 'Authorization');
        if (refused) return next(refused);
      }
      if (problem || !token || !hash) return fail(problem ?? 'token is empty');
      const p = await tokens.verify(token);
      if (!p || tokens.isRevoked(p.tokenId)) return fail('token is invalid or revoked');
      throttle.succeeded(client, hash);
      if (!roles.includes(p.role)) return next(new ApiError(403, 'forbidden', `role ${p.role} may not do this; needs ${roles.join(' or ')}`));
      req.principal = p;
      const release = tokens.hold(p.tokenId, () => onRevoked(res));
      res.once('close', release);
      next();
    })().catch(next);
  };
}

/**
 * The failed-authentication throttle's answer for a client (src/auth/throttle.ts): while the client is
 * blocked, sets `Retry-After` (whole seconds, at least 1) and returns the 429 `too_many_requests` to send,
 * its message made from those seconds; undefined when the client may go on. Shared by bearer tokens,
 * session cookies, the sign-in and the messengers' webhooks.
 */
export async function throttleRefusal(
  throttle: AuthThrottle, client: string, res: Response, message: (seconds: number) => string, field?: string,
): Promise<ApiError | undefined> {
  const waitMs = await throttle.blockedFor(client);
  if (waitMs <= 0) return undefined;
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  res.set('Retry-After', String(seconds));
  return new ApiError(429, 'too_many_requests', message(seconds), field);
}

/**
 * requireRole for a session cookie: the same throttle, CSRF check on state-changing methods (see
 * checkCsrf), the session's principal (an operator bound to the employee's extension, or a supervisor),
 * the same role check; the response is held for the session and for the employee's sessions, so logout,
 * a password change or the employee's deletion ends it. A sliding expiry sends the cookie again.
 */
function sessionAuth(tokens: TokenService, roles: readonly Role[], cookie: string, client: string): RequestHandler {
  return (req, res, next) => {
    const throttle = tokens.throttle;
    const sessions = tokens.sessions!;
    const hash = hashToken(cookie);
    (async () => {
      if (!throttle.knownGood(client, hash)) {
        const refused = await throttleRefusal(throttle, client, res, (s) => `too many failed authentications from this address; retry in ${s} s`, 'Cookie');
        if (refused) return next(refused);
      }
      checkCsrf(req);
      const v = await sessions.verify(cookie);
      if (!v || !sessions.stillValid(v)) {
        await throttle.failed(client, 'session is invalid or expired');
        clearSessionCookie(req, res, tokens.cookieSecure);
        return next(new ApiError(401, 'unauthorized', 'the session is invalid or has expired; sign in again', 'Cookie'));
      }
      throttle.succeeded(client, hash);
      if (v.slid) setSessionCookie(req, res, cookie, sessions.idleMs, tokens.cookieSecure);
      if (!roles.includes(v.principal.role)) return next(new ApiError(403, 'forbidden', `role ${v.principal.role} may not do this; needs ${roles.join(' or ')}`));
      if (!sessions.stillValid(v)) return next(new ApiError(401, 'unauthorized', 'the session has ended; sign in again', 'Cookie'));
      req.principal = v.principal;
      // Who is signed in, as GET /session answers it: read here once, not verified a second time there.
      res.locals.sessionWho = v.who;
      const release = tokens.hold(v.principal.tokenId, () => onRevoked(res));
      const releaseEmployee = tokens.hold(employeeHoldKey(v.principal.employee!), () => onRevoked(res));
      res.once('close', () => {
        release();
        releaseEmployee();
      });
      next();
    })().catch(next);
  };
}
