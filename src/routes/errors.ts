import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { ForbiddenError } from '../auth/scope';
import { ApiError } from '../api-error';
import { parseWith, ValidationError } from '../validation';

/** Every error leaves as {"error": {"code", "message", "field"?}} with a 4xx/5xx status. */
export { ApiError };

export function sendError(res: Response, err: ApiError): void {
  // RFC 6750 §3: a 401 names the scheme the client must use.
  if (err.status === 401) res.set('WWW-Authenticate', `Bearer realm="telefonist", error="invalid_token"`);
  res.status(err.status).json({ error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } });
}

/** Wraps an async handler so a rejected promise reaches the error handler. */
export function route(fn: (...args: Parameters<RequestHandler>) => Promise<unknown>): RequestHandler {
  return (req, res, next) => {
    fn(req, res, next).catch(next);
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `no such endpoint: ${req.method} ${req.path}`));
};

/**
 * 405 with `Allow` for a method the API does not have on a path it does have; the paths and methods come
 * from the OpenAPI document (a test keeps it equal to the implementation). Other requests pass on (404).
 */
export function methodNotAllowed(base: string, paths: Record<string, object>): RequestHandler {
  const known = Object.entries(paths).map(([path, ops]) => {
    const re = new RegExp(`^${base}${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}/?$`);
    const methods = Object.keys(ops).map((m) => m.toUpperCase());
    if (methods.includes('GET')) methods.push('HEAD');
    return { re, methods };
  });
  return (req, res, next) => {
    const allowed = known.filter((k) => k.re.test(req.path)).flatMap((k) => k.methods);
    if (allowed.length === 0 || allowed.includes(req.method)) return next();
    res.set('Allow', [...new Set(allowed)].join(', '));
    next(new ApiError(405, 'method_not_allowed', `${req.method} is not allowed on ${req.path}; allowed: ${[...new Set(allowed)].join(', ')}`));
  };
}

export function errorHandler(log: (msg: string, e: unknown) => void): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    if (res.headersSent) {
      // A stream that already started (SSE): all we can do is end it.
      log('error after the response started', err);
      res.end();
      return;
    }
    if (err instanceof ApiError) return sendError(res, err);
    if (err instanceof ValidationError) return sendError(res, new ApiError(400, err.code, err.message, err.field));
    if (err instanceof ForbiddenError) return sendError(res, new ApiError(403, 'forbidden', err.message, err.field));
    // body-parser's failures (see its README's error list), each named.
    const e = err as { type?: string; status?: number; message?: string; limit?: number };
    if (e.type === 'entity.parse.failed') {
      // V8 quotes the body in its message ("Unexpected token 's', \"{\"password\": s…\" is not valid JSON"):
      // never echo what was sent (a password, a token); the position is enough.
      const detail = (e.message ?? '').replace(/,\s*".*" is not valid JSON$/s, '').slice(0, 120);
      return sendError(res, new ApiError(400, 'invalid_json', `request body is not valid JSON: ${detail}`, 'body'));
    }
    if (e.type === 'entity.too.large') return sendError(res, new ApiError(413, 'body_too_large', `request body is larger than ${e.limit ?? 'allowed'} bytes`, 'body'));
    if (e.type === 'charset.unsupported') return sendError(res, new ApiError(415, 'unsupported_media_type', `${e.message}: send JSON as UTF-8`, 'Content-Type'));
    if (e.type === 'encoding.unsupported') return sendError(res, new ApiError(415, 'unsupported_media_type', `${e.message}: use gzip, deflate or none`, 'Content-Encoding'));
    if (e.type === 'request.size.invalid') return sendError(res, new ApiError(400, 'invalid_body', 'request body is shorter or longer than its Content-Length', 'body'));
    if (e.type === 'request.aborted') return sendError(res, new ApiError(400, 'invalid_body', 'the request body was aborted', 'body'));
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return sendError(res, new ApiError(e.status, 'bad_request', e.message ?? 'bad request'));
    }
    log('unhandled error in request', err);
    sendError(res, new ApiError(500, 'internal', 'internal error'));
  };
}

/** A JSON request body checked against a schema; wrong type or shape → 415 / 400 naming the field. */
export function jsonBody<S extends z.ZodTypeAny>(req: Request, schema: S): z.output<S> {
  if (!req.is('application/json')) throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json', 'body');
  return parseWith(schema, req.body);
}
