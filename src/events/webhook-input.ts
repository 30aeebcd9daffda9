import { z } from 'zod';

/**
 * What a webhook may add to its deliveries: Basic credentials (1C publications authenticate infobase
 * users) and a few extra headers. Shared by POST /webhooks and the TELEFONIST_WEBHOOK_* variables.
 */

/** Header names a webhook may not set: ours, framing, hop-by-hop, and the credentials (use basicAuth). */
const RESERVED_HEADERS = new Set([
  'authorization', 'proxy-authorization', 'content-length', 'content-type', 'content-encoding', 'transfer-encoding',
  'host', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-connection', 'expect',
]);
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
/** Visible ASCII, space and tab inside; no CR, LF, NUL or other control characters, nothing outside ASCII. */
const VALUE_RE = /^[\x21-\x7e]([\x20-\x7e\t]{0,998}[\x21-\x7e])?$/;

export function headerNameProblem(name: string): string | null {
  if (!TOKEN_RE.test(name)) return 'must be an HTTP header name (letters, digits, - and the token characters of RFC 9110)';
  const lower = name.toLowerCase();
  if (lower.startsWith('x-telefonist-')) return 'X-Telefonist-* headers are set by Telefonist';
  if (RESERVED_HEADERS.has(lower)) return lower === 'authorization' ? 'use basicAuth for credentials' : 'is set by the HTTP client and may not be overridden';
  return null;
}

export const webhookHeaders = z.record(z.string(), z.string()).superRefine((h, ctx) => {
  const names = Object.keys(h);
  if (names.length > 20) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'at most 20 headers' });
  const seen = new Set<string>();
  for (const name of names) {
    const problem = headerNameProblem(name);
    if (problem) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [name], message: problem });
      continue;
    }
    if (seen.has(name.toLowerCase())) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [name], message: 'repeats a header name (names are case-insensitive)' });
    seen.add(name.toLowerCase());
    if (!VALUE_RE.test(h[name])) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [name], message: 'must be 1–1000 printable ASCII characters without CR/LF, not starting or ending with a space' });
    }
  }
});

// RFC 7617: the user-id may not contain ':'; neither part may hold control characters. 1C user names are
// often Cyrillic: both are sent as UTF-8, which the 1C web server extension expects.
export const basicUsername = z.string().min(1).max(200).regex(/^[^:\x00-\x1f\x7f]+$/, 'must not contain a colon or control characters');
export const basicPassword = z.string().max(200).regex(/^[^\x00-\x1f\x7f]*$/, 'must not contain control characters (CR, LF, …)');

export const webhookBasicAuth = z.object({ username: basicUsername, password: basicPassword }).strict();

/** http(s) only, without `user:pass@` (credentials go in basicAuth, never in a URL that is shown and logged). */
export function webhookUrlProblem(u: string): string | null {
  if (!/^https?:\/\//i.test(u)) return 'must be an http(s) URL';
  try {
    const url = new URL(u);
    if (url.username || url.password) return 'must not carry credentials (user:pass@): use basicAuth';
  } catch {
    return 'must be an http(s) URL';
  }
  return null;
}

export type WebhookHeaders = z.infer<typeof webhookHeaders>;
export type WebhookBasicAuth = z.infer<typeof webhookBasicAuth>;
