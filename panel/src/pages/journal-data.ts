/**
 * The journal's URL ↔ API query, and its first page fetched as soon as the session is known (in parallel
 * with the shell's first render), so the journal's first render already has its rows.
 */
import { api, type CallPage, type Query } from '../api/client';

export const FILTER_KEYS = ['from', 'to', 'direction', 'status', 'employee', 'customer', 'number', 'hasRecording', 'q'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string>>;
export const PAGE = 50;

export function readFilters(search: string): Filters {
  const p = new URLSearchParams(search);
  const f: Filters = {};
  for (const k of FILTER_KEYS) {
    const v = p.get(k);
    if (v) f[k] = v;
  }
  return f;
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
