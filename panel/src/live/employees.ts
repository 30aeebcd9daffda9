import { useEffect, useSyncExternalStore } from 'react';
import { liveStream } from './events';
import { liveApi } from './http';

/**
 * Colleagues with presence (online / busy / offline and why busy): GET /employees, then live from
 * `employee.presence` events (addressed to the employee and to supervisors); refetched on reconnect, and
 * every few seconds for operators, who are not sent colleagues' presence events.
 */

export interface LiveEmployee {
  extension: string;
  name: string;
  presence: 'online' | 'busy' | 'offline';
  reason: 'ringing' | 'talking' | 'held' | 'supervising' | null;
  since: string | null;
  callIds: string[];
  supervisor: boolean;
}

const REFRESH_MS = 5000;

class EmployeesStore {
  private items: LiveEmployee[] = [];
  private listeners = new Set<() => void>();
  private refs = 0;
  private offs: Array<() => void> = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  loaded = false;
  error: string | null = null;

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  get = (): LiveEmployee[] => this.items;

  private emit(): void {
    for (const fn of this.listeners) fn();
  }

  start(): void {
    if (this.refs++ > 0) return;
    liveStream.start();
    this.offs.push(
      liveStream.subscribe((e) => {
        if (e.type === 'employee.presence') this.applyPresence(e.data);
        else if (e.type.startsWith('call.')) this.soon();
      }),
      liveStream.onReconnect(() => void this.refresh()),
    );
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    void this.refresh();
  }

  stop(): void {
    if (--this.refs > 0) return;
    for (const off of this.offs) off();
    this.offs = [];
    if (this.timer) clearInterval(this.timer);
    liveStream.stop();
  }

  private soonTimer: ReturnType<typeof setTimeout> | null = null;
  private soon(): void {
    if (this.soonTimer) return;
    this.soonTimer = setTimeout(() => {
      this.soonTimer = null;
      void this.refresh();
    }, 300);
  }

  async refresh(): Promise<void> {
    try {
      const body = await liveApi<{ items: any[]; unconfigured?: any[] }>('/employees');
      this.items = body.items.map((x) => ({
        extension: x.extension,
        name: x.name ?? x.extension,
        presence: x.presence,
        reason: x.reason ?? null,
        since: typeof x.since === 'number' ? new Date(x.since).toISOString() : x.since ?? null,
        callIds: x.callIds ?? this.items.find((i) => i.extension === x.extension)?.callIds ?? [],
        supervisor: !!x.supervisor,
      }));
      this.loaded = true;
      this.error = null;
    } catch (e) {
      this.error = (e as Error).message;
    }
    this.emit();
  }

  private applyPresence(d: Record<string, any>): void {
    const ext = d.extension as string;
    const next: Partial<LiveEmployee> = { presence: d.presence, reason: d.reason ?? null, since: d.since ?? null, callIds: d.callIds ?? [] };
    if (this.items.some((i) => i.extension === ext)) this.items = this.items.map((i) => (i.extension === ext ? { ...i, ...next } : i));
    else this.items = [...this.items, { ...(next as LiveEmployee), extension: ext, name: d.name ?? ext, supervisor: false }];
    this.emit();
  }
}

export const employeesStore = new EmployeesStore();

export function useLiveEmployees(): LiveEmployee[] {
  useEffect(() => {
    employeesStore.start();
    return () => employeesStore.stop();
  }, []);
  return useSyncExternalStore(employeesStore.subscribe, employeesStore.get);
}
