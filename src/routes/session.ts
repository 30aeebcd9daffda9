import { Router } from 'express';
import { z } from 'zod';
import { SESSION_COOKIE, PanelSessions } from '../auth/sessions';
import { AuthThrottle } from '../auth/throttle';
import { TokenService } from '../auth/tokens';
import { requireRole, throttleRefusal } from './auth';
import { checkCsrf, clearSessionCookie, readCookie, setSessionCookie } from './cookies';
import { ApiError, jsonBody, route } from './errors';

const loginBody = z.object({
  login: z.string().min(1, 'must not be empty').max(256),
  password: z.string().min(1, 'must not be empty').max(1024),
}).strict();

/**
 * The panel's sign-in (issue 12): POST /session {login, password} sets the session cookie, GET /session
 * says who is signed in, DELETE /session signs out. Wrong credentials count as failed authentications in
 * the same per-client throttle as bad tokens (429 with Retry-After once a client failed too often).
 */
export function sessionRouter(tokens: TokenService, sessions: PanelSessions): Router {
  const r = Router();
  const signedIn = requireRole(tokens, ['operator', 'supervisor']);

  r.post('/session', route(async (req, res) => {
    checkCsrf(req, true);
    const client = AuthThrottle.clientKey(req.ip);
    const refused = await throttleRefusal(tokens.throttle, client, res, (s) => `too many failed sign-ins from this address; retry in ${s} s`, 'password');
    if (refused) throw refused;
    const body = jsonBody(req, loginBody);
    const out = await sessions.login(body.login, body.password);
    if (!out) {
      await tokens.throttle.failed(client, 'wrong login or password');
      throw new ApiError(401, 'invalid_credentials', 'wrong login or password');
    }
    // Signing in again replaces the session this browser had.
    const old = readCookie(req, SESSION_COOKIE);
    if (old) await sessions.logout(old);
    setSessionCookie(req, res, out.id, sessions.idleMs, tokens.cookieSecure);
    res.status(201).json(out.who);
  }));

  r.get('/session', (req, _res, next) => {
    if (readCookie(req, SESSION_COOKIE) === undefined || req.headers.authorization) {
      return next(new ApiError(401, 'unauthorized', 'not signed in: POST /session with a login and password', 'Cookie'));
    }
    next();
  }, signedIn, route(async (req, res) => {
    const who = res.locals.sessionWho;
    if (!who || !req.principal!.session) throw new ApiError(401, 'unauthorized', 'the session has ended; sign in again', 'Cookie');
    res.json(who);
  }));

  r.delete('/session', route(async (req, res) => {
    const id = readCookie(req, SESSION_COOKIE);
    if (id !== undefined) {
      checkCsrf(req);
      await sessions.logout(id);
    }
    clearSessionCookie(req, res, tokens.cookieSecure);
    res.status(204).end();
  }));
  return r;
}
