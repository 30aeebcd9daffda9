import { useSyncExternalStore } from 'react';
import { LiveEvent, liveStream } from './events';

/**
 * The signed-in employee's calls, as the event stream tells them: ringing ones get a banner (several at
 * once each get theirs), answered ones the active call window, ended ones stay in the recent list (with the
 * ones missed while the panel was away: the stream replays them on reconnect).
 */

export interface Party {
  id: string;
  name: string;
}

export interface LiveTransfer {
  id: string;
  updatedAt?: string;
  callId: string;
  flow: 'attended' | 'blind';
  target: string;
  state: string;
  blind: boolean;
  cause: string | null;
}

export interface LiveSupervision {
  id: string;
  updatedAt?: string;
  callId: string;
  supervisor: string;
  employee: string;
  mode: string;
  state: string;
  cause: string | null;
}

export interface LiveCall {
  callId: string;
  direction: string;
  number: string | null;
  numberE164: string | null;
  callerName: string | null;
  /** The DID (or extension) that was dialled. */
  did: string | null;
  customer: Party | null;
  contact: Party | null;
  /** 'callee': it rings for me; 'caller': I placed it. */
  role: 'callee' | 'caller' | null;
  state: 'ringing' | 'answered' | 'ended' | 'gone';
  ringingAt: number;
  answeredAt: number | null;
  endedAt: number | null;
  answeredBy: string | null;
  status: string | null;
  hangupCause: string | null;
  /** Rang for me, ended without my answer. */
  missed: boolean;
  held: boolean;
  transfer: LiveTransfer | null;
  screenPop: { action: string; customerId?: string; contactId?: string | null; number?: string } | null;
  /** performance.now() of the event that made the banner (bench). */
  bannerEventAt: number | null;
  /** Id of the first event of this call we saw. */
  firstEventId: string;
}

interface State {
  calls: LiveCall[];
  supervisions: LiveSupervision[];
  /** The call whose customer card to open (set on answer). */
  cardCallId: string | null;
}

function older(a: { updatedAt?: string }, b: { updatedAt?: string }): boolean {
  return !!a.updatedAt && !!b.updatedAt && a.updatedAt < b.updatedAt;
}

const KEEP = 50;

function ms(iso: unknown): number {
  const t = typeof iso === 'string' ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? t : Date.now();
}

export class CallsStore {
  private state: State = { calls: [], supervisions: [], cardCallId: null };
  private listeners = new Set<() => void>();
  private me: string | null = null;
  private off: (() => void) | null = null;

  /** Starts following the stream for `me` (the session's extension). */
  start(me: string | null): void {
    this.me = me;
    if (this.off) return;
    this.off = liveStream.subscribe((e) => this.apply(e));
  }

  stop(): void {
    this.off?.();
    this.off = null;
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  get = (): State => this.state;

  private set(next: Partial<State>): void {
    this.state = { ...this.state, ...next };
    for (const fn of this.listeners) fn();
  }

  private patch(callId: string, fn: (c: LiveCall) => LiveCall | null): void {
    const calls = this.state.calls.map((c) => (c.callId === callId ? fn(c) : c)).filter((c): c is LiveCall => c !== null);
    this.set({ calls });
  }

  find(callId: string): LiveCall | undefined {
    return this.state.calls.find((c) => c.callId === callId);
  }

  openCard(callId: string | null): void {
    this.set({ cardCallId: callId });
  }

  /** Removes an ended call from the recent list. */
  dismiss(callId: string): void {
    this.set({ calls: this.state.calls.filter((c) => c.callId !== callId) });
  }

  setHeld(callId: string, held: boolean): void {
    this.patch(callId, (c) => ({ ...c, held }));
  }

  setTransfer(t: LiveTransfer | null, callId: string): void {
    // An answer and the stream can cross: never go back to an older state of the same transfer.
    this.patch(callId, (c) => (t && c.transfer && c.transfer.id === t.id && older(t, c.transfer) ? c : { ...c, transfer: t }));
  }

  setSupervision(s: LiveSupervision): void {
    const prev = this.state.supervisions.find((x) => x.id === s.id);
    if (prev && older(s, prev)) return;
    if (this.endedSupervisions.has(s.id)) return;
    // My supervision leg rings me as a call of its own (its id is the supervision's), merged into the
    // supervised call once it joins: neither is a call of mine.
    const ids = [s.callId, s.id, (s as { leg?: string }).leg].filter((x): x is string => !!x);
    if (ids.some((x) => !this.supervisedCalls.has(x))) {
      for (const x of ids) this.supervisedCalls.add(x);
      if (this.state.calls.some((c) => ids.includes(c.callId))) this.set({ calls: this.state.calls.filter((c) => !ids.includes(c.callId)) });
    }
    const rest = this.state.supervisions.filter((x) => x.id !== s.id);
    if (s.state === 'ended' || s.state === 'failed') this.endedSupervisions.add(s.id);
    this.set({ supervisions: s.state === 'ended' || s.state === 'failed' ? rest : [...rest, s] });
  }

  /** Calls I supervise: my supervision leg on them is no call of mine (no banner, no call window). */
  private supervisedCalls = new Set<string>();
  private endedSupervisions = new Set<string>();

  /**
   * After a full reload the stream resumes after the last event seen, so calls that were already ringing or
   * talking are read from the journal once: ringing for me → banner; answered by me and my leg live → window.
   */
  async recover(me: string, read: (path: string) => Promise<any>): Promise<void> {
    let page: { items: any[] };
    try {
      page = await read(`/calls?status=ringing,active&employee=${encodeURIComponent(me)}&limit=20`);
    } catch {
      return;
    }
    for (const c of page.items) {
      if (this.find(c.id)) continue;
      let d: any;
      try {
        d = await read(`/calls/${encodeURIComponent(c.id)}`);
      } catch {
        continue;
      }
      const mine = (d.legs as any[]).filter((l) => l.employee === me && !l.endedAt);
      if (!mine.length || (d.employeeDetails ?? []).some((x: any) => x.extension === me && x.role === 'supervisor')) continue;
      if (this.find(c.id)) continue;
      const answered = mine.some((l) => l.answeredAt);
      const leg = mine.find((l) => l.answeredAt) ?? mine[0];
      this.upsert({
        callId: d.id,
        direction: d.direction,
        number: d.externalNumber ?? null,
        numberE164: d.externalNumber ?? null,
        callerName: d.callerName ?? null,
        did: d.destinationNumber ?? null,
        customer: d.customer?.id ? { id: d.customer.id, name: d.customer.name ?? '' } : null,
        contact: d.contact?.id ? { id: d.contact.id, name: d.contact.name ?? '' } : null,
        role: leg.role === 'caller' ? 'caller' : 'callee',
        state: answered ? 'answered' : 'ringing',
        ringingAt: Date.parse(d.startedAt),
        answeredAt: answered ? Date.parse(leg.answeredAt) : null,
        endedAt: null,
        answeredBy: answered ? me : null,
        status: d.status,
        hangupCause: null,
        missed: false,
        held: false,
        transfer: null,
        screenPop: null,
        bannerEventAt: null,
        firstEventId: '0',
      });
    }
  }

  private summary(e: LiveEvent, prev?: LiveCall): LiveCall {
    const d = e.data;
    return {
      callId: e.callId ?? d.callId,
      direction: d.direction ?? prev?.direction ?? 'inbound',
      number: d.number ?? prev?.number ?? null,
      numberE164: d.numberE164 ?? prev?.numberE164 ?? null,
      callerName: d.callerName ?? prev?.callerName ?? null,
      did: d.destinationNumber ?? prev?.did ?? null,
      customer: d.customer ?? null,
      contact: d.contact ?? null,
      role: prev?.role ?? null,
      state: prev?.state ?? 'ringing',
      ringingAt: prev?.ringingAt ?? ms(d.startedAt ?? e.at),
      answeredAt: prev?.answeredAt ?? null,
      endedAt: prev?.endedAt ?? null,
      answeredBy: prev?.answeredBy ?? null,
      status: d.status ?? prev?.status ?? null,
      hangupCause: prev?.hangupCause ?? null,
      missed: prev?.missed ?? false,
      held: prev?.held ?? false,
      transfer: prev?.transfer ?? null,
      screenPop: prev?.screenPop ?? null,
      bannerEventAt: prev?.bannerEventAt ?? null,
      firstEventId: prev?.firstEventId ?? e.id,
    };
  }

  private upsert(c: LiveCall): void {
    const others = this.state.calls.filter((x) => x.callId !== c.callId);
    const calls = [c, ...others].sort((a, b) => b.ringingAt - a.ringingAt).slice(0, KEEP);
    this.set({ calls });
  }

  apply(e: LiveEvent): void {
    const me = this.me;
    const forMe = !me || e.employees.includes(me);
    const callId = e.callId ?? (e.data.callId as string | undefined);
    const prev = callId ? this.find(callId) : undefined;
    switch (e.type) {
      case 'call.incoming':
      case 'call.ringing': {
        if (!callId || !forMe || !me) return;
        if (prev && prev.state !== 'ringing') return;
        if (this.supervisedCalls.has(callId)) return;
        const role = e.data.role === 'caller' ? 'caller' : 'callee';
        this.upsert({ ...this.summary(e, prev), role, state: 'ringing', bannerEventAt: prev?.bannerEventAt ?? e.receivedAt ?? null });
        return;
      }
      case 'call.answered': {
        if (!callId) return;
        const by = (e.data.answeredBy as string | null) ?? null;
        const mine = (by === me || (by === null && forMe && !!prev)) && !this.supervisedCalls.has(callId);
        if (mine) {
          this.upsert({ ...this.summary(e, prev), role: prev?.role ?? 'callee', state: 'answered', answeredAt: ms(e.at), answeredBy: by, screenPop: e.data.screenPop ?? null });
          if (by === me) this.set({ cardCallId: callId });
        } else if (prev && prev.state === 'ringing') {
          // Someone else picked it up: my banner goes.
          this.patch(callId, (c) => ({ ...this.summary(e, c), state: 'gone', answeredBy: by }));
        }
        return;
      }
      case 'call.transferred': {
        if (!callId || !prev) return;
        if (e.data.from === me && e.data.to !== me) this.patch(callId, (c) => ({ ...this.summary(e, c), state: 'gone', transfer: c.transfer }));
        return;
      }
      case 'call.ended': {
        if (!callId || !prev) return;
        this.patch(callId, (c) => ({
          ...this.summary(e, c),
          state: 'ended',
          endedAt: ms(e.data.endedAt ?? e.at),
          hangupCause: e.data.hangupCause ?? null,
          missed: c.role === 'callee' && c.answeredAt === null && c.state !== 'gone',
        }));
        return;
      }
      case 'call.merged': {
        const from = e.data.mergedCallId as string | undefined;
        const gone = from ? this.find(from) : undefined;
        if (!callId || !gone) {
          if (callId && prev) this.patch(callId, (c) => this.summary(e, c));
          return;
        }
        if (this.supervisedCalls.has(callId) || this.supervisedCalls.has(from!)) {
          this.supervisedCalls.add(callId);
          this.set({ calls: this.state.calls.filter((c) => c.callId !== from) });
        } else if (prev) {
          this.set({ calls: this.state.calls.filter((c) => c.callId !== from) });
          this.patch(callId, (c) => this.summary(e, c));
        } else {
          // The call I knew under one leg's id goes on under the call it joined.
          this.set({ calls: this.state.calls.map((c) => (c.callId === from ? { ...this.summary(e, c), callId } : c)) });
        }
        return;
      }
      case 'customer.linked': {
        if (!callId || !prev) return;
        this.patch(callId, (c) => this.summary(e, c));
        return;
      }
      case 'call.action': {
        if (!callId || !prev) return;
        const a = e.data.action;
        if ((a === 'hold' || a === 'resume') && (e.data.employee === me || e.data.employee === null)) this.setHeld(callId, a === 'hold');
        return;
      }
      case 'transfer.updated': {
        const t = e.data.transfer as LiveTransfer | undefined;
        if (!t || !prev) return;
        this.setTransfer(t, t.callId);
        return;
      }
      case 'supervision.updated': {
        const s = e.data.supervision as LiveSupervision | undefined;
        if (!s || (me && s.supervisor !== me)) return;
        this.setSupervision(s);
        return;
      }
      default:
    }
  }
}

export const callsStore = new CallsStore();

export function useLiveCalls(): State {
  return useSyncExternalStore(callsStore.subscribe, callsStore.get);
}
