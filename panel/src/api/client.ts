/**
 * The panel's one way to the server: the public REST API under /api/v1, with the session cookie the
 * server sets on sign-in (HttpOnly, SameSite) and the CSRF header on every state-changing request.
 * No page decides what a user may see or do: a 401 sends the user to sign-in, a 403 is shown as such.
 */

export const API_BASE = '/api/v1';
export const CSRF_HEADER = 'X-Telefonist-CSRF';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly field?: string) {
    super(message);
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();
/** Called whenever the server answers 401 (the session expired or was ended elsewhere). */
export function onUnauthorized(fn: Listener): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export type Query = Record<string, string | number | boolean | undefined | null | Array<string>>;

export function queryString(q: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) {
      if (v.length) p.set(k, v.join(','));
    } else p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

export async function request<T>(method: string, path: string, opts: { body?: unknown; query?: Query; signal?: AbortSignal; quiet401?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers[CSRF_HEADER] = '1';
  const res = await fetch(`${API_BASE}${path}${queryString(opts.query)}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: opts.signal,
  });
  const text = await res.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!res.ok) {
    if (res.status === 401 && !opts.quiet401) unauthorizedListeners.forEach((fn) => fn());
    const e = body && typeof body === 'object' ? body.error : undefined;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? res.statusText, e?.field);
  }
  return body as T;
}

// ---- shapes (what the API answers; the contract is GET /api/v1/openapi.json) ----

export type Direction = 'inbound' | 'outbound' | 'internal';
export type Status = 'ringing' | 'active' | 'answered' | 'missed' | 'abandoned' | 'busy' | 'no_answer' | 'failed';
export const DIRECTIONS: Direction[] = ['inbound', 'outbound', 'internal'];
export const STATUSES: Status[] = ['ringing', 'active', 'answered', 'missed', 'abandoned', 'busy', 'no_answer', 'failed'];

export interface Ref {
  id: string;
  name: string | null;
}

export interface CallSummary {
  id: string;
  direction: Direction;
  status: Status;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  ringSeconds: number | null;
  talkSeconds: number | null;
  durationSeconds: number | null;
  externalNumber: string | null;
  callerNumber: string | null;
  callerName: string | null;
  destinationNumber: string | null;
  hangupCause: string | null;
  employees: string[];
  hasRecording: boolean;
  uncertain: boolean;
  customerId: string | null;
  identification: string | null;
  customer: Ref | null;
  contact: Ref | null;
}

export interface CallPage {
  items: CallSummary[];
  nextCursor: string | null;
}

export interface Party {
  leg?: string;
  employee?: string;
  number?: string;
  name?: string;
}

export interface TimelineEntry {
  at: string;
  kind: string;
  leg?: string | null;
  party?: Party;
  a?: Party;
  b?: Party;
  from?: Party;
  to?: Party;
  [k: string]: unknown;
}

export interface Leg {
  uuid: string;
  direction: string;
  channel: string;
  employee: string | null;
  number: string | null;
  name: string | null;
  destination: string | null;
  role: string;
  createdAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  hangupCause: string | null;
}

export interface Recording {
  url: string;
  path?: string;
  leg: string | null;
  startedAt: string | null;
  stoppedAt: string | null;
  seconds: number | null;
  stereo?: boolean;
}

export interface CallDetail extends CallSummary {
  originJob: string | null;
  origin: { kind: string; ref?: string; label?: string } | null;
  employeeDetails?: Array<{ extension: string; role: string; answered: boolean; name?: string | null }>;
  legs: Leg[];
  transferRoute: TimelineEntry[];
  timeline: TimelineEntry[];
  recordings: Recording[];
  transcription?: { status: string; progress: number };
  [k: string]: unknown;
}

export interface Segment {
  speaker: string;
  role: string;
  start: number;
  end: number;
  text: string;
}

export interface Transcript {
  callId: string;
  status: string;
  message?: string;
  items: Array<{ recordingKey?: string; status: string; progress?: number; error?: string | null; segments: Segment[] }>;
}

export interface SummaryBody {
  summary: string;
  keyPoints?: string[];
  customerWants?: string;
  agreements?: string[];
  nextActions?: Array<{ who: string; what: string; due: string | null }>;
  sentiment?: string;
}

export interface SummaryAnswer {
  callId: string;
  status: string;
  message?: string;
  summary?: SummaryBody | string;
  [k: string]: unknown;
}

export interface Phone {
  number: string;
  extension: string | null;
  kind: string;
  raw?: string;
  contactId?: string | null;
}

export interface Customer {
  id: string;
  name: string | null;
  inn?: string | null;
  comment?: string | null;
  source?: string;
  phones: Phone[];
  contacts: Array<{ id: string; name: string | null; phones?: Phone[]; position?: string | null }>;
}

export interface Lookup {
  kind: 'customer' | 'contact' | 'unknown' | string;
  number: string;
  matches: number;
  customer?: Ref & Record<string, unknown>;
  contact?: Ref & Record<string, unknown>;
  [k: string]: unknown;
}

/** One answer of GET /directory/search. */
export interface SearchItem {
  kind: 'customer' | 'contact';
  id: string;
  name: string;
  inn?: string | null;
  position?: string | null;
  customer?: { id: string; name: string };
  phones: Phone[];
}

export interface Employee {
  extension: string;
  name?: string | null;
  fullName?: string | null;
  presence: string;
  reason?: string | null;
}

/** The signed-in user as GET/POST /session answers it (fields read defensively: the shape is the server's). */
export interface Session {
  login?: string;
  name?: string | null;
  fullName?: string | null;
  role?: string;
  extension?: string | null;
  employee?: { extension?: string; name?: string | null; fullName?: string | null } | string | null;
  [k: string]: unknown;
}

export function sessionExtension(s: Session | null): string | null {
  if (!s) return null;
  if (typeof s.extension === 'string' && s.extension) return s.extension;
  if (typeof s.employee === 'string') return s.employee;
  if (s.employee && typeof s.employee === 'object' && s.employee.extension) return s.employee.extension;
  const user = (s as any).user;
  if (user && typeof user === 'object') return sessionExtension(user);
  return null;
}

export function sessionName(s: Session | null): string {
  if (!s) return '';
  const e = s.employee && typeof s.employee === 'object' ? s.employee : null;
  const user = (s as any).user;
  return (s.fullName ?? s.name ?? e?.fullName ?? e?.name ?? user?.fullName ?? user?.name ?? s.login ?? user?.login ?? sessionExtension(s) ?? '') as string;
}

// ---- endpoints ----

export const api = {
  session: {
    get: () => request<Session>('GET', '/session', { quiet401: true }),
    create: (login: string, password: string) => request<Session>('POST', '/session', { body: { login, password }, quiet401: true }),
    remove: () => request<unknown>('DELETE', '/session', { quiet401: true }),
  },
  calls: {
    list: (query: Query, signal?: AbortSignal) => request<CallPage>('GET', '/calls', { query, signal }),
    get: (id: string) => request<CallDetail>('GET', `/calls/${encodeURIComponent(id)}`),
    dial: (employee: string, number: string, origin?: { kind: string; ref?: string; label?: string }) =>
      request<{ callId: string; dial: string; employee: string; number?: { e164?: string } }>('POST', '/calls', { body: { employee, number, ...(origin ? { origin } : {}) } }),
    transcript: (id: string) => request<Transcript>('GET', `/calls/${encodeURIComponent(id)}/transcript`),
    summary: (id: string) => request<SummaryAnswer>('GET', `/calls/${encodeURIComponent(id)}/summary`),
  },
  customers: {
    create: (body: { name: string; callId?: string; number?: string; inn?: string; comment?: string }) =>
      request<{ customer: Customer; linkedCalls: number }>('POST', '/customers', { body }),
    get: (id: string) => request<Customer>('GET', `/customers/${encodeURIComponent(id)}`),
    history: (id: string, query: Query = {}) => request<{ customerId: string; items: CallSummary[]; nextCursor: string | null }>('GET', `/customers/${encodeURIComponent(id)}/history`, { query }),
  },
  directory: {
    lookup: (number: string) => request<Lookup>('GET', '/directory/lookup', { query: { number } }),
    search: (q: string, limit = 20, signal?: AbortSignal) => request<{ items: SearchItem[] }>('GET', '/directory/search', { query: { q, limit }, signal }),
  },
  employees: {
    list: () => request<{ items: Employee[]; unconfigured?: Employee[] }>('GET', '/employees'),
  },
};

/** The number to show for a call: the outside party's, else the caller's. */
export function callNumber(c: Pick<CallSummary, 'externalNumber' | 'callerNumber' | 'destinationNumber' | 'direction'>): string {
  return c.externalNumber ?? (c.direction === 'outbound' ? c.destinationNumber : c.callerNumber) ?? '';
}

/** True when the text reads as a phone number rather than a name (digits with the usual punctuation). */
export function looksLikeNumber(text: string): boolean {
  const t = text.trim();
  if (!t) return false;
  const digits = t.replace(/\D/g, '');
  return digits.length >= 3 && /^[\d\s()+\-.]+$/.test(t);
}
