/**
 * How the panel words a failed request, everywhere one is shown: a 4xx is the user's error (a text in the
 * panel's language by its code, else by its status; the server's own words only in small print), a 403 is
 * "no access", a 404 "not found"; only a 5xx or a lost network is the server's error.
 */
import { ApiError } from './client';

type T = (key: string, options?: Record<string, unknown>) => string;

export interface ErrorView {
  /** What the page says, in the panel's language. */
  title: string;
  /** The server's own words (small print), when they add something. */
  detail?: string;
  type: 'user' | 'server';
  /** The HTTP status; 0 for a lost network or a failure that is not the API's. */
  status: number;
}

export interface DescribeOptions {
  /** A page's own words for a status or a code (e.g. `{ 404: t('call.notFound') }`, `{ invalid_phone: … }`). */
  byStatus?: Record<number, string>;
  byCode?: Record<string, string>;
  /** A 4xx naming a field: the page's title for it (the journal names its filter); undefined = the generic text. */
  field?: (field: string) => string | undefined;
}

export function describeError(e: unknown, t: T, o: DescribeOptions = {}): ErrorView {
  if (!(e instanceof ApiError)) return { title: t('errors.api'), detail: e instanceof Error ? e.message : String(e), type: 'server', status: 0 };
  const said = e.message && e.message !== e.code ? t('errors.serverSaid', { message: e.message }) : undefined;
  const own = o.byCode?.[e.code] ?? o.byStatus?.[e.status];
  if (e.status >= 400 && e.status < 500) {
    if (own) return { title: own, detail: e.status === 403 ? undefined : said, type: 'user', status: e.status };
    if (e.status === 403) return { title: t('errors.forbidden'), type: 'user', status: 403 };
    const field = e.field ? o.field?.(e.field) : undefined;
    if (field) return { title: field, detail: said, type: 'user', status: e.status };
    const known = t(`errors.code.${e.code}`, { defaultValue: '' });
    if (known) return { title: known, detail: said, type: 'user', status: e.status };
    if (e.status === 404) return { title: t('errors.notFound'), detail: said, type: 'user', status: 404 };
    if (e.status === 409) return { title: t('errors.conflict'), detail: said, type: 'user', status: 409 };
    if (e.status === 429) return { title: t('errors.tooMany'), detail: said, type: 'user', status: 429 };
    return { title: t('errors.badRequest', { status: e.status }), detail: said, type: 'user', status: e.status };
  }
  if (own) return { title: own, detail: said, type: 'server', status: e.status };
  if (e.status === 503) return { title: t('errors.unavailable'), detail: said, type: 'server', status: 503 };
  return { title: `${t('errors.api')} (${e.status || '—'})`, detail: said, type: 'server', status: e.status };
}

/** One line for a place with room for one (a toast, a short message): the title, the server's words after it. */
export function errorLine(e: unknown, t: T, o?: DescribeOptions): string {
  return describeError(e, t, o).title;
}
