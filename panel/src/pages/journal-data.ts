/**
 * The journal's URL ↔ API query, and its first page fetched as soon as the session is known (in parallel
 * with the shell's first render), so the journal's first render already has its rows.
 */
import { api, DIRECTIONS, STATUSES, type CallPage, type Query } from '../api/client';

export const FILTER_KEYS = ['from', 'to', 'direction', 'status', 'employee', 'customer', 'number', 'hasRecording', 'q'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string>>;
export const PAGE = 50;

/** A filter the address carried that the journal does not apply: an impossible date, an unknown value. */
export interface DroppedFilter {
  key: FilterKey;
  value: string;
  why: 'date' | 'value';
}

/**
 * An ISO 8601 date or date-time that exists (2026-02-30 does not: the browser's Date would roll it over to
 * 2 March). Returns false for anything else.
 */
export function isExistingIsoDate(v: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(v);
  if (!m) return false;
  const [y, mo, d, h = '0', mi = '0', sec = '0'] = m.slice(1).map((x) => x ?? undefined) as string[];
  const day = new Date(Date.UTC(+y, +mo - 1, +d));
  if (day.getUTCFullYear() !== +y || day.getUTCMonth() !== +mo - 1 || day.getUTCDate() !== +d) return false;
  return +h < 24 && +mi < 60 && +sec < 60 && !Number.isNaN(new Date(v).getTime());
}

/** The filters in the address, checked: what cannot be applied is left out and listed in `dropped`. */
export function readFiltersChecked(search: string): { filters: Filters; dropped: DroppedFilter[] } {
  const p = new URLSearchParams(search);
  const f: Filters = {};
  const dropped: DroppedFilter[] = [];
  for (const k of FILTER_KEYS) {
    const v = p.get(k)?.trim();
    if (!v) continue;
    if (k === 'from' || k === 'to') {
      if (isExistingIsoDate(v)) f[k] = v;
      else dropped.push({ key: k, value: v, why: 'date' });
    } else if (k === 'status') {
      const all = v.split(',').map((x) => x.trim()).filter(Boolean);
      const ok = all.filter((x) => (STATUSES as string[]).includes(x));
      for (const x of all) if (!ok.includes(x)) dropped.push({ key: k, value: x, why: 'value' });
      if (ok.length) f[k] = ok.join(',');
    } else if (k === 'direction') {
      if ((DIRECTIONS as string[]).includes(v)) f[k] = v;
      else dropped.push({ key: k, value: v, why: 'value' });
    } else if (k === 'hasRecording') {
      if (v === 'true' || v === 'false') f[k] = v;
      else dropped.push({ key: k, value: v, why: 'value' });
    } else f[k] = v;
  }
  return { filters: f, dropped };
}

export function readFilters(search: string): Filters {
  return readFiltersChecked(search).filters;
}

export function writeFilters(f: Filters): string {
  const p = new URLSearchParams();
  for (const k of FILTER_KEYS) if (f[k]) p.set(k, f[k]!);
  const s = p.toString();
  return s ? `?${s}` : '';
}

export function firstPageQuery(filters: Filters): Query {
  return { ...filters, limit: PAGE };
}

let early: { key: string; at: number; promise: Promise<CallPage>; result?: CallPage } | null = null;

/** Called by the shell once signed in, when the address bar shows the journal. */
export function prefetchJournal(search: string): void {
  const key = writeFilters(readFilters(search));
  const entry: NonNullable<typeof early> = { key, at: Date.now(), promise: api.calls.list(firstPageQuery(readFilters(search))) };
  entry.promise.then((r) => (entry.result = r), () => undefined);
  early = entry;
}

/**
 * The prefetched first page for these filters, if fetched in the last few seconds. Not consumed here: React
 * may render the page more than once before it commits; the page calls `dropPrefetched` once mounted.
 */
export function takePrefetched(filters: Filters): { result?: CallPage; promise: Promise<CallPage> } | null {
  const e = early;
  return e && e.key === writeFilters(filters) && Date.now() - e.at < 10_000 ? e : null;
}

export function dropPrefetched(): void {
  early = null;
}
