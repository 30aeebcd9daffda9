import type { Request, Response } from 'express';
import { CSRF_HEADER, SESSION_COOKIE } from '../auth/sessions';
import { ApiError } from './errors';

/** One cookie's value from the request's Cookie header (no dependency: the header is `a=b; c=d`). */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    return v;
  }
  return undefined;
}

/**
 * The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it),
 * Path=/ (the panel and the API), Secure when the request came over HTTPS or TELEFONIST_COOKIE_SECURE.
 */
export function setSessionCookie(req: Request, res: Response, id: string, maxAgeMs: number, forceSecure: boolean): void {
  const secure = forceSecure || req.secure;
  const parts = [`${SESSION_COOKIE}=${id}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}`];
  if (secure) parts.push('Secure');
  res.append('Set-Cookie', parts.join('; '));
}

export function clearSessionCookie(req: Request, res: Response, forceSecure: boolean): void {
  setSessionCookie(req, res, '', 0, forceSecure);
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

function hostOf(url: string): string | null {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * CSRF defence for requests a cookie authenticates (and the sign-in itself): a state-changing request
 * must carry `X-Telefonist-CSRF` (a custom header: an HTML form cannot send one, and a cross-origin
 * script can only with a CORS preflight this server never grants), or else an `Origin` (or, without
 * one, a `Referer`) naming this server's own host. SameSite=Strict already keeps other sites' requests
 * cookie-less; this also covers sibling hosts of the same site. 403 `csrf` otherwise.
 */
/** The field a sign-in's 403 `csrf` names: the header it lacks. */
const CSRF_FIELD = 'X-Telefonist-CSRF';

export function checkCsrf(req: Request, signIn = false): void {
  if (SAFE.has(req.method)) return;
  const custom = req.headers[CSRF_HEADER];
  if (typeof custom === 'string' && custom.length > 0) return;
  const host = (req.headers.host ?? '').toLowerCase();
  const origin = req.headers.origin;
  const from = origin && origin !== 'null' ? hostOf(origin) : !origin && req.headers.referer ? hostOf(req.headers.referer) : null;
  if (host && from === host) return;
  // The sign-in has no cookie yet: say what it needs, not what a signed-in request does.
  if (signIn) {
    throw new ApiError(403, 'csrf', 'the panel\'s sign-in (POST /session) must send the header X-Telefonist-CSRF: 1 (or come from this server\'s own origin); '
      + 'without it a sign-in is refused, so that another site cannot sign a browser in', CSRF_FIELD);
  }
  throw new ApiError(403, 'csrf', `a request signed in by cookie must send the ${'X-Telefonist-CSRF'} header or come from this server's own origin`, 'Origin');
}
