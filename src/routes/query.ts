import { parseIsoDateTime } from '../validation';
import { ApiError } from './errors';

/** A query parameter: one definition feeds both the validator and the OpenAPI document. */
export interface QueryParam {
  name: string;
  description: string;
  schema: Record<string, unknown>;
}

export function bad(field: string, message: string): ApiError {
  return new ApiError(400, 'invalid_parameter', message, field);
}

export function rejectUnknown(query: Record<string, unknown>, known: ReadonlySet<string>): void {
  for (const k of Object.keys(query)) {
    if (!known.has(k)) throw bad(k, `unknown parameter ${JSON.stringify(k)}; ${known.size ? `known: ${[...known].join(', ')}` : 'this endpoint takes none'}`);
  }
}

export function intParam(query: Record<string, unknown>, name: string, min: number, max: number, def: number): number {
  const raw = single(query, name);
  if (raw === undefined) return def;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) throw bad(name, `${name} must be an integer from ${min} to ${max}`);
  return Number(raw);
}

export function single(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(name, `${name} must be given once, as a plain value`);
  return v;
}

export function list<T extends string>(query: Record<string, unknown>, name: string, allowed: readonly T[]): T[] | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  const parts = (Array.isArray(raw) ? raw : [raw]).flatMap((x) => {
    if (typeof x !== 'string') throw bad(name, `${name} must be a comma-separated list`);
    return x.split(',');
  });
  const out: T[] = [];
  for (const p of parts.map((s) => s.trim()).filter(Boolean)) {
    if (!allowed.includes(p as T)) throw bad(name, `${name} must be one of ${allowed.join(', ')}; got ${JSON.stringify(p)}`);
    out.push(p as T);
  }
  if (out.length === 0) throw bad(name, `${name} is empty`);
  return out;
}


/**
 * A date or date-time query parameter (ISO 8601, checked by parseIsoDateTime: no 30 February), or 400
 * naming it.
 */
export function dateParam(query: Record<string, unknown>, name: string): Date | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  const d = parseIsoDateTime(v);
  if (!d) throw bad(name, `${name} must be an existing ISO 8601 date or date-time, e.g. 2026-11-24T09:00:00+03:00; got ${JSON.stringify(v.slice(0, 40))}`);
  return d;
}
