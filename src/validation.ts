import { z } from 'zod';

/** Bad input from a user or 1C, naming the field; the API answers it with 400 and a JSON body. */
export class ValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly code = 'invalid_body',
  ) {
    super(message);
  }
}

/** Parses with a zod schema; the first problem becomes a ValidationError naming its field path. */
export function parseWith<S extends z.ZodTypeAny>(schema: S, value: unknown, root = 'body'): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  // The body itself is no field; a named root (e.g. `customers` of a sync body) leads the path.
  const path = root === 'body' ? [...issue.path] : [root, ...issue.path];
  if (issue.code === 'unrecognized_keys') path.push(issue.keys.join(','));
  const field = fieldPath(path) || root;
  const message = issue.code === 'unrecognized_keys' ? `unknown field ${field}` : `${field}: ${issue.message}`;
  throw new ValidationError(field, message);
}

/** ['customers', 3, 'phones', 0, 'number'] → customers[3].phones[0].number */
export function fieldPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?(Z|[+-](\d{2}):?(\d{2}))?)?$/;

/**
 * An ISO 8601 date (`2026-11-24`, midnight UTC) or date-time (`2026-11-24T09:00:00+03:00`, `…Z`; without
 * an offset: the server's local time), checked field by field: `2024-02-30`, hour 24, minute 60 or an
 * offset beyond ±23:59 are refused (null), never rolled over into the next day or month the way
 * `Date.parse` does. The one parser for every date and time the API takes, in queries and in bodies.
 */
export function parseIsoDateTime(v: string): Date | null {
  const m = ISO_RE.exec(v);
  if (!m) return null;
  const [, y, mo, d, hh, mi, ss, , zone, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  if (hh !== undefined && (Number(hh) > 23 || Number(mi) > 59 || (ss !== undefined && Number(ss) > 59))) return null;
  if (zone && zone !== 'Z' && (Number(oh) > 23 || Number(om) > 59)) return null;
  const t = Date.parse(hh !== undefined && zone && zone !== 'Z' && !zone.includes(':') ? `${v.slice(0, -5)}${zone.slice(0, 3)}:${zone.slice(3)}` : v);
  return Number.isNaN(t) ? null : new Date(t);
}

/** A zod string that must be an ISO 8601 date or date-time (see parseIsoDateTime), as a Date. */
export const isoDateTime = z.string().transform((v, ctx) => {
  const d = parseIsoDateTime(v);
  if (!d) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be an existing ISO 8601 date or date-time, e.g. 2026-11-24T09:00:00+03:00' });
    return z.NEVER;
  }
  return d;
});
