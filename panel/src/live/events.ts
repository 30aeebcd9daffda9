import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { ApiError, request } from '../api/client';
import { API } from './http';

/**
 * One EventSource on the event stream for the whole panel (cookie auth), and a small store the screens
 * subscribe to. Nothing is missed across a lost network or a server restart:
 *  - EventSource reconnects on its own and sends Last-Event-ID (the server resumes after it);
 *  - when the browser gives up (an error answer, e.g. a 502 while the server restarts) we open a new one with
 *    `?after=<last id>`; after a full reload the last id comes from sessionStorage;
 *  - every event is delivered once (ids increase; anything at or below the last id is dropped).
 * While the stream is down the status is 'offline' (the indicator says "нет связи").
 */

export interface LiveEvent {
  id: string;
  type: string;
  at: string;
  callId: string | null;
  employees: string[];
  data: Record<string, any>;
  /** performance.now() when the browser handed it to us (the banner bench). */
  receivedAt?: number;
}

export type LinkStatus = 'connecting' | 'online' | 'offline';

export const LIVE_EVENT_TYPES = [
  'call.incoming', 'call.ringing', 'call.answered', 'call.transferred', 'call.ended', 'call.merged', 'customer.linked',
  'employee.presence', 'transfer.updated', 'supervision.updated', 'call.action',
  'chat.created', 'chat.message', 'chat.message_updated', 'chat.delivery', 'chat.assigned', 'chat.observer_added', 'chat.handed_over', 'chat.closed',
] as const;

const STORAGE_KEY = 'telefonist.live.lastEventId';
const RETRY_MS = [500, 1000, 2000, 3000, 5000];
const PING_MS = 10_000;

/** Ids are decimal strings that increase: compare without BigInt. */
export function idAfter(a: string, b: string | null): boolean {
  if (b === null) return true;
  return a.length !== b.length ? a.length > b.length : a > b;
}

function readStoredId(): string | null {
  try {
    const v = sessionStorage.getItem(STORAGE_KEY);
    return v && /^\d{1,19}$/.test(v) ? v : null;
  } catch {
    return null;
  }
}

export class LiveStream {
  status: LinkStatus = 'connecting';
  lastId: string | null = readStoredId();
  /** How many times the stream was (re)opened; tests and the indicator's tooltip read it. */
  opens = 0;
  private es: EventSource | null = null;
  private listeners = new Set<(e: LiveEvent) => void>();
  private statusListeners = new Set<() => void>();
  private reopenListeners = new Set<() => void>();
  private refs = 0;
  private retry = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private wasOffline = false;
  /** SSE event names listened to (EventSource delivers a named event only to its own listeners). */
  private types = new Set<string>(LIVE_EVENT_TYPES);

  constructor(private readonly url = `${API}/events/stream`) {}

  /** Opens the stream on the first subscriber; stop() closes it on the last. */
  start(): void {
    if (this.refs++ > 0) return;
    window.addEventListener('online', this.onBrowserOnline);
    window.addEventListener('offline', this.onBrowserOffline);
    this.pingTimer = setInterval(() => void this.ping(), PING_MS);
    this.open();
  }

  stop(): void {
    if (--this.refs > 0) return;
    window.removeEventListener('online', this.onBrowserOnline);
    window.removeEventListener('offline', this.onBrowserOffline);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.closeSource();
  }

  subscribe(fn: (e: LiveEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Called each time the stream comes back after being down (screens refetch their lists). */
  onReconnect(fn: () => void): () => void {
    this.reopenListeners.add(fn);
    return () => this.reopenListeners.delete(fn);
  }

  onStatus = (fn: () => void): (() => void) => {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  };

  getStatus = (): LinkStatus => this.status;

  private setStatus(s: LinkStatus): void {
    if (s === this.status) return;
    if (s === 'offline') this.wasOffline = true;
    this.status = s;
    for (const fn of this.statusListeners) fn();
    if (s === 'online' && this.wasOffline) {
      this.wasOffline = false;
      for (const fn of this.reopenListeners) fn();
    }
  }

  private open(): void {
    this.closeSource();
    const u = new URL(this.url, window.location.href);
    if (this.lastId) u.searchParams.set('after', this.lastId);
    const es = new EventSource(u.toString(), { withCredentials: true });
    this.es = es;
    this.opens++;
    es.onopen = () => {
      this.retry = 0;
      this.setStatus('online');
    };
    es.onerror = () => {
      if (this.es !== es) return;
      this.setStatus('offline');
      // CONNECTING: the browser retries itself with Last-Event-ID. CLOSED: it gave up; we open anew.
      if (es.readyState === EventSource.CLOSED) this.scheduleReopen();
    };
    const onMessage = (m: MessageEvent) => this.deliver(m);
    for (const t of this.types) es.addEventListener(t, onMessage as EventListener);
    es.onmessage = onMessage;
  }

  private deliver(m: MessageEvent): void {
    const receivedAt = performance.now();
    const id = m.lastEventId;
    if (!id || !idAfter(id, this.lastId)) return;
    let e: LiveEvent;
    try {
      e = JSON.parse(m.data) as LiveEvent;
    } catch {
      return;
    }
    e.receivedAt = receivedAt;
    this.lastId = id;
    try {
      sessionStorage.setItem(STORAGE_KEY, id);
    } catch {
      // private mode: resume only within this page
    }
    if (this.status !== 'online') this.setStatus('online');
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        console.error('live event handler failed', err);
      }
    }
  }

  private closeSource(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.es) {
      this.es.onopen = null;
      this.es.onerror = null;
      this.es.close();
      this.es = null;
    }
  }

  private scheduleReopen(): void {
    if (this.retryTimer || this.refs === 0) return;
    const ms = RETRY_MS[Math.min(this.retry++, RETRY_MS.length - 1)];
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.refs === 0) return;
      // The browser gave up on an error answer: a 401 (the session ended) goes to sign-in, not round again.
      void this.signedIn().then((ok) => {
        if (ok === false) this.closeSource();
        else if (this.refs > 0 && (!this.es || this.es.readyState === EventSource.CLOSED)) this.open();
      });
    }, ms);
  }

  /** false: the session is gone (the shell's 401 handling shows sign-in); true / null: signed in / unknown. */
  private async signedIn(): Promise<boolean | null> {
    try {
      await request('GET', '/session');
      return true;
    } catch (e) {
      return e instanceof ApiError && e.status === 401 ? false : null;
    }
  }

  /** A socket can die without an error (a lost network): check the server, and reopen when it answers. */
  private async ping(): Promise<void> {
    if (this.refs === 0) return;
    let ok = false;
    try {
      const r = await fetch(`${API}/health`, { credentials: 'same-origin', cache: 'no-store' });
      ok = r.status !== 502 && r.status !== 504; // 503: FreeSWITCH down, the server is there
    } catch {
      ok = false;
    }
    if (!ok) {
      this.setStatus('offline');
      if (this.es && this.es.readyState === EventSource.OPEN) {
        // The stream looks open but the server is unreachable: start over (after= keeps the place).
        this.closeSource();
        this.scheduleReopen();
      }
    } else if ((!this.es || this.es.readyState === EventSource.CLOSED) && !this.retryTimer) {
      if ((await this.signedIn()) !== false && this.refs > 0 && (!this.es || this.es.readyState === EventSource.CLOSED)) this.open();
    }
  }

  private onBrowserOffline = () => {
    this.setStatus('offline');
  };

  private onBrowserOnline = () => {
    if (!this.es || this.es.readyState !== EventSource.OPEN) {
      this.retry = 0;
      this.open();
    }
  };
}

/** The panel's one stream. */
export const liveStream = new LiveStream();

declare global {
  interface Window {
    __telefonistLive?: LiveStream;
  }
}
if (typeof window !== 'undefined') window.__telefonistLive = liveStream;

export function useLinkStatus(): LinkStatus {
  return useSyncExternalStore(liveStream.onStatus, liveStream.getStatus);
}

/** Calls `fn` for each event (of `types`, or all). */
export function useLiveEvents(fn: (e: LiveEvent) => void, types?: readonly string[]): void {
  const [key] = useState(() => (types ? types.join(',') : ''));
  useEffect(() => {
    liveStream.start();
    const off = liveStream.subscribe((e) => {
      if (!types || types.includes(e.type)) fn(e);
    });
    return () => {
      off();
      liveStream.stop();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [fn, key]);
}

/** A call's events, and a customer linked to a call: what changes a list of calls or one call. */
export function isCallEvent(e: LiveEvent): boolean {
  return e.type.startsWith('call.') || e.type === 'customer.linked';
}

/**
 * Calls `refresh` after the events `match` accepts, debounced (`ms` after the last one, at most `maxMs` after
 * the first of a burst), and when the stream comes back after being down (what happened meanwhile).
 */
export function useLiveRefresh(refresh: () => void, match: (e: LiveEvent) => boolean, ms = 600, maxMs = 2500): void {
  const latest = useRef({ refresh, match });
  latest.current = { refresh, match };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let first = 0;
    const schedule = () => {
      const now = Date.now();
      if (!first) first = now;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        first = 0;
        latest.current.refresh();
      }, Math.max(0, Math.min(ms, first + maxMs - now)));
    };
    liveStream.start();
    const off = liveStream.subscribe((e) => {
      if (latest.current.match(e)) schedule();
    });
    const offReconnect = liveStream.onReconnect(schedule);
    return () => {
      off();
      offReconnect();
      if (timer) clearTimeout(timer);
      liveStream.stop();
    };
  }, [ms, maxMs]);
}
