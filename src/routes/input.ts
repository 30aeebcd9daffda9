import express, { RequestHandler } from 'express';
import { isUtf8 } from 'node:buffer';
import { fieldPath } from '../validation';
import { ApiError } from './errors';

/**
 * Input checks every request goes through before any route reads it, so no route can forget them: the
 * URL's percent-encoding, and JSON bodies' bytes and strings.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with a decoded string we would store or query with, or null. */
function badText(s: string): string | null {
  if (s.includes('\u0000')) return 'contains a NUL character (\\u0000)';
  if (LONE_SURROGATE.test(s)) return 'contains an unpaired UTF-16 surrogate (not a character)';
  return null;
}

/**
 * The path and query string must be well-formed percent-encoded UTF-8 without NUL: else 400
 * `invalid_parameter` naming `path` or the query parameter (express would answer a path it cannot
 * decode with a bare 400, and the query parser would keep malformed escapes as literal text).
 */
export const checkUrl: RequestHandler = (req, _res, next) => {
  const url = req.originalUrl ?? req.url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return next(new ApiError(400, 'invalid_parameter', 'the path has a malformed %-escape or one that is not UTF-8', 'path'));
  }
  const pathProblem = badText(decoded);
  if (pathProblem) return next(new ApiError(400, 'invalid_parameter', `the path ${pathProblem}`, 'path'));
  if (q < 0) return next();
  for (const pair of url.slice(q + 1).split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    let key: string;
    try {
      key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
    } catch {
      return next(new ApiError(400, 'invalid_parameter', 'a query parameter name has a malformed %-escape or one that is not UTF-8', rawKey.slice(0, 64)));
    }
    const keyProblem = badText(key);
    if (keyProblem) return next(new ApiError(400, 'invalid_parameter', `a query parameter name ${keyProblem}`, 'query'));
    if (eq < 0) continue;
    let value: string;
    try {
      value = decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return next(new ApiError(400, 'invalid_parameter', `${key} has a malformed %-escape or one that is not UTF-8`, key));
    }
    const valueProblem = badText(value);
    if (valueProblem) return next(new ApiError(400, 'invalid_parameter', `${key} ${valueProblem}`, key));
  }
  next();
};

/** Byte offset of the first byte that is not part of well-formed UTF-8. */
function firstBadUtf8(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i];
    const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (n === 0 || i + n > buf.length) return i;
    if (n > 1 && !isUtf8(buf.subarray(i, i + n))) return i;
    i += n;
  }
  return -1;
}

/** The first string (value or key) in a parsed body that badText refuses, as [field path, problem]; iterative (no depth limit). */
function badStringIn(body: unknown): [string, string] | null {
  type Entry = { value: unknown; path: Array<string | number> };
  const stack: Entry[] = [{ value: body, path: [] }];
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      const p = badText(value);
      if (p) return [fieldPath(path) || 'body', p];
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: [...path, i] });
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        const p = badText(k);
        if (p) return [fieldPath([...path, k]) || 'body', `the field name ${p}`];
        stack.push({ value: v, path: [...path, k] });
      }
    }
  }
  return null;
}

/**
 * express.json with our checks: the bytes must be UTF-8 (RFC 8259; body-parser would decode bad bytes to
 * U+FFFD and we would store those) → 400 `invalid_utf8` naming `body` and the byte offset; no string or
 * field name may hold NUL or an unpaired surrogate (`"\u0000"`, `"\ud800"`: valid JSON, but PostgreSQL
 * refuses NUL and neither is text) → 400 `invalid_body` naming the field. Other failures reach the error
 * handler: 400 `invalid_json`, 413 `body_too_large`, 415 `unsupported_media_type`.
 */
export function jsonParser(limit: string): RequestHandler {
  const parse = express.json({
    limit,
    verify: (_req, _res, buf, encoding) => {
      if (String(encoding).toLowerCase() !== 'utf-8' || isUtf8(buf)) return;
      throw new ApiError(400, 'invalid_utf8', `request body is not valid UTF-8 (byte ${firstBadUtf8(buf)})`, 'body');
    },
  });
  return (req, res, next) => {
    parse(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (req.body !== undefined && req.body !== null && typeof req.body === 'object') {
        const bad = badStringIn(req.body);
        if (bad) return next(new ApiError(400, 'invalid_body', `${bad[0]}: ${bad[1]}`, bad[0]));
      }
      next();
    });
  };
}
